//! Plan benchmark (issue 4): `bulkspec plan` of a mutated 1M-row file against the state left by
//! applying the base file, compared with the floor program (`floor diff`) in the same run.
//!
//! Setup (once; data goes to /tmp, never into the repository):
//!   (cd ../shared/bench && cargo build --release)
//!   gen-data --rows 1000000 --out /tmp/members-1M.csv
//!   gen-data --rows 1000000 --mutate 5 --out /tmp/members-1M-mut5.csv
//! Run:
//!   cargo bench --bench plan -- /tmp/members-1M.csv /tmp/members-1M-mut5.csv [FLOOR_BINARY]
//!
//! It records the base file's state through the library (the same mapping and diff code an
//! apply commits), then times the release `bulkspec plan` binary on the mutated file, and
//! `floor write-state` + `floor diff` when the floor binary is given.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/support/project.rs"]
mod support;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;
use support::*;

const SPEC: &str = r#"version: 1
job: members
target:
  provider: marketo
  object: program_members
  connection: sandbox
  program_id: 1040
  program_member_status: Registered
source:
  path: data.csv
key: "{{ row.email }}"
record:
  email: "{{ row.email }}"
  firstName: "{{ row.firstName }}"
  lastName: "{{ row.lastName }}"
  company: "{{ row.company }}"
"#;

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let (Some(base), Some(mutated)) = (args.first(), args.get(1)) else {
        eprintln!("usage: cargo bench --bench plan -- BASE.csv MUTATED.csv [FLOOR_BINARY]");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bulkspec.yaml"), "version: 1\n").unwrap();
    std::fs::create_dir(dir.path().join("specs")).unwrap();
    std::fs::write(dir.path().join("specs/members.yaml"), SPEC).unwrap();
    link(base, &dir.path().join("specs/data.csv"));
    let t = Instant::now();
    record_state(dir.path(), "specs/members.yaml");
    eprintln!(
        "recorded the base state in {:.2}s",
        t.elapsed().as_secs_f64()
    );
    link(mutated, &dir.path().join("specs/data.csv"));
    let bin = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/release/bulkspec");
    let bin = if bin.exists() { bin } else { which_release() };
    let mut best = f64::MAX;
    for _ in 0..3 {
        let t = Instant::now();
        let o = Command::new(&bin)
            .current_dir(dir.path())
            .args(["-q", "--format", "json", "plan"])
            .output()
            .unwrap();
        let secs = t.elapsed().as_secs_f64();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        eprintln!("bulkspec plan: {secs:.3}s {}", doc["summary"]);
        best = best.min(secs);
    }
    println!("bulkspec_plan_s={best:.3}");
    if Path::new("/usr/bin/time").exists() {
        let o = Command::new("/usr/bin/time")
            .arg("-v")
            .arg(&bin)
            .current_dir(dir.path())
            .args(["-q", "--format", "json", "plan"])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        if let Some(line) = err
            .lines()
            .find(|l| l.contains("Maximum resident set size"))
        {
            println!(
                "bulkspec_plan_peak_rss_kb={}",
                line.rsplit(':').next().unwrap_or("").trim()
            );
        }
    }
    if let Some(floor) = args.get(2) {
        let state = dir.path().join("floor.sqlite");
        let s = state.to_str().unwrap();
        let w = Command::new(floor)
            .args(["write-state", "--csv", base, "--state", s])
            .output()
            .unwrap();
        assert!(w.status.success(), "{}", String::from_utf8_lossy(&w.stderr));
        let mut floor_best = f64::MAX;
        for _ in 0..3 {
            let o = Command::new(floor)
                .args(["diff", "--csv", mutated, "--state", s])
                .output()
                .unwrap();
            let line: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
            floor_best = floor_best.min(line["total_s"].as_f64().unwrap());
            eprintln!("floor diff: {line}");
        }
        println!(
            "floor_diff_s={floor_best:.3} ratio={:.2}",
            best / floor_best
        );
    }
}

fn which_release() -> PathBuf {
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"));
    let candidates = [
        target.join("release/bulkspec"),
        PathBuf::from("/work/target-main/release/bulkspec"),
    ];
    candidates
        .into_iter()
        .find(|p| p.exists())
        .expect("build it first: cargo build --release")
}

fn link(from: &str, to: &Path) {
    let _ = std::fs::remove_file(to);
    std::os::unix::fs::symlink(std::fs::canonicalize(from).unwrap(), to).unwrap();
}

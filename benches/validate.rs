//! Validate benchmark (issue 2): `bulkspec validate` of 1,000 spec files, release binary.
//! Run: cargo build --release && cargo bench --bench validate
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

fn main() {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(repo.join("bulkspec.yaml"), dir.path().join("bulkspec.yaml")).unwrap();
    let specs = dir.path().join("specs");
    std::fs::create_dir(&specs).unwrap();
    let names = [
        "webinar-members",
        "crm-contacts",
        "crm-opportunity-links",
        "order-history",
        "consent-profiles",
    ];
    for i in 0..1000 {
        let name = names[i % names.len()];
        let text = std::fs::read_to_string(repo.join(format!("specs/{name}.yaml"))).unwrap();
        let text = text
            .replace(&format!("job: {name}"), &format!("job: {name}-{i}"))
            .replace("depends_on:\n  - crm-contacts\n", "");
        std::fs::write(specs.join(format!("{name}-{i:04}.yaml")), text).unwrap();
    }
    let bin = [
        repo.join("target/release/bulkspec"),
        PathBuf::from("/work/target-main/release/bulkspec"),
    ]
    .into_iter()
    .find(|p| p.exists())
    .expect("build it first: cargo build --release");
    let mut best = f64::MAX;
    for _ in 0..5 {
        let t = Instant::now();
        let o = Command::new(&bin)
            .current_dir(dir.path())
            .args(["validate"])
            .output()
            .unwrap();
        let secs = t.elapsed().as_secs_f64();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        best = best.min(secs);
    }
    println!("validate_1000_files_s={best:.3}");
}

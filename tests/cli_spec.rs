//! The spec commands through the binary: validate, render, schema, completions, and the exit
//! code contract for usage errors.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::{Command, Output};

fn bulkspec(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_bulkspec"))
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("GITHUB_ACTIONS")
        .args(args)
        .output()
        .unwrap()
}

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn text(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr)
}

#[test]
fn examples_and_specs_validate() {
    let o = bulkspec(repo(), &["validate", "examples", "specs"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        text(&o).contains("0 errors, 0 warnings in 11 files"),
        "{}",
        text(&o)
    );
    let o = bulkspec(&repo().join("examples"), &["validate"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
}

#[test]
fn checked_in_schema_is_current() {
    let o = bulkspec(repo(), &["schema", "--check"]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "schema/ is stale: run `bulkspec schema --out schema/bulkspec.schema.json`\n{}",
        text(&o)
    );
}

#[test]
fn schema_check_fails_when_stale() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("schema")).unwrap();
    std::fs::write(dir.path().join("schema/bulkspec.schema.json"), "{}\n").unwrap();
    let o = bulkspec(dir.path(), &["schema", "--check"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o).contains("schema/bulkspec.schema.json is stale"),
        "{}",
        text(&o)
    );
    let o = bulkspec(
        dir.path(),
        &["schema", "--out", "schema/bulkspec.schema.json"],
    );
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(
        bulkspec(dir.path(), &["schema", "--check"]).status.code(),
        Some(0)
    );
}

#[test]
fn render_keeps_types_and_row_templates() {
    let o = bulkspec(
        repo(),
        &[
            "render",
            "specs/webinar-members.yaml",
            "specs/order-history.yaml",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    insta::assert_snapshot!("render_human", String::from_utf8_lossy(&o.stdout));
    let o = bulkspec(
        repo(),
        &[
            "--format",
            "json",
            "--var",
            "webinar_program_id=2002",
            "render",
            "specs/webinar-members.yaml",
        ],
    );
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let target = &doc["specs"][0]["spec"]["target"];
    // A leaf that is one `{{ expression }}` keeps the expression's type; --var wins over vars.
    assert_eq!(target["program_id"], serde_json::json!(2002));
    assert_eq!(doc["specs"][0]["spec"]["key"], "{{ row.email }}");
}

#[test]
fn render_env_allow_list() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("bulkspec.yaml"),
        "version: 1\nenv: [BULKSPEC_STAGE]\n",
    )
    .unwrap();
    let spec = std::fs::read_to_string(repo().join("specs/webinar-members.yaml"))
        .unwrap()
        .replace("\"{{ vars.webinar_program_id }}\"", "1")
        .replace(
            "\"{{ vars.webinar_status }}\"",
            "\"{{ env.BULKSPEC_STAGE }}\"",
        );
    std::fs::write(dir.path().join("s.yaml"), spec).unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_bulkspec"))
        .current_dir(dir.path())
        .env("BULKSPEC_STAGE", "Attended")
        .args(["--format", "json", "render", "s.yaml"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        doc["specs"][0]["spec"]["target"]["program_member_status"],
        "Attended"
    );
}

#[test]
fn validate_json_and_github_annotations() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("s.yaml"), "version: 2\njob: x\n").unwrap();
    let o = bulkspec(dir.path(), &["--format", "json", "validate", "s.yaml"]);
    assert_eq!(o.status.code(), Some(1));
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(doc["valid"], false);
    let first = &doc["diagnostics"][0];
    assert_eq!(first["file"], "s.yaml");
    assert!(first["line"].as_u64().is_some());
    let o = Command::new(env!("CARGO_BIN_EXE_bulkspec"))
        .current_dir(dir.path())
        .env("GITHUB_ACTIONS", "true")
        .args(["validate", "s.yaml"])
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("::error file=s.yaml,line=1,col=10,title=schema%3A%3A"),
        "{out}"
    );
}

#[test]
fn usage_errors_exit_1_and_help_exits_0() {
    let o = bulkspec(repo(), &["frobnicate"]);
    assert_eq!(o.status.code(), Some(1));
    let o = bulkspec(repo(), &["plan", "--no-such-flag"]);
    assert_eq!(o.status.code(), Some(1));
    let o = bulkspec(repo(), &["--help"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&o.stdout).contains("validate"));
    let o = bulkspec(repo(), &["-C", "/no/such/dir", "validate"]);
    assert_eq!(o.status.code(), Some(1));
}

#[test]
fn completions_and_man_page() {
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let o = bulkspec(repo(), &["completions", shell]);
        assert_eq!(o.status.code(), Some(0));
        assert!(
            String::from_utf8_lossy(&o.stdout).contains("validate"),
            "{shell}"
        );
    }
    let o = bulkspec(repo(), &["man"]);
    assert!(String::from_utf8_lossy(&o.stdout).contains(".TH bulkspec"));
}

#[test]
fn validating_a_thousand_files_is_quick() {
    // The figure (under 2 s in release) is measured by benches/validate.rs; here we
    // only check that many files work and that diagnostics of all of them are collected.
    let dir = tempfile::tempdir().unwrap();
    let spec =
        std::fs::read_to_string(repo().join("examples/marketo-program-members.yaml")).unwrap();
    for i in 0..200 {
        let s = spec.replace(
            "job: example-marketo-program-members",
            &format!("job: job-{i}"),
        );
        let s = if i % 50 == 7 {
            s.replace("version: 1", "version: x")
        } else {
            s
        };
        std::fs::write(dir.path().join(format!("s{i:03}.yaml")), s).unwrap();
    }
    let o = bulkspec(dir.path(), &["validate", "."]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o).contains("4 errors, 0 warnings in 200 files"),
        "{}",
        text(&o)
    );
}

#[test]
fn readme_spec_reference_is_current() {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let begin = readme
        .find(bulkspec::spec::reference::BEGIN)
        .expect("README has the begin marker");
    let end = readme
        .find(bulkspec::spec::reference::END)
        .expect("README has the end marker");
    let embedded = &readme[begin + bulkspec::spec::reference::BEGIN.len()..end];
    assert_eq!(
        embedded.trim(),
        bulkspec::spec::reference::markdown().trim(),
        "README's spec reference is stale: regenerate it with `bulkspec schema --reference`"
    );
}

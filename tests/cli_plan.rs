//! `bulkspec plan` through the binary: the three formats of the plans of examples/ and specs/
//! (insta snapshots), diffs against a recorded state, guards, saved plans, orphans and bad
//! sources.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/project.rs"]
mod support;
use std::path::Path;
use std::process::{Command, Output};
use support::*;

fn bulkspec(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_bulkspec"))
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("GITHUB_ACTIONS")
        .args(args)
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn all(o: &Output) -> String {
    stdout(o) + &String::from_utf8_lossy(&o.stderr)
}

#[test]
fn plans_of_specs_in_three_formats() {
    let dir = project();
    for (format, name) in [
        ("human", "specs_human"),
        ("json", "specs_json"),
        ("markdown", "specs_markdown"),
    ] {
        let o = bulkspec(
            dir.path(),
            &["--format", format, "plan", "--detailed-exitcode"],
        );
        assert_eq!(o.status.code(), Some(2), "{}", all(&o));
        insta::assert_snapshot!(name, stdout(&o));
    }
}

#[test]
fn plans_of_examples_in_three_formats() {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&repo().join("examples"), dir.path());
    for (format, name) in [
        ("human", "examples_human"),
        ("json", "examples_json"),
        ("markdown", "examples_markdown"),
    ] {
        let o = bulkspec(dir.path(), &["--format", format, "plan"]);
        assert_eq!(o.status.code(), Some(0), "{}", all(&o));
        insta::assert_snapshot!(name, stdout(&o));
    }
}

#[test]
fn plan_against_recorded_state() {
    let dir = project();
    record_state(dir.path(), "specs/webinar-members.yaml");
    // Nothing changed: no changes, exit 0 with --detailed-exitcode.
    let o = bulkspec(
        dir.path(),
        &["plan", "--detailed-exitcode", "specs/webinar-members.yaml"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", all(&o));
    assert!(stdout(&o).contains("No changes."), "{}", all(&o));
    // Change one row, remove one, add one, add an invalid one; change a setting.
    let csv = dir.path().join("specs/data/webinar-attendees.csv");
    let text = std::fs::read_to_string(&csv).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    lines[1] = lines[1].replace(",Lee,", ",Leigh,");
    lines.remove(3);
    lines.push("new.person@example.org,New,Person,Acme,Analyst".into());
    lines.push("not-an-email,Bad,Row,Acme,Analyst".into());
    std::fs::write(&csv, lines.join("\n") + "\n").unwrap();
    let spec = dir.path().join("specs/webinar-members.yaml");
    std::fs::write(
        &spec,
        std::fs::read_to_string(&spec)
            .unwrap()
            .replace("interval: 500ms", "interval: 2s"),
    )
    .unwrap();
    let o = bulkspec(
        dir.path(),
        &["plan", "--detailed-exitcode", "specs/webinar-members.yaml"],
    );
    assert_eq!(o.status.code(), Some(2), "{}", all(&o));
    insta::assert_snapshot!("against_state_human", stdout(&o));
    let o = bulkspec(
        dir.path(),
        &[
            "--format",
            "json",
            "plan",
            "--mask-keys",
            "specs/webinar-members.yaml",
        ],
    );
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let job = &doc["jobs"][0];
    assert_eq!(
        job["records"],
        serde_json::json!({"add": 1, "change": 1, "unchanged": 23, "remove": 1, "invalid": 1})
    );
    assert_eq!(job["config_changes"][0]["path"], "/polling/interval");
    assert!(
        job["keys"]["add"][0].as_str().unwrap().starts_with('#'),
        "keys are masked: {job}"
    );
    assert!(!stdout(&o).contains("new.person@example.org"));
    assert_eq!(job["invalid"][0]["line"], 27);
    // Values are shown only when asked.
    assert!(!stdout(&o).contains("Leigh"));
    let o = bulkspec(
        dir.path(),
        &[
            "--format",
            "json",
            "plan",
            "--show-values",
            "specs/webinar-members.yaml",
        ],
    );
    assert!(stdout(&o).contains("Leigh"), "{}", all(&o));
}

#[test]
fn orphaned_jobs_are_reported_and_left_alone() {
    let dir = project();
    record_state(dir.path(), "specs/webinar-members.yaml");
    std::fs::remove_file(dir.path().join("specs/webinar-members.yaml")).unwrap();
    let o = bulkspec(dir.path(), &["--format", "json", "plan"]);
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(doc["orphaned"], serde_json::json!(["webinar-members"]));
    let o = bulkspec(dir.path(), &["plan"]);
    assert!(
        stdout(&o).contains("job `webinar-members` is in the state but has no spec"),
        "{}",
        all(&o)
    );
}

#[test]
fn guards_stop_the_plan_and_say_by_how_much() {
    let dir = project();
    record_state(dir.path(), "specs/webinar-members.yaml");
    let csv = dir.path().join("specs/data/webinar-attendees.csv");
    let text = std::fs::read_to_string(&csv).unwrap();
    let kept: Vec<&str> = text.lines().take(6).collect();
    std::fs::write(&csv, kept.join("\n") + "\n").unwrap();
    let spec = dir.path().join("specs/webinar-members.yaml");
    std::fs::write(
        &spec,
        std::fs::read_to_string(&spec).unwrap() + "guard:\n  max_source_drop_percent: 50\n",
    )
    .unwrap();
    let o = bulkspec(dir.path(), &["plan", "specs/webinar-members.yaml"]);
    assert_eq!(o.status.code(), Some(1), "{}", all(&o));
    assert!(
        all(&o).contains(
            "guard.max_source_drop_percent: the source has 5 valid records, 80.0% fewer than the 25"
        ),
        "{}",
        all(&o)
    );
}

#[test]
fn saved_plan_pins_specs_sources_and_state() {
    let dir = project();
    let o = bulkspec(dir.path(), &["plan", "--out", "plan.json"]);
    assert_eq!(o.status.code(), Some(0), "{}", all(&o));
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("plan.json")).unwrap())
            .unwrap();
    assert_eq!(saved["tool_version"], env!("CARGO_PKG_VERSION"));
    let job = saved["plan"]["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["job"] == "webinar-members")
        .unwrap();
    let digest = job["pins"]["source_sha256"].as_str().unwrap();
    assert_eq!(digest.len(), 64);
    assert_eq!(
        job["pins"]["source_path"],
        "specs/data/webinar-attendees.csv"
    );
    assert_eq!(job["pins"]["state_serial"], 0);
    assert!(saved["specs"]["webinar-members"]["target"]["program_id"].is_number());
}

#[test]
fn duplicate_keys_name_both_lines() {
    let dir = project();
    let csv = dir.path().join("specs/data/webinar-attendees.csv");
    let mut text = std::fs::read_to_string(&csv).unwrap();
    let second = text.lines().nth(1).unwrap().to_owned();
    text.push_str(&second);
    text.push('\n');
    std::fs::write(&csv, text).unwrap();
    let o = bulkspec(dir.path(), &["plan", "specs/webinar-members.yaml"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        all(&o).contains("`ana.lee0@example.org` on lines 2 and 27"),
        "{}",
        all(&o)
    );
}

#[test]
fn bad_sources_are_clear_errors() {
    let dir = project();
    let csv = dir.path().join("specs/data/webinar-attendees.csv");
    std::fs::write(&csv, "email;first_name;last_name;company\na@x.org;A;B;C\n").unwrap();
    let o = bulkspec(dir.path(), &["plan", "specs/webinar-members.yaml"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(all(&o).contains("first_name"), "{}", all(&o));
    std::fs::write(
        &csv,
        "email,first_name,last_name,company\n\"a@x.org,A,B,C\n",
    )
    .unwrap();
    let o = bulkspec(dir.path(), &["plan", "specs/webinar-members.yaml"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(all(&o).contains(":2"), "{}", all(&o));
    std::fs::write(
        &csv,
        b"email,first_name,last_name,company\na@x.org,\xff,B,C\n",
    )
    .unwrap();
    let o = bulkspec(dir.path(), &["plan", "specs/webinar-members.yaml"]);
    assert_eq!(o.status.code(), Some(1), "{}", all(&o));
    assert!(
        !dir.path().join(".bulkspec").exists(),
        "a plan writes nothing"
    );
}

#[test]
fn a_job_that_cannot_be_planned_never_reads_as_no_changes() {
    let dir = project();
    record_state(dir.path(), "specs/webinar-members.yaml");
    let csv = dir.path().join("specs/data/webinar-attendees.csv");
    std::fs::write(&csv, "email;first_name;last_name;company\na@x.org;A;B;C\n").unwrap();
    let o = bulkspec(dir.path(), &["plan", "specs/webinar-members.yaml"]);
    assert_eq!(o.status.code(), Some(1), "{}", all(&o));
    assert!(!all(&o).contains("No changes"), "{}", all(&o));
    assert!(
        stdout(&o).contains("1 job(s) could not be planned"),
        "{}",
        all(&o)
    );
    let o = bulkspec(
        dir.path(),
        &["--format", "markdown", "plan", "specs/webinar-members.yaml"],
    );
    let md = stdout(&o);
    assert!(md.contains(":x: **1 job(s) could not be planned**"), "{md}");
    assert!(
        md.contains("first_name"),
        "the error is in the comment: {md}"
    );
    assert!(!md.contains("No changes"), "{md}");
}

#[test]
fn markdown_stays_under_the_comment_limit() {
    let dir = project();
    let csv = dir.path().join("specs/data/webinar-attendees.csv");
    let mut text = String::from("email,first_name,last_name,company\n");
    for i in 0..5000 {
        text.push_str(&format!("person{i}@example.org,F,L,C\n"));
        if i % 2 == 0 {
            text.push_str(&format!("broken-{i},F,L,C\n"));
        }
    }
    std::fs::write(&csv, text).unwrap();
    let o = bulkspec(dir.path(), &["--format", "markdown", "plan"]);
    let md = stdout(&o);
    assert!(md.chars().count() <= 60_000, "{}", md.len());
    assert!(md.contains("| `webinar-members` |"));
}

#[test]
fn state_commands() {
    let dir = project();
    let o = bulkspec(dir.path(), &["state", "list"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(stdout(&o).contains("no state yet"));
    record_state(dir.path(), "specs/webinar-members.yaml");
    let o = bulkspec(dir.path(), &["--format", "json", "state", "list"]);
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(doc["jobs"][0]["job"], "webinar-members");
    assert_eq!(doc["jobs"][0]["records"], 25);
    let o = bulkspec(dir.path(), &["state", "show", "webinar-members"]);
    assert!(stdout(&o).contains("records:    25"), "{}", all(&o));
    let o = bulkspec(dir.path(), &["state", "show", "nope"]);
    assert_eq!(o.status.code(), Some(1));
    // Without a terminal, rm and unlock need --yes.
    let o = bulkspec(dir.path(), &["state", "rm", "webinar-members"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(all(&o).contains("--yes"));
    let o = bulkspec(dir.path(), &["state", "rm", "webinar-members", "--yes"]);
    assert_eq!(o.status.code(), Some(0), "{}", all(&o));
    let o = bulkspec(dir.path(), &["--format", "json", "state", "list"]);
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(doc["jobs"], serde_json::json!([]));
}

#[test]
fn corrupt_newer_or_busy_state_is_a_clear_error_and_nothing_is_written() {
    let dir = project();
    let db = dir.path().join(".bulkspec/state.db");
    std::fs::create_dir_all(db.parent().unwrap()).unwrap();
    std::fs::write(&db, "email,name\nnot a database\n").unwrap();
    let o = bulkspec(dir.path(), &["plan", "specs/webinar-members.yaml"]);
    assert_eq!(o.status.code(), Some(1), "{}", all(&o));
    assert!(
        all(&o).contains("state.db"),
        "the error names the file: {}",
        all(&o)
    );
    assert_eq!(
        std::fs::read_to_string(&db).unwrap(),
        "email,name\nnot a database\n",
        "left untouched"
    );
    // A state written by a newer bulkspec is refused, not migrated backwards.
    std::fs::remove_file(&db).unwrap();
    record_state(dir.path(), "specs/webinar-members.yaml");
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute("UPDATE schema_version SET version = 999", [])
        .unwrap();
    drop(conn);
    let o = bulkspec(dir.path(), &["plan", "specs/webinar-members.yaml"]);
    assert_eq!(o.status.code(), Some(1), "{}", all(&o));
    assert!(all(&o).contains("999"), "{}", all(&o));
    // A database another process is writing: a plan still reads (WAL gives it a consistent
    // snapshot); an apply, which must write, waits a bounded time and then fails clearly.
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute("UPDATE schema_version SET version = 1", [])
        .unwrap();
    conn.execute_batch("BEGIN EXCLUSIVE").unwrap();
    let o = bulkspec(dir.path(), &["plan", "specs/webinar-members.yaml"]);
    assert_eq!(o.status.code(), Some(0), "{}", all(&o));
    let csv = dir.path().join("specs/data/webinar-attendees.csv");
    std::fs::write(
        &csv,
        std::fs::read_to_string(&csv)
            .unwrap()
            .replace(",Lee,", ",Leigh,"),
    )
    .unwrap();
    let started = std::time::Instant::now();
    let o = bulkspec(
        dir.path(),
        &["apply", "--auto-approve", "specs/webinar-members.yaml"],
    );
    assert_eq!(o.status.code(), Some(1), "{}", all(&o));
    assert!(
        all(&o).to_lowercase().contains("busy") || all(&o).contains("locked"),
        "{}",
        all(&o)
    );
    assert!(started.elapsed().as_secs() < 60);
    conn.execute_batch("ROLLBACK").unwrap();
}

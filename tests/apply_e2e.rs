//! Apply end to end: the CLI against a real `bulkspec sandbox` process over HTTP on 127.0.0.1
//! (and the embedded sandbox for the quickstart). No mock of our own client anywhere.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/project.rs"]
mod support;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};
use support::*;

use serde_json::{Value, json};

/// A `bulkspec sandbox` child process on a free port.
struct Sandbox {
    child: Child,
    url: String,
}

impl Sandbox {
    fn start(extra: &[&str]) -> Sandbox {
        let mut child = Command::new(env!("CARGO_BIN_EXE_bulkspec"))
            .args(["sandbox", "--listen", "127.0.0.1:0"])
            .args(if extra.contains(&"--processing-time") {
                &[][..]
            } else {
                &["--processing-time", "50ms"][..]
            })
            .args(extra)
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let mut line = String::new();
        BufReader::new(stderr).read_line(&mut line).unwrap();
        let url = line
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .expect("the sandbox prints its URL")
            .to_owned();
        Sandbox { child, url }
    }

    fn get(&self, path: &str) -> Value {
        let url = format!("{}{path}", self.url);
        runtime().block_on(async {
            reqwest::get(&url)
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap_or(Value::Null)
        })
    }

    fn post(&self, path: &str, body: &Value) {
        let url = format!("{}{path}", self.url);
        let status = runtime().block_on(async {
            reqwest::Client::new()
                .post(&url)
                .json(body)
                .send()
                .await
                .unwrap()
                .status()
        });
        assert!(status.is_success(), "{path}: {status}");
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn bulkspec(dir: &Path, sandbox: Option<&Sandbox>, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_bulkspec"));
    cmd.current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("GITHUB_ACTIONS")
        .args(args);
    match sandbox {
        Some(s) => cmd.env("BULKSPEC_SANDBOX_URL", &s.url),
        None => cmd.env_remove("BULKSPEC_SANDBOX_URL"),
    };
    cmd.output().unwrap()
}

/// An `apply` of one spec running in the background (to be killed by the test).
fn spawn_apply(dir: &Path, sb: &Sandbox, spec: &str) -> Child {
    Command::new(env!("CARGO_BIN_EXE_bulkspec"))
        .current_dir(dir)
        .env("BULKSPEC_SANDBOX_URL", &sb.url)
        .args(["-q", "apply", "--auto-approve", spec])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

fn all(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr)
}

fn data_requests(s: &Sandbox) -> u64 {
    let stats = s.get("/_sandbox/stats");
    let mut n = 0;
    for (provider, p) in stats["providers"].as_object().into_iter().flatten() {
        for (endpoint, e) in p["endpoints"].as_object().into_iter().flatten() {
            let upload = endpoint.contains("/import") && endpoint.starts_with("POST")
                || endpoint.ends_with("/data") && endpoint.starts_with("POST")
                || endpoint.contains("/Stage");
            if upload {
                n += e["requests"].as_u64().unwrap_or(0);
            }
            let _ = provider;
        }
    }
    n
}

#[test]
fn quickstart_apply_then_plan_shows_no_changes() {
    let dir = project();
    let o = bulkspec(dir.path(), None, &["apply", "--auto-approve"]);
    assert_eq!(o.status.code(), Some(0), "{}", all(&o));
    // Without a terminal, progress is plain lines that count chunks against the plan.
    let stderr = String::from_utf8_lossy(&o.stderr);
    for line in [
        "webinar-members: uploading chunk 1 of 1 (25 records,",
        "webinar-members: chunk 1 of 1 uploaded",
        "webinar-members: remote job ",
    ] {
        assert!(stderr.contains(line), "no `{line}` in:\n{stderr}");
    }
    assert!(
        dir.path().join(".bulkspec/sandbox").is_dir(),
        "the embedded sandbox keeps its data"
    );
    let o = bulkspec(dir.path(), None, &["plan", "--detailed-exitcode"]);
    assert_eq!(o.status.code(), Some(0), "{}", all(&o));
    assert!(all(&o).contains("No changes."), "{}", all(&o));
}

#[test]
fn every_provider_end_to_end_and_reapply_sends_nothing() {
    let sb = Sandbox::start(&[]);
    let dir = project();
    let o = bulkspec(
        dir.path(),
        Some(&sb),
        &["--format", "json", "apply", "--auto-approve"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", all(&o));
    let doc: Value = serde_json::from_slice(&o.stdout)
        .expect("one JSON document: the plan and what was applied");
    assert_eq!(doc["applied"].as_array().map(Vec::len), Some(5), "{doc}");
    assert_eq!(doc["plan"]["summary"]["add"], 160);
    assert_eq!(
        sb.get("/_sandbox/marketo/programs/1040/members")
            .as_array()
            .map(Vec::len),
        Some(25)
    );
    assert_eq!(
        sb.get("/_sandbox/dotdigital/collections/order_history")
            .as_array()
            .map(Vec::len),
        Some(30)
    );
    let profiles = sb.get("/_sandbox/mypreferences/profiles");
    assert_eq!(profiles.as_array().map(Vec::len), Some(35), "{profiles}");
    let links: usize = (100..108)
        .map(|i| {
            sb.get(&format!("/_sandbox/eloqua/opportunities/OPP-{i}/contacts"))
                .as_array()
                .map_or(0, Vec::len)
        })
        .sum();
    assert_eq!(links, 30);
    let o = bulkspec(dir.path(), Some(&sb), &["--format", "json", "status"]);
    let status: Value = serde_json::from_slice(&o.stdout).unwrap();
    let jobs = status["jobs"].as_array().unwrap();
    assert_eq!(jobs.len(), 5);
    assert!(
        jobs.iter()
            .all(|j| j["in_flight"] == json!([]) && j["lock"].is_null()),
        "{status}"
    );
    let before = data_requests(&sb);
    let o = bulkspec(dir.path(), Some(&sb), &["apply", "--auto-approve"]);
    assert_eq!(o.status.code(), Some(0), "{}", all(&o));
    assert!(all(&o).contains("Nothing to apply."), "{}", all(&o));
    assert_eq!(
        data_requests(&sb),
        before,
        "re-applying an unchanged source sends no data"
    );
}

#[test]
fn rejects_exit_3_are_reported_and_planned_again() {
    let sb = Sandbox::start(&[]);
    sb.post("/_sandbox/seed", &json!({"strict": true, "dotdigital": {"contacts": ["ana.lee0@example.org"], "collections": [{"name": "order_history", "scope": "contact"}]}}));
    let dir = project();
    let o = bulkspec(
        dir.path(),
        Some(&sb),
        &["apply", "--auto-approve", "specs/order-history.yaml"],
    );
    assert_eq!(o.status.code(), Some(3), "{}", all(&o));
    let o = bulkspec(dir.path(), Some(&sb), &["report", "order-history"]);
    let report = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(report.starts_with("line,key,code,reason"), "{report}");
    assert_eq!(report.lines().count(), 1 + 29, "{report}");
    let o = bulkspec(
        dir.path(),
        Some(&sb),
        &["--format", "json", "plan", "specs/order-history.yaml"],
    );
    let plan: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        plan["jobs"][0]["records"]["add"], 29,
        "rejected rows stay pending"
    );
    assert_eq!(plan["jobs"][0]["records"]["unchanged"], 1);
}

#[test]
fn retryable_faults_are_survived() {
    let sb = Sandbox::start(&[]);
    sb.post(
        "/_sandbox/faults",
        &json!({"error_rate": 0.3, "statuses": [500, 502, 503], "seed": 7, "retry_after_secs": 1}),
    );
    let dir = project();
    let spec = dir.path().join("specs/webinar-members.yaml");
    std::fs::write(
        &spec,
        std::fs::read_to_string(&spec).unwrap()
            + "retry:\n  max_attempts: 20\n  initial_backoff: 10ms\n  max_backoff: 200ms\n",
    )
    .unwrap();
    let o = bulkspec(
        dir.path(),
        Some(&sb),
        &["apply", "--auto-approve", "specs/webinar-members.yaml"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", all(&o));
    assert_eq!(
        sb.get("/_sandbox/marketo/programs/1040/members")
            .as_array()
            .map(Vec::len),
        Some(25)
    );
}

#[test]
fn locked_jobs_exit_4_naming_the_holder() {
    let dir = project();
    let db = dir.path().join(".bulkspec/state.db");
    std::fs::create_dir_all(db.parent().unwrap()).unwrap();
    let mut store = bulkspec::state::SqliteStore::open(&db).unwrap();
    let mut holder = bulkspec::state::LockHolder::current();
    holder.ci_run = Some("https://ci.example/run/1".into());
    let _guard = bulkspec::state::StateStore::acquire_lock(
        &mut store,
        "webinar-members",
        &holder,
        Duration::from_secs(60),
    )
    .unwrap();
    let started = Instant::now();
    let o = bulkspec(
        dir.path(),
        None,
        &["apply", "--auto-approve", "specs/webinar-members.yaml"],
    );
    assert_eq!(o.status.code(), Some(4), "{}", all(&o));
    assert!(all(&o).contains("https://ci.example/run/1"), "{}", all(&o));
    assert!(started.elapsed() < Duration::from_secs(20));
}

#[test]
fn saved_plans_are_applied_exactly_or_refused_as_stale() {
    let sb = Sandbox::start(&[]);
    let dir = project();
    let o = bulkspec(
        dir.path(),
        Some(&sb),
        &["plan", "--out", "plan.json", "specs/webinar-members.yaml"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", all(&o));
    let csv = dir.path().join("specs/data/webinar-attendees.csv");
    let original = std::fs::read_to_string(&csv).unwrap();
    std::fs::write(&csv, original.replace(",Lee,", ",Leigh,")).unwrap();
    let o = bulkspec(
        dir.path(),
        Some(&sb),
        &["apply", "--plan", "plan.json", "specs/webinar-members.yaml"],
    );
    assert_eq!(o.status.code(), Some(5), "{}", all(&o));
    assert!(
        all(&o).contains("the source file specs/data/webinar-attendees.csv changed"),
        "{}",
        all(&o)
    );
    std::fs::write(&csv, original).unwrap();
    let o = bulkspec(
        dir.path(),
        Some(&sb),
        &["apply", "--plan", "plan.json", "specs/webinar-members.yaml"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", all(&o));
    let o = bulkspec(
        dir.path(),
        Some(&sb),
        &["apply", "--plan", "plan.json", "specs/webinar-members.yaml"],
    );
    assert_eq!(o.status.code(), Some(5), "the state moved on: {}", all(&o));
}

#[test]
fn confirmation_and_destructive_allow() {
    let dir = project();
    let o = bulkspec(dir.path(), None, &["apply", "specs/webinar-members.yaml"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(all(&o).contains("--auto-approve"), "{}", all(&o));
    let spec = dir.path().join("specs/consent-profiles.yaml");
    std::fs::write(
        &spec,
        std::fs::read_to_string(&spec).unwrap()
            + "refresh:\n  tags: true\nguard:\n  max_remove: 10\n",
    )
    .unwrap();
    let o = bulkspec(
        dir.path(),
        None,
        &["apply", "--auto-approve", "specs/consent-profiles.yaml"],
    );
    assert_eq!(o.status.code(), Some(1), "{}", all(&o));
    assert!(all(&o).contains("--allow-destructive"), "{}", all(&o));
}

/// Kills apply with SIGKILL at several moments; re-runs until it finishes; the sandbox must
/// hold every record exactly once and the state must equal the sandbox.
#[test]
fn killed_applies_resume_without_loss_or_duplicates() {
    let sb = Sandbox::start(&["--processing-time", "300ms"]);
    let dir = project();
    let csv = dir.path().join("specs/data/webinar-attendees.csv");
    let mut text = String::from("email,first_name,last_name,company,title\n");
    for i in 0..3000 {
        text.push_str(&format!("p{i}@example.org,F{i},L{i},C,T\n"));
    }
    std::fs::write(&csv, text).unwrap();
    let spec = dir.path().join("specs/webinar-members.yaml");
    std::fs::write(
        &spec,
        std::fs::read_to_string(&spec).unwrap() + "limits:\n  max_request_bytes: 20KB\n",
    )
    .unwrap();
    for delay in [150u64, 400, 700, 1000, 1500] {
        let mut child = spawn_apply(dir.path(), &sb, "specs/webinar-members.yaml");
        std::thread::sleep(Duration::from_millis(delay));
        let _ = child.kill();
        let _ = child.wait();
    }
    let mut finished = false;
    for _ in 0..5 {
        let o = bulkspec(
            dir.path(),
            Some(&sb),
            &["apply", "--auto-approve", "specs/webinar-members.yaml"],
        );
        if o.status.code() == Some(0) {
            finished = true;
            break;
        }
    }
    assert!(finished, "apply never finished");
    let members = sb.get("/_sandbox/marketo/programs/1040/members");
    let emails: Vec<String> = members
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["email"].as_str().unwrap_or_default().to_lowercase())
        .collect();
    let mut unique = emails.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), emails.len(), "no record twice");
    assert_eq!(unique.len(), 3000, "every record once");
    let o = bulkspec(
        dir.path(),
        Some(&sb),
        &["--format", "json", "state", "show", "webinar-members"],
    );
    let state: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(state["records"], 3000, "the state equals the sandbox");
    let o = bulkspec(
        dir.path(),
        Some(&sb),
        &["plan", "--detailed-exitcode", "specs/webinar-members.yaml"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", all(&o));
}

#[test]
fn mirror_and_delete_modes_remove_profiles() {
    let sb = Sandbox::start(&[]);
    let dir = project();
    let o = bulkspec(
        dir.path(),
        Some(&sb),
        &["apply", "--auto-approve", "specs/consent-profiles.yaml"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", all(&o));
    let active = |sb: &Sandbox| {
        sb.get("/_sandbox/mypreferences/profiles")
            .as_array()
            .map_or(0, Vec::len)
    };
    assert_eq!(active(&sb), 35);
    // Three rows leave the source; mirror deletes their profiles (destructive: needs the allow).
    let csv = dir.path().join("specs/data/consent-profiles.csv");
    let text = std::fs::read_to_string(&csv).unwrap();
    let kept: Vec<&str> = text.lines().take(33).collect();
    std::fs::write(&csv, kept.join("\n") + "\n").unwrap();
    let spec = dir.path().join("specs/consent-profiles.yaml");
    std::fs::write(
        &spec,
        std::fs::read_to_string(&spec).unwrap() + "mode: mirror\nguard:\n  max_remove: 5\n",
    )
    .unwrap();
    let o = bulkspec(
        dir.path(),
        Some(&sb),
        &["apply", "--auto-approve", "specs/consent-profiles.yaml"],
    );
    assert_eq!(
        o.status.code(),
        Some(1),
        "destructive without the allow: {}",
        all(&o)
    );
    let o = bulkspec(
        dir.path(),
        Some(&sb),
        &[
            "apply",
            "--auto-approve",
            "--allow-destructive",
            "specs/consent-profiles.yaml",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", all(&o));
    assert_eq!(
        active(&sb),
        32,
        "mirror deleted the 3 profiles that left the source"
    );
    let o = bulkspec(
        dir.path(),
        Some(&sb),
        &["--format", "json", "state", "show", "consent-profiles"],
    );
    let state: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(state["records"], 32);
    // Delete mode: the source lists profiles to delete.
    std::fs::write(
        &csv,
        text.lines().take(3).collect::<Vec<_>>().join("\n") + "\n",
    )
    .unwrap();
    let body = std::fs::read_to_string(&spec)
        .unwrap()
        .replace("mode: mirror", "mode: delete");
    std::fs::write(&spec, body).unwrap();
    let o = bulkspec(
        dir.path(),
        Some(&sb),
        &[
            "apply",
            "--auto-approve",
            "--allow-destructive",
            "specs/consent-profiles.yaml",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", all(&o));
    assert_eq!(active(&sb), 30, "delete mode removed the 2 listed profiles");
}

#[test]
fn rate_limits_dropped_connections_and_short_tokens_are_survived() {
    let sb = Sandbox::start(&["--processing-time", "300ms"]);
    let dir = project();
    for spec in [
        "webinar-members",
        "order-history",
        "consent-profiles",
        "crm-contacts",
    ] {
        let p = dir.path().join(format!("specs/{spec}.yaml"));
        std::fs::write(
            &p,
            std::fs::read_to_string(&p).unwrap()
                + "retry:\n  max_attempts: 30\n  initial_backoff: 10ms\n  max_backoff: 300ms\n",
        )
        .unwrap();
    }
    sb.post("/_sandbox/faults", &json!({"error_rate": 0.2, "statuses": [429], "retry_after_secs": 1, "drop_rate": 0.1, "token_lifetime_secs": 1, "seed": 11}));
    let o = bulkspec(
        dir.path(),
        Some(&sb),
        &[
            "apply",
            "--auto-approve",
            "specs/webinar-members.yaml",
            "specs/order-history.yaml",
            "specs/crm-contacts.yaml",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", all(&o));
    assert_eq!(
        sb.get("/_sandbox/marketo/programs/1040/members")
            .as_array()
            .map(Vec::len),
        Some(25)
    );
    assert_eq!(
        sb.get("/_sandbox/dotdigital/collections/order_history")
            .as_array()
            .map(Vec::len),
        Some(30)
    );
}

#[test]
fn status_shows_the_remote_job_a_killed_apply_left_running() {
    let sb = Sandbox::start(&["--processing-time", "30s"]);
    let dir = project();
    let mut child = spawn_apply(dir.path(), &sb, "specs/webinar-members.yaml");
    let started = Instant::now();
    let uploaded = loop {
        let o = bulkspec(
            dir.path(),
            Some(&sb),
            &["--format", "json", "state", "show", "webinar-members"],
        );
        let show: Value = serde_json::from_slice(&o.stdout).unwrap_or(Value::Null);
        let done = show["journal"].as_array().is_some_and(|j| {
            j.iter()
                .any(|e| e["kind"] == "upload" && e["status"] == "done")
        });
        if done || started.elapsed() > Duration::from_secs(20) {
            break done;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let _ = child.kill();
    let _ = child.wait();
    assert!(uploaded, "the apply uploaded its chunk");
    let o = bulkspec(
        dir.path(),
        Some(&sb),
        &["--format", "json", "status", "webinar-members"],
    );
    let status: Value = serde_json::from_slice(&o.stdout).unwrap();
    let inflight = &status["jobs"][0]["in_flight"];
    assert_eq!(inflight.as_array().map(Vec::len), Some(1), "{status}");
    assert!(
        inflight[0]["status"]
            .as_str()
            .unwrap()
            .starts_with("Running"),
        "{status}"
    );
}

#[test]
fn a_full_import_queue_is_waited_on_not_failed() {
    // One queued Marketo batch at a time (1016 beyond), each taking a while: the apply's
    // second upload finds the queue full and must wait for the first batch, not fail.
    let sb = Sandbox::start(&["--processing-time", "400ms"]);
    sb.post(
        "/_sandbox/seed",
        &json!({"marketo": {"settings": {"max_queued": 1, "max_running": 1}}}),
    );
    let dir = project();
    let p = dir.path().join("specs/webinar-members.yaml");
    let spec = std::fs::read_to_string(&p).unwrap()
        + "limits:\n  max_request_bytes: 600 B\n  concurrency: 2\n"
        + "retry:\n  max_attempts: 3\n  initial_backoff: 10ms\n  max_backoff: 100ms\n";
    std::fs::write(&p, spec.replace("interval: 500ms", "interval: 50ms")).unwrap();
    let o = bulkspec(
        dir.path(),
        Some(&sb),
        &["apply", "--auto-approve", "specs/webinar-members.yaml"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", all(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("uploading chunk 2 of 2"), "{err}");
    assert!(
        err.contains("waiting for a running import to finish"),
        "the queue was never full: {err}"
    );
    assert_eq!(
        sb.get("/_sandbox/marketo/programs/1040/members")
            .as_array()
            .map(Vec::len),
        Some(25)
    );
}

#[test]
fn rejects_the_failures_file_cannot_tie_to_a_record_keep_the_whole_job_pending() {
    // Marketo's failures file names rows by email; this spec's key is another column, so the
    // rejected row cannot be told apart: none of the job's records may be committed.
    let sb = Sandbox::start(&[]);
    let dir = project();
    std::fs::write(
        dir.path().join("specs/data/by-id.csv"),
        "id,email,score\nc1,ok@example.org,10\nc2,bad@example.org,not-a-number\nc3,fine@example.org,3\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("specs/by-id.yaml"),
        r#"version: 1
job: members-by-id
target:
  provider: marketo
  object: program_members
  connection: sandbox
  program_id: 1040
  program_member_status: Registered
source:
  path: data/by-id.csv
key: "{{ row.id }}"
record:
  email: "{{ row.email }}"
  leadScore: "{{ row.score }}"
polling:
  interval: 50ms
"#,
    )
    .unwrap();
    let o = bulkspec(
        dir.path(),
        Some(&sb),
        &["apply", "--auto-approve", "specs/by-id.yaml"],
    );
    assert_eq!(o.status.code(), Some(3), "{}", all(&o));
    let o = bulkspec(dir.path(), Some(&sb), &["report", "members-by-id"]);
    let report = String::from_utf8_lossy(&o.stdout).into_owned();
    assert_eq!(report.lines().count(), 1 + 1, "{report}");
    assert!(report.contains("bad@example.org"), "{report}");
    assert!(report.contains("stay pending"), "{report}");
    let o = bulkspec(
        dir.path(),
        Some(&sb),
        &["--format", "json", "plan", "specs/by-id.yaml"],
    );
    let plan: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        plan["jobs"][0]["records"]["add"], 3,
        "every record of the job stays pending: {plan}"
    );
    // The plan says why, before anyone applies.
    let warned = plan["jobs"][0]["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|w| {
            w.as_str()
                .unwrap()
                .contains("names rejected rows by `email` only")
        });
    assert!(warned, "{plan}");
}

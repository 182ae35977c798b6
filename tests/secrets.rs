//! Secrets never leak: a canary client secret, given the only way bulkspec accepts credentials
//! (an env var named in the project file), is searched for in every output of a full run:
//! stdout and stderr of every command (with -v and -vv logs), plan JSON and Markdown, the saved
//! plan, the state database, the reject report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

#[path = "support/project.rs"]
mod support;

const CANARY: &str = "canary-7f3a9c51e2d4b8";

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn the_canary_secret_never_appears_in_any_output() {
    let mut sandbox = Command::new(env!("CARGO_BIN_EXE_bulkspec"))
        .args([
            "sandbox",
            "--listen",
            "127.0.0.1:0",
            "--processing-time",
            "50ms",
        ])
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(sandbox.stderr.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap()
        .to_owned();
    runtime().block_on(async {
        let seed = serde_json::json!({"marketo": {"clients": [{"id": "canary-client", "secret": CANARY}]}});
        let r = reqwest::Client::new().post(format!("{url}/_sandbox/seed")).json(&seed).send().await.unwrap();
        assert!(r.status().is_success());
        let faults = serde_json::json!({"error_rate": 0.3, "statuses": [500, 503], "seed": 3, "providers": ["marketo"]});
        reqwest::Client::new().post(format!("{url}/_sandbox/faults")).json(&faults).send().await.unwrap();
    });
    let dir = support::project();
    let project = format!(
        "version: 1\nconnections:\n  mk:\n    provider: marketo\n    url: {url}/marketo\n    client_id_env: MK_CLIENT_ID\n    client_secret_env: MK_CLIENT_SECRET\nvars:\n  webinar_program_id: 1040\n  webinar_status: Registered\n"
    );
    std::fs::write(dir.path().join("bulkspec.yaml"), project).unwrap();
    let spec = dir.path().join("specs/webinar-members.yaml");
    let text = std::fs::read_to_string(&spec)
        .unwrap()
        .replace("connection: sandbox", "connection: mk")
        + "retry:\n  max_attempts: 20\n  initial_backoff: 10ms\n  max_backoff: 100ms\n";
    std::fs::write(&spec, text).unwrap();
    // A row Marketo rejects, so the report has content.
    let csv = dir.path().join("specs/data/webinar-attendees.csv");
    std::fs::write(
        &csv,
        std::fs::read_to_string(&csv).unwrap() + "x@example.org,A,B,C,\"T\"\n",
    )
    .unwrap();
    let run = |args: &[&str]| {
        let o = Command::new(env!("CARGO_BIN_EXE_bulkspec"))
            .current_dir(dir.path())
            .env("MK_CLIENT_ID", "canary-client")
            .env("MK_CLIENT_SECRET", CANARY)
            .env_remove("BULKSPEC_SANDBOX_URL")
            .args(args)
            .output()
            .unwrap();
        String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr)
    };
    let j = "specs/webinar-members.yaml";
    let mut outputs = vec![
        run(&["validate", j]),
        run(&["render", j]),
        run(&["-vv", "plan", j]),
        run(&["--format", "json", "plan", j]),
        run(&["--format", "markdown", "plan", "--show-values", j]),
        run(&["plan", "--out", "plan.json", j]),
        run(&["-vv", "apply", "--auto-approve", j]),
    ];
    assert!(
        outputs.last().unwrap().contains("sent"),
        "the apply ran: {}",
        outputs.last().unwrap()
    );
    outputs.extend([
        run(&["-v", "--format", "json", "status"]),
        run(&["report", "webinar-members", "--out", "report.csv"]),
        run(&["state", "show", "webinar-members"]),
        run(&["-vv", "apply", "--plan", "plan.json", j]),
    ]);
    for (i, out) in outputs.iter().enumerate() {
        assert!(!out.contains(CANARY), "output {i} leaks the secret:\n{out}");
    }
    for file in [
        "plan.json",
        "report.csv",
        ".bulkspec/state.db",
        ".bulkspec/state.db-wal",
    ] {
        let path = dir.path().join(file);
        if Path::new(&path).exists() {
            let bytes = std::fs::read(&path).unwrap();
            assert!(
                !bytes.windows(CANARY.len()).any(|w| w == CANARY.as_bytes()),
                "{file} holds the secret"
            );
        }
    }
    let _ = sandbox.kill();
    let _ = sandbox.wait();
}

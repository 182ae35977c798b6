//! The sandbox server over real HTTP: start-up, control routes (stats, seed, faults, reset,
//! clock), fault injection (each kind, determinism, dropped connections), persistence across
//! restarts, the embedded mode.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use bulkspec::sandbox::{RunningSandbox, SandboxOptions};
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};

async fn token(sb: &RunningSandbox) -> String {
    let url = format!(
        "{}/marketo/identity/oauth/token?grant_type=client_credentials&client_id=sandbox&client_secret=sandbox",
        sb.base_url()
    );
    let body: Value = common::client()
        .get(url)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["access_token"].as_str().unwrap().to_owned()
}

/// Uploads program members to program 1040 and returns the create answer.
async fn import(
    sb: &RunningSandbox,
    token: &str,
    file: &str,
) -> reqwest::Result<reqwest::Response> {
    let url = format!(
        "{}/marketo/bulk/v1/program/1040/members/import.json?format=csv&programMemberStatus=On%20List",
        sb.base_url()
    );
    let part = Part::bytes(file.as_bytes().to_vec())
        .file_name("m.csv")
        .mime_str("text/csv")
        .unwrap();
    common::client()
        .post(url)
        .bearer_auth(token)
        .multipart(Form::new().part("file", part))
        .send()
        .await
}

async fn describe(sb: &RunningSandbox, token: &str) -> reqwest::Result<reqwest::Response> {
    let url = format!("{}/marketo/rest/v1/leads/describe.json", sb.base_url());
    common::client().get(url).bearer_auth(token).send().await
}

async fn wait_members(sb: &RunningSandbox, program: u64, n: usize) -> Vec<Value> {
    for _ in 0..300 {
        let resp = common::client()
            .get(format!(
                "{}/_sandbox/marketo/programs/{program}/members",
                sb.base_url()
            ))
            .send()
            .await
            .unwrap();
        if resp.status() == 200 {
            let members: Vec<Value> = resp.json().await.unwrap();
            if members.len() >= n {
                return members;
            }
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("program {program} never had {n} members");
}

#[tokio::test]
async fn starts_in_under_a_second_and_shuts_down() {
    let t0 = Instant::now();
    let sb = common::start_sandbox(20).await;
    let info = common::get_json(&sb, "/_sandbox").await;
    assert!(
        t0.elapsed() < Duration::from_secs(1),
        "start-up took {:?}",
        t0.elapsed()
    );
    assert_eq!(
        info["providers"],
        json!(["marketo", "eloqua", "dotdigital", "mypreferences"])
    );
    assert!(sb.base_url().starts_with("http://127.0.0.1:"));
    let addr = sb.addr();
    sb.shutdown().await.unwrap();
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "the port is closed after shutdown"
    );
}

#[tokio::test]
async fn stats_count_requests_and_bytes_per_endpoint_template() {
    let sb = common::start_sandbox(0).await;
    let token = token(&sb).await;
    let file = "email\nann@example.org\n";
    let resp = import(&sb, &token, file).await.unwrap();
    let sent = resp.json::<Value>().await.unwrap();
    assert_eq!(sent["success"], true);
    describe(&sb, &token).await.unwrap();
    describe(&sb, &token).await.unwrap();
    let stats = common::get_json(&sb, "/_sandbox/stats").await;
    let marketo = &stats["providers"]["marketo"];
    assert_eq!(marketo["requests"], 4, "{stats}");
    let ep = &marketo["endpoints"];
    assert_eq!(
        ep["GET /marketo/rest/v1/leads/describe.json"]["requests"], 2,
        "{stats}"
    );
    assert_eq!(ep["GET /marketo/identity/oauth/token"]["requests"], 1);
    let upload = &ep["POST /marketo/bulk/v1/program/{programId}/members/import.json"];
    assert_eq!(upload["requests"], 1, "{stats}");
    // The multipart body is larger than the file it carries.
    assert!(
        upload["bytes_received"].as_u64().unwrap() > file.len() as u64,
        "{stats}"
    );
    assert_eq!(stats["bytes_received"], marketo["bytes_received"]);
    // Control routes are not counted.
    assert!(stats["providers"].get("_sandbox").is_none());
}

#[tokio::test]
async fn seed_dispatches_and_refuses_unknown_providers() {
    let sb = common::start_sandbox(0).await;
    let http = common::client();
    let resp = http
        .post(format!("{}/_sandbox/seed", sb.base_url()))
        .json(&json!({"salesforce": {}}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let resp = http
        .post(format!("{}/_sandbox/seed", sb.base_url()))
        .json(&json!({"marketo": {"programs": "nope"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    assert!(
        resp.json::<Value>().await.unwrap()["error"]
            .as_str()
            .unwrap()
            .contains("marketo")
    );
    let seeded = common::control(&sb, "/_sandbox/seed", json!({"strict": true, "marketo": {"programs": [{"id": 1040, "statuses": ["On List", "Registered"]}]}})).await;
    assert_eq!(seeded["strict"], true);
    assert_eq!(common::get_json(&sb, "/_sandbox").await["strict"], true);
    let token = token(&sb).await;
    let body: Value = import(&sb, &token, "email\nann@example.org\n")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        body["success"], true,
        "the seeded program accepts imports: {body}"
    );
}

#[tokio::test]
async fn reset_forgets_data_stats_faults_and_strictness() {
    let sb = common::start_sandbox(0).await;
    common::control(
        &sb,
        "/_sandbox/seed",
        json!({"strict": true, "marketo": {"programs": [{"id": 1040}]}}),
    )
    .await;
    let token = token(&sb).await;
    import(&sb, &token, "email\nann@example.org\n")
        .await
        .unwrap();
    wait_members(&sb, 1040, 1).await;
    common::control(&sb, "/_sandbox/faults", json!({"latency_ms": 1})).await;
    common::control(&sb, "/_sandbox/reset", json!({})).await;
    assert_eq!(
        common::get_json(&sb, "/_sandbox/stats").await["requests"],
        0
    );
    assert_eq!(
        common::get_json(&sb, "/_sandbox/faults").await["latency_ms"],
        0
    );
    assert_eq!(common::get_json(&sb, "/_sandbox").await["strict"], false);
    let resp = common::client()
        .get(format!(
            "{}/_sandbox/marketo/programs/1040/members",
            sb.base_url()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
    // Tokens are forgotten too.
    let body: Value = describe(&sb, &token).await.unwrap().json().await.unwrap();
    assert_eq!(body["errors"][0]["code"], "601");
}

#[tokio::test]
async fn faults_route_validates_and_reports_its_settings() {
    let sb = common::start_sandbox(0).await;
    let http = common::client();
    for bad in [
        json!({"error_rate": 2.0}),
        json!({"no_such_knob": 1}),
        json!({"rate_limit": {"calls": 0, "window_secs": 1}}),
    ] {
        let resp = http
            .post(format!("{}/_sandbox/faults", sb.base_url()))
            .json(&bad)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 400, "{bad}");
    }
    let set = json!({"error_rate": 0.25, "statuses": [503], "retry_after_secs": 7, "seed": 3});
    common::control(&sb, "/_sandbox/faults", set).await;
    let got = common::get_json(&sb, "/_sandbox/faults").await;
    assert_eq!(got["error_rate"], 0.25);
    assert_eq!(got["statuses"], json!([503]));
    assert_eq!(got["retry_after_secs"], 7);
}

#[tokio::test]
async fn injected_status_carries_retry_after_and_spares_control_routes() {
    let sb = common::start_sandbox(0).await;
    let token = token(&sb).await;
    common::control(
        &sb,
        "/_sandbox/faults",
        json!({"error_rate": 1.0, "statuses": [503], "retry_after_secs": 9}),
    )
    .await;
    let resp = describe(&sb, &token).await.unwrap();
    assert_eq!(resp.status(), 503);
    assert_eq!(resp.headers()["retry-after"], "9");
    // Control and inspection routes never get faults.
    assert_eq!(
        common::get_json(&sb, "/_sandbox/stats").await["providers"]["marketo"]["requests"],
        2
    );
    // Restricted to other providers: Marketo is spared.
    common::control(
        &sb,
        "/_sandbox/faults",
        json!({"error_rate": 1.0, "statuses": [503], "providers": ["eloqua"]}),
    )
    .await;
    assert_eq!(describe(&sb, &token).await.unwrap().status(), 200);
    // Restricted to another endpoint: spared too.
    common::control(
        &sb,
        "/_sandbox/faults",
        json!({"error_rate": 1.0, "statuses": [500], "endpoints": ["/bulk/v1/leads.json"]}),
    )
    .await;
    assert_eq!(describe(&sb, &token).await.unwrap().status(), 200);
}

#[tokio::test]
async fn latency_is_added() {
    let sb = common::start_sandbox(0).await;
    let token = token(&sb).await;
    common::control(&sb, "/_sandbox/faults", json!({"latency_ms": 300})).await;
    let t0 = Instant::now();
    assert_eq!(describe(&sb, &token).await.unwrap().status(), 200);
    assert!(
        t0.elapsed() >= Duration::from_millis(300),
        "{:?}",
        t0.elapsed()
    );
}

#[tokio::test]
async fn dropped_connection_gives_the_client_a_connection_error() {
    let sb = common::start_sandbox(0).await;
    let token = token(&sb).await;
    common::control(&sb, "/_sandbox/faults", json!({"drop_rate": 1.0})).await;
    let err = describe(&sb, &token).await.expect_err("no response at all");
    assert!(
        err.is_request() || err.is_connect() || err.is_body(),
        "{err:?}"
    );
    assert!(
        !err.is_timeout(),
        "the connection was closed, not left hanging: {err:?}"
    );
    // Dropped before processing: nothing was imported.
    import(&sb, &token, "email\nann@example.org\n")
        .await
        .expect_err("dropped");
    common::control(&sb, "/_sandbox/faults", json!({})).await;
    let resp = common::client()
        .get(format!(
            "{}/_sandbox/marketo/programs/1040/members",
            sb.base_url()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
    // And the server is still fine.
    assert_eq!(describe(&sb, &token).await.unwrap().status(), 200);
}

#[tokio::test]
async fn error_on_calls_picks_exact_call_numbers() {
    let sb = common::start_sandbox(0).await;
    let token = token(&sb).await;
    common::control(
        &sb,
        "/_sandbox/faults",
        json!({"error_on_calls": [2, 4], "vendor_codes": ["608"]}),
    )
    .await;
    let mut codes = vec![];
    for _ in 0..5 {
        let body: Value = describe(&sb, &token).await.unwrap().json().await.unwrap();
        codes.push(
            body["errors"][0]["code"]
                .as_str()
                .unwrap_or("ok")
                .to_owned(),
        );
    }
    assert_eq!(codes, ["ok", "608", "ok", "608", "ok"]);
}

/// The outcome sequence of 30 calls under a 50% error rate with this seed.
async fn outcomes(sb: &RunningSandbox, seed: u64) -> Vec<u16> {
    let token = token(sb).await;
    common::control(
        sb,
        "/_sandbox/faults",
        json!({"error_rate": 0.5, "statuses": [500, 502, 503], "seed": seed}),
    )
    .await;
    let mut out = vec![];
    for _ in 0..30 {
        out.push(describe(sb, &token).await.unwrap().status().as_u16());
    }
    out
}

#[tokio::test]
async fn faults_are_deterministic_given_a_seed() {
    let a = common::start_sandbox(0).await;
    let b = common::start_sandbox(0).await;
    let first = outcomes(&a, 42).await;
    assert_eq!(first, outcomes(&b, 42).await, "same seed, same faults");
    assert_eq!(
        first,
        outcomes(&a, 42).await,
        "reseeding replays the sequence"
    );
    assert_ne!(first, outcomes(&a, 7).await, "another seed, other faults");
    assert!(
        first.contains(&200) && first.iter().any(|s| *s != 200),
        "{first:?}"
    );
    common::control(&a, "/_sandbox/faults", json!({})).await;
}

#[tokio::test]
async fn clock_moves_forward_and_resets() {
    let sb = common::start_sandbox(0).await;
    let moved = common::control(&sb, "/_sandbox/clock", json!({"advance_secs": 90})).await;
    assert_eq!(moved["offset_secs"], 90);
    common::control(&sb, "/_sandbox/reset", json!({})).await;
    assert_eq!(
        common::get_json(&sb, "/_sandbox/clock").await["offset_secs"],
        0
    );
}

// ---------------------------------------------------------------- persistence

fn persistent(dir: &std::path::Path, processing_ms: u64) -> SandboxOptions {
    SandboxOptions {
        data_dir: Some(dir.to_path_buf()),
        config: common::config(processing_ms),
        ..SandboxOptions::default()
    }
}

#[tokio::test]
async fn data_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let sb = common::start_with(persistent(dir.path(), 0)).await;
    common::control(
        &sb,
        "/_sandbox/seed",
        json!({"marketo": {"programs": [{"id": 1040, "statuses": ["On List"]}]}}),
    )
    .await;
    let token = token(&sb).await;
    let created: Value = import(&sb, &token, "email,firstName\nann@example.org,Ann\n")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let batch = created["result"][0]["batchId"].as_i64().unwrap();
    wait_members(&sb, 1040, 1).await;
    sb.shutdown().await.unwrap();
    assert!(dir.path().join("marketo.json").is_file());
    assert!(
        !dir.path().join("marketo.json.tmp").exists(),
        "no temporary file left behind"
    );

    let sb = common::start_with(persistent(dir.path(), 0)).await;
    let members = wait_members(&sb, 1040, 1).await;
    assert_eq!(members[0]["fields"]["firstName"], "Ann");
    // The same token still works, and the batch status is still there.
    let url = format!(
        "{}/marketo/bulk/v1/program/members/import/{batch}/status.json",
        sb.base_url()
    );
    let body: Value = common::client()
        .get(url)
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["result"][0]["status"], "Complete", "{body}");
    // New batch ids continue after the old ones.
    let next: Value = import(&sb, &token, "email\nbo@example.org\n")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(next["result"][0]["batchId"].as_i64().unwrap(), batch + 1);
}

#[tokio::test]
async fn an_acknowledged_import_is_on_disk_before_the_answer() {
    let dir = tempfile::tempdir().unwrap();
    // Long processing: the batch is still pending when the "crash" happens.
    let sb = common::start_with(persistent(dir.path(), 60_000)).await;
    let token = token(&sb).await;
    let created: Value = import(&sb, &token, "email\nann@example.org\n")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(created["success"], true);
    // No shutdown: read what is on disk right now, as a process killed here would leave it.
    let text = std::fs::read_to_string(dir.path().join("marketo.json")).unwrap();
    let doc: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(doc["format"], 1);
    assert_eq!(
        doc["snapshot"]["data"]["queue"]["batches"]
            .as_object()
            .unwrap()
            .len(),
        1
    );
    // A second sandbox on a copy of that state finishes the pending batch.
    let copy = tempfile::tempdir().unwrap();
    std::fs::copy(
        dir.path().join("marketo.json"),
        copy.path().join("marketo.json"),
    )
    .unwrap();
    drop(sb);
    let sb2 = common::start_with(persistent(copy.path(), 60_000)).await;
    common::control(&sb2, "/_sandbox/clock", json!({"advance_secs": 61})).await;
    let members = wait_members(&sb2, 1040, 1).await;
    assert_eq!(members[0]["email"], "ann@example.org");
}

#[tokio::test]
async fn a_corrupt_state_file_is_an_error_not_silent_loss() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("marketo.json"), "{not json").unwrap();
    let err = bulkspec::sandbox::start(persistent(dir.path(), 0))
        .await
        .err()
        .expect("refused");
    assert!(err.to_string().contains("marketo.json"), "{err}");
}

#[tokio::test]
async fn seed_file_is_applied_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let seed = dir.path().join("seed.json");
    std::fs::write(
        &seed,
        r#"{"strict": true, "marketo": {"programs": [{"id": 1040, "statuses": ["On List"]}]}}"#,
    )
    .unwrap();
    let sb = common::start_with(SandboxOptions {
        seed_file: Some(seed),
        ..SandboxOptions::default()
    })
    .await;
    assert_eq!(common::get_json(&sb, "/_sandbox").await["strict"], true);
    let token = token(&sb).await;
    let body: Value = import(&sb, &token, "email\nann@example.org\n")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["success"], true, "{body}");
}

#[tokio::test]
async fn embedded_sandbox_keeps_its_data_between_runs() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join(".bulkspec").join("sandbox");
    let sb = bulkspec::sandbox::start_embedded(&data).await.unwrap();
    assert_eq!(sb.addr().ip().to_string(), "127.0.0.1");
    let token = token(&sb).await;
    import(&sb, &token, "email\nann@example.org\n")
        .await
        .unwrap();
    wait_members(&sb, 1040, 1).await;
    sb.shutdown().await.unwrap();
    let sb = bulkspec::sandbox::start_embedded(&data).await.unwrap();
    assert_eq!(wait_members(&sb, 1040, 1).await.len(), 1);
}

//! Shared helpers: a sandbox with short processing, control and inspection calls, specs for
//! both objects, a provider wired to the sandbox, and the trait's flow end to end.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use bulkspec::providers::marketo::{MarketoProvider, sandbox_endpoint};
use bulkspec::providers::{
    BatchKind, ChunkRecord, ClientContext, Endpoint, PollStatus, Provider, RemoteBatch,
    RemoteReject,
};
use bulkspec::sandbox::core::SandboxConfig;
use bulkspec::sandbox::{RunningSandbox, SandboxOptions};
use bulkspec::spec::types::Spec;
use serde_json::{Value, json};

/// A sandbox whose batches finish within 100 ms.
pub async fn sandbox() -> RunningSandbox {
    let config = SandboxConfig {
        processing_time: Duration::from_millis(100),
        ..SandboxConfig::default()
    };
    bulkspec::sandbox::start(SandboxOptions {
        config,
        ..SandboxOptions::default()
    })
    .await
    .unwrap()
}

/// POSTs JSON to a control route.
pub async fn control(sb: &RunningSandbox, path: &str, body: Value) -> Value {
    let resp = reqwest::Client::new()
        .post(format!("{}{path}", sb.base_url()))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success(), "{path}: {}", resp.status());
    resp.json().await.unwrap()
}

/// GETs an inspection route.
pub async fn get(sb: &RunningSandbox, path: &str) -> Value {
    let resp = reqwest::get(format!("{}{path}", sb.base_url()))
        .await
        .unwrap();
    assert!(resp.status().is_success(), "{path}: {}", resp.status());
    resp.json().await.unwrap()
}

/// Requests the sandbox counted for Marketo endpoints whose name contains `part`.
pub async fn requests_to(sb: &RunningSandbox, part: &str) -> u64 {
    let stats = get(sb, "/_sandbox/stats").await;
    stats["providers"]["marketo"]["endpoints"]
        .as_object()
        .map(|m| {
            m.iter()
                .filter(|(k, _)| k.contains(part))
                .map(|(_, v)| v["requests"].as_u64().unwrap_or(0))
                .sum()
        })
        .unwrap_or(0)
}

fn spec(target: Value, record: Value, match_field: Option<&str>) -> Spec {
    let mut spec = json!({
        "version": 1,
        "job": "mkto-test",
        "target": target,
        "source": {"path": "people.csv"},
        "key": "{{ row.email }}",
        "record": record,
    });
    if let Some(f) = match_field {
        spec["match"] = json!({ "field": f });
    }
    serde_json::from_value(spec).unwrap()
}

/// A program-members spec with `record` as given.
pub fn members_spec(program_id: u64, status: &str, record: Value) -> Spec {
    let target = json!({"object": "program_members", "provider": "marketo", "connection": "sandbox",
                        "program_id": program_id, "program_member_status": status});
    spec(target, record, None)
}

/// A leads spec matching on `match_field`, adding the leads to list `list_id`.
pub fn leads_spec(match_field: &str, list_id: u64, record: Value) -> Spec {
    let target = json!({"object": "leads", "provider": "marketo", "connection": "sandbox",
                        "list_id": list_id, "format": "ssv"});
    spec(target, record, Some(match_field))
}

/// A provider on the sandbox with a generous limiter and a 2 s timeout.
pub fn provider(sb: &RunningSandbox, spec: &Spec) -> MarketoProvider {
    provider_with(
        sandbox_endpoint(&sb.base_url()),
        spec,
        Duration::from_secs(2),
        1000,
    )
}

pub fn provider_with(
    endpoint: Endpoint,
    spec: &Spec,
    timeout: Duration,
    per_second: u32,
) -> MarketoProvider {
    let quota = governor::Quota::per_second(NonZeroU32::new(per_second).unwrap());
    let cx = ClientContext {
        endpoint,
        http: reqwest::Client::builder().timeout(timeout).build().unwrap(),
        limiter: Arc::new(governor::RateLimiter::direct(quota)),
    };
    MarketoProvider::new(spec, cx).unwrap()
}

/// Chunk records keyed by their `email`.
pub fn records(values: &[Value]) -> Vec<ChunkRecord> {
    values
        .iter()
        .enumerate()
        .map(|(i, v)| ChunkRecord {
            key: v["email"].as_str().unwrap_or_default().to_owned(),
            key_hash: i as u64,
            content_hash: i as u64,
            line: i as u64 + 2,
            contact: None,
            record: v.clone().into(),
        })
        .collect()
}

/// Polls every 30 ms until the batch is no longer running.
pub async fn poll_until_finished(p: &MarketoProvider, batch: &RemoteBatch, id: &str) -> PollStatus {
    for _ in 0..200 {
        match p.poll(batch, id).await.unwrap() {
            PollStatus::Running(_) => tokio::time::sleep(Duration::from_millis(30)).await,
            other => return other,
        }
    }
    panic!("batch {id} never finished");
}

/// open, encode, upload, poll until Done, rejects, close: the batch id and the rejects.
pub async fn run_batch(p: &MarketoProvider, recs: &[ChunkRecord]) -> (String, Vec<RemoteReject>) {
    let batch = p.open_batch(BatchKind::Upsert).await.unwrap();
    let body = p.encode(BatchKind::Upsert, recs).unwrap();
    let id = p
        .upload(&batch, 0, body)
        .await
        .unwrap()
        .expect("a batch id");
    assert_eq!(poll_until_finished(p, &batch, &id).await, PollStatus::Done);
    let rejects = p.rejects(&batch, &id).await.unwrap();
    p.close_batch(&batch).await.unwrap();
    (id, rejects)
}

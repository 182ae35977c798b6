//! The MyPreferences provider client against the real sandbox, started in-process on
//! 127.0.0.1: the whole flow through the `Provider` trait, rejects mapped back to records,
//! the Stage body byte for byte (and its size against the plan's Mapper), error
//! classification for every fault class, token refresh and expiry.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "provider_mypreferences/encode.rs"]
mod encode;
#[path = "provider_mypreferences/faults.rs"]
mod faults;
#[path = "provider_mypreferences/flow.rs"]
mod flow;

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use bulkspec::providers::mypreferences::{MypreferencesProvider, Settings, sandbox_endpoint};
use bulkspec::providers::{
    BatchKind, ChunkRecord, ClientContext, Endpoint, PollStatus, Provider, RemoteBatch,
    RemoteReject,
};
use bulkspec::sandbox::core::SandboxConfig;
use bulkspec::sandbox::{RunningSandbox, SandboxOptions};
use bulkspec::spec::types::Spec;
use serde_json::{Value, json};

/// A sandbox whose imports take `processing_ms` from Execute to Completed.
pub async fn sandbox(processing_ms: u64) -> RunningSandbox {
    let config = SandboxConfig {
        processing_time: Duration::from_millis(processing_ms),
        ..SandboxConfig::default()
    };
    let sb = bulkspec::sandbox::start(SandboxOptions {
        config,
        ..SandboxOptions::default()
    })
    .await
    .unwrap();
    control(
        &sb,
        "/_sandbox/seed",
        json!({"mypreferences": {"alternate_id_types": ["CRM"]}}),
    )
    .await;
    sb
}

/// A profiles spec matching on the `CRM` AlternateId type; `overrides` are merged at the top.
pub fn spec(overrides: Value) -> Spec {
    let mut base = json!({
        "version": 1,
        "job": "crm-profiles",
        "target": {"object": "profiles", "provider": "mypreferences", "connection": "sandbox"},
        "source": {"path": "profiles.csv"},
        "key": "{{ row.crm_id }}",
        "record": {
            "AlternateIds": [{"AlternateIdType": "CRM", "AlternateId": "{{ row.crm_id }}"}],
            "Emails": [{"EmailAddress": "{{ row.email }}", "IsDefault": true}]
        },
        "match": {"alternate_id_type": "CRM"}
    });
    if let (Some(base), Value::Object(extra)) = (base.as_object_mut(), overrides) {
        base.extend(extra);
    }
    serde_json::from_value(base).unwrap()
}

/// A client context for `endpoint`; a generous limiter keeps the tests fast.
pub fn context(endpoint: Endpoint, timeout: Duration) -> ClientContext {
    let fast = NonZeroU32::new(1000).unwrap();
    ClientContext {
        endpoint,
        http: reqwest::Client::builder()
            .timeout(timeout)
            .no_proxy()
            .build()
            .unwrap(),
        limiter: Arc::new(governor::RateLimiter::direct(governor::Quota::per_second(
            fast,
        ))),
    }
}

pub fn provider(sb: &RunningSandbox, spec: &Spec) -> MypreferencesProvider {
    provider_with(sb, spec, Settings::default(), Duration::from_secs(10))
}

pub fn provider_with(
    sb: &RunningSandbox,
    spec: &Spec,
    settings: Settings,
    timeout: Duration,
) -> MypreferencesProvider {
    let cx = context(sandbox_endpoint(&sb.base_url()), timeout);
    MypreferencesProvider::with_settings(spec, cx, settings).unwrap()
}

/// A profile record keyed by its CRM id.
pub fn record(crm_id: &str, email: &str) -> ChunkRecord {
    ChunkRecord {
        key: crm_id.to_owned(),
        key_hash: 0,
        content_hash: 0,
        line: 0,
        contact: None,
        record: json!({
            "AlternateIds": [{"AlternateIdType": "CRM", "AlternateId": crm_id}],
            "Emails": [{"EmailAddress": email, "IsDefault": true}]
        })
        .into(),
    }
}

pub fn records(ids: &[&str]) -> Vec<ChunkRecord> {
    ids.iter()
        .map(|id| record(id, &format!("{}@example.org", id.to_lowercase())))
        .collect()
}

/// Encodes and stages each chunk in order.
pub async fn upload_all(
    p: &MypreferencesProvider,
    batch: &RemoteBatch,
    chunks: &[Vec<ChunkRecord>],
) {
    for (i, chunk) in chunks.iter().enumerate() {
        let body = p.encode(batch.kind, chunk).unwrap();
        assert_eq!(p.upload(batch, i, body).await.unwrap(), None);
    }
}

/// Polls every 20 ms until the import is no longer running.
pub async fn until_finished(
    p: &MypreferencesProvider,
    batch: &RemoteBatch,
    id: &str,
) -> PollStatus {
    for _ in 0..500 {
        match p.poll(batch, id).await.unwrap() {
            PollStatus::Running(_) => tokio::time::sleep(Duration::from_millis(20)).await,
            done => return done,
        }
    }
    panic!("import {id} still running after 10 s");
}

/// Runs a whole batch through the trait and returns its rejects.
pub async fn import(
    p: &MypreferencesProvider,
    kind: BatchKind,
    chunks: &[Vec<ChunkRecord>],
) -> Vec<RemoteReject> {
    let batch = p.open_batch(kind).await.unwrap();
    upload_all(p, &batch, chunks).await;
    let id = p.start(&batch).await.unwrap();
    assert_eq!(until_finished(p, &batch, &id).await, PollStatus::Done);
    let rejects = p.rejects(&batch, &id).await.unwrap();
    p.close_batch(&batch).await.unwrap();
    rejects
}

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

pub async fn get(sb: &RunningSandbox, path: &str) -> Value {
    reqwest::get(format!("{}{path}", sb.base_url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// The CRM ids of the sandbox's profiles, sorted.
pub async fn crm_ids(sb: &RunningSandbox) -> Vec<String> {
    let profiles = get(sb, "/_sandbox/mypreferences/profiles").await;
    let mut ids: Vec<String> = profiles
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["AlternateIds"].as_array().unwrap().clone())
        .map(|a| a["AlternateId"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    ids
}

/// The sandbox's view of an import (`/_sandbox/mypreferences/imports`).
pub async fn import_status(sb: &RunningSandbox, token: &str) -> Value {
    let imports = get(sb, "/_sandbox/mypreferences/imports").await;
    imports
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["Import"].clone())
        .find(|i| i["AccessToken"].as_u64().map(|t| t.to_string()).as_deref() == Some(token))
        .unwrap()
}

/// Requests the sandbox counted for MyPreferences endpoints whose name contains `part`.
pub async fn requests_to(sb: &RunningSandbox, part: &str) -> u64 {
    let stats = get(sb, "/_sandbox/stats").await;
    let endpoints = stats["providers"]["mypreferences"]["endpoints"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    endpoints
        .iter()
        .filter(|(name, _)| name.contains(part))
        .map(|(_, e)| e["requests"].as_u64().unwrap())
        .sum()
}

//! The Dotdigital provider client against the real sandbox, in-process on 127.0.0.1: the whole
//! flow through the `Provider` trait, rejects mapped back to records, the exact upload bytes
//! (and their agreement with the plan's size model), and the classification of every fault
//! class the sandbox can inject.
//!
//! Test-only helpers unwrap freely: a failure there is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

#[path = "provider_dotdigital/encode.rs"]
mod encode;
#[path = "provider_dotdigital/faults.rs"]
mod faults;
#[path = "provider_dotdigital/flow.rs"]
mod flow;

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use bulkspec::providers::dotdigital::{DotdigitalProvider, sandbox_endpoint};
use bulkspec::providers::{
    BatchKind, ChunkRecord, ClientContext, Endpoint, PollStatus, Provider, RemoteReject,
};
use bulkspec::sandbox::RunningSandbox;
use bulkspec::spec::types::Spec;
use governor::{Quota, RateLimiter};
use serde_json::{Value, json};

/// A transactional_data spec for `collection` in `scope`.
pub fn spec(collection: &str, scope: &str) -> Spec {
    let mut target = json!({
        "provider": "dotdigital", "object": "transactional_data", "connection": "sandbox",
        "collection": collection, "scope": scope,
    });
    if scope == "contact" {
        target["contact_identifier"] = json!("{{ row.email }}");
    }
    serde_json::from_value(json!({
        "version": 1, "job": "orders", "target": target,
        "source": {"path": "orders.csv"},
        "key": "{{ row.order_id }}",
        "record": {"orderTotal": "{{ row.total }}", "currency": "{{ row.currency }}"},
    }))
    .unwrap()
}

/// A context on the sandbox's Dotdigital API with a limiter that never gets in the way.
pub fn context(sandbox: &RunningSandbox) -> ClientContext {
    context_with(
        sandbox_endpoint(&sandbox.base_url()),
        Quota::per_second(NonZeroU32::new(1000).unwrap()),
    )
}

pub fn context_with(endpoint: Endpoint, quota: Quota) -> ClientContext {
    ClientContext {
        endpoint,
        http: common::client(),
        limiter: Arc::new(RateLimiter::direct(quota)),
    }
}

pub fn provider(sandbox: &RunningSandbox, collection: &str, scope: &str) -> DotdigitalProvider {
    DotdigitalProvider::new(&spec(collection, scope), context(sandbox)).unwrap()
}

/// A record as the executor hands it over.
pub fn record(key: &str, contact: &str, json: Value) -> ChunkRecord {
    ChunkRecord {
        key: key.into(),
        key_hash: 0,
        content_hash: 0,
        line: 0,
        contact: Some(contact.into()),
        record: json.into(),
    }
}

/// Uploads `records` as one chunk and returns the import id.
pub async fn upload(p: &DotdigitalProvider, records: &[ChunkRecord]) -> String {
    let batch = p.open_batch(BatchKind::Upsert).await.unwrap();
    let body = p.encode(BatchKind::Upsert, records).unwrap();
    p.upload(&batch, 0, body)
        .await
        .unwrap()
        .expect("an import id")
}

/// Polls until the import is terminal (a few seconds at most) and returns the last status.
pub async fn poll_until_terminal(p: &DotdigitalProvider, id: &str) -> PollStatus {
    let batch = p.open_batch(BatchKind::Upsert).await.unwrap();
    for _ in 0..300 {
        match p.poll(&batch, id).await.unwrap() {
            PollStatus::Running(_) => tokio::time::sleep(Duration::from_millis(20)).await,
            done => return done,
        }
    }
    panic!("import {id} did not finish");
}

/// The whole flow of one chunk: open, encode, upload, poll to Done, rejects, close.
pub async fn import(p: &DotdigitalProvider, records: &[ChunkRecord]) -> Vec<RemoteReject> {
    let batch = p.open_batch(BatchKind::Upsert).await.unwrap();
    let body = p.encode(BatchKind::Upsert, records).unwrap();
    let id = p
        .upload(&batch, 0, body)
        .await
        .unwrap()
        .expect("an import id");
    assert_eq!(poll_until_terminal(p, &id).await, PollStatus::Done);
    let rejects = p.rejects(&batch, &id).await.unwrap();
    p.close_batch(&batch).await.unwrap();
    rejects
}

/// The sandbox's records of a collection, sorted by key.
pub async fn stored(sandbox: &RunningSandbox, collection: &str) -> Vec<Value> {
    let mut list = common::get_json(
        sandbox,
        &format!("/_sandbox/dotdigital/collections/{collection}"),
    )
    .await;
    let list = list.as_array_mut().unwrap();
    list.sort_by(|a, b| a["key"].as_str().cmp(&b["key"].as_str()));
    list.clone()
}

pub async fn seed(sandbox: &RunningSandbox, dotdigital: Value) {
    common::control(
        sandbox,
        "/_sandbox/seed",
        json!({ "dotdigital": dotdigital }),
    )
    .await;
}

pub async fn faults(sandbox: &RunningSandbox, faults: Value) {
    common::control(sandbox, "/_sandbox/faults", faults).await;
}

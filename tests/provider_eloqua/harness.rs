//! Shared set-up: a sandbox per test, a provider built like the executor builds it, specs,
//! records, and a poll loop (the executor's job in production; here only to reach Done).

use std::sync::Arc;
use std::time::Duration;

use bulkspec::providers::eloqua::{EloquaProvider, quota, sandbox_endpoint};
use bulkspec::providers::{
    ChunkRecord, ClientContext, Endpoint, PollStatus, Provider, RemoteBatch,
};
use bulkspec::sandbox::core::SandboxConfig;
use bulkspec::sandbox::{RunningSandbox, SandboxOptions};
use bulkspec::spec::types::Spec;
use serde_json::{Value, json};

pub struct Env {
    /// Held so the server lives as long as the test.
    _sandbox: RunningSandbox,
    pub base: String,
    pub http: reqwest::Client,
}

/// A sandbox whose syncs take `processing_ms` from pending to terminal.
pub async fn sandbox(processing_ms: u64) -> Env {
    let opts = SandboxOptions {
        config: SandboxConfig {
            processing_time: Duration::from_millis(processing_ms),
            ..SandboxConfig::default()
        },
        ..SandboxOptions::default()
    };
    let sandbox = bulkspec::sandbox::start(opts).await.unwrap();
    let base = sandbox.base_url();
    Env {
        _sandbox: sandbox,
        base,
        http: reqwest::Client::new(),
    }
}

impl Env {
    pub async fn post(&self, path: &str, body: Value) -> Value {
        let resp = self
            .http
            .post(format!("{}{path}", self.base))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(resp.status().is_success(), "POST {path}: {}", resp.status());
        resp.json().await.unwrap()
    }

    pub async fn get(&self, path: &str) -> Value {
        let resp = self
            .http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap();
        assert!(resp.status().is_success(), "GET {path}: {}", resp.status());
        resp.json().await.unwrap()
    }

    /// A Bulk API GET with the sandbox credentials, bypassing the client under test.
    pub async fn bulk(&self, path: &str) -> Value {
        let url = format!("{}/eloqua/api/bulk/2.0{path}", self.base);
        let resp = self
            .http
            .get(url)
            .basic_auth("Sandbox\\sandbox", Some("sandbox"))
            .send()
            .await
            .unwrap();
        resp.json().await.unwrap()
    }

    pub async fn faults(&self, faults: Value) {
        self.post("/_sandbox/faults", faults).await;
    }

    pub async fn settings(&self, settings: Value) {
        self.post("/_sandbox/eloqua/settings", settings).await;
    }

    /// A provider for `spec` with the sandbox endpoint and a client timing out after `timeout`.
    pub fn provider(&self, spec: &Spec) -> EloquaProvider {
        provider_at(spec, sandbox_endpoint(&self.base), Duration::from_secs(10))
    }

    /// Emails of the contacts linked to an opportunity, sorted.
    pub async fn linked(&self, opportunity: &str) -> Vec<String> {
        let linked = self
            .get(&format!(
                "/_sandbox/eloqua/opportunities/{opportunity}/contacts"
            ))
            .await;
        let mut emails: Vec<String> = linked
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["emailAddress"].as_str().unwrap().to_string())
            .collect();
        emails.sort();
        emails
    }
}

pub fn provider_at(spec: &Spec, endpoint: Endpoint, timeout: Duration) -> EloquaProvider {
    let http = reqwest::Client::builder().timeout(timeout).build().unwrap();
    let limiter = Arc::new(governor::RateLimiter::direct(quota()));
    EloquaProvider::new(
        spec,
        ClientContext {
            endpoint,
            http,
            limiter,
        },
    )
    .unwrap()
}

/// An opportunity-contact linkage job.
pub fn linkage_spec() -> Spec {
    serde_json::from_value(json!({
        "version": 1,
        "job": "opp-links",
        "target": {
            "object": "opportunity_contacts",
            "provider": "eloqua",
            "connection": "sandbox",
            "fields": {
                "OpportunityID": "{{Opportunity.Id}}",
                "EmailAddress": "{{Opportunity.Contact.Field(C_EmailAddress)}}"
            },
            "link_entity_type": "Contact",
            "match_field_name": "OpportunityID",
            "source_field": "EmailAddress"
        },
        "source": {"path": "links.csv"},
        "key": "{{ row.opp }}|{{ row.email }}",
        "record": {"OpportunityID": "{{ row.opp }}", "EmailAddress": "{{ row.email }}"}
    }))
    .unwrap()
}

/// A contact import matching on `match_field`.
pub fn contacts_spec(match_field: &str) -> Spec {
    serde_json::from_value(json!({
        "version": 1,
        "job": "contacts",
        "target": {
            "object": "contacts",
            "provider": "eloqua",
            "connection": "sandbox",
            "fields": {"Email": "{{Contact.Field(C_EmailAddress)}}", "First": "{{Contact.Field(C_FirstName)}}"},
            "update_rule": "always"
        },
        "source": {"path": "contacts.csv"},
        "key": "{{ row.email }}",
        "record": {"Email": "{{ row.email }}", "First": "{{ row.first }}"},
        "match": {"field": match_field}
    }))
    .unwrap()
}

/// A record as the executor hands it over.
pub fn record(line: u64, record: Value) -> ChunkRecord {
    ChunkRecord {
        key: format!("k{line}"),
        key_hash: line,
        content_hash: line,
        line,
        contact: None,
        record: record.into(),
    }
}

/// Linkage records of `opportunity` to each email.
pub fn links(opportunity: &str, emails: &[&str]) -> Vec<ChunkRecord> {
    emails
        .iter()
        .zip(1..)
        .map(|(e, i)| record(i, json!({"OpportunityID": opportunity, "EmailAddress": e})))
        .collect()
}

/// Polls until the sync is terminal (the executor's polling policy, shortened).
pub async fn finish(p: &EloquaProvider, batch: &RemoteBatch, sync: &str) -> PollStatus {
    for _ in 0..300 {
        match p.poll(batch, sync).await.unwrap() {
            PollStatus::Running(_) => tokio::time::sleep(Duration::from_millis(20)).await,
            done => return done,
        }
    }
    panic!("sync {sync} did not finish");
}

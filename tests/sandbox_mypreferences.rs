//! The MyPreferences emulator over real HTTP on 127.0.0.1: every flow and edge case of
//! `providers/mypreferences.md` §11. There is no vendor OpenAPI document for this API, so the
//! documented field names and types are asserted explicitly.
//!
//! Each test starts its own emulator behind a minimal axum server (the shared sandbox server
//! is built elsewhere); requests are signed with a PNAUTHINFO3 header on the emulator's
//! virtual clock unless a test is about authentication.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "mypreferences/auth.rs"]
mod auth;
#[path = "mypreferences/execute.rs"]
mod execute;
#[path = "mypreferences/initiate.rs"]
mod initiate;
#[path = "mypreferences/persistence.rs"]
mod persistence;
#[path = "mypreferences/refresh.rs"]
mod refresh;
#[path = "mypreferences/schema.rs"]
mod schema;
#[path = "mypreferences/stage.rs"]
mod stage;
#[path = "mypreferences/throughput.rs"]
mod throughput;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use axum::Router;
use bulkspec::sandbox::core::{Emulator, SandboxConfig, Shared};
use bulkspec::sandbox::mypreferences::Mypreferences;
use bulkspec::sandbox::mypreferences::config::MyPrefConfig;
use reqwest::StatusCode;
use serde_json::{Value, json};

pub const INITIATE: &str = "/Profiles/v4/sandbox/BulkImport";

/// One emulator on an ephemeral port.
pub struct Sandbox {
    pub base: String,
    pub http: reqwest::Client,
    pub emu: Arc<Mypreferences>,
    pub shared: Arc<Shared>,
    /// Seconds the emulator's virtual clock was moved forward.
    offset: AtomicU64,
}

pub async fn start() -> Sandbox {
    start_with(MyPrefConfig::default(), false).await
}

pub async fn start_with(config: MyPrefConfig, strict: bool) -> Sandbox {
    let shared = Shared::new(SandboxConfig {
        strict,
        processing_time: Duration::from_millis(40),
        seed: 7,
    });
    let emu = Mypreferences::with_config(shared.clone(), config).expect("valid config");
    serve(emu, shared).await
}

pub async fn serve(emu: Arc<Mypreferences>, shared: Arc<Shared>) -> Sandbox {
    let app = Router::new()
        .nest("/mypreferences", emu.clone().api_router())
        .nest("/_sandbox/mypreferences", emu.clone().inspect_router());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    Sandbox {
        base,
        http: reqwest::Client::new(),
        emu,
        shared,
        offset: AtomicU64::new(0),
    }
}

/// ISO-8601 (UTC, `Z`) of now plus `shift` seconds (may be negative).
pub fn iso(shift: i64) -> String {
    let now = SystemTime::now();
    let at = if shift >= 0 {
        now + Duration::from_secs(shift as u64)
    } else {
        now - Duration::from_secs(shift.unsigned_abs())
    };
    humantime::format_rfc3339_seconds(at).to_string()
}

impl Sandbox {
    pub fn url(&self, path: &str) -> String {
        format!("{}/mypreferences{path}", self.base)
    }

    /// A valid PNAUTHINFO3 header for user `sandbox`, issued now on the virtual clock.
    pub fn auth(&self) -> String {
        let ts = iso(self.offset.load(Ordering::Relaxed) as i64);
        format!("PNAUTHINFO3-HMAC-SHA256 Credential=sandbox/{ts} Signature=c2lnbmF0dXJl")
    }

    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self
            .http
            .request(method, self.url(path))
            .header("Authorization", self.auth());
        if let Some(body) = body {
            request = request.json(&body);
        }
        read(request.send().await.expect("request")).await
    }

    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.send(reqwest::Method::POST, path, Some(body)).await
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.send(reqwest::Method::GET, path, None).await
    }

    /// Initiates an import and returns its access token.
    pub async fn initiate(&self, body: Value) -> u64 {
        let (status, reply) = self.post(INITIATE, body).await;
        assert_eq!(status, StatusCode::OK, "{reply}");
        reply["AccessToken"].as_u64().expect("integer AccessToken")
    }

    pub async fn stage(&self, token: u64, records: Value) -> (StatusCode, Value) {
        self.post(
            &format!("{INITIATE}/{token}/Stage"),
            json!({ "UserProfilePreferences": records }),
        )
        .await
    }

    pub async fn execute(&self, token: u64) -> (StatusCode, Value) {
        self.send(
            reqwest::Method::POST,
            &format!("{INITIATE}/{token}/Execute"),
            None,
        )
        .await
    }

    pub async fn status(&self, token: u64) -> (StatusCode, Value) {
        self.get(&format!("{INITIATE}/{token}/Status")).await
    }

    pub async fn exceptions(&self, token: u64, query: &str) -> (StatusCode, Value) {
        self.get(&format!("{INITIATE}/{token}/Exceptions{query}"))
            .await
    }

    /// Polls status until the import is terminal; returns every status object seen.
    pub async fn wait(&self, token: u64) -> Vec<Value> {
        let mut seen = Vec::new();
        for _ in 0..1000 {
            let (code, reply) = self.status(token).await;
            assert_eq!(code, StatusCode::OK, "{reply}");
            let done = matches!(reply["Status"].as_str(), Some("Completed" | "Failed"));
            seen.push(reply);
            if done {
                return seen;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        panic!("import {token} never finished: {:?}", seen.last());
    }

    /// Initiate, stage, execute and wait: the final status object.
    pub async fn run(&self, settings: Value, records: Value) -> Value {
        let token = self.initiate(settings).await;
        let (code, reply) = self.stage(token, records).await;
        assert_eq!(code, StatusCode::OK, "{reply}");
        let (code, reply) = self.execute(token).await;
        assert_eq!(code, StatusCode::OK, "{reply}");
        self.wait(token).await.pop().expect("a status")
    }

    pub async fn seed(&self, seed: Value) {
        self.emu.seed(&seed).expect("seed");
    }

    pub async fn profiles(&self) -> Vec<Value> {
        let url = format!("{}/_sandbox/mypreferences/profiles", self.base);
        let reply: Value = self
            .http
            .get(url)
            .send()
            .await
            .expect("get")
            .json()
            .await
            .expect("json");
        reply.as_array().expect("array").clone()
    }

    pub async fn account(&self) -> Value {
        let url = format!("{}/_sandbox/mypreferences/account", self.base);
        self.http
            .get(url)
            .send()
            .await
            .expect("get")
            .json()
            .await
            .expect("json")
    }

    /// Moves the virtual clock forward.
    pub async fn advance(&self, secs: u64) {
        let url = format!("{}/_sandbox/mypreferences/clock", self.base);
        let reply = self
            .http
            .post(url)
            .json(&json!({"advance_secs": secs}))
            .send()
            .await
            .expect("clock");
        assert_eq!(reply.status(), StatusCode::OK);
        self.offset.fetch_add(secs, Ordering::Relaxed);
    }
}

pub async fn read(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    let text = response.text().await.expect("body");
    let value = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    (status, value)
}

/// Asserts a documented error: the status and a `{"Message": string}` body.
pub fn assert_message(code: StatusCode, reply: &Value, expected: StatusCode) -> String {
    assert_eq!(code, expected, "{reply}");
    reply["Message"]
        .as_str()
        .unwrap_or_else(|| panic!("no Message in {reply}"))
        .to_owned()
}

/// A valid Add record with a CRM AlternateId and one email.
pub fn person(crm: &str, email: &str) -> Value {
    json!({
        "AlternateIds": [{"AlternateIdType": "CRM", "AlternateId": crm}],
        "Emails": [{"EmailAddress": email, "EmailAddressType": "Personal", "IsDefault": true}]
    })
}

/// The profile holding AlternateId `crm`.
pub fn by_crm<'a>(profiles: &'a [Value], crm: &str) -> &'a Value {
    profiles
        .iter()
        .find(|p| {
            p["AlternateIds"]
                .as_array()
                .is_some_and(|a| a.iter().any(|x| x["AlternateId"] == crm))
        })
        .unwrap_or_else(|| panic!("no profile {crm} in {profiles:?}"))
}

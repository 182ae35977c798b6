//! Helpers shared by the sandbox integration tests: start a sandbox in-process on 127.0.0.1:0,
//! and load response schemas from the vendors' documents in ../shared/vendor-specs so a drift
//! in a field name or type fails a test.
//!
//! Each test file includes this module with `mod common;`; not every file uses every helper.
#![allow(dead_code)]

use std::path::PathBuf;
use std::time::Duration;

use bulkspec::sandbox::core::SandboxConfig;
use bulkspec::sandbox::{RunningSandbox, SandboxOptions};
use serde_json::{Value, json};

/// A sandbox in memory, jobs taking `processing_ms` from queued to finished.
pub async fn start_sandbox(processing_ms: u64) -> RunningSandbox {
    start_with(SandboxOptions {
        config: config(processing_ms),
        ..SandboxOptions::default()
    })
    .await
}

pub fn config(processing_ms: u64) -> SandboxConfig {
    SandboxConfig {
        processing_time: Duration::from_millis(processing_ms),
        ..SandboxConfig::default()
    }
}

pub async fn start_with(opts: SandboxOptions) -> RunningSandbox {
    bulkspec::sandbox::start(opts)
        .await
        .expect("sandbox starts")
}

thread_local! {
    /// One client per test thread (each tokio test has its own thread and runtime): building a
    /// TLS-capable client costs tens of milliseconds in debug builds.
    static CLIENT: reqwest::Client = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .no_proxy()
        .build()
        .expect("client");
}

pub fn client() -> reqwest::Client {
    CLIENT.with(Clone::clone)
}

/// POSTs JSON to a control route and returns the answer's JSON, asserting a 2xx status.
pub async fn control(sandbox: &RunningSandbox, path: &str, body: Value) -> Value {
    let resp = client()
        .post(format!("{}{path}", sandbox.base_url()))
        .json(&body)
        .send()
        .await
        .expect("send");
    let status = resp.status();
    let body: Value = resp.json().await.expect("json");
    assert!(status.is_success(), "{path}: {status} {body}");
    body
}

/// GETs JSON from the sandbox.
pub async fn get_json(sandbox: &RunningSandbox, path: &str) -> Value {
    let resp = client()
        .get(format!("{}{path}", sandbox.base_url()))
        .send()
        .await
        .expect("send");
    assert!(resp.status().is_success(), "{path}: {}", resp.status());
    resp.json().await.expect("json")
}

/// The folder holding the vendor documents: `BULKSPEC_VENDOR_SPECS`, else the first
/// `shared/vendor-specs` found walking up from the crate.
pub fn vendor_specs_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("BULKSPEC_VENDOR_SPECS") {
        return PathBuf::from(dir);
    }
    let mut dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    loop {
        let candidate = dir.join("shared").join("vendor-specs");
        if candidate.is_dir() {
            return candidate;
        }
        assert!(
            dir.pop(),
            "no shared/vendor-specs above the crate; set BULKSPEC_VENDOR_SPECS"
        );
    }
}

/// A vendor document (JSON).
pub fn vendor_doc(file: &str) -> Value {
    let path = vendor_specs_dir().join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).expect("vendor document is JSON")
}

/// Swagger 2.0: a schema for one definition, with every definition attached so that
/// `#/definitions/...` references resolve.
pub fn swagger_schema(file: &str, definition: &str) -> Value {
    let doc = vendor_doc(file);
    let definitions = doc["definitions"].clone();
    assert!(
        definitions.get(definition).is_some(),
        "{file} has no definition {definition}"
    );
    json!({"$ref": format!("#/definitions/{definition}"), "definitions": definitions})
}

/// Drops names from a definition's `required` list (for documented discrepancies only).
pub fn relax_required(schema: &mut Value, definition: &str, names: &[&str]) {
    if let Some(req) = schema["definitions"][definition]["required"].as_array_mut() {
        req.retain(|r| !names.iter().any(|n| r == n));
    }
}

/// Marks these definitions `additionalProperties: false`, so a misspelt field fails.
pub fn close_definitions(schema: &mut Value, definitions: &[&str]) {
    for d in definitions {
        let def = &mut schema["definitions"][*d];
        assert!(def.is_object(), "no definition {d}");
        def["additionalProperties"] = json!(false);
    }
}

/// Validates with draft 4 (the JSON Schema dialect of Swagger 2.0); panics listing every error.
pub fn assert_schema(schema: &Value, instance: &Value) {
    let validator = jsonschema::draft4::new(schema).expect("schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(instance)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{instance}\ndoes not match the vendor schema:\n{}",
        errors.join("\n")
    );
}

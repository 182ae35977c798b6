//! Test harness: a minimal axum server around one Dotdigital emulator on 127.0.0.1:0, a Basic
//! authenticated client, and validators built from the vendor's OpenAPI documents.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use bulkspec::sandbox::core::{Emulator, SandboxConfig, Shared};
use bulkspec::sandbox::dotdigital::Dotdigital;
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde_json::{Value, json};

pub struct Sandbox {
    pub base: String,
    pub client: reqwest::Client,
    pub emu: Arc<Dotdigital>,
    pub shared: Arc<Shared>,
}

/// Starts an emulator with `processing_time`, applies `seed`, serves it on an ephemeral port.
pub async fn start_with(processing_time: Duration, strict: bool, seed: Value) -> Sandbox {
    let shared = Shared::new(SandboxConfig {
        strict,
        processing_time,
        seed: 7,
    });
    let emu = Dotdigital::new(shared.clone());
    emu.seed(&seed).unwrap();
    let app = Router::new()
        .nest("/dotdigital", emu.clone().api_router())
        .nest("/_sandbox/dotdigital", emu.clone().inspect_router());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    Sandbox {
        base: format!("http://{addr}"),
        client: reqwest::Client::new(),
        emu,
        shared,
    }
}

/// Manual clock (one status step per poll), fast defaults.
pub async fn start(strict: bool, mut seed: Value) -> Sandbox {
    if seed.get("polls_per_step").is_none() {
        seed["polls_per_step"] = json!(1);
    }
    start_with(Duration::from_millis(30), strict, seed).await
}

impl Sandbox {
    pub fn req(&self, method: Method, path: &str) -> RequestBuilder {
        self.client
            .request(method, format!("{}/dotdigital{path}", self.base))
            .basic_auth("sandbox", Some("sandbox"))
    }

    pub async fn import(&self, collection: &str, body: &Value) -> Response {
        let path = format!("/v2/contacts/transactional-data/import/{collection}");
        self.req(Method::POST, &path)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    /// Posts an import that must be accepted; returns its id.
    pub async fn accepted(&self, collection: &str, body: &Value) -> String {
        let resp = self.import(collection, body).await;
        assert_eq!(resp.status(), StatusCode::ACCEPTED);
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["status"], "NotStarted");
        body["id"].as_str().unwrap().to_string()
    }

    pub async fn status(&self, id: &str) -> Value {
        let resp = self
            .req(
                Method::GET,
                &format!("/v2/contacts/transactional-data/import/{id}"),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        resp.json().await.unwrap()
    }

    pub async fn report(&self, id: &str) -> (StatusCode, Value) {
        let path = format!("/v2/contacts/transactional-data/import/{id}/report");
        let resp = self.req(Method::GET, &path).send().await.unwrap();
        (resp.status(), resp.json().await.unwrap())
    }

    /// Polls until a terminal status (manual clock: two polls) and returns it.
    pub async fn finish(&self, id: &str) -> String {
        self.finish_within(id, Duration::from_secs(10)).await
    }

    pub async fn finish_within(&self, id: &str, limit: Duration) -> String {
        let deadline = std::time::Instant::now() + limit;
        while std::time::Instant::now() < deadline {
            let status = self.status(id).await["status"]
                .as_str()
                .unwrap()
                .to_string();
            if status == "Finished" || status == "Failed" {
                return status;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        panic!("import {id} never finished");
    }

    /// Imports and returns the finished report.
    pub async fn import_report(&self, collection: &str, body: &Value) -> Value {
        let id = self.accepted(collection, body).await;
        assert_eq!(self.finish(&id).await, "Finished");
        let (status, report) = self.report(&id).await;
        assert_eq!(status, StatusCode::OK);
        report
    }

    pub async fn inspect(&self, collection: &str) -> Value {
        let url = format!("{}/_sandbox/dotdigital/collections/{collection}", self.base);
        self.client
            .get(url)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }
}

/// The `(key, reason)` pairs of a report's faults.
pub fn faults(report: &Value) -> Vec<(String, String)> {
    report["faults"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["key"].as_str().unwrap_or("").to_string(),
                f["reason"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// Asserts a v2 error: status and an `ERROR_*` code at the end of `message`.
pub async fn assert_v2_error(resp: Response, status: StatusCode, code: &str) {
    assert_eq!(resp.status(), status);
    let body: Value = resp.json().await.unwrap();
    let message = body["message"].as_str().unwrap();
    assert!(
        message.ends_with(code),
        "{message:?} does not end with {code}"
    );
    assert_eq!(
        body.as_object().unwrap().len(),
        1,
        "a v2 error body has only `message`: {body}"
    );
}

fn spec_path(file: &str) -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    for dir in manifest.ancestors() {
        for candidate in [
            dir.join("vendor-specs").join(file),
            dir.join("shared/vendor-specs").join(file),
        ] {
            if candidate.exists() {
                return candidate;
            }
        }
    }
    panic!("vendor spec {file} not found above {}", manifest.display());
}

fn load(file: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(spec_path(file)).unwrap()).unwrap()
}

/// OpenAPI 3.0 `nullable: true` becomes a JSON Schema `"type": [T, "null"]`.
fn nullable_to_types(v: &mut Value) {
    match v {
        Value::Object(map) => {
            if map.remove("nullable") == Some(Value::Bool(true))
                && let Some(Value::String(t)) = map.get("type").cloned()
            {
                map.insert("type".into(), json!([t, "null"]));
            }
            map.values_mut().for_each(nullable_to_types);
        }
        Value::Array(items) => items.iter_mut().for_each(nullable_to_types),
        _ => {}
    }
}

/// A validator for `#/components/schemas/{name}` of the generated v2 spec.
pub fn v2_schema(name: &str) -> jsonschema::Validator {
    let mut doc = load("dotdigital-v2.openapi.json");
    nullable_to_types(&mut doc["components"]);
    let schema =
        json!({"$ref": format!("#/components/schemas/{name}"), "components": doc["components"]});
    jsonschema::validator_for(&schema).unwrap()
}

/// The documented response schemas of an operation answering `code`, one per `(file, path)`.
pub fn response_schemas(
    docs: &[(&str, &str)],
    method: &str,
    code: &str,
) -> Vec<jsonschema::Validator> {
    let mut out = Vec::new();
    for (file, path) in docs {
        let mut doc = load(file);
        nullable_to_types(&mut doc);
        let op = &doc["paths"][*path][method];
        let schema = &op["responses"][code]["content"]["application/json"]["schema"];
        assert!(
            schema.is_object(),
            "{file}: no {code} schema for {method} {path}"
        );
        let root = json!({"allOf": [schema], "components": doc["components"]});
        out.push(jsonschema::validator_for(&root).unwrap());
    }
    out
}

const V2: &str = "dotdigital-v2.openapi.json";
const INSIGHT: &str = "dotdigital-insight-data-v2.openapi.json";

/// Schemas of the import create (202), status (200) and report (200) answers.
pub fn create_schemas() -> Vec<jsonschema::Validator> {
    let path = "/v2/contacts/transactional-data/import/{collectionName}";
    let mut v = response_schemas(&[(V2, path), (INSIGHT, path)], "post", "202");
    v.push(v2_schema("ApiTransactionalDataImport"));
    v
}

pub fn status_schemas() -> Vec<jsonschema::Validator> {
    let docs = [
        (V2, "/v2/contacts/transactional-data/import/{importId}"),
        (INSIGHT, "/v2/contacts/transactional-data/import/{id}"),
    ];
    response_schemas(&docs, "get", "200")
}

pub fn report_schemas() -> Vec<jsonschema::Validator> {
    let docs = [
        (
            V2,
            "/v2/contacts/transactional-data/import/{importId}/report",
        ),
        (
            INSIGHT,
            "/v2/contacts/transactional-data/import/{id}/report",
        ),
    ];
    let mut v = response_schemas(&docs, "get", "200");
    v.push(v2_schema("ApiTransactionalDataImportReport"));
    v
}

pub fn assert_valid(validators: &[jsonschema::Validator], instance: &Value) {
    for v in validators {
        let errors: Vec<String> = v
            .iter_errors(instance)
            .map(|e| format!("{e} at {}", e.instance_path()))
            .collect();
        assert!(
            errors.is_empty(),
            "{instance} violates the vendor schema: {errors:?}"
        );
    }
}

impl Sandbox {
    /// Applies more seed (settings switches) to the running emulator.
    pub fn emu_seed(&self, seed: Value) {
        self.emu.seed(&seed).unwrap();
    }
}

//! Test harness for the Eloqua emulator: a minimal axum server on 127.0.0.1:0 (the real sandbox
//! server is not needed), an HTTP client with the default credentials, and validation of
//! responses against the vendor's OpenAPI documents in ../shared/vendor-specs.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use bulkspec::sandbox::core::{Emulator, SandboxConfig, Shared};
use bulkspec::sandbox::eloqua::Eloqua;
use serde_json::{Map, Value, json};

pub const USER: &str = "Sandbox\\sandbox";
pub const PASSWORD: &str = "sandbox";

pub struct Sandbox {
    pub base: String,
    pub http: reqwest::Client,
    pub emu: Arc<Eloqua>,
    pub shared: Arc<Shared>,
}

/// Starts the emulator on an ephemeral port with the given processing time.
pub async fn start(strict: bool, processing_ms: u64) -> Sandbox {
    let shared = Shared::new(SandboxConfig {
        strict,
        processing_time: Duration::from_millis(processing_ms),
        seed: 7,
    });
    let emu = Eloqua::new(Arc::clone(&shared));
    let base = serve(Arc::clone(&emu)).await;
    Sandbox {
        base,
        http: reqwest::Client::new(),
        emu,
        shared,
    }
}

/// Serves an emulator; returns `http://127.0.0.1:PORT`.
pub async fn serve(emu: Arc<Eloqua>) -> String {
    let routes = Router::new()
        .nest("/eloqua", Arc::clone(&emu).api_router())
        .nest("/_sandbox/eloqua", Arc::clone(&emu).inspect_router());
    // Routing happens in `routes`, after the rewrite the outer router's layer applies.
    let app = Router::new()
        .fallback_service(routes)
        .layer(axum::middleware::map_request_with_state(emu, rewrite));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

/// What the sandbox server does before routing: the emulator rewrites paths below its prefix.
async fn rewrite(State(emu): State<Arc<Eloqua>>, mut request: Request) -> Request {
    let uri = request.uri().clone();
    if let Some(below) = uri.path().strip_prefix("/eloqua")
        && let Some(new) = emu.rewrite_path(below)
    {
        let query = uri.query().map(|q| format!("?{q}")).unwrap_or_default();
        *request.uri_mut() = format!("/eloqua{new}{query}").parse().unwrap();
    }
    request
}

impl Sandbox {
    pub fn bulk(&self, path: &str) -> String {
        format!("{}/eloqua/api/bulk/2.0{path}", self.base)
    }

    pub fn inspect(&self, path: &str) -> String {
        format!("{}/_sandbox/eloqua{path}", self.base)
    }

    pub fn get(&self, url: &str) -> reqwest::RequestBuilder {
        self.http.get(url).basic_auth(USER, Some(PASSWORD))
    }

    pub fn post(&self, url: &str, body: &Value) -> reqwest::RequestBuilder {
        self.http
            .post(url)
            .basic_auth(USER, Some(PASSWORD))
            .json(body)
    }

    /// GET returning status and JSON body (Null when the body is not JSON).
    pub async fn get_json(&self, url: &str) -> (u16, Value) {
        send(self.get(url)).await
    }

    pub async fn post_json(&self, url: &str, body: &Value) -> (u16, Value) {
        send(self.post(url, body)).await
    }

    pub async fn seed(&self, seed: Value) {
        self.emu.seed(&seed).unwrap();
    }

    pub async fn settings(&self, settings: Value) {
        let (status, body) = send(self.http.post(self.inspect("/settings")).json(&settings)).await;
        assert_eq!(status, 200, "{body}");
    }

    /// Creates a definition and returns its uri.
    pub async fn define(&self, collection: &str, body: Value) -> String {
        let (status, def) = self.post_json(&self.bulk(collection), &body).await;
        assert_eq!(status, 201, "{def}");
        def["uri"].as_str().unwrap().to_string()
    }

    /// Uploads rows to a definition (expects 204).
    pub async fn upload(&self, def_uri: &str, rows: Value) {
        let response = self
            .post(&self.bulk(&format!("{def_uri}/data")), &rows)
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status().as_u16(),
            204,
            "{}",
            response.text().await.unwrap()
        );
    }

    /// Starts a sync and returns its uri.
    pub async fn sync(&self, def_uri: &str) -> String {
        let (status, sync) = self
            .post_json(&self.bulk("/syncs"), &json!({"syncedInstanceUri": def_uri}))
            .await;
        assert_eq!(status, 201, "{sync}");
        sync["uri"].as_str().unwrap().to_string()
    }

    /// Polls a sync until it is terminal; returns the statuses seen, in order, and the last body.
    pub async fn wait(&self, sync_uri: &str) -> (Vec<String>, Value) {
        let mut seen: Vec<String> = Vec::new();
        for _ in 0..500 {
            let (status, sync) = self.get_json(&self.bulk(sync_uri)).await;
            assert_eq!(status, 200, "{sync}");
            let state = sync["status"].as_str().unwrap().to_string();
            if seen.last() != Some(&state) {
                seen.push(state.clone());
            }
            if !matches!(state.as_str(), "pending" | "active") {
                return (seen, sync);
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        panic!("sync {sync_uri} never finished: {seen:?}");
    }

    /// Uploads, syncs and waits; returns the terminal sync.
    pub async fn import(&self, def_uri: &str, rows: Value) -> Value {
        self.upload(def_uri, rows).await;
        let sync = self.sync(def_uri).await;
        self.wait(&sync).await.1
    }

    /// Every item of a paged list (follows hasMore).
    pub async fn all(&self, url: &str) -> Vec<Value> {
        let mut items = Vec::new();
        let mut offset = 0;
        loop {
            let sep = if url.contains('?') { '&' } else { '?' };
            let (status, page) = self
                .get_json(&format!("{url}{sep}offset={offset}&limit=1000"))
                .await;
            assert_eq!(status, 200, "{page}");
            let batch = page["items"].as_array().unwrap();
            offset += batch.len();
            items.extend(batch.iter().cloned());
            if !page["hasMore"].as_bool().unwrap() {
                return items;
            }
        }
    }
}

pub async fn send(request: reqwest::RequestBuilder) -> (u16, Value) {
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// Asserts a 400 with a `failures` entry naming `field`.
pub fn assert_failure(status: u16, body: &Value, field: &str) {
    assert_eq!(status, 400, "{body}");
    let failures = body["failures"]
        .as_array()
        .unwrap_or_else(|| panic!("no failures[]: {body}"));
    for f in failures {
        for key in ["field", "value", "constraint"] {
            assert!(f[key].is_string(), "failure without {key}: {f}");
        }
    }
    assert!(
        failures.iter().any(|f| f["field"] == field),
        "no failure on {field}: {body}"
    );
}

// ---- Vendor schemas -------------------------------------------------------------------------

pub enum Doc {
    Opportunities,
    Syncs,
}

fn load(name: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/vendor-specs")
        .join(name);
    let path = if path.exists() {
        path
    } else {
        PathBuf::from("/work/shared/vendor-specs").join(name)
    };
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let docs = <saphyr::Yaml as saphyr::LoadableYamlNode>::load_from_str(&text).unwrap();
    yaml_to_json(&docs[0])
}

fn doc(which: &Doc) -> &'static Value {
    static OPPORTUNITIES: OnceLock<Value> = OnceLock::new();
    static SYNCS: OnceLock<Value> = OnceLock::new();
    match which {
        Doc::Opportunities => {
            OPPORTUNITIES.get_or_init(|| load("eloqua-bulk-2.0-opportunities.openapi.yml"))
        }
        Doc::Syncs => SYNCS.get_or_init(|| load("eloqua-bulk-2.0-syncs.openapi.yml")),
    }
}

fn yaml_to_json(yaml: &saphyr::Yaml<'_>) -> Value {
    use saphyr::{Scalar, Yaml};
    match yaml {
        Yaml::Value(Scalar::Null) => Value::Null,
        Yaml::Value(Scalar::Boolean(b)) => Value::Bool(*b),
        Yaml::Value(Scalar::Integer(i)) => json!(i),
        Yaml::Value(Scalar::FloatingPoint(f)) => json!(f.into_inner()),
        Yaml::Value(Scalar::String(s)) => Value::String(s.to_string()),
        Yaml::Representation(s, _, _) => Value::String(s.to_string()),
        Yaml::Sequence(items) => Value::Array(items.iter().map(yaml_to_json).collect()),
        Yaml::Mapping(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let key = match yaml_to_json(k) {
                        Value::String(s) => s,
                        other => other.to_string(),
                    };
                    (key, yaml_to_json(v))
                })
                .collect(),
        ),
        other => panic!("unexpected YAML node {other:?}"),
    }
}

/// Makes every object schema with `properties` closed, so a misnamed field fails validation.
fn close(schema: &mut Value) {
    match schema {
        Value::Object(map) => {
            if map.contains_key("properties") && !map.contains_key("additionalProperties") {
                map.insert("additionalProperties".into(), Value::Bool(false));
            }
            map.values_mut().for_each(close);
        }
        Value::Array(items) => items.iter_mut().for_each(close),
        _ => {}
    }
}

/// The response schema of an operation, closed, with the document's components attached and
/// the given properties required.
pub fn response_schema(
    which: Doc,
    path: &str,
    method: &str,
    status: &str,
    required: &[&str],
) -> Value {
    let doc = doc(&which);
    let mut schema = doc["paths"][path][method]["responses"][status]["content"]["application/json"]
        ["schema"]
        .clone();
    assert!(schema.is_object(), "no schema for {method} {path} {status}");
    attach(&mut schema, doc, required);
    schema
}

/// A component schema (e.g. `Import` for contact import definitions), prepared the same way.
pub fn component_schema(which: Doc, name: &str, required: &[&str]) -> Value {
    let doc = doc(&which);
    let mut schema = doc["components"]["schemas"][name].clone();
    assert!(schema.is_object(), "no component {name}");
    attach(&mut schema, doc, required);
    schema
}

fn attach(schema: &mut Value, doc: &Value, required: &[&str]) {
    let obj = schema.as_object_mut().unwrap();
    obj.insert("required".into(), json!(required));
    let mut components = doc["components"].clone();
    close(&mut components);
    obj.insert("components".into(), components);
    close(schema);
}

/// Validates an instance (formats included: `date-time` must parse).
pub fn assert_valid(schema: &Value, instance: &Value) {
    let validator = jsonschema::options()
        .should_validate_formats(true)
        .build(schema)
        .unwrap();
    let errors: Vec<String> = validator
        .iter_errors(instance)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "schema violations: {errors:#?}\ninstance: {instance:#}"
    );
}

/// Requires `required` on the items of a paged envelope schema.
pub fn require_items(schema: &mut Value, required: &[&str]) {
    let items = &mut schema["properties"]["items"]["items"];
    if let Some(reference) = items
        .get("$ref")
        .and_then(Value::as_str)
        .map(str::to_string)
    {
        *items = json!({"allOf": [{"$ref": reference}], "required": required});
    } else if let Some(obj) = items.as_object_mut() {
        obj.insert("required".into(), json!(required));
    }
}

/// Row objects for uploads.
pub fn rows(pairs: &[(&str, &str)]) -> Value {
    Value::Array(
        pairs
            .iter()
            .map(|(opp, email)| {
                let mut m = Map::new();
                m.insert("OpportunityID".into(), json!(opp));
                m.insert("EmailAddress".into(), json!(email));
                Value::Object(m)
            })
            .collect(),
    )
}

/// The standard linkage definition of the notes (§5.2).
pub fn linkage_definition(name: &str) -> Value {
    json!({
        "name": name,
        "fields": {
            "OpportunityID": "{{Opportunity.Id}}",
            "EmailAddress": "{{Opportunity.Contact.Field(C_EmailAddress)}}"
        },
        "linkOpportunitiesEntityType": "Contact",
        "linkOpportunitiesMatchFieldName": "OpportunityID",
        "linkOpportunitiesSourceField": "EmailAddress",
        "linkOpportunitiesMultipleSourceMatches": true,
        "linkOpportunitiesCaseSensitiveMatchField": false,
        "linkOpportunitiesCaseSensitiveSourceField": false,
        "isSyncTriggeredOnImport": false,
        "dataRetentionDuration": "P3D",
        "autoDeleteDuration": "P2D"
    })
}

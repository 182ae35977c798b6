//! The Marketo routers: the API under `/marketo` (identity outside the gate, everything else
//! behind it), the describe endpoints, unknown paths (610) and methods (605), and the inspection
//! routes under `/_sandbox/marketo`.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::middleware::from_fn_with_state;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};

use crate::sandbox::marketo::fields::{self, Scope};
use crate::sandbox::marketo::wire::{self, LeadAttribute, MemberDescribe, MemberField, RestName};
use crate::sandbox::marketo::{Marketo, imports, limits, status};

pub fn api(m: Arc<Marketo>) -> Router {
    let members = "/bulk/v1/program/members/import/{batchId}";
    let gated = Router::new()
        .route(
            "/bulk/v1/program/{programId}/members/import.json",
            post(imports::import_members),
        )
        .route(
            &format!("{members}/status.json"),
            get(status::member_status),
        )
        .route(
            &format!("{members}/failures.json"),
            get(status::member_failures),
        )
        .route(
            &format!("{members}/warnings.json"),
            get(status::member_warnings),
        )
        .route("/bulk/v1/leads.json", post(imports::import_leads))
        .route("/bulk/v1/leads/batch/{batchId}", get(status::lead_status))
        .route(
            "/bulk/v1/leads/batch/{batchId}/failures.json",
            get(status::lead_failures),
        )
        .route(
            "/bulk/v1/leads/batch/{batchId}/warnings.json",
            get(status::lead_warnings),
        )
        .route("/rest/v1/leads/describe.json", get(describe_leads))
        .route(
            "/rest/v1/programs/members/describe.json",
            get(describe_members),
        )
        .route(
            "/rest/v1/program/members/describe.json",
            get(describe_members),
        )
        .route_layer(from_fn_with_state(m.clone(), limits::gate));
    Router::new()
        .route("/identity/oauth/token", get(token).post(token))
        .merge(gated)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        // The import handlers enforce their own (configurable) 10 MB limit.
        .layer(DefaultBodyLimit::disable())
        .with_state(m)
}

pub fn inspect(m: Arc<Marketo>) -> Router {
    Router::new()
        .route("/programs/{programId}/members", get(program_members))
        .route("/leads", get(leads))
        .route("/lists/{listId}/leads", get(list_leads))
        .route("/batches", get(batches))
        .with_state(m)
}

async fn not_found(State(m): State<Arc<Marketo>>) -> Response {
    m.error("610")
}

async fn method_not_allowed(State(m): State<Arc<Marketo>>) -> Response {
    m.error("605")
}

/// `GET|POST /identity/oauth/token`: parameters from the query, or from a form body.
async fn token(
    State(m): State<Arc<Marketo>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut params: HashMap<String, String> = Query::<HashMap<String, String>>::try_from_uri(&uri)
        .map(|q| q.0)
        .unwrap_or_default();
    let form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if form && let Ok(pq) = format!("/?{}", String::from_utf8_lossy(&body)).parse::<Uri>() {
        let fields = Query::<HashMap<String, String>>::try_from_uri(&pq)
            .map(|q| q.0)
            .unwrap_or_default();
        for (k, v) in fields {
            params.entry(k).or_insert(v);
        }
    }
    match params.get("grant_type").map(String::as_str) {
        None | Some("") => {
            return wire::oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "Missing grant type",
            );
        }
        Some("client_credentials") => {}
        Some(other) => {
            let text = format!("Unsupported grant type: {other}");
            return wire::oauth_error(StatusCode::BAD_REQUEST, "unsupported_grant_type", text);
        }
    }
    let id = params.get("client_id").map(String::as_str).unwrap_or("");
    let secret = params
        .get("client_secret")
        .map(String::as_str)
        .unwrap_or("");
    let issued = m.auth().issue(&m.shared, id, secret);
    match issued {
        Some(token) => {
            m.shared.mark_dirty("marketo");
            Json(token).into_response()
        }
        None => wire::oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Bad client credentials",
        ),
    }
}

async fn describe_leads(State(m): State<Arc<Marketo>>) -> Response {
    let custom = m.data().store.custom_fields.clone();
    let result: Vec<LeadAttribute> = fields::standard_fields()
        .into_iter()
        .chain(custom.into_iter().filter(|f| f.scope == Scope::Lead))
        .enumerate()
        .map(|(i, f)| LeadAttribute {
            id: i as u32 + 1,
            display_name: f.display_name,
            data_type: f.data_type.wire_name(),
            length: matches!(f.data_type, fields::DataType::String).then_some(255),
            rest: RestName {
                read_only: f.name == "id",
                name: f.name,
            },
        })
        .collect();
    wire::ok(m.request_id(), result)
}

async fn describe_members(State(m): State<Arc<Marketo>>) -> Response {
    let custom = m.data().store.custom_fields.clone();
    let fields = custom
        .into_iter()
        .filter(|f| f.scope == Scope::ProgramMember)
        .map(|f| MemberField {
            name: f.name,
            display_name: f.display_name,
            data_type: f.data_type.wire_name(),
            length: None,
            updateable: true,
            crm_managed: false,
        })
        .collect();
    let describe = MemberDescribe {
        name: "Program Member",
        description: "Program membership of a lead",
        created_at: "2020-01-01T00:00:00Z",
        updated_at: "2020-01-01T00:00:00Z",
        dedupe_fields: vec!["leadId", "programId"],
        searchable_fields: vec![vec!["leadId"]],
        fields,
    };
    wire::ok(m.request_id(), vec![describe])
}

/// `GET /_sandbox/marketo/programs/{programId}/members`: lead id, email, status, fields.
async fn program_members(State(m): State<Arc<Marketo>>, Path(id): Path<String>) -> Response {
    let Ok(id) = id.parse::<u64>() else {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "programId must be an integer"})),
        )
            .into_response();
    };
    let data = m.data();
    let Some(program) = data.store.programs.get(&id) else {
        return (
            StatusCode::NOT_FOUND,
            Json(json!({"error": format!("no program {id}")})),
        )
            .into_response();
    };
    let members: Vec<Value> = program
        .members
        .iter()
        .map(|(lead_id, member)| {
            let lead = data.store.leads.get(lead_id);
            let mut fields = lead.map(|l| l.fields.to_map()).unwrap_or_default();
            fields.extend(member.fields.to_map());
            let email = fields.get("email").cloned().unwrap_or_default();
            json!({"leadId": lead_id, "email": email, "status": member.status, "fields": fields})
        })
        .collect();
    Json(members).into_response()
}

/// `GET /_sandbox/marketo/leads`: every lead.
async fn leads(State(m): State<Arc<Marketo>>) -> Response {
    let data = m.data();
    let leads: Vec<Value> = data
        .store
        .leads_sorted()
        .into_iter()
        .map(|l| json!({"id": l.id, "partition": l.partition, "fields": l.fields}))
        .collect();
    Json(leads).into_response()
}

/// `GET /_sandbox/marketo/lists/{listId}/leads`: lead ids of a static list.
async fn list_leads(State(m): State<Arc<Marketo>>, Path(id): Path<String>) -> Response {
    let data = m.data();
    match id
        .parse::<u64>()
        .ok()
        .and_then(|id| data.store.lists.get(&id))
    {
        Some(list) => Json(list.leads.iter().collect::<Vec<_>>()).into_response(),
        None => (
            StatusCode::NOT_FOUND,
            Json(json!({"error": format!("no list {id}")})),
        )
            .into_response(),
    }
}

/// `GET /_sandbox/marketo/batches`: every batch with its status and counters.
async fn batches(State(m): State<Arc<Marketo>>) -> Response {
    let data = m.data();
    let list: Vec<Value> = data
        .queue
        .batches
        .values()
        .map(|b| {
            let o = b.outcome.clone().unwrap_or_default();
            json!({"batchId": b.id, "job": b.job, "status": b.status.wire(), "processed": o.processed,
                   "failed": o.failed, "warned": o.warned, "message": o.message})
        })
        .collect();
    Json(list).into_response()
}

//! Import definitions (§4, §5): list, create, read, update and delete for contact imports,
//! opportunity imports and opportunity-contact linkage imports.
//!
//! Validation lives in `validate`; the staging area (uploads) in `uploads`. A definition with a
//! sync in progress cannot be deleted (412); an expired one answers 410 (`store`).

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde_json::Value;

use super::Eloqua;
use super::auth::Caller;
use super::errors::ApiError;
use super::paging::{Params, page};
use super::store::{Definition, Kind, Store};
use super::time::format_timestamp;
use super::validate::{self, Context, Validated};
use super::wire::ImportDefinition;

/// A definition as the API returns it: the stored properties plus the read-only ones.
pub fn render(def: &Definition) -> ImportDefinition {
    let mut out = def.spec.clone();
    out.uri = Some(def.uri());
    out.created_at = Some(format_timestamp(def.created_at));
    out.created_by = Some(def.created_by.clone());
    out.updated_at = Some(format_timestamp(def.updated_at));
    out.updated_by = Some(def.updated_by.clone());
    out.kb_used = Some(def.staged_bytes().div_ceil(1024));
    out
}

fn respond<T: serde::Serialize>(status: StatusCode, result: Result<T, ApiError>) -> Response {
    match result {
        Ok(body) => (status, Json(body)).into_response(),
        Err(e) => e.into_response(),
    }
}

/// Parses the numeric id of a path; anything else is a resource that cannot exist.
pub fn parse_id(raw: &str) -> Result<u64, ApiError> {
    raw.parse().map_err(|_| ApiError::NotFound)
}

fn validate_body(
    emu: &Eloqua,
    store: &Store,
    kind: Kind,
    body: &[u8],
) -> Result<Validated, ApiError> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| ApiError::parsing(e.to_string()))?;
    let ctx = Context {
        strict: emu.shared.strict(),
        sync_triggered_default: store.settings.sync_triggered_on_import_default,
        extra_contact_fields: &store.extra_contact_fields,
        import_priorities: &store.settings.import_priorities,
    };
    validate::definition(&value, kind, &ctx).map_err(ApiError::Validation)
}

pub async fn list(emu: Arc<Eloqua>, kind: Kind, query: HashMap<String, String>) -> Response {
    let mut store = emu.lock();
    let now = emu.now(&store);
    store.expire(now);
    let items = store
        .definitions
        .values()
        .filter(|d| d.kind == kind)
        .filter_map(|d| serde_json::to_value(render(d)).ok())
        .collect();
    respond(StatusCode::OK, page(items, &Params::new(query), 1000))
}

pub async fn create(emu: Arc<Eloqua>, kind: Kind, caller: Caller, body: Bytes) -> Response {
    let mut store = emu.lock();
    let result = validate_body(&emu, &store, kind, &body).map(|valid| {
        let now = emu.now(&store);
        store.extra_contact_fields.extend(valid.new_contact_fields);
        store.next_definition_id += 1;
        let def = Definition {
            id: store.next_definition_id,
            kind,
            spec: valid.spec,
            created_at: now,
            created_by: caller.user.clone(),
            updated_at: now,
            updated_by: caller.user,
            staged: Vec::new(),
            uploads_since_sync: 0,
        };
        let rendered = render(&def);
        store.definitions.insert(def.uri(), def);
        rendered
    });
    respond(StatusCode::CREATED, result)
}

pub async fn read(emu: Arc<Eloqua>, kind: Kind, id: String) -> Response {
    let mut store = emu.lock();
    let now = emu.now(&store);
    let result =
        parse_id(&id).and_then(|id| store.definition_mut(kind, id, now).map(|d| render(d)));
    respond(StatusCode::OK, result)
}

pub async fn update(
    emu: Arc<Eloqua>,
    kind: Kind,
    id: String,
    caller: Caller,
    body: Bytes,
) -> Response {
    let mut store = emu.lock();
    let now = emu.now(&store);
    let result = parse_id(&id).and_then(|id| {
        store.definition_mut(kind, id, now)?;
        let valid = validate_body(&emu, &store, kind, &body)?;
        store.extra_contact_fields.extend(valid.new_contact_fields);
        let def = store.definition_mut(kind, id, now)?;
        def.spec = valid.spec;
        def.updated_at = now;
        def.updated_by = caller.user;
        Ok(render(def))
    });
    respond(StatusCode::OK, result)
}

pub async fn delete(emu: Arc<Eloqua>, kind: Kind, id: String) -> Response {
    let mut store = emu.lock();
    let now = emu.now(&store);
    let result = parse_id(&id).and_then(|id| {
        let uri = store.definition_mut(kind, id, now)?.uri();
        if store
            .syncs
            .values()
            .any(|s| s.definition_uri == uri && s.status.in_progress())
        {
            return Err(ApiError::Dependencies);
        }
        store.definitions.remove(&uri);
        Ok(())
    });
    match result {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => e.into_response(),
    }
}

/// Route handlers for one definition type, so the router can mount the three types alike.
pub fn handlers(kind: Kind) -> axum::routing::MethodRouter<Arc<Eloqua>> {
    use axum::routing::get;
    get(
        move |State(emu): State<Arc<Eloqua>>, Query(q): Query<HashMap<String, String>>| {
            list(emu, kind, q)
        },
    )
    .post(
        move |State(emu): State<Arc<Eloqua>>, Extension(caller): Extension<Caller>, body: Bytes| {
            create(emu, kind, caller, body)
        },
    )
}

/// Route handlers of one definition (`.../imports/{id}`).
pub fn item_handlers(kind: Kind) -> axum::routing::MethodRouter<Arc<Eloqua>> {
    use axum::routing::get;
    get(move |State(emu): State<Arc<Eloqua>>, Path(id): Path<String>| read(emu, kind, id))
        .put(
            move |State(emu): State<Arc<Eloqua>>,
                  Path(id): Path<String>,
                  Extension(caller): Extension<Caller>,
                  body: Bytes| update(emu, kind, id, caller, body),
        )
        .delete(move |State(emu): State<Arc<Eloqua>>, Path(id): Path<String>| delete(emu, kind, id))
}

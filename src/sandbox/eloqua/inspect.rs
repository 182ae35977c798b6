//! Inspection and control routes, mounted under `/_sandbox/eloqua` (DESIGN.md "Sandbox"):
//! - `GET opportunities/{opportunityId}/contacts`: JSON array of the linked contacts
//! - `GET contacts`, `GET accounts`, `GET opportunities`, `GET memberships`, `GET definitions`
//! - `GET|POST settings`: the emulator's switches (contact cap, quotas, `errored` spelling,
//!   failing the next syncs, ...), POST merges a partial object
//! - `POST clock` `{"advance_secs": N}`: moves the emulator clock (expiry tests without sleeping)
//!
//! These routes read and tune the emulator; they never act as the vendor API.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};

use super::Eloqua;
use super::definitions::render;
use super::seed::merge_settings;
use super::store::{Contact, Store};

pub fn router(emu: Arc<Eloqua>) -> Router {
    Router::new()
        .route("/contacts", get(contacts))
        .route("/accounts", get(accounts))
        .route("/opportunities", get(opportunities))
        .route("/opportunities/{id}/contacts", get(opportunity_contacts))
        .route("/memberships", get(memberships))
        .route("/definitions", get(definitions))
        .route("/settings", get(settings).post(set_settings))
        .route("/clock", post(advance_clock))
        .with_state(emu)
}

fn contact_json(c: &Contact, store: &Store) -> Value {
    let account = c
        .account_id
        .and_then(|a| store.accounts.get(&a))
        .map(|a| a.name.clone());
    json!({"id": c.id, "emailAddress": c.email, "account": account, "fields": c.fields})
}

async fn contacts(State(emu): State<Arc<Eloqua>>) -> Json<Value> {
    let store = emu.lock();
    Json(
        store
            .contacts
            .values()
            .map(|c| contact_json(c, &store))
            .collect(),
    )
}

async fn accounts(State(emu): State<Arc<Eloqua>>) -> Json<Value> {
    let store = emu.lock();
    Json(json!(store.accounts.values().collect::<Vec<_>>()))
}

async fn opportunities(State(emu): State<Arc<Eloqua>>) -> Json<Value> {
    let store = emu.lock();
    Json(
        store
            .opportunities
            .values()
            .map(
                |o| json!({"id": o.id, "name": o.name, "fields": o.fields, "contacts": o.contacts}),
            )
            .collect(),
    )
}

async fn opportunity_contacts(State(emu): State<Arc<Eloqua>>, Path(id): Path<String>) -> Response {
    let store = emu.lock();
    let opp = store.opportunities.get(&id).or_else(|| {
        store
            .opportunities
            .values()
            .find(|o| o.id.eq_ignore_ascii_case(&id))
    });
    match opp {
        Some(opp) => {
            let linked: Vec<Value> = opp
                .contacts
                .iter()
                .filter_map(|c| store.contacts.get(c))
                .map(|c| contact_json(c, &store))
                .collect();
            Json(linked).into_response()
        }
        None => (
            StatusCode::NOT_FOUND,
            Json(json!({"error": format!("no opportunity {id}")})),
        )
            .into_response(),
    }
}

async fn memberships(State(emu): State<Arc<Eloqua>>) -> Json<Value> {
    Json(json!(emu.lock().memberships))
}

async fn definitions(State(emu): State<Arc<Eloqua>>) -> Json<Value> {
    let store = emu.lock();
    Json(
        store
            .definitions
            .values()
            .map(|d| {
                let staged: usize = d.staged.iter().map(|b| b.rows.len()).sum();
                json!({"definition": render(d), "stagedRows": staged, "uploadsSinceSync": d.uploads_since_sync})
            })
            .collect(),
    )
}

async fn settings(State(emu): State<Arc<Eloqua>>) -> Json<Value> {
    Json(json!(emu.lock().settings))
}

async fn set_settings(State(emu): State<Arc<Eloqua>>, Json(body): Json<Value>) -> Response {
    let mut store = emu.lock();
    match merge_settings(&mut store, &body) {
        Ok(()) => Json(json!(store.settings)).into_response(),
        Err(e) => (StatusCode::BAD_REQUEST, Json(json!({"error": e}))).into_response(),
    }
}

async fn advance_clock(State(emu): State<Arc<Eloqua>>, Json(body): Json<Value>) -> Response {
    let Some(secs) = body.get("advance_secs").and_then(Value::as_u64) else {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "expected {\"advance_secs\": N}"})),
        )
            .into_response();
    };
    let mut store = emu.lock();
    store.clock_offset_secs = store.clock_offset_secs.saturating_add(secs);
    Json(json!({"offset_secs": store.clock_offset_secs})).into_response()
}

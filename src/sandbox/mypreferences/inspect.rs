//! Sandbox routes under `/_sandbox/mypreferences` (DESIGN.md "Sandbox"): what the emulator
//! holds (profiles with the active state of every element, imports, an account's
//! configuration) and the emulator-specific controls: the virtual clock and failing
//! executions. Nothing here is part of the vendor API.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use super::Mypreferences;
use super::clock::format_iso;

pub fn router(emu: Arc<Mypreferences>) -> Router {
    Router::new()
        .route("/profiles", get(profiles))
        .route("/imports", get(imports))
        .route("/account", get(account))
        .route("/clock", post(clock))
        .route("/faults", post(faults))
        .with_state(emu)
}

#[derive(Debug, Deserialize)]
struct AccountQuery {
    client_id: Option<String>,
}

impl Mypreferences {
    fn client_id_or_default(&self, query: AccountQuery) -> String {
        query
            .client_id
            .unwrap_or_else(|| self.config.default_client_id.clone())
    }
}

/// `GET /profiles[?client_id=]` -> JSON array of the account's profiles.
async fn profiles(
    State(emu): State<Arc<Mypreferences>>,
    Query(query): Query<AccountQuery>,
) -> Response {
    let client_id = emu.client_id_or_default(query);
    let state = emu.lock();
    let profiles: Vec<Value> = match state.accounts.get(&client_id) {
        Some(account) => account
            .profiles
            .values()
            .filter_map(|p| serde_json::to_value(p).ok())
            .collect(),
        None => Vec::new(),
    };
    Json(profiles).into_response()
}

/// `GET /imports` -> every import with its client id and its status object.
async fn imports(State(emu): State<Arc<Mypreferences>>) -> Response {
    let state = emu.lock();
    let list: Vec<Value> = state
        .imports
        .values()
        .map(|i| json!({"ClientId": i.client_id, "UserId": i.user_id, "Import": i.to_wire()}))
        .collect();
    Json(list).into_response()
}

/// `GET /account[?client_id=]` -> the account's configuration (types, users), no profiles.
async fn account(
    State(emu): State<Arc<Mypreferences>>,
    Query(query): Query<AccountQuery>,
) -> Response {
    let client_id = emu.client_id_or_default(query);
    let state = emu.lock();
    let Some(account) = state.accounts.get(&client_id) else {
        return (
            StatusCode::NOT_FOUND,
            Json(json!({"Message": "no such account"})),
        )
            .into_response();
    };
    let mut account = account.clone();
    account.profiles.clear();
    Json(account).into_response()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClockBody {
    advance_secs: u64,
}

/// `POST /clock {"advance_secs": N}` moves the virtual clock forward; answers the new time.
async fn clock(State(emu): State<Arc<Mypreferences>>, Json(body): Json<ClockBody>) -> Response {
    let mut state = emu.lock();
    state.clock_offset_secs = state.clock_offset_secs.saturating_add(body.advance_secs);
    let now = emu.now(&state);
    Json(json!({"now": format_iso(now), "offset_secs": state.clock_offset_secs})).into_response()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FaultsBody {
    fail_executions: u32,
}

/// `POST /faults {"fail_executions": N}`: the next N executions end `Failed`, nothing applied.
async fn faults(State(emu): State<Arc<Mypreferences>>, Json(body): Json<FaultsBody>) -> Response {
    emu.lock().fail_executions = body.fail_executions;
    Json(json!({"fail_executions": body.fail_executions})).into_response()
}

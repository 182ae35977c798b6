//! The routers: the vendor's `/v2` paths (mounted under `/dotdigital`) behind the guard
//! middleware, `GET /v2/account-info`, and the inspection routes (mounted under
//! `/_sandbox/dotdigital`).
//!
//! Routing only, plus the two tiny read handlers that belong to no other file.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router, middleware};
use serde_json::{Value, json};

use super::Dotdigital;
use super::settings::{DEFAULT_MAX_REQUEST_BYTES, RateMode};
use super::store::Store;
use super::wire::{AccountOut, AccountProperty};
use super::{contacts, guard, imports, records};
use crate::sandbox::core::Shared;

const TD: &str = "/v2/contacts/transactional-data";

pub fn api_router(emu: Arc<Dotdigital>) -> Router {
    Router::new()
        .route("/v2/account-info", get(account_info))
        .route(
            &format!("{TD}/import/{{id}}"),
            post(imports::create).get(imports::status),
        )
        .route(&format!("{TD}/import/{{id}}/report"), get(imports::report))
        .route(&format!("{TD}/{{collection}}"), post(records::add))
        .route(
            &format!("{TD}/{{collection}}/{{key}}"),
            get(records::get_one)
                .post(records::replace)
                .delete(records::delete_one),
        )
        .route(&format!("{TD}/{{collection}}/empty"), put(records::empty))
        .route(
            "/v2/contacts/{selector}/transactional-data/{collection}",
            get(records::contact_list).delete(records::contact_delete),
        )
        .route(
            "/v2/transactional-data/{collection}",
            get(records::account_list),
        )
        .route(
            "/v2/contacts/transactional-data-collections",
            get(records::collections),
        )
        .route("/v2/contacts/import", post(contacts::import_all))
        .route(
            "/v2/contacts/import/with-merge-option/{merge}",
            post(contacts::import_all_merge),
        )
        .route(
            "/v2/address-books/{book}/contacts/import",
            post(contacts::import_book),
        )
        .route(
            "/v2/address-books/{book}/contacts/import/with-merge-option/{merge}",
            post(contacts::import_book_merge),
        )
        .route("/v2/contacts/import/{id}", get(contacts::status))
        .route("/v2/contacts/import/{id}/report", get(contacts::report))
        .route(
            "/v2/contacts/import/{id}/report-faults",
            get(contacts::report_faults),
        )
        .layer(middleware::from_fn_with_state(emu.clone(), guard::guard))
        // The bulk import reads its body itself against the configurable limit (413); the
        // other bodies get the default maximum.
        .layer(DefaultBodyLimit::max(DEFAULT_MAX_REQUEST_BYTES))
        .with_state(emu)
}

pub fn inspect_router(emu: Arc<Dotdigital>) -> Router {
    Router::new()
        .route("/collections/{collection}", get(inspect_collection))
        .route("/contacts", get(inspect_contacts))
        .with_state(emu)
}

/// `GET /v2/account-info`: id and properties, `ApiEndpoint` being this emulator's base URL.
async fn account_info(State(emu): State<Arc<Dotdigital>>, headers: HeaderMap) -> Json<AccountOut> {
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("127.0.0.1");
    let store = emu.store();
    let calls = store.rate.calls_in_last_hour(Instant::now());
    let hourly = hourly_allowance(&emu.shared, &store.settings.rate);
    let prop = |name, kind, value: String| AccountProperty { name, kind, value };
    Json(AccountOut {
        id: store.settings.account_id,
        properties: vec![
            prop("Name", "String", "Sandbox account".into()),
            prop("ApiEndpoint", "String", format!("http://{host}/dotdigital")),
            prop("ApiCallsInLastHour", "Int32", calls.to_string()),
            prop(
                "ApiCallsRemaining",
                "Int32",
                hourly.saturating_sub(calls).to_string(),
            ),
            prop(
                "RateLimitScheme",
                "String",
                format!("{:?}", store.settings.rate.mode),
            ),
            prop(
                "TransactionalDataAllowanceInMegabytes",
                "Int32",
                "1024".into(),
            ),
        ],
    })
}

/// The hourly allowance `ApiCallsRemaining` is counted against (the flat cap in both schemes).
fn hourly_allowance(shared: &Shared, rate: &super::settings::RateSettings) -> usize {
    match rate.mode {
        RateMode::Flat => {
            shared
                .rate_limit(rate.flat_per_hour, std::time::Duration::from_secs(3600))
                .0 as usize
        }
        RateMode::Tiered => rate.flat_per_hour as usize,
    }
}

/// `GET /_sandbox/dotdigital/collections/{name}`: `{key, contactIdentifier, json}` with `json`
/// parsed and `contactIdentifier` as submitted.
async fn inspect_collection(
    State(emu): State<Arc<Dotdigital>>,
    Path(name): Path<String>,
) -> Response {
    let store = emu.store();
    let Some(coll) = store.collections.get(&name) else {
        let body = json!({"message": format!("no collection named {name:?}")});
        return (StatusCode::NOT_FOUND, Json(body)).into_response();
    };
    let list: Vec<Value> = Store::sorted(&coll.records)
        .into_iter()
        .map(|(k, r)| {
            let json: Value = serde_json::from_str(&r.json).unwrap_or(Value::Null);
            json!({"key": k, "contactIdentifier": r.identifier, "json": json})
        })
        .collect();
    Json(list).into_response()
}

/// `GET /_sandbox/dotdigital/contacts`: every contact with its id and data fields.
async fn inspect_contacts(State(emu): State<Arc<Dotdigital>>) -> Json<Value> {
    let store = emu.store();
    Json(json!(store.contacts.values().collect::<Vec<_>>()))
}

//! Syncs (§4.4, §8): creation, the asynchronous `pending -> active -> success|warning|error`
//! progression over `Shared::processing_time()`, polling, logs, rejects, `/data`, and the
//! loopback-only callback.
//!
//! A sync consumes its definition's staged rows when created; `process` applies them when the
//! sync finishes. This module never calls a non-loopback address.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde_json::Value;

use super::Eloqua;
use super::auth::Caller;
use super::definitions::parse_id;
use super::errors::ApiError;
use super::paging::{Params, page};
use super::process;
use super::rates::SyncType;
use super::store::{Kind, Store, SyncRecord, SyncStatus};
use super::time::{Nanos, format_timestamp};
use super::wire;

/// The sync object as the API returns it.
pub fn render(sync: &SyncRecord, errored_spelling: bool) -> wire::Sync {
    wire::Sync {
        synced_instance_uri: sync.definition_uri.clone(),
        callback_url: sync.callback_url.clone(),
        status: sync.status.wire(errored_spelling).to_string(),
        created_at: format_timestamp(sync.created_at),
        created_by: sync.created_by.clone(),
        sync_started_at: sync.started_at.map(format_timestamp),
        sync_ended_at: sync.ended_at.map(format_timestamp),
        uri: format!("/syncs/{}", sync.id),
    }
}

/// Creates a pending sync of the definition at `uri`, consuming its staged rows.
pub fn start(
    store: &mut Store,
    uri: &str,
    caller: &Caller,
    callback_url: Option<String>,
    now: Nanos,
) -> Result<(wire::Sync, u64), ApiError> {
    let missing = || {
        ApiError::invalid(
            "syncedInstanceUri",
            uri,
            "Must reference an existing import definition.",
        )
    };
    let (kind, id) = Kind::parse_uri(uri).ok_or_else(missing)?;
    let def_uri = store
        .definition_mut(kind, id, now)
        .map_err(|_| missing())?
        .uri();
    if store
        .syncs
        .values()
        .any(|s| s.definition_uri == def_uri && s.status.in_progress())
    {
        return Err(ApiError::Conflict);
    }
    let Store {
        sync_rates,
        settings,
        ..
    } = store;
    sync_rates.admit(SyncType::of(kind), settings, now)?;
    let forced_failure = store.settings.fail_next_syncs > 0;
    store.settings.fail_next_syncs = store.settings.fail_next_syncs.saturating_sub(1);
    let def = store.definition_mut(kind, id, now)?;
    let input = std::mem::take(&mut def.staged);
    def.uploads_since_sync = 0;
    let spec = def.spec.clone();
    store.next_sync_id += 1;
    let sync = SyncRecord {
        id: store.next_sync_id,
        definition_uri: def_uri,
        callback_url,
        status: SyncStatus::Pending,
        created_at: now,
        created_by: caller.user.clone(),
        started_at: None,
        ended_at: None,
        spec,
        kind,
        input,
        forced_failure,
        logs: Vec::new(),
        rejects: Vec::new(),
    };
    let rendered = render(&sync, store.settings.errored_spelling);
    let sync_id = sync.id;
    store.syncs.insert(sync_id, sync);
    Ok((rendered, sync_id))
}

/// Runs the sync's state machine in the background.
pub fn spawn_driver(emu: &Arc<Eloqua>, id: u64) {
    tokio::spawn(drive(Arc::clone(emu), id));
}

async fn drive(emu: Arc<Eloqua>, id: u64) {
    let step = emu.shared.processing_time() / 3;
    tokio::time::sleep(step).await;
    {
        let mut store = emu.lock();
        let now = emu.now(&store);
        if let Some(sync) = store
            .syncs
            .get_mut(&id)
            .filter(|s| s.status == SyncStatus::Pending)
        {
            sync.status = SyncStatus::Active;
            sync.started_at = Some(now);
        }
    }
    tokio::time::sleep(step * 2).await;
    let worker = Arc::clone(&emu);
    let finished = tokio::task::spawn_blocking(move || {
        let mut store = worker.lock();
        let now = worker.now(&store);
        process::run(&mut store, id, now, worker.shared.strict());
        let errored = store.settings.errored_spelling;
        store
            .syncs
            .get(&id)
            .map(|s| (render(s, errored), s.callback_url.clone()))
    })
    .await;
    if let Ok(Some((sync, Some(url)))) = finished {
        callback(&url, &sync).await;
    }
}

/// POSTs the finished sync to its callback URL when that URL is on loopback (§13.16).
async fn callback(url: &str, sync: &wire::Sync) {
    let Ok(parsed) = reqwest::Url::parse(url) else {
        return;
    };
    let host = parsed
        .host_str()
        .unwrap_or_default()
        .trim_start_matches('[')
        .trim_end_matches(']');
    let loopback = host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback());
    if !loopback {
        tracing::debug!(
            url,
            "eloqua sandbox: callback skipped, not a loopback address"
        );
        return;
    }
    // No redirects: a loopback server must not be able to send the call elsewhere.
    let client = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(5))
        .build();
    if let Ok(client) = client
        && let Err(e) = client.post(parsed).json(sync).send().await
    {
        tracing::debug!(error = %e, "eloqua sandbox: callback failed");
    }
}

/// `POST /syncs`.
pub async fn create(
    State(emu): State<Arc<Eloqua>>,
    Extension(caller): Extension<Caller>,
    body: Bytes,
) -> Response {
    let result = parse_create(&body).and_then(|(uri, callback)| {
        let mut store = emu.lock();
        let now = emu.now(&store);
        start(&mut store, &uri, &caller, callback, now)
    });
    match result {
        Ok((sync, id)) => {
            spawn_driver(&emu, id);
            (StatusCode::CREATED, Json(sync)).into_response()
        }
        Err(e) => e.into_response(),
    }
}

fn parse_create(body: &[u8]) -> Result<(String, Option<String>), ApiError> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| ApiError::parsing(e.to_string()))?;
    let Some(uri) = value.get("syncedInstanceUri").and_then(Value::as_str) else {
        return Err(ApiError::invalid("syncedInstanceUri", "", "Is required."));
    };
    let callback = match value.get("callbackUrl") {
        None | Some(Value::Null) => None,
        Some(Value::String(url))
            if reqwest::Url::parse(url).is_ok_and(|u| matches!(u.scheme(), "http" | "https")) =>
        {
            Some(url.clone())
        }
        Some(other) => {
            return Err(ApiError::invalid(
                "callbackUrl",
                other.to_string(),
                "Must be an http(s) URL.",
            ));
        }
    };
    Ok((uri.to_string(), callback))
}

/// `GET /syncs`.
pub async fn list(
    State(emu): State<Arc<Eloqua>>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let store = emu.lock();
    let errored = store.settings.errored_spelling;
    let items = store
        .syncs
        .values()
        .filter_map(|s| serde_json::to_value(render(s, errored)).ok())
        .collect();
    respond(page(items, &Params::new(q), 1000))
}

/// `GET /syncs/{id}`.
pub async fn read(State(emu): State<Arc<Eloqua>>, Path(id): Path<String>) -> Response {
    let mut store = emu.lock();
    let now = emu.now(&store);
    let errored = store.settings.errored_spelling;
    respond(parse_id(&id).and_then(|id| store.sync(id, now).map(|s| render(s, errored))))
}

/// `GET /syncs/{id}/logs`.
pub async fn logs(
    emu: State<Arc<Eloqua>>,
    id: Path<String>,
    q: Query<HashMap<String, String>>,
) -> Response {
    paged_items(emu, id, q, |s| {
        s.logs
            .iter()
            .filter_map(|l| serde_json::to_value(l).ok())
            .collect()
    })
}

/// `GET /syncs/{id}/rejects`.
pub async fn rejects(
    emu: State<Arc<Eloqua>>,
    id: Path<String>,
    q: Query<HashMap<String, String>>,
) -> Response {
    paged_items(emu, id, q, |s| {
        s.rejects
            .iter()
            .filter_map(|r| serde_json::to_value(r).ok())
            .collect()
    })
}

/// One page of a sync's items (logs or rejects), with the paging envelope.
fn paged_items(
    State(emu): State<Arc<Eloqua>>,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    items: impl Fn(&SyncRecord) -> Vec<Value>,
) -> Response {
    let mut store = emu.lock();
    let now = emu.now(&store);
    respond(parse_id(&id).and_then(|id| page(items(store.sync(id, now)?), &Params::new(q), 1000)))
}

/// `GET /syncs/{id}/data`: only export syncs have data; every sync here is an import (400).
pub async fn data(
    State(emu): State<Arc<Eloqua>>,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let mut store = emu.lock();
    let now = emu.now(&store);
    let result = parse_id(&id).and_then(|id| {
        page(Vec::new(), &Params::new(q), 50_000)?;
        store.sync(id, now)?;
        Err::<(), _>(ApiError::invalid(
            "id",
            id.to_string(),
            "Data can only be retrieved for export syncs.",
        ))
    });
    respond(result)
}

/// `DELETE /syncs/{id}/data`.
pub async fn delete_data(State(emu): State<Arc<Eloqua>>, Path(id): Path<String>) -> Response {
    let mut store = emu.lock();
    let now = emu.now(&store);
    match parse_id(&id).and_then(|id| store.sync(id, now).map(|_| ())) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => e.into_response(),
    }
}

fn respond<T: serde::Serialize>(result: Result<T, ApiError>) -> Response {
    match result {
        Ok(body) => Json(body).into_response(),
        Err(e) => e.into_response(),
    }
}

//! The staging area (§7): `POST .../imports/{id}/data` (JSON array of flat objects or CSV) and
//! `DELETE .../imports/{id}/data`.
//!
//! Limits: a body above 32 MB answers 404 (as Eloqua does, not 413); the 501st upload since the
//! last sync 400; staged bytes above the storage quota 413. With `isSyncTriggeredOnImport` the
//! upload starts a sync and answers 201 with it, else 204. Rows are parsed before the store is
//! locked so a large upload does not stall other requests.

use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;

use super::Eloqua;
use super::auth::Caller;
use super::definitions::parse_id;
use super::errors::ApiError;
use super::rows::{parse_csv, parse_json};
use super::store::{Kind, StagedBatch, Store};
use super::syncs;

/// `POST .../imports/{id}/data`.
pub async fn upload(
    emu: Arc<Eloqua>,
    kind: Kind,
    id: String,
    caller: Caller,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let limit = emu.lock().settings.upload_limit_bytes;
    let bytes = match read_limited(body, limit).await {
        Some(bytes) => bytes,
        None => return ApiError::NotFound.into_response(),
    };
    let is_csv = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().to_ascii_lowercase().starts_with("text/csv"));
    let batch = match if is_csv {
        parse_csv(&bytes)
    } else {
        parse_json(&bytes)
    } {
        Ok(batch) => batch,
        Err(e) => return e.into_response(),
    };
    let started = {
        let mut store = emu.lock();
        let now = emu.now(&store);
        let result = parse_id(&id)
            .and_then(|id| stage(&mut store, kind, id, batch, now).map(|sync| (id, sync)));
        match result {
            Ok((id, true)) => {
                let started = syncs::start(&mut store, &kind.uri(id), &caller, None, now);
                if started.is_err() {
                    unstage(&mut store, kind, id, now);
                }
                started
            }
            Ok((_, false)) => return StatusCode::NO_CONTENT.into_response(),
            Err(e) => Err(e),
        }
    };
    match started {
        Ok((sync, sync_id)) => {
            syncs::spawn_driver(&emu, sync_id);
            (StatusCode::CREATED, Json(sync)).into_response()
        }
        Err(e) => e.into_response(),
    }
}

/// Appends a batch to a definition's staging area; returns whether the upload triggers a sync.
fn stage(
    store: &mut Store,
    kind: Kind,
    id: u64,
    batch: StagedBatch,
    now: u64,
) -> Result<bool, ApiError> {
    let max_uploads = store.settings.max_uploads_per_sync;
    let quota = store.settings.storage_quota_bytes;
    let staged_total = store.staged_bytes();
    let def = store.definition_mut(kind, id, now)?;
    if def.uploads_since_sync >= max_uploads {
        return Err(ApiError::invalid(
            "data",
            (max_uploads + 1).to_string(),
            format!(
                "There was a validation error: at most {max_uploads} uploads per definition per sync."
            ),
        ));
    }
    if staged_total.saturating_add(batch.bytes) > quota {
        return Err(ApiError::StorageExceeded);
    }
    def.uploads_since_sync += 1;
    def.staged.push(StagedBatch {
        uploaded_at: now,
        ..batch
    });
    Ok(def.spec.is_sync_triggered_on_import)
}

/// Takes back the batch just staged when its automatic sync could not start (409, 429), so a
/// client that retries the upload does not stage the rows twice.
fn unstage(store: &mut Store, kind: Kind, id: u64, now: u64) {
    if let Ok(def) = store.definition_mut(kind, id, now) {
        def.staged.pop();
        def.uploads_since_sync = def.uploads_since_sync.saturating_sub(1);
    }
}

/// `DELETE .../imports/{id}/data`: discards the staged rows.
pub async fn discard(emu: Arc<Eloqua>, kind: Kind, id: String) -> Response {
    let mut store = emu.lock();
    let now = emu.now(&store);
    let result = parse_id(&id)
        .and_then(|id| store.definition_mut(kind, id, now))
        .map(|def| {
            def.staged.clear();
            def.uploads_since_sync = 0;
        });
    match result {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => e.into_response(),
    }
}

/// Reads the body; `None` when it exceeds `limit` (the rest is drained so the client still gets
/// the answer instead of a reset connection).
async fn read_limited(body: Body, limit: u64) -> Option<Vec<u8>> {
    let mut stream = body.into_data_stream();
    let mut out = Vec::new();
    let mut total: u64 = 0;
    let mut over = false;
    while let Some(chunk) = stream.next().await {
        let Ok(chunk) = chunk else { return None };
        total = total.saturating_add(u64::try_from(chunk.len()).unwrap_or(u64::MAX));
        if total > limit {
            over = true;
            out = Vec::new();
        } else {
            out.extend_from_slice(&chunk);
        }
    }
    (!over).then_some(out)
}

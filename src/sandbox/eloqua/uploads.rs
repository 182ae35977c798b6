//! The staging area (§7): `POST .../imports/{id}/data` (JSON array of flat objects or CSV) and
//! `DELETE .../imports/{id}/data`.
//!
//! Limits: a body above 32 MB answers 404 (as Eloqua does, not 413); the 501st upload since the
//! last sync 400; staged bytes above the storage quota 413. With `isSyncTriggeredOnImport` the
//! upload starts a sync and answers 201 with it, else 204. Rows are parsed before the store is
//! locked so a large upload does not stall other requests.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use serde_json::Value;

use super::Eloqua;
use super::auth::Caller;
use super::definitions::parse_id;
use super::errors::ApiError;
use super::store::{Kind, StagedBatch};
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
            Ok((id, true)) => syncs::start(&mut store, &kind.uri(id), &caller, None, now),
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
    store: &mut super::store::Store,
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
    def.last_upload_at = Some(now);
    def.staged.push(batch);
    Ok(def.spec.is_sync_triggered_on_import)
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
            def.last_upload_at = None;
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

/// A JSON array of flat objects; anything else is a parsing error (§13.11).
fn parse_json(bytes: &[u8]) -> Result<StagedBatch, ApiError> {
    let rows: Vec<Value> = match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Array(rows)) => rows,
        Ok(other) => {
            return Err(ApiError::parsing(format!(
                "expected a JSON array of objects, got {}",
                kind_of(&other)
            )));
        }
        Err(e) => return Err(ApiError::parsing(e.to_string())),
    };
    let mut columns: Vec<String> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let Value::Object(map) = row else {
            return Err(ApiError::parsing("every item must be a flat JSON object"));
        };
        let mut values = vec![None; columns.len()];
        for (key, value) in map {
            let text = match value {
                Value::Null => None,
                Value::String(s) if s.is_empty() => None,
                Value::String(s) => Some(s),
                Value::Bool(b) => Some(b.to_string()),
                Value::Number(n) => Some(n.to_string()),
                Value::Array(_) | Value::Object(_) => {
                    return Err(ApiError::parsing(format!(
                        "value of {key} must be a scalar"
                    )));
                }
            };
            let at = *index.entry(key.clone()).or_insert_with(|| {
                columns.push(key);
                columns.len() - 1
            });
            if values.len() <= at {
                values.resize(at + 1, None);
            }
            values[at] = text;
        }
        out.push(values);
    }
    Ok(StagedBatch {
        columns,
        rows: out,
        bytes: u64::try_from(bytes.len()).unwrap_or(u64::MAX),
    })
}

/// CSV with a header row of column names.
fn parse_csv(bytes: &[u8]) -> Result<StagedBatch, ApiError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(bytes);
    let columns: Vec<String> = reader
        .headers()
        .map_err(|e| ApiError::parsing(e.to_string()))?
        .iter()
        .map(|h| h.trim_start_matches('\u{feff}').to_string())
        .collect();
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| ApiError::parsing(e.to_string()))?;
        rows.push(
            record
                .iter()
                .map(|v| (!v.is_empty()).then(|| v.to_string()))
                .collect(),
        );
    }
    Ok(StagedBatch {
        columns,
        rows,
        bytes: u64::try_from(bytes.len()).unwrap_or(u64::MAX),
    })
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_rows_align_on_columns_of_first_appearance() {
        let batch = parse_json(br#"[{"a": "1", "b": 2}, {"b": null, "c": true}]"#).ok();
        let batch = batch.unwrap_or_default();
        assert_eq!(batch.columns, ["a", "b", "c"]);
        assert_eq!(
            batch.rows[0],
            [Some("1".to_string()), Some("2".to_string())]
        );
        assert_eq!(batch.rows[1], [None, None, Some("true".to_string())]);
        assert!(parse_json(br#"{"a": 1}"#).is_err());
        assert!(parse_json(br#"[{"a": {"b": 1}}]"#).is_err());
    }

    #[test]
    fn csv_rows_use_the_header() {
        let batch = parse_csv(b"OpportunityID,EmailAddress\nOPP-1,a@example.com\nOPP-2,\n")
            .unwrap_or_default();
        assert_eq!(batch.columns, ["OpportunityID", "EmailAddress"]);
        assert_eq!(batch.rows[1], [Some("OPP-2".to_string()), None]);
    }
}

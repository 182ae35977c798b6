//! The bulk insight import endpoints (notes §5, §7, §11 items 5-10): create (202), status and
//! report, and the asynchronous processing that moves an import through `NotStarted`,
//! `NotFinished` and `Finished` (or `Failed`).
//!
//! By default the statuses advance over `Shared::processing_time()` in a spawned task; with the
//! seed's `polls_per_step: N` they advance one step every N status polls (deterministic tests).
//! The record rules themselves are in `rules.rs` and `commit.rs`.

use std::sync::Arc;
use std::time::Instant;

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use rand::Rng;

use super::Dotdigital;
use super::commit::commit;
use super::errors::ApiError;
use super::request::parse_records;
use super::rules::{prepare, valid_collection_name};
use super::store::Import;
use super::wire::{ImportOut, ImportStatus};

/// `POST /v2/contacts/transactional-data/import/{collectionName}`.
pub async fn create(
    State(emu): State<Arc<Dotdigital>>,
    Path(collection): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let (allow_dashes, limit, limits) = {
        let store = emu.store();
        let s = &store.settings;
        (s.allow_dashes, s.max_request_bytes, s.limits.clone())
    };
    if !valid_collection_name(&collection, allow_dashes) {
        return Err(ApiError::invalid_collection_name());
    }
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(ApiError::too_large(limit));
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    if content_type.is_some_and(|ct| !ct.to_ascii_lowercase().contains("json")) {
        return Err(ApiError::content_type());
    }
    let bytes = axum::body::to_bytes(body, limit)
        .await
        .map_err(|_| ApiError::too_large(limit))?;
    let parsed = tokio::task::spawn_blocking(move || parse_records(&bytes, &limits))
        .await
        .map_err(|_| ApiError::unknown(StatusCode::INTERNAL_SERVER_ERROR))?;
    let records = match parsed {
        Ok(records) => records,
        Err(e) if e.classify() == serde_json::error::Category::Data => {
            return Err(ApiError::validation_failed(
                "The request body must be a JSON array of records.",
            ));
        }
        Err(_) => return Err(ApiError::body_mismatch()),
    };
    let (id, manual, drop) = {
        let mut store = emu.store();
        let id = emu.new_guid(&store);
        let max = store.settings.max_active_imports;
        if store.active_imports() >= max {
            return Err(ApiError::too_many_imports(max));
        }
        let fail = decide_failure(&emu, &mut store.settings);
        let manual = store.settings.polls_per_step.is_some();
        store.imports.insert(
            id.clone(),
            Import {
                id: id.clone(),
                collection,
                status: ImportStatus::NotStarted,
                pending: Some(records),
                report: None,
                fail,
                polls: 0,
                running: !manual,
            },
        );
        let drop = store.settings.drop_next_accepted > 0;
        if drop {
            store.settings.drop_next_accepted -= 1;
        }
        (id, manual, drop)
    };
    if !manual {
        spawn_driver(emu.clone(), id.clone());
    }
    if drop {
        return Ok(lost_response());
    }
    let out = ImportOut {
        id: &id,
        status: ImportStatus::NotStarted,
    };
    Ok((StatusCode::ACCEPTED, Json(out)).into_response())
}

/// A response whose body fails before its first byte: hyper closes the connection and the
/// client sees no answer at all, although the import was accepted and runs.
fn lost_response() -> Response {
    let failing = futures_util::stream::once(async {
        Err::<axum::body::Bytes, std::io::Error>(std::io::Error::other(
            "connection dropped by fault injection",
        ))
    });
    let mut response = Response::new(Body::from_stream(failing));
    *response.status_mut() = StatusCode::ACCEPTED;
    response
}

/// Fault injection: the next N imports, or a seeded share of them, end `Failed`.
fn decide_failure(emu: &Dotdigital, settings: &mut super::settings::Settings) -> bool {
    if settings.fail_next_imports > 0 {
        settings.fail_next_imports -= 1;
        return true;
    }
    settings.import_failure_rate > 0.0
        && emu
            .shared
            .with_rng(|rng| rng.random::<f64>() < settings.import_failure_rate)
}

/// Drives one import through its statuses over the processing time.
fn spawn_driver(emu: Arc<Dotdigital>, id: String) {
    tokio::spawn(async move {
        let started = Instant::now();
        let total = emu.shared.processing_time();
        tokio::time::sleep(total / 3).await;
        emu.set_status(&id, ImportStatus::NotFinished);
        emu.process(&id).await;
        tokio::time::sleep(total.saturating_sub(started.elapsed())).await;
        emu.finish(&id);
    });
}

impl Dotdigital {
    fn set_status(&self, id: &str, status: ImportStatus) {
        if let Some(import) = self.store().imports.get_mut(id)
            && !import.status.is_terminal()
        {
            import.status = status;
        }
    }

    /// Applies the pending records (once): stateless rules off the lock, then the commit.
    async fn process(self: &Arc<Self>, id: &str) {
        let taken = {
            let mut store = self.store();
            let limits = store.settings.limits.clone();
            store.imports.get_mut(id).and_then(|i| {
                let fail = i.fail;
                i.pending
                    .take()
                    .map(|records| (records, limits, fail, i.collection.clone()))
            })
        };
        let Some((records, limits, fail, collection)) = taken else {
            return;
        };
        if fail {
            return;
        }
        let Ok(prepared) = tokio::task::spawn_blocking(move || prepare(records, &limits)).await
        else {
            // The rules panicked: the import as a whole failed.
            if let Some(import) = self.store().imports.get_mut(id) {
                import.fail = true;
            }
            return;
        };
        // The commit holds the store lock for a while on large imports: keep it off the
        // async workers.
        let emu = Arc::clone(self);
        let task_id = id.to_string();
        let committed = tokio::task::spawn_blocking(move || {
            let strict = emu.shared.strict();
            let mut store = emu.store();
            let report = commit(&mut store, &collection, prepared, strict);
            if let Some(import) = store.imports.get_mut(&task_id) {
                import.report = Some(report);
            }
        })
        .await;
        if committed.is_err()
            && let Some(import) = self.store().imports.get_mut(id)
        {
            import.fail = true;
        }
    }

    /// Terminal status: `Finished` once the report exists, `Failed` when the import was made
    /// to fail; otherwise processing is still under way (a concurrent poll) and nothing changes.
    fn finish(&self, id: &str) {
        if let Some(import) = self.store().imports.get_mut(id)
            && !import.status.is_terminal()
        {
            if import.report.is_some() {
                import.status = ImportStatus::Finished;
            } else if import.fail {
                import.status = ImportStatus::Failed;
            } else {
                return;
            }
            import.running = false;
        }
    }
}

/// What a status poll has to do after the lock is released.
enum Next {
    Nothing,
    Restart,
    Complete,
}

/// `GET /v2/contacts/transactional-data/import/{importId}`.
pub async fn status(
    State(emu): State<Arc<Dotdigital>>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = id.to_ascii_lowercase();
    let next = {
        let mut store = emu.store();
        let per_step = store.settings.polls_per_step;
        let import = store
            .imports
            .get_mut(&id)
            .ok_or_else(ApiError::import_not_found)?;
        poll(import, per_step)
    };
    match next {
        Next::Nothing => {}
        Next::Restart => spawn_driver(emu.clone(), id.clone()),
        Next::Complete => {
            emu.process(&id).await;
            emu.finish(&id);
        }
    }
    let store = emu.store();
    let import = store
        .imports
        .get(&id)
        .ok_or_else(ApiError::import_not_found)?;
    Ok(Json(ImportOut {
        id: &import.id,
        status: import.status,
    })
    .into_response())
}

/// Counts a poll; in manual mode advances the status, in timed mode restarts a restored import.
fn poll(import: &mut Import, per_step: Option<u32>) -> Next {
    import.polls = import.polls.saturating_add(1);
    if import.status.is_terminal() {
        return Next::Nothing;
    }
    match per_step {
        Some(n) if import.polls >= n.saturating_mul(2) => Next::Complete,
        Some(n) => {
            if import.polls >= n {
                import.status = ImportStatus::NotFinished;
            }
            Next::Nothing
        }
        None if !import.running => {
            // Restored from a snapshot taken while its records were being applied: they are
            // lost, so the import failed.
            if import.pending.is_none() && import.report.is_none() {
                import.fail = true;
            }
            import.running = true;
            Next::Restart
        }
        None => Next::Nothing,
    }
}

/// `GET /v2/contacts/transactional-data/import/{importId}/report`.
pub async fn report(
    State(emu): State<Arc<Dotdigital>>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let store = emu.store();
    let import = store
        .imports
        .get(&id.to_ascii_lowercase())
        .ok_or_else(ApiError::import_not_found)?;
    match (&import.status, &import.report) {
        (ImportStatus::Finished, Some(report)) => Ok(Json(report).into_response()),
        _ => Err(ApiError::report_not_found()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn import() -> Import {
        Import {
            id: "i".into(),
            collection: "c".into(),
            status: ImportStatus::NotStarted,
            pending: Some(Vec::new()),
            report: None,
            fail: false,
            polls: 0,
            running: false,
        }
    }

    #[test]
    fn manual_mode_advances_one_status_every_n_polls() {
        let mut i = import();
        let mut seen = Vec::new();
        for _ in 0..4 {
            let next = poll(&mut i, Some(2));
            seen.push((i.status, matches!(next, Next::Complete)));
        }
        use ImportStatus::*;
        assert_eq!(
            seen,
            [
                (NotStarted, false),
                (NotFinished, false),
                (NotFinished, false),
                (NotFinished, true)
            ]
        );
    }

    #[test]
    fn a_restored_import_restarts_and_one_caught_mid_commit_fails() {
        let mut waiting = import();
        assert!(matches!(poll(&mut waiting, None), Next::Restart));
        assert!(waiting.running && !waiting.fail);
        assert!(matches!(poll(&mut waiting, None), Next::Nothing));
        let mut lost = Import {
            pending: None,
            ..import()
        };
        assert!(matches!(poll(&mut lost, None), Next::Restart));
        assert!(lost.fail);
    }
}

//! Batch status and the failures/warnings files (marketo.md §7, §8, §14.10, §14.14-15). A batch
//! id of the other import type, unknown or expired gives 1013. Files are empty while the batch
//! is not finished and when there is nothing to report.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::response::Response;

use crate::sandbox::marketo::Marketo;
use crate::sandbox::marketo::batches::Batch;
use crate::sandbox::marketo::parse::FileKind;
use crate::sandbox::marketo::wire::{self, BatchView};

/// Which file of a batch.
#[derive(Clone, Copy)]
enum File {
    Failures,
    Warnings,
}

pub async fn member_status(State(m): State<Arc<Marketo>>, Path(id): Path<String>) -> Response {
    status(&m, &id, FileKind::ProgramMembers)
}

pub async fn member_failures(State(m): State<Arc<Marketo>>, Path(id): Path<String>) -> Response {
    file(&m, &id, FileKind::ProgramMembers, File::Failures)
}

pub async fn member_warnings(State(m): State<Arc<Marketo>>, Path(id): Path<String>) -> Response {
    file(&m, &id, FileKind::ProgramMembers, File::Warnings)
}

/// `GET /bulk/v1/leads/batch/{batchId}.json`: the path segment carries the `.json`.
pub async fn lead_status(State(m): State<Arc<Marketo>>, Path(segment): Path<String>) -> Response {
    match segment.strip_suffix(".json") {
        Some(id) => status(&m, id, FileKind::Leads),
        None => m.error("610"),
    }
}

pub async fn lead_failures(State(m): State<Arc<Marketo>>, Path(id): Path<String>) -> Response {
    file(&m, &id, FileKind::Leads, File::Failures)
}

pub async fn lead_warnings(State(m): State<Arc<Marketo>>, Path(id): Path<String>) -> Response {
    file(&m, &id, FileKind::Leads, File::Warnings)
}

/// Why a batch lookup failed.
enum Missing {
    BadId,
    NotFound,
}

/// Parses the id and finds a live batch of the right type.
fn find<R>(
    m: &Marketo,
    id: &str,
    kind: FileKind,
    f: impl FnOnce(&mut Batch) -> R,
) -> Result<R, Missing> {
    let Ok(id) = id.parse::<u32>() else {
        return Err(Missing::BadId);
    };
    let mut data = m.data();
    match data.queue.batches.get_mut(&id) {
        Some(b) if b.kind() == kind => Ok(f(b)),
        _ => Err(Missing::NotFound),
    }
}

/// 1001 for an id that is not an integer, 1013 for an unknown, expired or other-type batch.
fn missing(m: &Marketo, id: &str, why: Missing) -> Response {
    match why {
        Missing::BadId => wire::error(
            m.request_id(),
            "1001",
            format!("Invalid value '{id}'. Required of type 'Integer'"),
        ),
        Missing::NotFound => m.error("1013"),
    }
}

fn status(m: &Arc<Marketo>, id: &str, kind: FileKind) -> Response {
    if let Ok(n) = id.parse::<u32>() {
        let settings = m.settings();
        let mut data = m.data();
        let crate::sandbox::marketo::Data { store, queue } = &mut *data;
        if queue.batches.get(&n).is_some_and(|b| b.kind() == kind)
            && queue.poll(n, store, &settings)
        {
            m.shared.mark_dirty("marketo");
        }
    }
    match find(m, id, kind, |b| view(b)) {
        Ok(v) => wire::ok(m.request_id(), vec![v]),
        Err(why) => missing(m, id, why),
    }
}

/// The status object: counters always present (zero until the batch finishes).
fn view(b: &Batch) -> BatchView {
    let outcome = b.outcome.as_ref();
    BatchView {
        batch_id: b.id,
        import_id: b.id.to_string(),
        status: b.status.wire(),
        num_of_leads_processed: Some(outcome.map_or(0, |o| o.processed)),
        num_of_rows_failed: Some(outcome.map_or(0, |o| o.failed)),
        num_of_rows_with_warning: Some(outcome.map_or(0, |o| o.warned)),
        message: outcome.map(|o| o.message.clone()),
    }
}

fn file(m: &Marketo, id: &str, kind: FileKind, which: File) -> Response {
    let text = find(m, id, kind, |b| {
        let outcome = b.outcome.as_ref();
        match which {
            File::Failures => outcome.map(|o| o.failures.clone()),
            File::Warnings => outcome.map(|o| o.warnings.clone()),
        }
        .unwrap_or_default()
    });
    match text {
        Ok(text) => wire::delimited_file(text),
        Err(why) => missing(m, id, why),
    }
}

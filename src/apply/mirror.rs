//! Mirror mode: records that left the source are deleted remotely where the API can (a
//! MyPreferences Delete import of the removed keys), as a second journaled batch of the run.

use std::sync::Arc;

use tokio::sync::mpsc;

use super::executor::{Outcome, Run};
use super::feed::{EncodedChunk, Feed, SentRecord};
use super::journal::Journal;
use super::{ApplyError, Shared};
use crate::plan::diff::DiffResult;
use crate::providers::{BatchKind, ChunkRecord, Provider};
use crate::spec::types::Spec;
use crate::state::StateStore;

/// Deletes the `removed` records remotely; returns the outcome (accepted = deleted).
pub async fn remove<P: Provider + 'static>(
    provider: Arc<P>,
    store: &mut Box<dyn StateStore>,
    journal: &mut Journal,
    spec: &Spec,
    shared: &Shared<'_>,
    removed: &[u64],
    max_request_bytes: u64,
) -> Result<Option<Outcome>, ApplyError> {
    let keys = store.keys_for(&spec.job, removed)?;
    let records: Vec<ChunkRecord> = keys
        .into_iter()
        .filter_map(|(key_hash, key)| {
            provider.removal_record(&key).map(|record| ChunkRecord {
                key,
                key_hash,
                content_hash: 0,
                line: 0,
                contact: None,
                record: record.into(),
            })
        })
        .collect();
    if records.is_empty() {
        return Ok(None);
    }
    shared.events.line(&format!(
        "{}: deleting {} record(s) that left the source",
        spec.job,
        records.len()
    ));
    let chunks = split(records, max_request_bytes);
    let (tx, rx) = mpsc::channel(chunks.len() + 1);
    for (index, chunk) in chunks.into_iter().enumerate() {
        let body = provider
            .encode(BatchKind::Delete, &chunk)
            .map_err(|e| ApplyError::Remote {
                step: "rm-upload".into(),
                error: e,
            })?;
        let sent = chunk
            .into_iter()
            .map(|r| SentRecord {
                key_hash: r.key_hash,
                content_hash: 0,
                line: 0,
                key: r.key.into(),
            })
            .collect();
        let _ = tx
            .send(Feed::Chunk(EncodedChunk {
                index,
                body,
                records: sent,
            }))
            .await;
    }
    let _ = tx
        .send(Feed::End {
            diff: Box::new(DiffResult::default()),
            invalid: Vec::new(),
        })
        .await;
    drop(tx);
    let mut run = Run {
        provider,
        store,
        journal,
        spec,
        events: shared.events,
        prefix: "rm-",
        kind: BatchKind::Delete,
        slots: shared.slots.clone(),
    };
    Ok(Some(run.single(rx).await?))
}

/// Greedy chunks under the request limit (record JSON + separator, plus the envelope).
fn split(records: Vec<ChunkRecord>, max: u64) -> Vec<Vec<ChunkRecord>> {
    let mut out: Vec<Vec<ChunkRecord>> = Vec::new();
    let mut size = 0u64;
    for r in records {
        let len = r.record.len() as u64 + 1;
        if out
            .last()
            .is_none_or(|c| !c.is_empty() && size + len + 64 > max)
        {
            out.push(Vec::new());
            size = 0;
        }
        size += len;
        if let Some(c) = out.last_mut() {
            c.push(r);
        }
    }
    out
}

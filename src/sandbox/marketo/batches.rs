//! The import queue (marketo.md §7.2, §14.9-10): batches move Queued -> Importing ->
//! Complete/Failed on the sandbox clock (half of `processing_time` queued, half importing), FIFO,
//! at most `max_running` importing at once; or, in "manual" mode, one status per N polls. A
//! batch's rows reach the data when it finishes. Batch ids grow monotonically and expire after
//! the retention period.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Bytes;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::sandbox::marketo::apply::{self, Job, Outcome};
use crate::sandbox::marketo::parse::{self, FileKind, Format, Parsed};
use crate::sandbox::marketo::settings::Settings;
use crate::sandbox::marketo::store::Store;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Status {
    Queued,
    Importing,
    Complete,
    Failed,
}

impl Status {
    pub fn wire(self) -> &'static str {
        match self {
            Status::Queued => "Queued",
            Status::Importing => "Importing",
            Status::Complete => "Complete",
            Status::Failed => "Failed",
        }
    }

    pub fn terminal(self) -> bool {
        matches!(self, Status::Complete | Status::Failed)
    }
}

/// One import batch. While pending it keeps the uploaded file (so a restart can finish it);
/// once finished only the outcome and its files remain.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Batch {
    pub id: u32,
    pub job: Job,
    pub format: Format,
    pub created_ms: u64,
    pub started_ms: Option<u64>,
    pub status: Status,
    pub polls: u32,
    /// Whole-batch failure decided at upload (malformed file, injected failure).
    pub doomed: Option<String>,
    pub file: Option<FileText>,
    pub outcome: Option<Outcome>,
    /// The parse made at upload, so finishing does not parse again.
    #[serde(skip)]
    pub parsed: Option<Arc<Parsed>>,
}

impl Batch {
    pub fn kind(&self) -> FileKind {
        match self.job {
            Job::ProgramMembers { .. } => FileKind::ProgramMembers,
            Job::Leads { .. } => FileKind::Leads,
        }
    }
}

/// An uploaded file, kept (without a copy) until its batch finishes; snapshots hold it as
/// text.
#[derive(Debug, Clone)]
pub struct FileText(pub Bytes);

impl Serialize for FileText {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&String::from_utf8_lossy(&self.0))
    }
}

impl<'de> Deserialize<'de> for FileText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(FileText(Bytes::from(String::deserialize(d)?)))
    }
}

/// All batches of the instance, shared by lead and program-member imports.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Queue {
    pub batches: BTreeMap<u32, Batch>,
    pub next_id: u32,
}

impl Default for Queue {
    fn default() -> Self {
        Self {
            batches: BTreeMap::new(),
            next_id: 1001,
        }
    }
}

/// Durations of the clock mode, from the configured processing time.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    pub queued_ms: u64,
    pub importing_ms: u64,
}

impl Timing {
    pub fn from_processing(total: std::time::Duration) -> Self {
        let total = total.as_millis() as u64;
        Self {
            queued_ms: total / 2,
            importing_ms: total - total / 2,
        }
    }
}

impl Queue {
    /// Batches not yet finished (they all count against `max_queued`).
    pub fn pending(&self) -> usize {
        self.batches
            .values()
            .filter(|b| !b.status.terminal())
            .count()
    }

    pub fn insert(&mut self, mut batch: Batch) -> u32 {
        let id = self.next_id;
        self.next_id += 1;
        batch.id = id;
        self.batches.insert(id, batch);
        id
    }

    /// Moves the clock-driven batches up to `now`; returns whether anything changed.
    pub fn advance(
        &mut self,
        store: &mut Store,
        settings: &Settings,
        timing: Timing,
        now: u64,
    ) -> bool {
        let retention = settings.batch_retention_days * 86_400_000;
        let before = self.batches.len();
        self.batches
            .retain(|_, b| b.created_ms.saturating_add(retention) > now);
        let mut changed = before != self.batches.len();
        if settings.advance_on_polls.is_some() {
            return changed;
        }
        let mut cursor = 0;
        loop {
            let finish = self
                .batches
                .values()
                .filter(|b| b.status == Status::Importing)
                .map(|b| {
                    (
                        b.started_ms.unwrap_or(b.created_ms) + timing.importing_ms,
                        b.id,
                    )
                })
                .min();
            let running = self
                .batches
                .values()
                .filter(|b| b.status == Status::Importing)
                .count();
            let start = (running < settings.max_running)
                .then(|| self.batches.values().find(|b| b.status == Status::Queued))
                .flatten()
                .map(|b| ((b.created_ms + timing.queued_ms).max(cursor), b.id));
            let next = match (finish, start) {
                (Some(f), Some(s)) if s.0 < f.0 => Some((s, false)),
                (Some(f), _) => Some((f, true)),
                (None, Some(s)) => Some((s, false)),
                (None, None) => None,
            };
            let Some(((at, id), is_finish)) = next.filter(|((at, _), _)| *at <= now) else {
                break;
            };
            cursor = at;
            changed = true;
            if is_finish {
                self.finish(id, store);
            } else if let Some(b) = self.batches.get_mut(&id) {
                b.status = Status::Importing;
                b.started_ms = Some(at);
            }
        }
        changed
    }

    /// The earliest time (ms) at which `advance` will change something, if any.
    pub fn next_event(&self, settings: &Settings, timing: Timing) -> Option<u64> {
        if settings.advance_on_polls.is_some() {
            return None;
        }
        let finish = self
            .batches
            .values()
            .filter(|b| b.status == Status::Importing)
            .map(|b| b.started_ms.unwrap_or(b.created_ms) + timing.importing_ms);
        let start = self
            .batches
            .values()
            .filter(|b| b.status == Status::Queued)
            .map(|b| b.created_ms + timing.queued_ms);
        finish.chain(start).min()
    }

    /// Manual mode: a status poll counts towards the batch's next step.
    pub fn poll(&mut self, id: u32, store: &mut Store, settings: &Settings) -> bool {
        let Some(n) = settings.advance_on_polls else {
            return false;
        };
        let n = n.max(1);
        let running = self
            .batches
            .values()
            .filter(|b| b.status == Status::Importing)
            .count();
        let Some(b) = self.batches.get_mut(&id) else {
            return false;
        };
        b.polls += 1;
        match b.status {
            Status::Queued if b.polls >= n && running < settings.max_running => {
                b.status = Status::Importing;
                true
            }
            Status::Importing if b.polls >= 2 * n => {
                self.finish(id, store);
                true
            }
            _ => false,
        }
    }

    /// Ends a batch: applies its rows, or fails it as a whole.
    fn finish(&mut self, id: u32, store: &mut Store) {
        let Some(b) = self.batches.get_mut(&id) else {
            return;
        };
        let parsed = match (&b.doomed, b.parsed.take()) {
            (Some(_), _) => None,
            (None, Some(p)) => Some(Ok(p)),
            (None, None) => {
                let file: &[u8] = b.file.as_ref().map(|f| f.0.as_ref()).unwrap_or_default();
                Some(parse::parse(file, b.format, b.kind(), &store.custom_fields).map(Arc::new))
            }
        };
        match parsed {
            Some(Ok(p)) => {
                let parsed = Arc::try_unwrap(p).unwrap_or_else(|shared| (*shared).clone());
                b.outcome = Some(apply::apply(store, &b.job, parsed, b.format));
                b.status = Status::Complete;
            }
            Some(Err(message)) => fail(b, message),
            None => {
                let message = b.doomed.clone().unwrap_or_default();
                fail(b, message);
            }
        }
        b.file = None;
    }
}

fn fail(b: &mut Batch, message: String) {
    b.outcome = Some(Outcome {
        message,
        ..Outcome::default()
    });
    b.status = Status::Failed;
}

//! The feed: the job's diff run on a blocking thread, its records to send grouped into the
//! plan's chunks and encoded by the provider, handed to the executor one chunk at a time
//! (at most two chunks are in memory). The same diff, over the same source and state, always
//! gives the same chunks: that is what lets a resumed apply skip what it already uploaded.

use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::mpsc;

use crate::plan::diff::{self, Class, DiffOptions, DiffResult, Seen, Visitor};
use crate::providers::{BatchKind, ChunkRecord, Provider, ProviderError};
use crate::source::map::{Mapper, Session};
use crate::source::{Row, SourceReader};
use crate::spec::render::RenderContext;
use crate::spec::types::Spec;
use crate::state::RecordHashes;

/// What a sent record leaves behind once encoded: enough to commit it or report its reject.
#[derive(Debug, Clone)]
pub struct SentRecord {
    pub key_hash: u64,
    pub content_hash: u64,
    pub line: u64,
    pub key: Box<str>,
}

/// One encoded chunk.
#[derive(Debug)]
pub struct EncodedChunk {
    pub index: usize,
    pub body: Bytes,
    pub records: Vec<SentRecord>,
}

/// A message from the feed.
#[derive(Debug)]
pub enum Feed {
    Chunk(EncodedChunk),
    /// The diff finished: counts, removed keys, invalid rows.
    End {
        diff: Box<DiffResult>,
        invalid: Vec<(u64, Option<String>, String)>,
    },
    Failed(String),
}

/// Which state a feed diffed against: the job's lineage and serial (every commit bumps the
/// serial, so the same pair is the same records).
pub type StateVersion = (Option<String>, u64);

/// A feed started before the job's apply, while the plan is made and confirmed: it loads the
/// state itself and encodes up to `buffer` chunks ahead, sending nothing. The apply takes it
/// only if the state it then holds the lock on is the one this feed diffed against; otherwise
/// it is dropped (its thread stops at its next chunk) and a new feed starts.
pub struct Prefeed {
    version: tokio::sync::oneshot::Receiver<StateVersion>,
    rx: mpsc::Receiver<Feed>,
}

impl Prefeed {
    /// The feed, if it ran against `version`.
    pub async fn take_if(self, version: &StateVersion) -> Option<mpsc::Receiver<Feed>> {
        match self.version.await {
            Ok(v) if v == *version => Some(self.rx),
            _ => None,
        }
    }
}

/// What loads a job's state for a prefeed: its version and hashes, read so that they agree.
pub type LoadState = Box<dyn FnOnce() -> Result<(StateVersion, RecordHashes), String> + Send>;

/// Starts a prefeed of one job (see `Prefeed`).
#[allow(clippy::too_many_arguments)]
pub fn start_early<P: Provider + 'static>(
    spec: Spec,
    context: RenderContext,
    read_opts: crate::source::ReadOptions,
    opts: DiffOptions,
    provider: Arc<P>,
    kind: BatchKind,
    load: LoadState,
    buffer: usize,
) -> Prefeed {
    let (tx, rx) = mpsc::channel(buffer.max(1));
    let (version_tx, version) = tokio::sync::oneshot::channel();
    tokio::task::spawn_blocking(move || {
        // On a thread of its own: a PostgreSQL state's client runs a runtime of its own, which
        // must not start inside this one's threads.
        let Ok(Ok((v, state))) = std::thread::spawn(load).join() else {
            return;
        };
        if version_tx.send(v).is_err() {
            return;
        }
        let msg = match produce(
            &spec, &context, &read_opts, state, opts, provider, kind, &tx,
        ) {
            Ok(end) => end,
            Err(e) => Feed::Failed(e),
        };
        let _ = tx.blocking_send(msg);
    });
    Prefeed { version, rx }
}

/// Starts the feed of one job on a blocking thread.
pub fn start<P: Provider + 'static>(
    spec: Spec,
    context: RenderContext,
    read_opts: crate::source::ReadOptions,
    state: RecordHashes,
    opts: DiffOptions,
    provider: Arc<P>,
    kind: BatchKind,
) -> mpsc::Receiver<Feed> {
    let (tx, rx) = mpsc::channel(1);
    tokio::task::spawn_blocking(move || {
        let msg = match produce(
            &spec, &context, &read_opts, state, opts, provider, kind, &tx,
        ) {
            Ok(end) => end,
            Err(e) => Feed::Failed(e),
        };
        let _ = tx.blocking_send(msg);
    });
    rx
}

#[allow(clippy::too_many_arguments)]
fn produce<P: Provider>(
    spec: &Spec,
    context: &RenderContext,
    read_opts: &crate::source::ReadOptions,
    state: RecordHashes,
    opts: DiffOptions,
    provider: Arc<P>,
    kind: BatchKind,
    tx: &mpsc::Sender<Feed>,
) -> Result<Feed, String> {
    let mut reader = SourceReader::open(read_opts).map_err(|e| e.to_string())?;
    let mapper = Mapper::new(spec, context, &reader).map_err(|e| e.to_string())?;
    let mut session = mapper.session().map_err(|e| e.to_string())?;
    let mut v = Encoder {
        provider,
        kind,
        tx,
        chunk: 0,
        records: Vec::new(),
        bodies: Vec::new(),
        pending: Vec::new(),
        invalid: Vec::new(),
        failed: None,
    };
    let diff =
        diff::run(&mut reader, &mut session, state, opts, &mut v).map_err(|e| e.to_string())?;
    v.flush(&session);
    if let Some(e) = v.failed {
        return Err(e);
    }
    if !diff.duplicates.is_empty() {
        let (k, a, b) = &diff.duplicates[0];
        return Err(format!(
            "duplicate key `{k}` on lines {a} and {b} ({} duplicates); keys must be unique",
            diff.duplicate_count
        ));
    }
    Ok(Feed::End {
        diff: Box::new(diff),
        invalid: v.invalid,
    })
}

/// A record whose body sits in `Encoder::bodies`.
struct Pending {
    key: String,
    contact: Option<String>,
    key_hash: u64,
    content_hash: u64,
    line: u64,
    body: std::ops::Range<usize>,
}

struct Encoder<'t, P: Provider> {
    provider: Arc<P>,
    kind: BatchKind,
    tx: &'t mpsc::Sender<Feed>,
    chunk: usize,
    records: Vec<ChunkRecord>,
    /// The chunk's record bodies, one after another, and what belongs to each: one buffer per
    /// chunk instead of an allocation per record.
    bodies: Vec<u8>,
    pending: Vec<Pending>,
    invalid: Vec<(u64, Option<String>, String)>,
    failed: Option<String>,
}

impl<P: Provider> Encoder<'_, P> {
    fn flush(&mut self, session: &Session<'_>) {
        if self.pending.is_empty() || self.failed.is_some() {
            return;
        }
        let shared = Bytes::from(std::mem::take(&mut self.bodies));
        // Chunks are about the same size: the next one's buffer is made big enough at once.
        self.bodies = Vec::with_capacity(shared.len());
        self.records
            .extend(self.pending.drain(..).map(|p| ChunkRecord {
                key: p.key,
                key_hash: p.key_hash,
                content_hash: p.content_hash,
                line: p.line,
                contact: p.contact,
                record: session.body(shared.slice(p.body)),
            }));
        match self.provider.encode(self.kind, &self.records) {
            Ok(body) => {
                // What is kept of each record until the commit: its key moves, nothing is copied.
                let records = self
                    .records
                    .drain(..)
                    .map(|r| SentRecord {
                        key_hash: r.key_hash,
                        content_hash: r.content_hash,
                        line: r.line,
                        key: r.key.into_boxed_str(),
                    })
                    .collect();
                let chunk = EncodedChunk {
                    index: self.chunk,
                    body,
                    records,
                };
                if self.tx.blocking_send(Feed::Chunk(chunk)).is_err() {
                    self.failed = Some("the apply stopped".into());
                }
            }
            Err(
                ProviderError::Permanent { message }
                | ProviderError::Retryable { message, .. }
                | ProviderError::QueueFull { message }
                | ProviderError::Expired { message },
            ) => {
                self.failed = Some(format!("cannot encode chunk {}: {message}", self.chunk));
            }
        }
    }
}

impl<P: Provider> Visitor for Encoder<'_, P> {
    /// Chunks change in `record_of`, which sees every record sent.
    fn record(&mut self, _seen: &Seen<'_>) {}

    fn invalid(&mut self, line: u64, key: Option<&str>, reason: &str) {
        if self.invalid.len() < 100_000 {
            self.invalid
                .push((line, key.map(str::to_owned), reason.to_owned()));
        }
    }

    /// Stopped by an error, or nobody takes the chunks any more (a prefeed whose apply did not
    /// happen): the rest of the source is not read.
    fn stopped(&self) -> bool {
        self.failed.is_some() || self.tx.is_closed()
    }

    fn wants_record(&self, seen: &Seen<'_>) -> bool {
        seen.class.is_sent() && self.failed.is_none()
    }

    fn record_of(&mut self, seen: &Seen<'_>, session: &mut Session<'_>, row: &Row<'_>) {
        if seen.chunk != self.chunk {
            self.flush(session);
            self.chunk = seen.chunk;
        }
        let start = self.bodies.len();
        match session.record_into(row, &mut self.bodies) {
            Ok((key, contact)) => self.pending.push(Pending {
                key,
                contact,
                key_hash: seen.key_hash,
                content_hash: seen.content_hash,
                line: seen.line,
                body: start..self.bodies.len(),
            }),
            Err(e) => self.failed = Some(format!("line {}: {e}", seen.line)),
        }
    }
}

/// Whether the class is a deletion (mode `delete`).
pub fn is_delete(class: Class) -> bool {
    class == Class::Delete
}

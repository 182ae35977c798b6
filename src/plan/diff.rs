//! The diff of one job: stream the source through the mapping, classify each record against
//! the recorded hashes (add, change, unchanged, invalid), find what left the source (remove),
//! and cut the records to send into chunks by the API's request size. A visitor sees every
//! record, so the plan can sample keys and the apply can upload the very same records.

use std::collections::HashMap;
use std::hash::BuildHasherDefault;

use crate::source::map::{Outcome, Session};
use crate::source::{Row, SourceError, SourceReader};
use crate::state::{KeyHashHasher, RecordHashes};

/// What a record is, compared with the state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    Add,
    Change,
    Unchanged,
    /// Sent for deletion (mode `delete`).
    Delete,
}

impl Class {
    /// Whether the record is sent.
    pub fn is_sent(self) -> bool {
        !matches!(self, Class::Unchanged)
    }
}

/// One record, as the diff saw it.
#[derive(Debug, Clone, Copy)]
pub struct Seen<'a> {
    pub class: Class,
    pub line: u64,
    pub key: &'a str,
    pub key_hash: u64,
    pub content_hash: u64,
    pub wire_bytes: u64,
    /// Index of the chunk the record goes into (sent records only).
    pub chunk: usize,
}

/// Receives every record of the diff.
pub trait Visitor {
    fn record(&mut self, seen: &Seen<'_>);
    fn invalid(&mut self, line: u64, key: Option<&str>, reason: &str);
    /// Whether `record_of` should be called for this record (apply builds the full record).
    fn wants_record(&self, _seen: &Seen<'_>) -> bool {
        false
    }
    fn record_of(&mut self, _seen: &Seen<'_>, _session: &mut Session<'_>, _row: &Row<'_>) {}
    /// Called every few thousand rows with (bytes read, file size).
    fn progress(&mut self, _read: u64, _total: Option<u64>) {}
    /// Whether the rest of the diff is no longer wanted (apply's consumer went away); checked
    /// with `progress`. The result of a stopped diff is partial.
    fn stopped(&self) -> bool {
        false
    }
}

/// One request's worth of records.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Chunk {
    pub records: u64,
    pub bytes: u64,
}

/// Counts and chunks of one job's diff.
#[derive(Debug, Default)]
pub struct DiffResult {
    pub add: u64,
    pub change: u64,
    pub unchanged: u64,
    pub delete: u64,
    pub invalid: u64,
    pub source_rows: u64,
    pub chunks: Vec<Chunk>,
    /// Key hashes in the state that the source no longer has.
    pub removed: Vec<u64>,
    /// Duplicate keys: (key, first line, second line), the first few.
    pub duplicates: Vec<(String, u64, u64)>,
    pub duplicate_count: u64,
}

/// How the diff treats records.
#[derive(Debug, Clone, Copy)]
pub struct DiffOptions {
    /// Every valid source record is sent for deletion (mode `delete`).
    pub delete_mode: bool,
    /// Largest request body.
    pub max_request_bytes: u64,
    /// Bytes every request carries besides its records (header line, brackets).
    pub request_overhead: u64,
}

/// Runs the diff of one job.
pub fn run(
    reader: &mut SourceReader,
    session: &mut Session<'_>,
    mut state: RecordHashes,
    opts: DiffOptions,
    visitor: &mut dyn Visitor,
) -> Result<DiffResult, SourceError> {
    let mut r = DiffResult::default();
    let mut seen: HashMap<u64, u64, BuildHasherDefault<KeyHashHasher>> = HashMap::default();
    seen.reserve(state.len());
    let mut current = Chunk::default();
    // The key is copied out of the session so the visitor may use the session again.
    let mut key = String::new();
    loop {
        let row = match reader.next_row() {
            Ok(Some(row)) => row,
            Ok(None) => break,
            Err(e) if e.is_row_error() => {
                r.invalid += 1;
                r.source_rows += 1;
                visitor.invalid(e.line().unwrap_or(0), None, &e.to_string());
                continue;
            }
            Err(e) => return Err(e),
        };
        r.source_rows += 1;
        let line = row.line();
        let (key_hash, content_hash, wire_bytes) = match session.map(&row) {
            Outcome::Invalid { key, reason } => {
                r.invalid += 1;
                visitor.invalid(line, key, &reason);
                continue;
            }
            Outcome::Ok(m) => {
                if let Some(&first) = seen.get(&m.key_hash) {
                    r.duplicate_count += 1;
                    if r.duplicates.len() < 10 {
                        r.duplicates.push((m.key.to_owned(), first, line));
                    }
                    continue;
                }
                if m.wire_bytes + opts.request_overhead > opts.max_request_bytes {
                    r.invalid += 1;
                    let reason = format!(
                        "the record takes {} bytes, more than the request limit of {} bytes",
                        m.wire_bytes, opts.max_request_bytes
                    );
                    visitor.invalid(line, Some(m.key), &reason);
                    continue;
                }
                seen.insert(m.key_hash, line);
                key.clear();
                key.push_str(m.key);
                (m.key_hash, m.content_hash, m.wire_bytes)
            }
        };
        let class = if opts.delete_mode {
            Class::Delete
        } else {
            match state.remove(&key_hash) {
                None => Class::Add,
                Some(c) if c == content_hash => Class::Unchanged,
                Some(_) => Class::Change,
            }
        };
        match class {
            Class::Add => r.add += 1,
            Class::Change => r.change += 1,
            Class::Unchanged => r.unchanged += 1,
            Class::Delete => r.delete += 1,
        }
        let mut chunk = r.chunks.len();
        if class.is_sent() {
            if current.records > 0 && current.bytes + wire_bytes > opts.max_request_bytes {
                r.chunks.push(current);
                chunk += 1;
                current = Chunk::default();
            }
            if current.records == 0 {
                current.bytes = opts.request_overhead;
            }
            current.records += 1;
            current.bytes += wire_bytes;
        }
        let seen_rec = Seen {
            class,
            line,
            key: &key,
            key_hash,
            content_hash,
            wire_bytes,
            chunk,
        };
        visitor.record(&seen_rec);
        if visitor.wants_record(&seen_rec) {
            visitor.record_of(&seen_rec, session, &row);
        }
        if r.source_rows.is_multiple_of(65_536) {
            let p = reader.progress();
            visitor.progress(p.read, p.total);
            if visitor.stopped() {
                break;
            }
        }
    }
    if current.records > 0 {
        r.chunks.push(current);
    }
    if !opts.delete_mode {
        r.removed = state.into_keys().collect();
        r.removed.sort_unstable();
    }
    let p = reader.progress();
    visitor.progress(p.read, p.total);
    Ok(r)
}

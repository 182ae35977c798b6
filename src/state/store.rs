//! The [`StateStore`] trait: everything the later stages may ask of the state.
//!
//! It is synchronous: `plan` calls it directly, `apply` through `tokio::task::spawn_blocking`.
//! Both backends implement it and pass one conformance suite (tests/state). It holds no policy:
//! what a diff, an apply or a lock means is decided by the stages that call it.
use std::time::Duration;

use super::error::Result;
use super::lock::LockGuard;
use super::types::{
    JobSummary, JournalEntry, LockHolder, LockInfo, RecordHashes, RecordRef, Reject,
};

/// A job's recorded state, in SQLite or PostgreSQL.
pub trait StateStore: Send {
    /// Where the state lives, for messages: a path, or a URL without its password.
    fn location(&self) -> &str;

    /// Every job in the state, sorted by name.
    fn list_jobs(&mut self) -> Result<Vec<JobSummary>>;

    /// One job's summary, or None when the state has never seen it. A lock alone does not make
    /// a job (the first apply locks before it writes anything): see [`StateStore::lock_info`].
    fn show(&mut self, job: &str) -> Result<Option<JobSummary>>;

    /// Forgets a job: records, spec, journal, rejects and lock. True when it existed.
    fn rm(&mut self, job: &str) -> Result<bool>;

    /// The rendered spec (JSON text) of the job's last completed apply.
    fn applied_spec(&mut self, job: &str) -> Result<Option<String>>;

    /// Calls `f(key_hash, content_hash)` for every record of the job, streaming.
    fn for_each_record(&mut self, job: &str, f: &mut dyn FnMut(u64, u64)) -> Result<()>;

    /// Every record of the job as key hash -> content hash (no key text: fast on 1M records).
    fn load_hashes(&mut self, job: &str) -> Result<RecordHashes> {
        // Not reserved up front: measured no faster for 1M records, and it is one query less.
        let mut map = RecordHashes::default();
        self.for_each_record(job, &mut |k, c| {
            map.insert(k, c);
        })?;
        Ok(map)
    }

    /// The key text of the given records (those not in the state are left out).
    fn keys_for(&mut self, job: &str, key_hashes: &[u64]) -> Result<Vec<(u64, String)>>;

    /// In one transaction: upserts these records, removes those key hashes, increments the
    /// serial (creating the job with a new lineage if needed). Returns the new serial.
    fn commit_records<'a>(
        &mut self,
        job: &str,
        upserts: &mut dyn Iterator<Item = RecordRef<'a>>,
        removes: &[u64],
    ) -> Result<u64>;

    /// In one transaction, at the end of an apply: records the rendered spec, replaces the
    /// rejects, sets the last apply time and increments the serial. Returns the new serial.
    fn record_apply(&mut self, job: &str, spec_json: &str, rejects: &[Reject]) -> Result<u64>;

    /// The rows the target rejected at the last apply, in the order recorded.
    fn rejects(&mut self, job: &str) -> Result<Vec<Reject>>;

    /// Writes a journal entry; an entry with the same (run, step) is updated, keeping its
    /// first `started_at`.
    fn journal_put(&mut self, job: &str, entry: &JournalEntry) -> Result<()>;

    /// The job's journal, in the order the steps were first written.
    fn journal(&mut self, job: &str) -> Result<Vec<JournalEntry>>;

    /// Forgets the entries of finished runs (those whose `closing_step` is done) other than
    /// the `keep_runs` most recently written runs; unfinished runs are always kept. Returns
    /// how many entries were removed.
    fn prune_journal(&mut self, job: &str, closing_step: &str, keep_runs: u32) -> Result<u64>;

    /// Takes the job's lock, or fails at once with `StateError::Locked` when a live lease is
    /// held. An expired lease is taken over. The guard renews the lease until dropped.
    fn acquire_lock(
        &mut self,
        job: &str,
        holder: &LockHolder,
        lease: Duration,
    ) -> Result<LockGuard>;

    /// The job's lock as stored, expired or not.
    fn lock_info(&mut self, job: &str) -> Result<Option<LockInfo>>;

    /// Removes the job's lock whoever holds it. True when there was one.
    fn unlock(&mut self, job: &str) -> Result<bool>;
}

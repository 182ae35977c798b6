//! The apply journal of one job: every remote step is written before and after it runs, with
//! its remote id, so an apply that dies is resumed by the next one (it polls the remote job
//! already started instead of uploading again). A run ends with a `commit` entry.

use std::collections::BTreeMap;
use std::time::SystemTime;

use serde_json::{Value, json};

use crate::state::{JournalEntry, StateError, StateStore, StepStatus};

/// The step that closes a run.
pub const COMMIT: &str = "commit";
/// Finished runs whose journal an apply keeps (for `state show` and `status`); older ones are
/// pruned when a run commits.
pub const KEEP_RUNS: u32 = 20;
/// The step that opens a run (its details hold the fingerprint and start serial).
pub const RUN: &str = "run";

/// The journal of the run being applied (new or resumed).
pub struct Journal {
    job: String,
    run: String,
    entries: BTreeMap<String, JournalEntry>,
    /// Whether this run was found unfinished in the state.
    pub resumed: bool,
}

/// What an unfinished run was started from; a resume needs the same.
pub fn fingerprint(spec_sha: &str, source: &std::path::Path) -> String {
    let meta = std::fs::metadata(source).ok();
    let size = meta.as_ref().map_or(0, std::fs::Metadata::len);
    let mtime = meta
        .and_then(|m| m.modified().ok())
        .and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos());
    format!("{spec_sha}:{size}:{mtime}")
}

impl Journal {
    /// The unfinished run of `job`, if its fingerprint and start serial still hold; otherwise a
    /// new run. Returns also the unfinished run that could not be resumed (its remote jobs
    /// may still be in flight).
    pub fn open(
        store: &mut dyn StateStore,
        job: &str,
        fp: &str,
        serial: u64,
    ) -> Result<(Journal, Option<Journal>), StateError> {
        let mut by_run: BTreeMap<String, BTreeMap<String, JournalEntry>> = BTreeMap::new();
        let mut order = Vec::new();
        for e in store.journal(job)? {
            if !by_run.contains_key(&e.run) {
                order.push(e.run.clone());
            }
            by_run
                .entry(e.run.clone())
                .or_default()
                .insert(e.step.clone(), e);
        }
        let unfinished = order.iter().rev().find(|r| {
            by_run.get(*r).is_some_and(|steps| {
                steps
                    .get(COMMIT)
                    .is_none_or(|c| c.status != StepStatus::Done)
            })
        });
        let new_run = || Journal {
            job: job.to_owned(),
            run: new_run_id(),
            entries: BTreeMap::new(),
            resumed: false,
        };
        let Some(run) = unfinished.cloned() else {
            return Ok((new_run(), None));
        };
        let entries = by_run.remove(&run).unwrap_or_default();
        let matches = entries.get(RUN).is_some_and(|e| {
            e.details.get("fingerprint").and_then(Value::as_str) == Some(fp)
                && e.details.get("start_serial").and_then(Value::as_u64) == Some(serial)
        });
        let old = Journal {
            job: job.to_owned(),
            run,
            entries,
            resumed: true,
        };
        if matches {
            Ok((old, None))
        } else {
            Ok((new_run(), Some(old)))
        }
    }

    pub fn run_id(&self) -> &str {
        &self.run
    }

    pub fn get(&self, step: &str) -> Option<&JournalEntry> {
        self.entries.get(step)
    }

    /// Whether `step` finished.
    pub fn done(&self, step: &str) -> bool {
        self.get(step).is_some_and(|e| e.status == StepStatus::Done)
    }

    /// Steps whose name starts with `prefix`, in name order.
    pub fn steps_with_prefix<'a>(
        &'a self,
        prefix: &'a str,
    ) -> impl Iterator<Item = &'a JournalEntry> + 'a {
        self.entries
            .range(prefix.to_owned()..)
            .take_while(move |(k, _)| k.starts_with(prefix))
            .map(|(_, v)| v)
    }

    /// Writes a step.
    pub fn put(
        &mut self,
        store: &mut dyn StateStore,
        step: &str,
        status: StepStatus,
        remote_id: Option<&str>,
        details: Value,
        expires_at: Option<SystemTime>,
    ) -> Result<(), StateError> {
        let now = SystemTime::now();
        let kind = step.split('/').next().unwrap_or(step).to_owned();
        let started_at = self.entries.get(step).map_or(now, |e| e.started_at);
        let entry = JournalEntry {
            run: self.run.clone(),
            step: step.to_owned(),
            kind,
            status,
            remote_id: remote_id.map(str::to_owned),
            expires_at,
            details,
            started_at,
            updated_at: now,
        };
        store.journal_put(&self.job, &entry)?;
        self.entries.insert(step.to_owned(), entry);
        Ok(())
    }

    /// Opens the run (first write of a new run).
    pub fn begin(
        &mut self,
        store: &mut dyn StateStore,
        fp: &str,
        serial: u64,
    ) -> Result<(), StateError> {
        if self.entries.contains_key(RUN) {
            return Ok(());
        }
        self.put(
            store,
            RUN,
            StepStatus::Started,
            None,
            json!({"fingerprint": fp, "start_serial": serial}),
            None,
        )
    }

    /// Marks every step whose name starts with `prefix` as failed, in the state too, so a
    /// reopened batch redoes them (its uploads went to a remote job that no longer exists).
    pub fn reset_prefix(
        &mut self,
        store: &mut dyn StateStore,
        prefix: &str,
    ) -> Result<(), StateError> {
        let steps: Vec<String> = self
            .entries
            .keys()
            .filter(|k| k.starts_with(prefix))
            .cloned()
            .collect();
        for step in steps {
            self.put(
                store,
                &step,
                StepStatus::Failed,
                None,
                serde_json::json!({"reset": true}),
                None,
            )?;
        }
        Ok(())
    }
}

fn new_run_id() -> String {
    let t = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    format!("{t:x}-{:04x}", std::process::id() & 0xffff)
}

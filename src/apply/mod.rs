//! Apply: runs a job's plan against its API, step by step and resumably.
//!
//! The job's diff is streamed again (`feed`), its chunks uploaded by the provider client
//! (`executor`), every remote step journaled in the state before and after it runs (`journal`),
//! and the records committed to the state only once the remote job has reported them accepted;
//! rejected rows stay pending and are recorded for `bulkspec report`. Retry and polling follow
//! the spec (`policy`).

pub mod connect;
pub mod early;
pub mod events;
pub mod executor;
pub mod feed;
pub mod journal;
pub mod lock;
pub mod mirror;
pub mod policy;
pub mod rejects;
pub mod schedule;

use std::sync::Arc;

use serde_json::json;

use crate::plan::diff::DiffOptions;
use crate::providers::{BatchKind, Batching, Provider, ProviderError};
use crate::spec::types::Mode;
use crate::spec::workspace::{LoadedSpec, Workspace};
use crate::state::{LockGuard, RecordRef, Reject, StateError, StateStore, StepStatus};
pub use events::{Event, Events};
use executor::{Outcome, Run};
use journal::Journal;

/// The demo project of the repository (specs/: five jobs, all four providers), for tests.
#[cfg(test)]
pub(crate) fn demo_workspace() -> Workspace {
    let (ws, diags) = crate::spec::workspace::load(&crate::spec::workspace::LoadOptions {
        dir: std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")),
        paths: Vec::new(),
        vars: Vec::new(),
        var_files: Vec::new(),
    });
    assert!(!diags.has_errors(), "{diags:?}");
    ws
}

/// Why a job's apply stopped.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error("state: {0}")]
    State(#[from] StateError),
    #[error("source: {0}")]
    Source(String),
    #[error("step `{step}`: {error}")]
    Remote { step: String, error: ProviderError },
    #[error(
        "job `{job}`: remote job {remote} is still running after {after} (polling.timeout); run `bulkspec apply` again to resume it"
    )]
    Timeout {
        job: String,
        remote: String,
        after: String,
    },
    #[error("job `{job}`: {message}; run `bulkspec apply` again to start a new remote import")]
    Expired { job: String, message: String },
    #[error("job `{job}`: {message}")]
    Setup { job: String, message: String },
}

/// What one job's apply did.
#[derive(Debug, Default)]
pub struct JobResult {
    pub job: String,
    pub sent: u64,
    pub accepted: u64,
    pub rejects: Vec<Reject>,
    pub removed: u64,
    pub invalid: u64,
    /// Upload requests sent by this run (resumed uploads are not sent again).
    pub data_requests: u64,
    pub resumed: bool,
    pub serial: u64,
}

/// What the jobs of one run share: where events go, and the slots for remote jobs of the
/// job's API connection (`Connections` hands out one semaphore per connection).
pub struct Shared<'a> {
    pub events: &'a Events,
    pub slots: Arc<tokio::sync::Semaphore>,
}

/// Applies one job with `provider`. The caller holds the job's lock. A `prefeed` started
/// before the lock is used when it diffed against the state now held.
pub async fn apply_job<P: Provider + 'static>(
    ws: &Workspace,
    loaded: &LoadedSpec,
    provider: Arc<P>,
    store: &mut Box<dyn StateStore>,
    lock: &LockGuard,
    shared: &Shared<'_>,
    prefeed: Option<feed::Prefeed>,
) -> Result<JobResult, ApplyError> {
    let events = shared.events;
    let spec = &loaded.spec;
    let job = spec.job.clone();
    let setup = |e: &dyn std::fmt::Display| ApplyError::Setup {
        job: job.clone(),
        message: e.to_string(),
    };
    let FeedSetup {
        read_opts,
        opts,
        kind,
    } = feed_setup(ws, loaded).map_err(|e| setup(&e))?;
    let summary = store.show(&job)?;
    let serial = summary.as_ref().map_or(0, |s| s.serial);
    let version: feed::StateVersion = (summary.map(|s| s.lineage), serial);
    let fp = journal::fingerprint(
        &crate::plan::job::spec_digest(&loaded.rendered),
        &read_opts.path,
    );
    let (mut journal, stale) = Journal::open(store.as_mut(), &job, &fp, serial)?;
    if let Some(mut stale) = stale {
        events.line(&format!("{job}: an earlier apply did not finish, but the source, spec or state changed since; its records will be sent again"));
        stale.put(
            store.as_mut(),
            journal::COMMIT,
            StepStatus::Done,
            None,
            json!({"abandoned": true}),
            None,
        )?;
    }
    if journal.resumed {
        events.line(&format!(
            "{job}: resuming the apply run {}",
            journal.run_id()
        ));
    }
    journal.begin(store.as_mut(), &fp, serial)?;
    let max_request_bytes = opts.max_request_bytes;
    let early = match prefeed {
        Some(p) => p.take_if(&version).await,
        None => None,
    };
    let rx = match early {
        Some(rx) => rx,
        None => feed::start(
            spec.clone(),
            ws.context.clone(),
            read_opts,
            store.load_hashes(&job)?,
            opts,
            provider.clone(),
            kind,
        ),
    };
    let mut run = Run {
        provider: provider.clone(),
        store,
        journal: &mut journal,
        spec,
        events,
        prefix: "",
        kind,
        slots: shared.slots.clone(),
    };
    let outcome = match provider.batching() {
        Batching::PerChunk => {
            let window = spec
                .limits
                .concurrency
                .unwrap_or(2)
                .min(spec.target.provider().max_concurrency()) as usize;
            run.per_chunk(rx, window).await?
        }
        Batching::Single => run.single(rx).await?,
    };
    let removed = outcome
        .diff
        .as_ref()
        .map(|d| d.removed.clone())
        .unwrap_or_default();
    let deleted = if spec.mode == Mode::Mirror && !removed.is_empty() {
        mirror::remove(
            provider.clone(),
            store,
            &mut journal,
            spec,
            shared,
            &removed,
            max_request_bytes,
        )
        .await?
    } else {
        None
    };
    let resumed = journal.resumed;
    if lock.is_lost() {
        // Another run took the job over (our lease expired or was unlocked by hand): it now
        // owns the state. What we sent stays journaled and is re-sent or resumed by it.
        return Err(ApplyError::Setup {
            job: spec.job.clone(),
            message: "the job's lock was taken over while this apply ran; nothing was committed"
                .into(),
        });
    }
    commit(
        ws,
        loaded,
        store,
        &mut journal,
        outcome,
        deleted,
        kind,
        resumed,
    )
}

/// How a job's feed reads and chunks its diff: the same for a prefeed and the apply's own
/// feed, so both give the same chunks.
pub struct FeedSetup {
    pub read_opts: crate::source::ReadOptions,
    pub opts: DiffOptions,
    pub kind: BatchKind,
}

pub fn feed_setup(ws: &Workspace, loaded: &LoadedSpec) -> Result<FeedSetup, String> {
    let spec = &loaded.spec;
    let read_opts = crate::source::options::read_options(&loaded.path, &spec.source)
        .map_err(|e| e.to_string())?;
    let max_request_bytes = spec
        .limits
        .max_request_bytes
        .map_or(spec.target.provider().default_request_bytes(), |s| s.0);
    let kind = if spec.mode == Mode::Delete {
        BatchKind::Delete
    } else {
        BatchKind::Upsert
    };
    let reader = crate::source::SourceReader::open(&read_opts).map_err(|e| e.to_string())?;
    let header = crate::source::map::Mapper::new(spec, &ws.context, &reader)
        .map_err(|e| e.to_string())?
        .header_bytes;
    Ok(FeedSetup {
        read_opts,
        opts: DiffOptions {
            delete_mode: kind == BatchKind::Delete,
            max_request_bytes,
            request_overhead: header,
        },
        kind,
    })
}

#[allow(clippy::too_many_arguments)]
/// Commits what the remote side accepted, records the applied spec and the rejects, and
/// closes the run in the journal.
fn commit(
    _ws: &Workspace,
    loaded: &LoadedSpec,
    store: &mut Box<dyn StateStore>,
    journal: &mut Journal,
    out: Outcome,
    deleted: Option<Outcome>,
    kind: BatchKind,
    resumed: bool,
) -> Result<JobResult, ApplyError> {
    let spec = &loaded.spec;
    let job = &spec.job;
    let diff = out
        .diff
        .ok_or_else(|| ApplyError::Source("the source ended before the diff finished".into()))?;
    let accepted: Vec<usize> = (0..out.sent.len()).filter(|i| !out.rejected[*i]).collect();
    let mut removes: Vec<u64> = Vec::new();
    let upserts: Vec<RecordRef<'_>> = if kind == BatchKind::Delete {
        removes.extend(accepted.iter().map(|i| out.sent[*i].key_hash));
        Vec::new()
    } else {
        accepted
            .iter()
            .map(|i| &out.sent[*i])
            .map(|s| RecordRef {
                key_hash: s.key_hash,
                content_hash: s.content_hash,
                key: &s.key,
            })
            .collect()
    };
    if spec.mode == Mode::Upsert {
        // Upsert never deletes remotely: records that left the source are only forgotten.
        removes.extend(diff.removed.iter().copied());
    }
    let mut rejects = out.rejects;
    if let Some(d) = deleted {
        // Mirror: only what the API confirmed deleted leaves the state.
        removes.extend(
            d.sent
                .iter()
                .zip(&d.rejected)
                .filter(|(_, r)| !**r)
                .map(|(s, _)| s.key_hash),
        );
        rejects.extend(d.rejects);
    }
    let mut iter = upserts.into_iter();
    store.commit_records(job, &mut iter, &removes)?;
    rejects.extend(
        out.invalid
            .iter()
            .take(100_000)
            .map(|(line, key, reason)| Reject {
                line: *line,
                key: key.clone().unwrap_or_default(),
                code: "INVALID".into(),
                reason: reason.clone(),
            }),
    );
    let spec_json = serde_json::to_string(&loaded.rendered).unwrap_or_default();
    let serial = store.record_apply(job, &spec_json, &rejects)?;
    journal.put(
        store.as_mut(),
        journal::COMMIT,
        StepStatus::Done,
        None,
        json!({"accepted": accepted.len(), "rejected": rejects.len()}),
        None,
    )?;
    // The run is committed: older finished runs are history nobody resumes. A failure here
    // costs only space, so it does not fail the apply.
    if let Err(e) = store.prune_journal(job, journal::COMMIT, journal::KEEP_RUNS) {
        tracing::warn!(job = %job, "could not prune the journal: {e}");
    }
    Ok(JobResult {
        job: job.clone(),
        sent: out.sent.len() as u64,
        accepted: accepted.len() as u64,
        removed: removes.len() as u64,
        invalid: diff.invalid,
        rejects,
        data_requests: out.data_requests,
        resumed,
        serial,
    })
}

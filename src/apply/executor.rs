//! Runs one job's remote steps from its feed of encoded chunks, journaling each step before
//! and after it runs. `PerChunk` providers get a window of remote jobs in flight; `Single`
//! providers get one remote job with many uploads. Retries, queue-full waits and polling follow
//! the spec's policies.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Instant;

use serde_json::{Value, json};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};

use super::feed::{EncodedChunk, Feed, SentRecord};
use super::journal::Journal;
use super::policy::{PollSchedule, retry};
use super::rejects;
use super::{ApplyError, Event, Events};
use crate::plan::diff::DiffResult;
use crate::providers::{BatchKind, PollStatus, Provider, ProviderError, RemoteBatch, RemoteReject};
use crate::spec::types::Spec;
use crate::state::{Reject, StateStore, StepStatus};

/// What the remote side did with the records of a run.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Records sent, in upload order, and whether each was rejected.
    pub sent: Vec<SentRecord>,
    pub rejected: Vec<bool>,
    pub rejects: Vec<Reject>,
    pub data_requests: u64,
    pub diff: Option<Box<DiffResult>>,
    pub invalid: Vec<(u64, Option<String>, String)>,
}

/// Everything the steps of one job share.
pub struct Run<'a, P: Provider> {
    pub provider: Arc<P>,
    pub store: &'a mut Box<dyn StateStore>,
    pub journal: &'a mut Journal,
    pub spec: &'a Spec,
    pub events: &'a Events,
    /// Journal step prefix (`""` for the records, `rm-` for mirror removals).
    pub prefix: &'static str,
    pub kind: BatchKind,
    /// Remote jobs in flight on this API connection, shared by every job of the run: a
    /// permit is held from a remote job's upload until it finished.
    pub slots: Arc<Semaphore>,
}

/// A remote job in flight: chunk index, remote id, its records, its slot, and when it started.
type InFlight = (
    usize,
    String,
    Vec<SentRecord>,
    OwnedSemaphorePermit,
    Instant,
);

impl<P: Provider> Run<'_, P> {
    fn job(&self) -> &str {
        &self.spec.job
    }

    fn put(
        &mut self,
        step: &str,
        status: StepStatus,
        remote: Option<&str>,
        details: Value,
    ) -> Result<(), ApplyError> {
        let step = format!("{}{step}", self.prefix);
        self.journal
            .put(self.store.as_mut(), &step, status, remote, details, None)
            .map_err(ApplyError::State)
    }

    fn uploading(&self, c: &EncodedChunk) {
        self.events.emit(Event::Uploading {
            job: self.job(),
            chunk: c.index,
            records: c.records.len(),
            bytes: c.body.len(),
            removal: !self.prefix.is_empty(),
        });
    }

    fn uploaded(&self, chunk: usize, records: usize, resumed: bool) {
        self.events.emit(Event::Uploaded {
            job: self.job(),
            chunk,
            records,
            removal: !self.prefix.is_empty(),
            resumed,
        });
    }

    fn entry(&self, step: &str) -> Option<&crate::state::JournalEntry> {
        self.journal.get(&format!("{}{step}", self.prefix))
    }

    /// Runs the whole feed through a `PerChunk` provider.
    pub async fn per_chunk(
        &mut self,
        mut rx: mpsc::Receiver<Feed>,
        window: usize,
    ) -> Result<Outcome, ApplyError> {
        let batch = RemoteBatch {
            id: String::new(),
            kind: self.kind,
            expires_at: None,
            details: Value::Null,
        };
        let mut out = Outcome::default();
        let mut inflight: VecDeque<InFlight> = VecDeque::new();
        while let Some(msg) = rx.recv().await {
            match msg {
                Feed::Chunk(c) => {
                    let index = c.index;
                    let slot = self.slot(&batch, &mut inflight, &mut out).await?;
                    let (remote, records) = self
                        .upload_chunk(&batch, c, &mut inflight, &mut out)
                        .await?;
                    inflight.push_back((index, remote, records, slot, Instant::now()));
                    while inflight.len() > window.max(1) {
                        if let Some(job) = inflight.pop_front() {
                            self.finish_chunk(&batch, job, &mut out).await?;
                        }
                    }
                }
                Feed::End { diff, invalid } => {
                    out.diff = Some(diff);
                    out.invalid = invalid;
                }
                Feed::Failed(e) => return Err(ApplyError::Source(e)),
            }
        }
        while let Some(job) = inflight.pop_front() {
            self.finish_chunk(&batch, job, &mut out).await?;
        }
        Ok(out)
    }

    /// A slot for one more remote job on this connection. When every slot is taken and this
    /// job holds some, its oldest remote job is finished first: waiting instead could leave
    /// two jobs each waiting for the other's slot.
    async fn slot(
        &mut self,
        batch: &RemoteBatch,
        inflight: &mut VecDeque<InFlight>,
        out: &mut Outcome,
    ) -> Result<OwnedSemaphorePermit, ApplyError> {
        loop {
            if let Ok(permit) = self.slots.clone().try_acquire_owned() {
                return Ok(permit);
            }
            match inflight.pop_front() {
                Some(job) => self.finish_chunk(batch, job, out).await?,
                None => return self.wait_slot().await,
            }
        }
    }

    /// Waits for a slot held by other jobs (they release theirs as their remote jobs end).
    async fn wait_slot(&self) -> Result<OwnedSemaphorePermit, ApplyError> {
        self.slots
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| ApplyError::Setup {
                job: self.job().into(),
                message: "the run is stopping".into(),
            })
    }

    async fn upload_chunk(
        &mut self,
        batch: &RemoteBatch,
        c: EncodedChunk,
        inflight: &mut VecDeque<InFlight>,
        out: &mut Outcome,
    ) -> Result<(String, Vec<SentRecord>), ApplyError> {
        let step = format!("upload/{:06}", c.index);
        if let Some(e) = self.entry(&step).filter(|e| e.status == StepStatus::Done) {
            let remote = e.remote_id.clone().unwrap_or_default();
            self.uploaded(c.index, c.records.len(), true);
            return Ok((remote, c.records));
        }
        self.put(
            &step,
            StepStatus::Started,
            None,
            json!({"records": c.records.len(), "bytes": c.body.len()}),
        )?;
        self.uploading(&c);
        loop {
            let provider = self.provider.clone();
            let body = c.body.clone();
            let result = retry(&self.spec.retry, "upload", || {
                provider.upload(batch, c.index, body.clone())
            })
            .await;
            out.data_requests += 1;
            match result {
                Ok(remote) => {
                    let remote = remote.unwrap_or_default();
                    self.put(
                        &step,
                        StepStatus::Done,
                        Some(&remote),
                        json!({"records": c.records.len(), "bytes": c.body.len()}),
                    )?;
                    self.uploaded(c.index, c.records.len(), false);
                    return Ok((remote, c.records));
                }
                Err(ProviderError::QueueFull { message }) => {
                    // Wait for the oldest remote job of ours to finish, or for anyone's.
                    self.events.line(&format!(
                        "{}: {message}; waiting for a running import to finish",
                        self.job()
                    ));
                    match inflight.pop_front() {
                        Some(job) => self.finish_chunk(batch, job, out).await?,
                        None => tokio::time::sleep(self.spec.polling.interval.0).await,
                    }
                }
                Err(e) => return Err(ApplyError::Remote { step, error: e }),
            }
        }
    }

    async fn finish_chunk(
        &mut self,
        batch: &RemoteBatch,
        (index, remote, records, _slot, started): InFlight,
        out: &mut Outcome,
    ) -> Result<(), ApplyError> {
        let step = format!("poll/{index:06}");
        let remote_rejects = match self.entry(&step).filter(|e| e.status == StepStatus::Done) {
            Some(e) => stored_rejects(&e.details),
            None => {
                let r = self.wait_remote(batch, &remote, &step, started).await?;
                self.put(&step, StepStatus::Done, Some(&remote), rejects_details(&r))?;
                r
            }
        };
        record(out, records, remote_rejects);
        Ok(())
    }

    /// Polls a remote job to its end, then reads its rejects.
    async fn wait_remote(
        &mut self,
        batch: &RemoteBatch,
        remote: &str,
        step: &str,
        started: Instant,
    ) -> Result<Result<Vec<RemoteReject>, String>, ApplyError> {
        let mut schedule = PollSchedule::since(&self.spec.polling, started);
        loop {
            if !schedule.wait().await {
                return Err(ApplyError::Timeout {
                    job: self.job().into(),
                    remote: remote.into(),
                    after: self.spec.polling.timeout.to_string(),
                });
            }
            let provider = self.provider.clone();
            let status = retry(&self.spec.retry, "poll", || provider.poll(batch, remote))
                .await
                .map_err(|e| ApplyError::Remote {
                    step: step.into(),
                    error: e,
                })?;
            match status {
                PollStatus::Running(s) => {
                    self.events.emit(Event::Polling {
                        job: self.job(),
                        remote,
                        status: &s,
                        since: schedule.elapsed(),
                    });
                }
                PollStatus::Failed(reason) => return Ok(Err(reason)),
                PollStatus::Done => {
                    let provider = self.provider.clone();
                    let r = retry(&self.spec.retry, "rejects", || {
                        provider.rejects(batch, remote)
                    })
                    .await
                    .map_err(|e| ApplyError::Remote {
                        step: step.into(),
                        error: e,
                    })?;
                    self.events.emit(Event::Finished {
                        job: self.job(),
                        remote,
                        rejected: r.len(),
                    });
                    return Ok(Ok(r));
                }
            }
        }
    }

    /// Runs the whole feed through a `Single` provider: open, upload every chunk, start, poll.
    pub async fn single(&mut self, mut rx: mpsc::Receiver<Feed>) -> Result<Outcome, ApplyError> {
        let mut out = Outcome::default();
        // One remote job for the whole feed: one slot, held until it ends.
        let _slot = self.wait_slot().await?;
        let batch = self.open_batch().await?;
        let mut records = Vec::new();
        while let Some(msg) = rx.recv().await {
            match msg {
                Feed::Chunk(c) => {
                    let step = format!("upload/{:06}", c.index);
                    let prior = self.entry(&step).map(|e| e.status);
                    if prior == Some(StepStatus::Started) {
                        // An earlier run died (or gave up) during this upload: its rows may be
                        // staged already, and staging them again would double them.
                        return Err(self.batch_error(&step, in_doubt(c.index))?);
                    }
                    if prior != Some(StepStatus::Done) {
                        self.put(
                            &step,
                            StepStatus::Started,
                            None,
                            json!({"records": c.records.len(), "bytes": c.body.len()}),
                        )?;
                        self.uploading(&c);
                        let provider = self.provider.clone();
                        let body = c.body.clone();
                        out.data_requests += 1;
                        match retry(&self.spec.retry, "upload", || {
                            provider.upload(&batch, c.index, body.clone())
                        })
                        .await
                        {
                            Ok(_) => {
                                self.put(
                                    &step,
                                    StepStatus::Done,
                                    None,
                                    json!({"records": c.records.len(), "bytes": c.body.len()}),
                                )?;
                                self.uploaded(c.index, c.records.len(), false);
                            }
                            Err(e) => return Err(self.batch_error(&step, e)?),
                        }
                    } else {
                        self.uploaded(c.index, c.records.len(), true);
                    }
                    records.extend(c.records);
                }
                Feed::End { diff, invalid } => {
                    out.diff = Some(diff);
                    out.invalid = invalid;
                }
                Feed::Failed(e) => return Err(ApplyError::Source(e)),
            }
        }
        if records.is_empty() {
            self.close(&batch).await;
            return Ok(out);
        }
        let remote = match self
            .entry("start")
            .filter(|e| e.status == StepStatus::Done)
            .and_then(|e| e.remote_id.clone())
        {
            Some(r) => r,
            None => {
                self.put("start", StepStatus::Started, None, Value::Null)?;
                let provider = self.provider.clone();
                match retry(&self.spec.retry, "start", || provider.start(&batch)).await {
                    Ok(r) => {
                        self.put("start", StepStatus::Done, Some(&r), Value::Null)?;
                        r
                    }
                    Err(e) => return Err(self.batch_error("start", e)?),
                }
            }
        };
        let remote_rejects = match self.entry("poll").filter(|e| e.status == StepStatus::Done) {
            Some(e) => stored_rejects(&e.details),
            None => {
                let r = self
                    .wait_remote(&batch, &remote, "poll", Instant::now())
                    .await?;
                self.put("poll", StepStatus::Done, Some(&remote), rejects_details(&r))?;
                r
            }
        };
        record(&mut out, records, remote_rejects);
        self.close(&batch).await;
        Ok(out)
    }

    async fn open_batch(&mut self) -> Result<RemoteBatch, ApplyError> {
        if let Some(e) = self.entry("batch").filter(|e| e.status == StepStatus::Done)
            && let Ok(b) = serde_json::from_value::<RemoteBatch>(e.details.clone())
        {
            let expired = b
                .expires_at
                .is_some_and(|t| t <= std::time::SystemTime::now());
            if !expired {
                return Ok(b);
            }
            self.events.line(&format!(
                "{}: the remote import {} expired; starting a new one",
                self.job(),
                b.id
            ));
            self.reset_batch_steps()?;
        }
        self.put("batch", StepStatus::Started, None, Value::Null)?;
        let provider = self.provider.clone();
        let kind = self.kind;
        let b = retry(&self.spec.retry, "open", || provider.open_batch(kind))
            .await
            .map_err(|e| ApplyError::Remote {
                step: "batch".into(),
                error: e,
            })?;
        let details = serde_json::to_value(&b).unwrap_or(Value::Null);
        let step = format!("{}batch", self.prefix);
        self.journal
            .put(
                self.store.as_mut(),
                &step,
                StepStatus::Done,
                Some(&b.id),
                details,
                b.expires_at,
            )
            .map_err(ApplyError::State)?;
        Ok(b)
    }

    /// The uploads and start of an expired batch must be redone in the new one.
    fn reset_batch_steps(&mut self) -> Result<(), ApplyError> {
        for step in ["upload/", "start", "poll"] {
            let prefix = format!("{}{step}", self.prefix);
            self.journal.reset_prefix(self.store.as_mut(), &prefix)?;
        }
        Ok(())
    }

    /// An error of an upload or start: an expired batch is marked so the next run reopens it.
    fn batch_error(&mut self, step: &str, e: ProviderError) -> Result<ApplyError, ApplyError> {
        if let ProviderError::Expired { .. } = &e {
            self.put("batch", StepStatus::Failed, None, json!({"expired": true}))?;
            self.reset_batch_steps()?;
            return Ok(ApplyError::Expired {
                job: self.job().into(),
                message: e.to_string(),
            });
        }
        Ok(ApplyError::Remote {
            step: step.into(),
            error: e,
        })
    }

    async fn close(&mut self, batch: &RemoteBatch) {
        if self
            .entry("close")
            .is_some_and(|e| e.status == StepStatus::Done)
        {
            return;
        }
        match self.provider.close_batch(batch).await {
            Ok(()) => {
                let _ = self.put("close", StepStatus::Done, None, Value::Null);
            }
            Err(e) => self.events.line(&format!(
                "{}: could not clean up the remote import: {e}",
                self.job()
            )),
        }
    }
}

fn rejects_details(r: &Result<Vec<RemoteReject>, String>) -> Value {
    match r {
        Ok(list) => json!({"rejects": list}),
        Err(reason) => json!({"failed": reason}),
    }
}

fn stored_rejects(details: &Value) -> Result<Vec<RemoteReject>, String> {
    if let Some(reason) = details.get("failed").and_then(Value::as_str) {
        return Err(reason.to_owned());
    }
    Ok(details
        .get("rejects")
        .and_then(|r| serde_json::from_value(r.clone()).ok())
        .unwrap_or_default())
}

/// Adds a finished remote job's records and rejects to the outcome.
fn record(out: &mut Outcome, records: Vec<SentRecord>, remote: Result<Vec<RemoteReject>, String>) {
    let mut rejected = vec![false; records.len()];
    let list = match remote {
        Ok(r) => rejects::map(&records, &r, &mut rejected),
        Err(reason) => rejects::all_failed(
            &records,
            &format!("the remote job failed: {reason}"),
            &mut rejected,
        ),
    };
    out.rejects.extend(list);
    out.sent.extend(records);
    out.rejected.extend(rejected);
}

/// A `Single` batch's upload that an earlier run started and never saw answered. Staging is
/// not idempotent (Eloqua, MyPreferences), so the batch is redone in a new remote import.
fn in_doubt(chunk: usize) -> ProviderError {
    ProviderError::Expired {
        message: format!(
            "an earlier run was interrupted while uploading chunk {}, whose rows may be staged already",
            chunk + 1
        ),
    }
}

//! Provider clients: one folder per API (config.rs: connection and settings, wire.rs: the
//! API's request and response types, client.rs: HTTP calls with auth, steps.rs: the
//! `Provider` implementation). This module holds the contract the apply executor drives.
//!
//! Providers know their API; they do not know the state, the journal, the retry policy or the
//! polling policy: the executor in `crate::apply` owns those. Nothing here may use
//! `crate::sandbox`: the client and the emulator are written independently.

pub mod dotdigital;
pub mod eloqua;
pub mod marketo;
pub mod mypreferences;
pub mod secret;

use std::time::{Duration, SystemTime};

use bytes::Bytes;
use serde::{Deserialize, Serialize};

pub use secret::Secret;

/// One record to send, in the order the diff produced it.
#[derive(Debug, Clone)]
pub struct ChunkRecord {
    pub key: String,
    pub key_hash: u64,
    pub content_hash: u64,
    /// Physical source line where the row starts.
    pub line: u64,
    /// Dotdigital's contact identifier (`account` for account scope).
    pub contact: Option<String>,
    /// The mapped record (`record:` of the spec, rendered for this row), written for the wire.
    pub record: crate::source::map::RecordBody,
}

/// How a provider groups records into remote jobs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Batching {
    /// Every upload is its own remote job (Marketo batch, Dotdigital import).
    PerChunk,
    /// One remote job takes many uploads, then is started (Eloqua sync, MyPreferences execute).
    Single,
}

/// What a batch does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum BatchKind {
    /// Insert or update the records.
    Upsert,
    /// Delete the records (MyPreferences ImportAction Delete).
    Delete,
}

/// A remote job as opened, journaled so an apply can resume it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RemoteBatch {
    /// Eloqua definition URI, MyPreferences AccessToken; empty for `PerChunk` providers.
    pub id: String,
    pub kind: BatchKind,
    /// When `id` stops being usable (MyPreferences import token).
    pub expires_at: Option<SystemTime>,
    /// Anything else needed to resume (JSON).
    pub details: serde_json::Value,
}

/// A remote job's status.
#[derive(Debug, Clone, PartialEq)]
pub enum PollStatus {
    /// Still queued or running; the text is the vendor's status, for progress output.
    Running(String),
    /// Finished; some rows may have been rejected (see `rejects`).
    Done,
    /// The remote job failed as a whole: nothing of it was applied.
    Failed(String),
}

/// Where a rejected row is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum RejectAt {
    /// 0-based index in the batch's upload order (over all its uploads).
    Index(u64),
    /// The record's key (or the match column's value).
    Key(String),
}

/// A row the remote job rejected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemoteReject {
    pub at: RejectAt,
    /// The vendor's code (`1004`, `ELQ-00002`, `ContactNotFound`, ...).
    pub code: String,
    pub reason: String,
}

/// Why a provider call failed, classified by HTTP status AND vendor code.
#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub enum ProviderError {
    /// Worth retrying with backoff (5xx, 429, dropped connections, 604/606/608/615/713, ...).
    #[error("{message} (retryable{})", retry_after.map(|d| format!(", retry after {}s", d.as_secs())).unwrap_or_default())]
    Retryable {
        message: String,
        retry_after: Option<Duration>,
    },
    /// The remote queue is full (Marketo 1016, Dotdigital too many imports): wait for a running
    /// job to finish, then retry.
    #[error("{message} (the remote queue is full)")]
    QueueFull { message: String },
    /// The batch's token or definition expired before it was started: open a new batch.
    #[error("{message} (the remote job expired)")]
    Expired { message: String },
    /// Retrying will not help: bad credentials, bad request, unknown program, 413, ...
    #[error("{message}")]
    Permanent { message: String },
}

/// The resolved connection of a job: where the API is and the credentials (from env vars).
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// Base URL of the API (for the sandbox: `http://127.0.0.1:PORT/marketo`, ...).
    pub base_url: String,
    /// Credentials by role: `client_id`, `client_secret`, `site`, `user`, `password`.
    pub credentials: std::collections::BTreeMap<&'static str, Secret>,
}

impl Endpoint {
    /// A credential by role, or a permanent error naming it.
    pub fn credential(&self, role: &str) -> Result<&Secret, ProviderError> {
        self.credentials
            .get(role)
            .ok_or_else(|| ProviderError::Permanent {
                message: format!("the connection has no `{role}` credential"),
            })
    }
}

/// A token bucket shared by every job that uses the same credentials.
pub type Limiter = governor::DefaultDirectRateLimiter;

/// What every provider client is built from.
#[derive(Clone)]
pub struct ClientContext {
    pub endpoint: Endpoint,
    /// One HTTP client per run, reused by every job.
    pub http: reqwest::Client,
    /// The rate limit of these credentials (each provider says its quota with `quota()`).
    pub limiter: std::sync::Arc<Limiter>,
}

impl std::fmt::Debug for ClientContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientContext")
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

/// One API client for one job, driven by the apply executor.
///
/// Every method makes at most one logical remote call (plus re-authentication when a token
/// expired); the executor retries `Retryable` errors, waits on `QueueFull`, reopens on
/// `Expired`, and journals each step before and after it runs.
#[allow(async_fn_in_trait)]
pub trait Provider: Send + Sync {
    /// How records are grouped into remote jobs.
    fn batching(&self) -> Batching;

    /// The body of one upload (CSV with a header for Marketo, JSON for the others).
    fn encode(&self, kind: BatchKind, records: &[ChunkRecord]) -> Result<Bytes, ProviderError>;

    /// The record that deletes `key` (mirror mode removals); `None` if the API cannot delete.
    fn removal_record(&self, key: &str) -> Option<serde_json::Value> {
        let _ = key;
        None
    }

    /// Opens a remote job (Eloqua: create the definition; MyPreferences: initiate). For
    /// `PerChunk` providers this returns an empty batch without a remote call.
    async fn open_batch(&self, kind: BatchKind) -> Result<RemoteBatch, ProviderError>;

    /// Uploads one chunk. `PerChunk` providers start a remote job here and return its id
    /// (Marketo batchId, Dotdigital importId); `Single` providers return `None`.
    async fn upload(
        &self,
        batch: &RemoteBatch,
        chunk: usize,
        body: Bytes,
    ) -> Result<Option<String>, ProviderError>;

    /// Starts a `Single` batch (Eloqua sync, MyPreferences execute); returns the id to poll.
    async fn start(&self, batch: &RemoteBatch) -> Result<String, ProviderError>;

    /// Polls a remote job once.
    async fn poll(&self, batch: &RemoteBatch, remote_id: &str)
    -> Result<PollStatus, ProviderError>;

    /// The rows a finished remote job rejected.
    async fn rejects(
        &self,
        batch: &RemoteBatch,
        remote_id: &str,
    ) -> Result<Vec<RemoteReject>, ProviderError>;

    /// Cleans up after the batch (Eloqua: delete the definition). Best effort.
    async fn close_batch(&self, batch: &RemoteBatch) -> Result<(), ProviderError>;
}

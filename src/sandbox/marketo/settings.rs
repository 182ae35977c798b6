//! Emulator policy knobs of the Marketo emulator ([I] items of marketo.md §14), set through the
//! seed's `marketo.settings` object. Every default reproduces the documented service.

use serde::{Deserialize, Serialize};

/// Settings a seed may change (`{"marketo": {"settings": {...}}}`); absent keys keep their value.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Accept the legacy `access_token` query parameter (off: it is deprecated).
    pub access_token_param: bool,
    /// Answer a missing token with code 600 instead of 601 (some clients know 600).
    pub missing_token_600: bool,
    /// Batches importing at the same time.
    pub max_running: usize,
    /// Batches queued, running ones included; beyond: 1016.
    pub max_queued: usize,
    /// Upload bodies of this size or more get HTTP 413.
    pub max_upload_bytes: usize,
    /// Calls in flight at once; beyond: 615.
    pub max_concurrent: u32,
    /// Counted calls per day (reset at midnight US Central); beyond: 607.
    pub daily_quota: u64,
    /// "Manual" mode: a batch advances one status every N status polls instead of by the clock.
    pub advance_on_polls: Option<u32>,
    /// The next N accepted batches end `Failed` as if the import crashed.
    pub fail_batches: u32,
    /// Days a batch id (and its files) stays valid.
    pub batch_retention_days: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            access_token_param: false,
            missing_token_600: false,
            max_running: 2,
            max_queued: 10,
            max_upload_bytes: 10 * 1024 * 1024,
            max_concurrent: 10,
            daily_quota: 50_000,
            advance_on_polls: None,
            fail_batches: 0,
            batch_retention_days: 7,
        }
    }
}

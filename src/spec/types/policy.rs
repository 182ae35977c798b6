//! The run policies of a job: polling, retry, request limits and the guards that stop a plan
//! that would remove more than intended.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::values::{HumanDuration, Size};

/// How the remote job's status is polled.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Polling {
    /// Wait before the first status poll and between polls at first.
    pub interval: HumanDuration,
    /// Each wait is the previous one times this factor (1 = constant interval).
    #[schemars(range(min = 1.0, max = 10.0))]
    pub backoff: f64,
    /// The longest wait between two polls.
    pub max_interval: HumanDuration,
    /// Give up (and leave the job resumable) when the remote job is not finished after this.
    pub timeout: HumanDuration,
}

impl Default for Polling {
    fn default() -> Self {
        Self {
            interval: HumanDuration::secs(5),
            backoff: 1.5,
            max_interval: HumanDuration::secs(60),
            timeout: HumanDuration::secs(2 * 3600),
        }
    }
}

/// How failed requests are retried (only failures the API marks as retryable).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Retry {
    /// Attempts per request, the first one included.
    #[schemars(range(min = 1, max = 100))]
    pub max_attempts: u32,
    /// Wait before the first retry; doubles on each further retry.
    pub initial_backoff: HumanDuration,
    /// The longest wait between two attempts (a server's Retry-After may ask for longer).
    pub max_backoff: HumanDuration,
    /// Randomise waits so parallel runners do not retry in lock step.
    pub jitter: bool,
}

impl Default for Retry {
    fn default() -> Self {
        Self {
            max_attempts: 6,
            initial_backoff: HumanDuration::secs(1),
            max_backoff: HumanDuration::secs(60),
            jitter: true,
        }
    }
}

/// Request limits. Unset values take the provider's documented defaults; values above the
/// API's maximum are refused by `validate`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Largest upload body; data is split into chunks of at most this size.
    pub max_request_bytes: Option<Size>,
    /// Remote jobs of this spec in flight at once.
    #[schemars(range(min = 1))]
    pub concurrency: Option<u32>,
}

/// Guards against plans that remove or deactivate more than intended.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Guard {
    /// Allow destructive effects (deletes, refresh flags, mirror removals) without passing
    /// `--allow-destructive` on the command line.
    pub allow_destructive: bool,
    /// Stop the plan when more than this many records would be removed or deactivated.
    pub max_remove: Option<u64>,
    /// Stop the plan when more than this share (0-100) of the recorded records would be removed.
    #[schemars(range(min = 0.0, max = 100.0))]
    pub max_remove_percent: Option<f64>,
    /// Stop the plan when the source has this share (0-100) fewer rows than the last apply
    /// (a truncated export is the usual cause).
    #[schemars(range(min = 0.0, max = 100.0))]
    pub max_source_drop_percent: Option<f64>,
}

impl Guard {
    /// Whether a removal threshold bounds destructive effects.
    pub fn has_threshold(&self) -> bool {
        self.max_remove.is_some() || self.max_remove_percent.is_some()
    }
}

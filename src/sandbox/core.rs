//! The contract between the sandbox server and the four emulators.
//!
//! `Shared` is what every emulator may read: configuration (strict mode, processing time),
//! the active fault settings, a deterministic random source and the clock. `Emulator` is what
//! the server needs from each emulator: its API routes, its inspection routes, seeding, reset,
//! persistence and the vendor-specific rendering of an injected fault.
//!
//! This module must not know any vendor's wire format: that lives in the emulator folders.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime};

use axum::Router;
use axum::response::Response;
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde::{Deserialize, Serialize};

/// Start-up settings of a sandbox.
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    /// Reproduce the real services' refusals for unknown programs, contacts, collections...
    pub strict: bool,
    /// How long an asynchronous job takes from queued to finished (spread over its statuses).
    pub processing_time: Duration,
    /// Seed of every random choice the sandbox makes (faults, partial outcomes).
    pub seed: u64,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        Self {
            strict: false,
            processing_time: Duration::from_millis(200),
            seed: 0,
        }
    }
}

/// Fault settings posted to `/_sandbox/faults`. Every field is optional; absent means "off" or
/// "the emulator's realistic default".
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FaultConfig {
    /// Providers the error/latency/drop faults apply to (`marketo`, `eloqua`, ...); empty = all.
    #[serde(default)]
    pub providers: Vec<String>,
    /// Share of API requests (0.0..=1.0) answered with an injected error.
    #[serde(default)]
    pub error_rate: f64,
    /// HTTP statuses to pick from for injected errors (e.g. 500, 502, 503, 429).
    #[serde(default)]
    pub statuses: Vec<u16>,
    /// Vendor error codes to pick from (e.g. Marketo "606", "615", Dotdigital "ERROR_...").
    #[serde(default)]
    pub vendor_codes: Vec<String>,
    /// Seconds announced in Retry-After on injected 429/503 responses.
    #[serde(default)]
    pub retry_after_secs: Option<u64>,
    /// Added latency per request, in milliseconds.
    #[serde(default)]
    pub latency_ms: u64,
    /// Share of API requests (0.0..=1.0) whose connection is closed with no response.
    #[serde(default)]
    pub drop_rate: f64,
    /// Overrides the provider's real rate limit: at most `calls` per `window_secs`.
    #[serde(default)]
    pub rate_limit: Option<RateLimitOverride>,
    /// Overrides access-token lifetimes (Marketo token, MyPreferences import token), seconds.
    #[serde(default)]
    pub token_lifetime_secs: Option<u64>,
    /// Seed of the fault choices; the same seed and request sequence give the same faults.
    #[serde(default)]
    pub seed: Option<u64>,
    /// Restricts error/latency/drop faults to API requests whose path (below the provider
    /// prefix) contains one of these strings, e.g. `/bulk/v1/leads.json`; empty = every path.
    #[serde(default)]
    pub endpoints: Vec<String>,
    /// Dropped requests are first processed (an import is accepted) and only their response is
    /// lost, so a client's resume logic is exercised. Default: dropped before processing.
    #[serde(default)]
    pub drop_after_processing: bool,
    /// 1-based numbers of the matching API calls (counted from when these faults were posted)
    /// that always get an injected error, whatever `error_rate` says.
    #[serde(default)]
    pub error_on_calls: Vec<u64>,
    /// 1-based numbers of the matching API calls whose connection is always dropped.
    #[serde(default)]
    pub drop_on_calls: Vec<u64>,
}

/// A rate limit set through the faults route.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RateLimitOverride {
    pub calls: u32,
    pub window_secs: u64,
}

/// A fault the server decided to inject into one request; the emulator renders it the way its
/// vendor would (Marketo: HTTP 200 envelope with errors[] for vendor codes, Dotdigital: 429 with
/// X-RateLimit headers, ...).
#[derive(Debug, Clone, PartialEq)]
pub enum InjectedFault {
    /// Answer with this HTTP status.
    Status(u16),
    /// Answer with this vendor error code.
    VendorCode(String),
}

/// State shared by the server and every emulator.
pub struct Shared {
    config: SandboxConfig,
    strict: AtomicBool,
    faults: RwLock<FaultConfig>,
    rng: Mutex<StdRng>,
    /// Added to the wall clock by `/_sandbox/clock`, so tests can age tokens and batches.
    clock_offset: Mutex<Duration>,
    /// Emulators whose state changed outside a request (a job finished) and must be persisted.
    dirty: Mutex<BTreeSet<&'static str>>,
    dirty_notify: tokio::sync::Notify,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Shared {
    pub fn new(config: SandboxConfig) -> Arc<Self> {
        Arc::new(Self {
            strict: AtomicBool::new(config.strict),
            rng: Mutex::new(StdRng::seed_from_u64(config.seed)),
            faults: RwLock::new(FaultConfig::default()),
            clock_offset: Mutex::new(Duration::ZERO),
            dirty: Mutex::new(BTreeSet::new()),
            dirty_notify: tokio::sync::Notify::new(),
            config,
        })
    }

    /// Whether unknown entities are refused as the real services do.
    pub fn strict(&self) -> bool {
        self.strict.load(Ordering::Relaxed)
    }

    /// Switches strict mode (a seed may carry `"strict": true`).
    pub fn set_strict(&self, strict: bool) {
        self.strict.store(strict, Ordering::Relaxed);
    }

    /// Total time an asynchronous job takes to reach its terminal status.
    pub fn processing_time(&self) -> Duration {
        self.config.processing_time
    }

    pub fn config(&self) -> &SandboxConfig {
        &self.config
    }

    /// The fault settings in force.
    pub fn faults(&self) -> FaultConfig {
        match self.faults.read() {
            Ok(f) => f.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Replaces the fault settings (and reseeds the random source when a seed is given).
    pub fn set_faults(&self, faults: FaultConfig) {
        if let Some(seed) = faults.seed {
            self.with_rng(|rng| *rng = StdRng::seed_from_u64(seed));
        }
        match self.faults.write() {
            Ok(mut f) => *f = faults,
            Err(poisoned) => *poisoned.into_inner() = faults,
        }
    }

    /// Runs `f` with the sandbox's deterministic random source.
    pub fn with_rng<R>(&self, f: impl FnOnce(&mut StdRng) -> R) -> R {
        match self.rng.lock() {
            Ok(mut rng) => f(&mut rng),
            Err(poisoned) => f(&mut poisoned.into_inner()),
        }
    }

    /// Token lifetime for a provider: the fault override if set, else the vendor's default.
    pub fn token_lifetime(&self, default: Duration) -> Duration {
        self.faults()
            .token_lifetime_secs
            .map(Duration::from_secs)
            .unwrap_or(default)
    }

    /// Rate limit for a provider: the fault override if set, else the vendor's default.
    pub fn rate_limit(&self, default_calls: u32, default_window: Duration) -> (u32, Duration) {
        match self.faults().rate_limit {
            Some(o) => (o.calls, Duration::from_secs(o.window_secs)),
            None => (default_calls, default_window),
        }
    }

    /// The sandbox clock: the wall clock plus whatever `/_sandbox/clock` advanced it by.
    pub fn now(&self) -> SystemTime {
        SystemTime::now() + self.clock_offset()
    }

    /// How far the sandbox clock runs ahead of the wall clock.
    pub fn clock_offset(&self) -> Duration {
        match self.clock_offset.lock() {
            Ok(o) => *o,
            Err(poisoned) => *poisoned.into_inner(),
        }
    }

    /// Moves the sandbox clock forward (token expiry, batch retention, daily quotas).
    pub fn advance_clock(&self, by: Duration) {
        match self.clock_offset.lock() {
            Ok(mut o) => *o += by,
            Err(poisoned) => *poisoned.into_inner() += by,
        }
    }

    /// Puts the sandbox clock back on the wall clock (`/_sandbox/reset`).
    pub fn reset_clock(&self) {
        match self.clock_offset.lock() {
            Ok(mut o) => *o = Duration::ZERO,
            Err(poisoned) => *poisoned.into_inner() = Duration::ZERO,
        }
    }

    /// Tells the server that an emulator's state changed outside a request (e.g. a job finished
    /// in the background), so its snapshot must be written.
    pub fn mark_dirty(&self, provider: &'static str) {
        match self.dirty.lock() {
            Ok(mut d) => d.insert(provider),
            Err(poisoned) => poisoned.into_inner().insert(provider),
        };
        self.dirty_notify.notify_one();
    }

    /// Removes `provider` from the dirty set, saying whether it was there.
    pub fn take_dirty(&self, provider: &str) -> bool {
        match self.dirty.lock() {
            Ok(mut d) => d.remove(provider),
            Err(poisoned) => poisoned.into_inner().remove(provider),
        }
    }

    /// Resolves when some emulator was marked dirty since the last wait.
    pub async fn dirty_changed(&self) {
        self.dirty_notify.notified().await;
    }
}

/// Errors an emulator reports for a bad seed or snapshot.
#[derive(Debug, thiserror::Error)]
#[error("{provider}: {message}")]
pub struct EmulatorError {
    pub provider: &'static str,
    pub message: String,
}

/// One emulated API. Implementations keep their state behind their own locks.
pub trait Emulator: Send + Sync + 'static {
    /// The provider name, also the path prefix (`/marketo`, `/_sandbox/marketo`).
    fn name(&self) -> &'static str;
    /// The vendor's API routes, mounted under `/{name}`.
    fn api_router(self: Arc<Self>) -> Router;
    /// Inspection routes (DESIGN.md), mounted under `/_sandbox/{name}`.
    fn inspect_router(self: Arc<Self>) -> Router;
    /// Applies this provider's part of a `/_sandbox/seed` body (`body[name]`).
    fn seed(&self, seed: &serde_json::Value) -> Result<(), EmulatorError>;
    /// Forgets everything (`/_sandbox/reset`).
    fn reset(&self);
    /// Everything the emulator holds, for persistence under `--data DIR`.
    fn snapshot(&self) -> serde_json::Value;
    /// Restores a snapshot written by `snapshot`.
    fn restore(&self, snapshot: serde_json::Value) -> Result<(), EmulatorError>;
    /// Renders an injected fault the way this vendor would answer.
    fn fault_response(&self, fault: &InjectedFault) -> Response;
    /// Rewrites the request path below `/{name}` before routing, for vendors whose real service
    /// tolerates variants (Eloqua: case-insensitive paths, double slashes). `None` keeps it.
    fn rewrite_path(&self, path: &str) -> Option<String> {
        let _ = path;
        None
    }
}

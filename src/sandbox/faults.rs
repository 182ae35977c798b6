//! Fault injection on the API routes (`POST /_sandbox/faults`): injected errors (HTTP statuses
//! or vendor codes, rendered by the emulator), Retry-After, latency and dropped connections.
//!
//! Every random choice goes through `Shared::with_rng`, drawing the same number of values per
//! request, so a seed and a request sequence always give the same faults. This module never
//! renders a vendor's body itself: `Emulator::fault_response` does.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rand::Rng;
use tokio::sync::Notify;

use crate::sandbox::core::{Emulator, FaultConfig, InjectedFault, Shared};
use crate::sandbox::stats::FaultCounts;

/// Per-connection signal: when notified, the accept loop drops the connection without writing
/// a response. Inserted into every request's extensions by the accept loop.
#[derive(Clone, Debug, Default)]
pub struct DropHandle(pub Arc<Notify>);

/// Server-side fault state: the settings live in `Shared`; the call counter and the counts of
/// injected faults (reported by `/_sandbox/stats`) live here.
#[derive(Debug, Default)]
pub struct Faults {
    calls: AtomicU64,
    errors: AtomicU64,
    dropped: AtomicU64,
    delayed: AtomicU64,
}

impl Faults {
    /// Installs new settings and restarts the call numbering used by `*_on_calls`.
    pub fn set(&self, shared: &Shared, config: FaultConfig) {
        shared.set_faults(config);
        self.calls.store(0, Ordering::SeqCst);
    }

    /// The faults injected so far.
    pub fn counts(&self) -> FaultCounts {
        FaultCounts {
            errors: self.errors.load(Ordering::Relaxed),
            dropped: self.dropped.load(Ordering::Relaxed),
            delayed: self.delayed.load(Ordering::Relaxed),
        }
    }

    /// Forgets the counts (`/_sandbox/reset`).
    pub fn clear_counts(&self) {
        for c in [&self.errors, &self.dropped, &self.delayed] {
            c.store(0, Ordering::Relaxed);
        }
    }
}

/// State of the fault middleware of one provider's API routes.
#[derive(Clone)]
pub struct FaultLayerState {
    pub shared: Arc<Shared>,
    pub faults: Arc<Faults>,
    pub emulator: Arc<dyn Emulator>,
}

/// What the middleware decided for one request.
enum Decision {
    Pass,
    Drop,
    Error(InjectedFault),
}

/// Applies the configured faults to one API request.
pub async fn inject(State(st): State<FaultLayerState>, req: Request, next: Next) -> Response {
    let cfg = st.shared.faults();
    if !applies(&cfg, st.emulator.name(), req.uri().path()) {
        return next.run(req).await;
    }
    let call = st.faults.calls.fetch_add(1, Ordering::SeqCst) + 1;
    if cfg.latency_ms > 0 {
        st.faults.delayed.fetch_add(1, Ordering::Relaxed);
        tokio::time::sleep(Duration::from_millis(cfg.latency_ms)).await;
    }
    match decide(&st.shared, &cfg, call) {
        Decision::Pass => next.run(req).await,
        Decision::Error(fault) => {
            st.faults.errors.fetch_add(1, Ordering::Relaxed);
            let mut resp = st.emulator.fault_response(&fault);
            add_retry_after(&cfg, &mut resp);
            resp
        }
        Decision::Drop => {
            st.faults.dropped.fetch_add(1, Ordering::Relaxed);
            let handle = req.extensions().get::<DropHandle>().cloned();
            if cfg.drop_after_processing {
                drop(next.run(req).await);
            }
            match handle {
                Some(h) => {
                    h.0.notify_one();
                    // The accept loop drops this connection; this future is dropped with it.
                    std::future::pending::<Response>().await
                }
                // Served outside the sandbox's accept loop: the closest thing is a gateway error.
                None => StatusCode::BAD_GATEWAY.into_response(),
            }
        }
    }
}

/// Whether the faults target this provider and path.
fn applies(cfg: &FaultConfig, provider: &str, path: &str) -> bool {
    let active = cfg.error_rate > 0.0
        || cfg.drop_rate > 0.0
        || cfg.latency_ms > 0
        || !cfg.error_on_calls.is_empty()
        || !cfg.drop_on_calls.is_empty();
    let provider_ok = cfg.providers.is_empty() || cfg.providers.iter().any(|p| p == provider);
    let path_ok =
        cfg.endpoints.is_empty() || cfg.endpoints.iter().any(|e| path.contains(e.as_str()));
    active && provider_ok && path_ok
}

/// Draws the fate of call number `call`. Always three draws, so the sequence stays aligned.
fn decide(shared: &Shared, cfg: &FaultConfig, call: u64) -> Decision {
    let (drop_roll, error_roll, pick) = shared.with_rng(|rng| {
        (
            rng.random::<f64>(),
            rng.random::<f64>(),
            rng.random::<u32>(),
        )
    });
    if cfg.drop_on_calls.contains(&call) || drop_roll < cfg.drop_rate {
        return Decision::Drop;
    }
    if cfg.error_on_calls.contains(&call) || error_roll < cfg.error_rate {
        return Decision::Error(pick_fault(cfg, pick as usize));
    }
    Decision::Pass
}

/// Picks uniformly among the configured statuses and vendor codes (500 when none is given).
fn pick_fault(cfg: &FaultConfig, pick: usize) -> InjectedFault {
    let total = cfg.statuses.len() + cfg.vendor_codes.len();
    if total == 0 {
        return InjectedFault::Status(500);
    }
    let i = pick % total;
    match cfg.statuses.get(i) {
        Some(s) => InjectedFault::Status(*s),
        None => match cfg.vendor_codes.get(i - cfg.statuses.len()) {
            Some(code) => InjectedFault::VendorCode(code.clone()),
            None => InjectedFault::Status(500),
        },
    }
}

/// Announces Retry-After on injected 429/503 answers when configured.
fn add_retry_after(cfg: &FaultConfig, resp: &mut Response) {
    let status = resp.status();
    if let Some(secs) = cfg.retry_after_secs
        && (status == StatusCode::TOO_MANY_REQUESTS || status == StatusCode::SERVICE_UNAVAILABLE)
    {
        resp.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
}

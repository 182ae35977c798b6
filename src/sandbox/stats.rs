//! Request statistics of the sandbox (`GET /_sandbox/stats`): requests and bytes received per
//! provider and per endpoint (method plus route template, e.g.
//! `POST /marketo/bulk/v1/program/{programId}/members/import.json`).
//!
//! Only API routes are counted; control and inspection routes are not. The report also carries
//! the faults injected (`faults`), counted by the fault middleware and filled in by the control
//! route. This module counts, it never decides anything about a request.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use http_body_util::BodyExt;
use serde::Serialize;

/// Counters of one endpoint.
#[derive(Debug, Default)]
struct Counter {
    requests: AtomicU64,
    bytes: Arc<AtomicU64>,
}

/// All counters, keyed by provider then endpoint.
#[derive(Debug, Default)]
pub struct Stats {
    endpoints: Mutex<BTreeMap<(String, String), Arc<Counter>>>,
}

/// The JSON shape of `GET /_sandbox/stats`.
#[derive(Debug, Serialize)]
pub struct StatsReport {
    pub requests: u64,
    pub bytes_received: u64,
    pub providers: BTreeMap<String, ProviderStats>,
    /// Faults injected through `/_sandbox/faults` since the start or the last reset.
    pub faults: FaultCounts,
}

/// How many faults the fault middleware injected, by kind.
#[derive(Debug, Default, Clone, Copy, Serialize)]
pub struct FaultCounts {
    /// Requests answered with an injected error (HTTP status or vendor code).
    pub errors: u64,
    /// Connections closed with no response.
    pub dropped: u64,
    /// Requests delayed by the configured latency.
    pub delayed: u64,
}

#[derive(Debug, Default, Serialize)]
pub struct ProviderStats {
    pub requests: u64,
    pub bytes_received: u64,
    pub endpoints: BTreeMap<String, EndpointStats>,
}

#[derive(Debug, Default, Serialize)]
pub struct EndpointStats {
    pub requests: u64,
    pub bytes_received: u64,
}

impl Stats {
    fn counter(&self, provider: &str, endpoint: String) -> Arc<Counter> {
        let mut map = match self.endpoints.lock() {
            Ok(m) => m,
            Err(poisoned) => poisoned.into_inner(),
        };
        map.entry((provider.to_owned(), endpoint))
            .or_default()
            .clone()
    }

    /// Forgets every counter (`/_sandbox/reset`).
    pub fn clear(&self) {
        match self.endpoints.lock() {
            Ok(mut m) => m.clear(),
            Err(poisoned) => poisoned.into_inner().clear(),
        }
    }

    pub fn report(&self) -> StatsReport {
        let map = match self.endpoints.lock() {
            Ok(m) => m,
            Err(poisoned) => poisoned.into_inner(),
        };
        let mut report = StatsReport {
            requests: 0,
            bytes_received: 0,
            providers: BTreeMap::new(),
            faults: FaultCounts::default(),
        };
        for ((provider, endpoint), c) in map.iter() {
            let requests = c.requests.load(Ordering::Relaxed);
            let bytes = c.bytes.load(Ordering::Relaxed);
            let p = report.providers.entry(provider.clone()).or_default();
            p.requests += requests;
            p.bytes_received += bytes;
            p.endpoints.insert(
                endpoint.clone(),
                EndpointStats {
                    requests,
                    bytes_received: bytes,
                },
            );
            report.requests += requests;
            report.bytes_received += bytes;
        }
        report
    }
}

/// State of the counting middleware of one provider's API routes.
#[derive(Clone)]
pub struct StatsLayerState {
    pub stats: Arc<Stats>,
    pub provider: &'static str,
}

/// Counts the request under its route template and its body bytes as they are read.
pub async fn count(State(st): State<StatsLayerState>, req: Request, next: Next) -> Response {
    let template = match req.extensions().get::<MatchedPath>() {
        Some(m) => m.as_str().to_owned(),
        None => "(unmatched)".to_owned(),
    };
    let endpoint = format!("{} {}", req.method(), template);
    let counter = st.stats.counter(st.provider, endpoint);
    counter.requests.fetch_add(1, Ordering::Relaxed);
    let bytes = counter.bytes.clone();
    let (parts, body) = req.into_parts();
    let body = body.map_frame(move |frame| {
        if let Some(data) = frame.data_ref() {
            bytes.fetch_add(data.len() as u64, Ordering::Relaxed);
        }
        frame
    });
    next.run(Request::from_parts(parts, Body::new(body))).await
}

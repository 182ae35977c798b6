//! The control routes under `/_sandbox` (DESIGN.md "Sandbox"): stats, seed, faults, reset, and
//! a clock that tests can move forward. Inspection routes belong to the emulators.
//!
//! Seeding dispatches each provider's part of the body to that emulator; this module never
//! interprets a provider's seed itself.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::sandbox::core::{Emulator, FaultConfig, Shared};
use crate::sandbox::error::SandboxError;
use crate::sandbox::faults::Faults;
use crate::sandbox::persist::Persister;
use crate::sandbox::stats::Stats;

/// Everything the control routes act on.
#[derive(Clone)]
pub struct ControlState {
    pub shared: Arc<Shared>,
    pub emulators: Vec<Arc<dyn Emulator>>,
    pub stats: Arc<Stats>,
    pub faults: Arc<Faults>,
    pub persister: Arc<Persister>,
}

pub fn router(state: ControlState) -> Router {
    Router::new()
        .route("/_sandbox", get(info))
        .route("/_sandbox/stats", get(stats))
        .route("/_sandbox/seed", post(seed))
        .route("/_sandbox/faults", get(get_faults).post(set_faults))
        .route("/_sandbox/reset", post(reset))
        .route("/_sandbox/clock", get(clock).post(advance_clock))
        .with_state(state)
}

fn bad_request(message: impl std::fmt::Display) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({"error": message.to_string()})),
    )
        .into_response()
}

fn persist_failed(e: SandboxError) -> Response {
    tracing::error!("sandbox: {e}");
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        Json(json!({"error": e.to_string()})),
    )
        .into_response()
}

async fn info(State(st): State<ControlState>) -> Json<Value> {
    let providers: Vec<&str> = st.emulators.iter().map(|e| e.name()).collect();
    Json(json!({"providers": providers, "strict": st.shared.strict()}))
}

async fn stats(State(st): State<ControlState>) -> Response {
    let mut report = st.stats.report();
    report.faults = st.faults.counts();
    Json(report).into_response()
}

/// Applies a seed body: `strict` first, then each provider's part. Unknown keys are refused
/// before anything is applied.
pub fn apply_seed(st: &ControlState, body: &Value) -> Result<(), SandboxError> {
    let Some(map) = body.as_object() else {
        return Err(SandboxError::Seed("the seed must be a JSON object".into()));
    };
    for key in map.keys() {
        if key != "strict" && !st.emulators.iter().any(|e| e.name() == key) {
            return Err(SandboxError::Seed(format!("unknown provider {key:?}")));
        }
    }
    if let Some(strict) = map.get("strict") {
        let Some(strict) = strict.as_bool() else {
            return Err(SandboxError::Seed(
                "\"strict\" must be true or false".into(),
            ));
        };
        st.shared.set_strict(strict);
    }
    for emulator in &st.emulators {
        if let Some(part) = map.get(emulator.name()) {
            emulator.seed(part)?;
        }
    }
    Ok(())
}

async fn seed(
    State(st): State<ControlState>,
    body: Result<Json<Value>, JsonRejection>,
) -> Response {
    let Json(body) = match body {
        Ok(b) => b,
        Err(e) => return bad_request(e.body_text()),
    };
    if let Err(e) = apply_seed(&st, &body) {
        return bad_request(e);
    }
    match st.persister.persist_all().await {
        Ok(()) => Json(json!({"seeded": true, "strict": st.shared.strict()})).into_response(),
        Err(e) => persist_failed(e),
    }
}

async fn get_faults(State(st): State<ControlState>) -> Json<FaultConfig> {
    Json(st.shared.faults())
}

async fn set_faults(
    State(st): State<ControlState>,
    body: Result<Json<FaultConfig>, JsonRejection>,
) -> Response {
    let Json(config) = match body {
        Ok(b) => b,
        Err(e) => return bad_request(e.body_text()),
    };
    let rates = [config.error_rate, config.drop_rate];
    if rates.iter().any(|r| !(0.0..=1.0).contains(r)) {
        return bad_request("error_rate and drop_rate must be between 0.0 and 1.0");
    }
    if config
        .rate_limit
        .is_some_and(|r| r.calls == 0 || r.window_secs == 0)
    {
        return bad_request("rate_limit needs calls > 0 and window_secs > 0");
    }
    st.faults.set(&st.shared, config);
    Json(st.shared.faults()).into_response()
}

async fn reset(State(st): State<ControlState>) -> Response {
    for emulator in &st.emulators {
        emulator.reset();
    }
    st.stats.clear();
    st.faults.clear_counts();
    st.faults.set(&st.shared, FaultConfig::default());
    st.shared.set_strict(st.shared.config().strict);
    st.shared.reset_clock();
    match st.persister.persist_all().await {
        Ok(()) => Json(json!({"reset": true})).into_response(),
        Err(e) => persist_failed(e),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ClockBody {
    advance_secs: u64,
}

async fn clock(State(st): State<ControlState>) -> Json<Value> {
    Json(json!({"offset_secs": st.shared.clock_offset().as_secs()}))
}

async fn advance_clock(
    State(st): State<ControlState>,
    body: Result<Json<ClockBody>, JsonRejection>,
) -> Response {
    let Json(body) = match body {
        Ok(b) => b,
        Err(e) => return bad_request(e.body_text()),
    };
    st.shared
        .advance_clock(Duration::from_secs(body.advance_secs));
    Json(json!({"offset_secs": st.shared.clock_offset().as_secs()})).into_response()
}

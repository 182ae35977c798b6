//! The Mypreferences emulator (see ../shared/providers/mypreferences.md). Its wire types are its own: nothing here
//! is shared with src/providers.

use std::sync::Arc;

use axum::Router;
use axum::response::{IntoResponse, Response};

use crate::sandbox::core::{Emulator, EmulatorError, InjectedFault, Shared};

/// Emulated Mypreferences account.
pub struct Mypreferences {
    #[allow(dead_code)]
    shared: Arc<Shared>,
}

impl Mypreferences {
    pub fn new(shared: Arc<Shared>) -> Arc<Self> {
        Arc::new(Self { shared })
    }
}

impl Emulator for Mypreferences {
    fn name(&self) -> &'static str {
        "mypreferences"
    }
    fn api_router(self: Arc<Self>) -> Router {
        Router::new()
    }
    fn inspect_router(self: Arc<Self>) -> Router {
        Router::new()
    }
    fn seed(&self, _seed: &serde_json::Value) -> Result<(), EmulatorError> {
        Ok(())
    }
    fn reset(&self) {}
    fn snapshot(&self) -> serde_json::Value {
        serde_json::Value::Null
    }
    fn restore(&self, _snapshot: serde_json::Value) -> Result<(), EmulatorError> {
        Ok(())
    }
    fn fault_response(&self, fault: &InjectedFault) -> Response {
        let _ = fault;
        axum::http::StatusCode::INTERNAL_SERVER_ERROR.into_response()
    }
}

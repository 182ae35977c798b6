//! The Eloqua emulator (see ../shared/providers/eloqua.md, §13 "What a faithful emulator must
//! do"): Bulk API 2.0 contact, opportunity and opportunity-contact linkage imports with their
//! syncs, logs and rejects, Basic/OAuth authentication and `/id` discovery.
//!
//! Its wire types are its own (`wire`): nothing here is shared with src/providers. One role per
//! file: `routes` (router and path rewriting), `auth`, `definitions` and `validate`, `uploads`
//! and `rows` (body parsing), `syncs` (state machine), `rates` (soft sync-rate counters) and
//! `process` (row semantics), `fields`, `paging`, `inspect` and `seed` (the sandbox's own
//! routes), `store` and `settings` (all state, snapshot-able), `errors`, `time`, `markup`.
//!
//! Behaviour the notes leave open is decided in one place each and marked [I] in the docs:
//! rejects' `recordIndex` is 1-based; the failure status is `error` (`errored` behind a switch);
//! uploads answer 204 unless the definition triggers a sync; the sandbox's 10 000-contact cap
//! rejects new contacts with code `SANDBOX-LIMIT`.

mod auth;
mod definitions;
mod errors;
mod fields;
mod inspect;
mod markup;
mod paging;
mod process;
mod rates;
mod routes;
mod rows;
mod seed;
mod settings;
mod store;
mod syncs;
mod time;
mod uploads;
mod validate;
mod wire;

use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::response::Response;

use crate::sandbox::core::{Emulator, EmulatorError, InjectedFault, Shared};
use store::Store;

/// Emulated Eloqua instance. All state sits behind one lock; handlers hold it briefly and never
/// across an await.
pub struct Eloqua {
    shared: Arc<Shared>,
    store: Mutex<Store>,
}

impl Eloqua {
    pub fn new(shared: Arc<Shared>) -> Arc<Self> {
        Arc::new(Self {
            shared,
            store: Mutex::new(Store::default()),
        })
    }

    /// The state; a poisoned lock is recovered (the store stays consistent between statements).
    fn lock(&self) -> MutexGuard<'_, Store> {
        match self.store.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// The emulator clock as seen by `store`.
    fn now(&self, store: &Store) -> time::Nanos {
        store.now(self.shared.now())
    }
}

impl Emulator for Eloqua {
    fn name(&self) -> &'static str {
        "eloqua"
    }

    fn api_router(self: Arc<Self>) -> Router {
        routes::api(self)
    }

    fn inspect_router(self: Arc<Self>) -> Router {
        inspect::router(self)
    }

    fn seed(&self, seed: &serde_json::Value) -> Result<(), EmulatorError> {
        let mut store = self.lock();
        seed::apply(&mut store, seed).map_err(|message| EmulatorError {
            provider: "eloqua",
            message,
        })
    }

    fn reset(&self) {
        *self.lock() = Store::default();
    }

    fn snapshot(&self) -> serde_json::Value {
        serde_json::to_value(&*self.lock()).unwrap_or(serde_json::Value::Null)
    }

    fn restore(&self, snapshot: serde_json::Value) -> Result<(), EmulatorError> {
        if snapshot.is_null() {
            self.reset();
            return Ok(());
        }
        let mut restored: Store = serde_json::from_value(snapshot).map_err(|e| EmulatorError {
            provider: "eloqua",
            message: format!("bad snapshot: {e}"),
        })?;
        restored.rebuild_indexes();
        // Syncs that were running when the snapshot was taken finish now: their input is in the
        // snapshot and processing is deterministic.
        let now = self.now(&restored);
        let running: Vec<u64> = restored
            .syncs
            .values()
            .filter(|s| s.status.in_progress())
            .map(|s| s.id)
            .collect();
        for id in running {
            process::run(&mut restored, id, now, self.shared.strict());
        }
        *self.lock() = restored;
        Ok(())
    }

    fn fault_response(&self, fault: &InjectedFault) -> Response {
        errors::injected(fault, self.shared.faults().retry_after_secs)
    }

    fn rewrite_path(&self, path: &str) -> Option<String> {
        routes::rewrite(path)
    }
}

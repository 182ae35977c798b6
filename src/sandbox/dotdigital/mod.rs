//! The Dotdigital emulator (see ../shared/providers/dotdigital.md, §11 "What a faithful emulator
//! must do"): API v2 bulk insight (transactional) data import for contact- and account-scoped
//! collections, its status and report, the record reads, `account-info`, and the bulk contact
//! import, behind HTTP Basic, the optional region check and the tiered or flat rate limits.
//!
//! Files, one role each: `wire` (the vendor's JSON shapes), `request` and `analyze` (parsing
//! the records of a request in one pass), `settings` and `seed` (policy and seeding), `store`
//! (what the account holds), `rules` and `commit` (per-record import rules),
//! `imports` (bulk import endpoints and the asynchronous processing), `records` (single-record
//! and list reads), `contacts` (contact import), `guard` and `ratelimit` (auth and limits),
//! `errors` (v2 error bodies), `routes` (routers, account-info, inspection).
//!
//! Strict mode follows the real service. Outside strict mode the emulator is lenient so the
//! quickstart needs no seeding: an import into an unknown collection creates it, and a record
//! whose contact identifier is a well-formed but unknown email **creates that contact** (the
//! real API never creates contacts; in strict mode such records are `ContactEmailDoesNotExist`
//! faults). Unknown numeric contact ids are faults in both modes.
//!
//! Its wire types are its own: nothing here is shared with `crate::providers`.

mod analyze;
#[cfg(test)]
mod bench;
mod commit;
mod contacts;
mod errors;
mod guard;
mod imports;
mod ratelimit;
mod records;
mod request;
mod routes;
mod rules;
mod seed;
mod settings;
mod store;
mod wire;

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use rand::Rng;

use self::errors::ApiError;
use self::ratelimit::{Counters, Tier};
use self::store::Store;
use crate::sandbox::core::{Emulator, EmulatorError, InjectedFault, Shared};

pub use self::guard::REGION_HEADER;
pub use self::settings::DEFAULT_MAX_REQUEST_BYTES;

/// Emulated Dotdigital account.
pub struct Dotdigital {
    shared: Arc<Shared>,
    store: Mutex<Store>,
}

impl Dotdigital {
    pub fn new(shared: Arc<Shared>) -> Arc<Self> {
        Arc::new(Self {
            shared,
            store: Mutex::new(Store::default()),
        })
    }

    /// The account's state; a poisoned lock is still usable (the data has no invariants a
    /// panicking reader could have broken halfway).
    fn store(&self) -> MutexGuard<'_, Store> {
        match self.store.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// A new lower-case GUID from the sandbox's seeded random source (deterministic runs),
    /// never one the store already uses: a restored snapshot holds ids drawn from the same
    /// seed.
    fn new_guid(&self, store: &Store) -> String {
        loop {
            let mut b: [u8; 16] = self.shared.with_rng(|rng| rng.random());
            b[6] = (b[6] & 0x0f) | 0x40;
            b[8] = (b[8] & 0x3f) | 0x80;
            let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
            let id = format!(
                "{}-{}-{}-{}-{}",
                &hex[0..8],
                &hex[8..12],
                &hex[12..16],
                &hex[16..20],
                &hex[20..32]
            );
            if !store.imports.contains_key(&id) && !store.contact_imports.contains_key(&id) {
                return id;
            }
        }
    }

    fn error(message: impl Into<String>) -> EmulatorError {
        EmulatorError {
            provider: "dotdigital",
            message: message.into(),
        }
    }
}

impl Emulator for Dotdigital {
    fn name(&self) -> &'static str {
        "dotdigital"
    }

    fn api_router(self: Arc<Self>) -> Router {
        routes::api_router(self)
    }

    fn inspect_router(self: Arc<Self>) -> Router {
        routes::inspect_router(self)
    }

    fn seed(&self, seed: &serde_json::Value) -> Result<(), EmulatorError> {
        if seed.is_null() {
            return Ok(());
        }
        let doc: seed::SeedDoc = serde_json::from_value(seed.clone())
            .map_err(|e| Self::error(format!("bad seed: {e}")))?;
        seed::apply(&mut self.store(), doc).map_err(Self::error)
    }

    fn reset(&self) {
        *self.store() = Store::default();
    }

    fn snapshot(&self) -> serde_json::Value {
        serde_json::to_value(&*self.store()).unwrap_or(serde_json::Value::Null)
    }

    fn restore(&self, snapshot: serde_json::Value) -> Result<(), EmulatorError> {
        if snapshot.is_null() {
            self.reset();
            return Ok(());
        }
        let restored: Store = serde_json::from_value(snapshot)
            .map_err(|e| Self::error(format!("bad snapshot: {e}")))?;
        // Imports that were in flight restart on their next status poll (`running` is not
        // persisted).
        *self.store() = restored;
        Ok(())
    }

    fn fault_response(&self, fault: &InjectedFault) -> Response {
        let retry_after = self.shared.faults().retry_after_secs;
        let mut response = match fault {
            InjectedFault::VendorCode(code) => ApiError::for_vendor_code(code).into_response(),
            InjectedFault::Status(429) => {
                let (low, reset) = {
                    let store = self.store();
                    (store.settings.rate.low, store.settings.rate.reset)
                };
                let (limit, window) = self.shared.rate_limit(low, Duration::from_secs(60));
                let c = Counters {
                    limit,
                    remaining: 0,
                    reset_in: window,
                    tier: Tier::Low,
                };
                guard::too_many_requests(&c, reset)
            }
            InjectedFault::Status(code) => status_error(*code).into_response(),
        };
        if let Some(secs) = retry_after
            && matches!(response.status().as_u16(), 429 | 503)
        {
            response
                .headers_mut()
                .insert("retry-after", HeaderValue::from(secs));
        }
        response
    }
}

/// The v2 answer for an injected HTTP status.
fn status_error(code: u16) -> ApiError {
    let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    match code {
        401 => ApiError::unauthorized(),
        403 => ApiError::forbidden(),
        404 => ApiError::import_not_found(),
        413 => ApiError::too_large(DEFAULT_MAX_REQUEST_BYTES),
        _ => ApiError::unknown(status),
    }
}

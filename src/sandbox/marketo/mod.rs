//! The Marketo emulator (see ../shared/providers/marketo.md, §14 "What a faithful emulator must
//! do"). Its wire types are its own: nothing here is shared with src/providers.
//!
//! Layout: `wire` (envelope and bodies), `auth` (identity and tokens), `limits` (the gate:
//! 600/601/602/606/607/615), `upload` (body and parts, 413), `multipart` (framing), `parse`
//! (file and row checks; `split` is its fast path), `batches` (queue and status machine),
//! `apply` (rows into the data), `store` (the data), `record` (compact values), `table` (the
//! rows of a parsed file), `seed` (the seed body), `imports` and `status` (handlers), `routes`
//! (router, describe, inspection), `settings` (policy knobs).

mod apply;
mod auth;
mod batches;
mod email_index;
mod fields;
mod imports;
mod leads;
mod limits;
mod multipart;
mod parallel;
mod parse;
mod record;
mod routes;
mod seed;
mod settings;
mod split;
mod status;
mod store;
mod table;
mod upload;
mod wire;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::sandbox::core::{Emulator, EmulatorError, InjectedFault, Shared};
use auth::{Auth, millis};
use batches::{Queue, Timing};
use settings::Settings;
use store::Store;

pub use settings::Settings as MarketoSettings;

const NAME: &str = "marketo";

/// Data and queue, behind one lock so a finishing batch and the data it writes never disagree.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
struct Data {
    store: Store,
    queue: Queue,
}

/// Everything persisted (`snapshot`/`restore`).
#[derive(Deserialize)]
struct Snapshot {
    data: Data,
    auth: Auth,
    settings: Settings,
}

/// Emulated Marketo instance.
pub struct Marketo {
    shared: Arc<Shared>,
    data: Mutex<Data>,
    auth: Mutex<Auth>,
    settings: RwLock<Settings>,
    limits: limits::Limits,
    seq: AtomicU64,
}

impl Marketo {
    pub fn new(shared: Arc<Shared>) -> Arc<Self> {
        Arc::new(Self {
            shared,
            data: Mutex::new(Data::default()),
            auth: Mutex::new(Auth::default()),
            settings: RwLock::new(Settings::default()),
            limits: limits::Limits::default(),
            seq: AtomicU64::new(0x1000),
        })
    }

    fn settings(&self) -> Settings {
        match self.settings.read() {
            Ok(s) => s.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    fn auth(&self) -> MutexGuard<'_, Auth> {
        match self.auth.lock() {
            Ok(a) => a,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// The data with every clock-driven batch moved up to now.
    fn data(&self) -> MutexGuard<'_, Data> {
        let mut data = match self.data.lock() {
            Ok(d) => d,
            Err(poisoned) => poisoned.into_inner(),
        };
        let now = millis(self.shared.now());
        let Data { store, queue } = &mut *data;
        if queue.advance(store, &self.settings(), self.timing(), now) {
            self.shared.mark_dirty(NAME);
        }
        data
    }

    fn timing(&self) -> Timing {
        Timing::from_processing(self.shared.processing_time())
    }

    /// `<hex>#<hex>`, like the vendor's request ids.
    fn request_id(&self) -> String {
        let n = self.seq.fetch_add(1, Ordering::Relaxed);
        format!("{:x}#{:x}", n & 0xffff, millis(self.shared.now()))
    }

    /// An error envelope with the documented message of `code`.
    fn error(&self, code: &str) -> Response {
        wire::error(self.request_id(), code, wire::message_of(code))
    }

    /// Keeps batches moving in the background, so their rows land (and are persisted) even
    /// when nobody polls. Ends when no batch is pending.
    fn spawn_ticker(self: &Arc<Self>) {
        let weak = Arc::downgrade(self);
        tokio::spawn(async move {
            while let Some(me) = weak.upgrade() {
                let next = {
                    let data = me.data();
                    data.queue.next_event(&me.settings(), me.timing())
                };
                let Some(next) = next else { break };
                let wait = next.saturating_sub(millis(me.shared.now())) + 1;
                drop(me);
                tokio::time::sleep(std::time::Duration::from_millis(wait)).await;
            }
        });
    }

    /// Uses up one of the batches `fail_batches` asked to fail.
    fn consume_forced_failure(&self) {
        match self.settings.write() {
            Ok(mut s) => s.fail_batches = s.fail_batches.saturating_sub(1),
            Err(poisoned) => {
                let mut s = poisoned.into_inner();
                s.fail_batches = s.fail_batches.saturating_sub(1);
            }
        }
    }

    fn seed_settings(&self, value: Value) -> Result<(), String> {
        let mut current = serde_json::to_value(self.settings()).map_err(|e| e.to_string())?;
        let (Some(cur), Value::Object(new)) = (current.as_object_mut(), value) else {
            return Err("settings must be an object".into());
        };
        cur.extend(new);
        let merged: Settings =
            serde_json::from_value(current).map_err(|e| format!("settings: {e}"))?;
        match self.settings.write() {
            Ok(mut s) => *s = merged,
            Err(poisoned) => *poisoned.into_inner() = merged,
        }
        Ok(())
    }
}

fn seed_error(message: impl Into<String>) -> EmulatorError {
    EmulatorError {
        provider: NAME,
        message: message.into(),
    }
}

impl Emulator for Marketo {
    fn name(&self) -> &'static str {
        NAME
    }

    fn api_router(self: Arc<Self>) -> Router {
        routes::api(self)
    }

    fn inspect_router(self: Arc<Self>) -> Router {
        routes::inspect(self)
    }

    fn seed(&self, seed: &Value) -> Result<(), EmulatorError> {
        let seed: seed::Seed =
            serde_json::from_value(seed.clone()).map_err(|e| seed_error(e.to_string()))?;
        if let Some(settings) = seed.settings.clone() {
            self.seed_settings(settings).map_err(seed_error)?;
        }
        let mut auth = self.auth();
        for client in &seed.clients {
            auth.add_client(client.clone());
        }
        drop(auth);
        self.data().store.seed(seed).map_err(seed_error)
    }

    fn reset(&self) {
        *self.data() = Data::default();
        *self.auth() = Auth::default();
        match self.settings.write() {
            Ok(mut s) => *s = Settings::default(),
            Err(poisoned) => *poisoned.into_inner() = Settings::default(),
        }
        self.limits.clear();
    }

    fn snapshot(&self) -> Value {
        // Serialized under the locks rather than cloned: pending batches may hold 10 MB files.
        let data = serde_json::to_value(&*self.data()).unwrap_or(Value::Null);
        let auth = serde_json::to_value(&*self.auth()).unwrap_or(Value::Null);
        let settings = serde_json::to_value(self.settings()).unwrap_or(Value::Null);
        serde_json::json!({"data": data, "auth": auth, "settings": settings})
    }

    fn restore(&self, snapshot: Value) -> Result<(), EmulatorError> {
        if snapshot.is_null() {
            return Ok(());
        }
        let mut snap: Snapshot =
            serde_json::from_value(snapshot).map_err(|e| seed_error(e.to_string()))?;
        snap.data.store.reindex();
        *self.data() = snap.data;
        *self.auth() = snap.auth;
        match self.settings.write() {
            Ok(mut s) => *s = snap.settings,
            Err(poisoned) => *poisoned.into_inner() = snap.settings,
        }
        Ok(())
    }

    /// Vendor codes come back in an HTTP 200 envelope; statuses as the gateway would send them.
    fn fault_response(&self, fault: &InjectedFault) -> Response {
        match fault {
            InjectedFault::VendorCode(code) => self.error(code),
            InjectedFault::Status(s) => {
                let status = StatusCode::from_u16(*s).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                (status, status.canonical_reason().unwrap_or("Error")).into_response()
            }
        }
    }
}

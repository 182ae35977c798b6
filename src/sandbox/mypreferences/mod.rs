//! The MyPreferences emulator (see ../shared/providers/mypreferences.md): bulk profile imports
//! (initiate, stage, execute, status, exceptions) with their authentication, limits, state
//! machine and effects on a profile store. Its wire types are its own: nothing here is shared
//! with src/providers.
//!
//! Authentication: both documented schemes are accepted on every import route. PNAUTHINFO3
//! (`Credential=<UserId>/<IssuedTimestamp>`, signature present but not verified: the
//! string-to-sign is not in the notes) and OAuth 2.0 client credentials at the configurable
//! token route (default `/oauth/token`; client `sandbox`/`sandbox`, `scope=sandbox/sandbox`)
//! giving `Bearer` tokens. The default account (`clientId`) is `sandbox` with user `sandbox`.
//!
//! Outside strict mode unknown accounts, AlternateId types, email/phone/consent types,
//! groups, tags and custom fields are created on first use; strict mode refuses them as the
//! real service does (404 for an account, 400 for a `MatchValue`, `ValidationFailed` in
//! records).
//!
//! Layout: `config` (route table and limits), `wire` (JSON shapes), `store` (accounts and
//! profiles), `imports` (one import's rules), `validate` (staging), `apply` and `refresh`
//! (execution), `processing` (the asynchronous job), `auth`, `routes` (router, errors, token
//! endpoint, faults), `handlers` (import operations), `inspect` (sandbox routes), `seed`,
//! `clock` (virtual clock). This file holds the emulator object and the `Emulator` contract.

mod apply;
mod auth;
mod clock;
pub mod config;
mod handlers;
mod imports;
mod inspect;
mod processing;
mod refresh;
mod routes;
mod seed;
mod store;
mod validate;
mod wire;

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use axum::Router;
use axum::response::Response;
use rand::Rng;

use crate::sandbox::core::{Emulator, EmulatorError, InjectedFault, Shared};
use config::MyPrefConfig;
use store::{Account, State};

/// Emulated MyPreferences service (every account it hosts).
pub struct Mypreferences {
    shared: Arc<Shared>,
    config: MyPrefConfig,
    state: Mutex<State>,
    /// Imports whose processing task is running (not persisted).
    running: Mutex<BTreeSet<u64>>,
    /// Handle on the owning `Arc`, to spawn processing from `restore(&self)`.
    me: Weak<Mypreferences>,
}

impl Mypreferences {
    /// An emulator with the notes' default settings and one account, `sandbox`.
    pub fn new(shared: Arc<Shared>) -> Arc<Self> {
        Self::build(shared, MyPrefConfig::default())
    }

    /// An emulator with other routes or limits (paths the notes mark unconfirmed).
    pub fn with_config(
        shared: Arc<Shared>,
        config: MyPrefConfig,
    ) -> Result<Arc<Self>, EmulatorError> {
        Ok(Self::build(shared, config.checked()?))
    }

    fn build(shared: Arc<Shared>, config: MyPrefConfig) -> Arc<Self> {
        Arc::new_cyclic(|me| Self {
            state: Mutex::new(fresh_state(&config)),
            running: Mutex::new(BTreeSet::new()),
            shared,
            config,
            me: me.clone(),
        })
    }

    pub fn config(&self) -> &MyPrefConfig {
        &self.config
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The virtual clock, Unix seconds.
    fn now(&self, state: &State) -> u64 {
        clock::unix_secs(self.shared.now()).saturating_add(state.clock_offset_secs)
    }

    /// A fresh import access token, drawn from the sandbox's seeded random source.
    fn new_access_token(&self, state: &State) -> u64 {
        loop {
            let token = self
                .shared
                .with_rng(|rng| rng.random_range(100_000..10_000_000u64));
            if !state.imports.contains_key(&token) {
                return token;
            }
        }
    }

    /// The account behind `client_id`; outside strict mode an unknown one is created.
    fn account_mut<'a>(&self, state: &'a mut State, client_id: &str) -> Option<&'a mut Account> {
        if !state.accounts.contains_key(client_id) && !self.shared.strict() {
            let account = Account::new(
                client_id,
                &self.config.default_user_id,
                &self.config.email_regex,
            );
            state.accounts.insert(client_id.to_owned(), account);
        }
        state.accounts.get_mut(client_id)
    }
}

fn fresh_state(config: &MyPrefConfig) -> State {
    let mut state = State::default();
    let id = config.default_client_id.clone();
    state.accounts.insert(
        id.clone(),
        Account::new(&id, &config.default_user_id, &config.email_regex),
    );
    state
}

fn error(message: impl Into<String>) -> EmulatorError {
    EmulatorError {
        provider: "mypreferences",
        message: message.into(),
    }
}

impl Emulator for Mypreferences {
    fn name(&self) -> &'static str {
        "mypreferences"
    }

    fn api_router(self: Arc<Self>) -> Router {
        routes::router(self)
    }

    fn inspect_router(self: Arc<Self>) -> Router {
        inspect::router(self)
    }

    fn seed(&self, seed: &serde_json::Value) -> Result<(), EmulatorError> {
        let mut state = self.lock();
        let now = self.now(&state);
        seed::apply(self, &mut state, seed, now)
    }

    fn reset(&self) {
        *self.lock() = fresh_state(&self.config);
    }

    fn snapshot(&self) -> serde_json::Value {
        serde_json::to_value(&*self.lock()).unwrap_or(serde_json::Value::Null)
    }

    fn restore(&self, snapshot: serde_json::Value) -> Result<(), EmulatorError> {
        let state: State =
            serde_json::from_value(snapshot).map_err(|e| error(format!("bad snapshot: {e}")))?;
        let busy: Vec<u64> = state
            .imports
            .values()
            .filter(|i| processing::is_busy(i.status))
            .map(|i| i.access_token)
            .collect();
        *self.lock() = state;
        // Jobs that were queued or processing when the snapshot was taken carry on.
        if let Some(me) = self.me.upgrade() {
            for token in busy {
                processing::spawn(&me, token);
            }
        }
        Ok(())
    }

    fn fault_response(&self, fault: &InjectedFault) -> Response {
        routes::fault_response(&self.shared.faults(), fault)
    }

    fn rewrite_path(&self, path: &str) -> Option<String> {
        routes::canonical_path(&self.config.routes, path)
    }
}

//! The PossibleNOW MyPreferences client (../shared/providers/mypreferences.md): bulk profile
//! imports — initiate, stage chunks, execute, poll, exceptions — with OAuth client-credentials
//! auth.
//!
//! Layout: `config` (endpoint, sandbox endpoint, rate limit, the unconfirmed routes and
//! collection names), `wire` (request and response shapes, the Stage body), `auth` (bearer
//! token cache), `classify` (failures to `ProviderError`), `client` (one HTTP call per
//! operation), `ledger` (which Stage is in doubt), `rejects` (exceptions to rejects), `steps`
//! (`impl Provider`). Nothing here may use `crate::sandbox`.

mod auth;
mod classify;
mod client;
pub mod config;
mod ledger;
mod rejects;
mod steps;
pub mod wire;

pub use config::{Routes, Settings, endpoint, quota, sandbox_endpoint};
pub use steps::MypreferencesProvider;

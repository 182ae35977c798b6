//! The Oracle Eloqua Bulk API 2.0 client (../shared/providers/eloqua.md): opportunity-contact
//! linkage imports and contact imports, each run as one import definition that takes every
//! upload of a batch, then one sync that is polled and whose rejects are read.
//!
//! One role per file: `config` (the endpoint from the project connection or the sandbox, the
//! quota), `wire` (Eloqua's request and response shapes, written from the notes), `classify`
//! (HTTP failures to `ProviderError`), `outcome` (what a sync's status and logs mean), `client`
//! (HTTP calls, Basic auth, `/id` discovery) and `steps` (`impl Provider`). Nothing here retries, polls in a loop, journals or uses
//! `crate::sandbox`: the executor owns those, and the emulator is written independently.

mod classify;
mod client;
mod config;
mod outcome;
mod steps;
mod wire;

pub use config::{DEFAULT_LOGIN_URL, endpoint, quota, sandbox_endpoint};
pub use steps::EloquaProvider;

//! Dotdigital: bulk insight (transactional) data imports into contact- or account-scoped
//! collections, over the v2 API with HTTP Basic on the account's regional host
//! (../shared/providers/dotdigital.md).
//!
//! `config` resolves the endpoint and says the call quota, `wire` holds the API's request and
//! response types, `errors` classifies failures, `client` makes the HTTP calls and `steps`
//! implements `Provider`. Nothing here may use `crate::sandbox`, keep state, retry or poll in
//! a loop: the apply executor does that.

mod client;
mod config;
mod errors;
mod steps;
mod wire;

pub use config::{CALL_TIMEOUT, endpoint, quota, sandbox_endpoint};
pub use steps::DotdigitalProvider;

//! The Marketo provider (../shared/providers/marketo.md): bulk import of program members and
//! leads, one batch per chunk. `config` resolves the endpoint, quota and a job's settings;
//! `wire` holds the JSON shapes; `files` writes the upload and reads the failures file;
//! `client` does the HTTP calls with the OAuth token; `steps` implements `Provider`.
//!
//! It must not use `crate::sandbox`, keep state between runs, or retry anything but the
//! documented token renewal: the executor in `crate::apply` owns retries, polling and the journal.

mod client;
mod config;
mod errors;
mod files;
mod steps;
mod wire;

pub use config::{endpoint, quota, sandbox_endpoint};
pub use steps::MarketoProvider;

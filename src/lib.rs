//! bulkspec: a declarative runner for bulk-import jobs into marketing and consent platforms.
//!
//! The folders are the stages of the pipeline (DESIGN.md), each depending only on earlier ones:
//! `spec` -> `source` -> `state` -> `plan` -> `apply`, with `providers` (one client per API),
//! `sandbox` (the emulator, independent of `providers`), `cli` (thin commands) and `output`
//! (the only place that prints).

pub mod apply;
pub mod cli;
pub mod output;
pub mod plan;
pub mod providers;
pub mod sandbox;
pub mod source;
pub mod spec;
pub mod state;

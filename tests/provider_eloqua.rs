//! The Eloqua provider client against the real sandbox over HTTP on 127.0.0.1: the whole
//! batch flow through the `Provider` trait, rejects mapped back to records, the upload
//! encoding (byte for byte, and the size the plan's Mapper predicts), and the classification
//! of every fault class the sandbox can inject.

// Test helpers panic on purpose: a failed setup request is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "provider_eloqua/harness.rs"]
mod harness;

#[path = "provider_eloqua/encode.rs"]
mod encode;
#[path = "provider_eloqua/errors.rs"]
mod errors;
#[path = "provider_eloqua/flow.rs"]
mod flow;

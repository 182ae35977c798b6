//! The Marketo provider client against the real sandbox over HTTP on 127.0.0.1: the whole
//! flow through the `Provider` trait for program members and leads, rejects mapped back to
//! records, the upload bytes against the plan's size model, the classification of every fault
//! class, and token renewal.
//!
//! Test-only helpers unwrap freely: a failure there is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "provider_marketo/support.rs"]
mod support;

#[path = "provider_marketo/flow.rs"]
mod flow;

#[path = "provider_marketo/encode.rs"]
mod encode;

#[path = "provider_marketo/faults.rs"]
mod faults;

#[path = "provider_marketo/auth.rs"]
mod auth;

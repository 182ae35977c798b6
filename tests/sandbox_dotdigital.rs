//! The Dotdigital emulator over real HTTP on 127.0.0.1: every flow and edge case of
//! ../shared/providers/dotdigital.md §11, with the import answers validated against the vendor's
//! OpenAPI documents so a drift in a field name or type fails.
//!
//! Test-only helpers unwrap freely: a failure there is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "sandbox_dotdigital/support.rs"]
mod support;

#[path = "sandbox_dotdigital/imports.rs"]
mod imports;

#[path = "sandbox_dotdigital/fault_reasons.rs"]
mod fault_reasons;

#[path = "sandbox_dotdigital/limits.rs"]
mod limits;

#[path = "sandbox_dotdigital/reads.rs"]
mod reads;

#[path = "sandbox_dotdigital/throughput.rs"]
mod throughput;

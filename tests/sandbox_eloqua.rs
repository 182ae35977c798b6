//! The Eloqua emulator over real HTTP (../shared/providers/eloqua.md §13): discovery and auth,
//! routing quirks, definitions and their validation, uploads and their limits, the sync state
//! machine, linkage/contact/opportunity semantics, logs, rejects, paging, expiry, persistence and
//! fault rendering. Responses of the import operations are validated against the vendor's
//! OpenAPI documents (closed schemas: a renamed or retyped field fails).

// Test helpers panic on purpose: a failed request or unexpected body is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "sandbox_eloqua/harness.rs"]
mod harness;

#[path = "sandbox_eloqua/auth.rs"]
mod auth;
#[path = "sandbox_eloqua/definitions.rs"]
mod definitions;
#[path = "sandbox_eloqua/imports.rs"]
mod imports;
#[path = "sandbox_eloqua/linkage.rs"]
mod linkage;
#[path = "sandbox_eloqua/rates.rs"]
mod rates;
#[path = "sandbox_eloqua/syncs.rs"]
mod syncs;
#[path = "sandbox_eloqua/uploads.rs"]
mod uploads;
#[path = "sandbox_eloqua/validation.rs"]
mod validation;

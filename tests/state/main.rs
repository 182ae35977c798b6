//! State store tests: one conformance suite (conformance/) run against SQLite (a temp dir) and
//! against a real PostgreSQL (BULKSPEC_TEST_PG_URL, see .ci/pg-start), plus each backend's own
//! failure cases (corrupt file, newer schema, busy database, unreachable server).
// The suite's cases are plain functions called by #[test]s, which clippy's test allowance misses.
#![allow(clippy::unwrap_used, clippy::expect_used)]
mod conformance;
mod postgres;
mod sqlite;

/// Declares one #[test] per conformance case for a backend. `$db` yields an Option of a value
/// with `fn open(&self) -> Box<dyn StateStore>`; None skips the case (PostgreSQL not set up).
macro_rules! conformance_tests {
    ($db:expr; $($case:ident),* $(,)?) => {
        $(
            #[test]
            fn $case() {
                let Some(db) = $db else { return };
                crate::conformance::$case(&|| db.open());
            }
        )*
    };
}
pub(crate) use conformance_tests;

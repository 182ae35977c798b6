//! State: what was applied, per job (record hashes, rendered spec, journal, lock).
//!
//! One trait, [`StateStore`], and two backends: SQLite (embedded default at
//! `.bulkspec/state.db`) and PostgreSQL (shared by a team or CI runners). Per job the state holds
//! a lineage and serial, the last applied rendered spec, the key and content hash (and key text)
//! of every accepted record, the apply journal, the rejects of the last apply and a lock lease.
//! This stage stores and loads; it must not diff, plan, talk to a provider or print.
mod error;
mod lock;
mod pg;
mod report;
mod sqlite;
mod store;
mod types;

use std::path::PathBuf;
use std::time::Duration;

pub use error::{Result, StateError};
pub use lock::LockGuard;
pub use pg::{PostgresStore, off_async};
pub use report::write_rejects_csv;
pub use sqlite::SqliteStore;
pub use store::StateStore;
pub use types::{
    JobSummary, JournalEntry, KeyHashHasher, LockHolder, LockInfo, RecordHashes, RecordRef, Reject,
    StepStatus,
};

/// Where the embedded state lives, relative to the project root.
pub const DEFAULT_SQLITE_PATH: &str = ".bulkspec/state.db";

/// A lease long enough to outlast a slow commit or a short network hiccup (the heartbeat renews
/// it every third), short enough that a killed holder's lock frees itself within a minute.
pub const DEFAULT_LOCK_LEASE: Duration = Duration::from_secs(60);

/// The newest schema version this build reads and writes (both backends).
pub const SCHEMA_VERSION: i64 = 1;

/// Which backend, and where. The project file is mapped onto this by the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StateConfig {
    Sqlite {
        path: PathBuf,
    },
    /// `url` is a secret (it may hold a password): it is never shown, only a redacted form.
    Postgres {
        url: String,
    },
}

impl Default for StateConfig {
    fn default() -> Self {
        StateConfig::Sqlite {
            path: PathBuf::from(DEFAULT_SQLITE_PATH),
        }
    }
}

/// Opens (creating or migrating as needed) the configured state.
pub fn open_store(config: &StateConfig) -> Result<Box<dyn StateStore>> {
    Ok(match config {
        StateConfig::Sqlite { path } => Box::new(SqliteStore::open(path)?),
        StateConfig::Postgres { url } => Box::new(PostgresStore::open(url)?),
    })
}

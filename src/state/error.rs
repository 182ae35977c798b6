//! The state stage's typed errors.
//!
//! Every error names where the state lives (a file path, or a PostgreSQL URL with its password
//! removed) and says what the user can do about it. Nothing here may ever hold a password.
use std::time::{Duration, SystemTime};

use super::types::LockHolder;

/// Everything that can go wrong while reading or writing the state.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// The database could not be opened or reached at all.
    #[error(
        "cannot open the state database {location}: {reason}; check the path or URL and that it is reachable"
    )]
    Open { location: String, reason: String },

    /// The PostgreSQL URL could not be parsed (the URL itself is not repeated: it may hold a password).
    #[error(
        "the PostgreSQL state URL is invalid: {reason}; expected postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE"
    )]
    InvalidUrl { reason: String },

    /// The file exists but is not a SQLite database, or is one that bulkspec did not create.
    #[error(
        "{location} is not a bulkspec state database ({reason}); move it away or restore it from a backup"
    )]
    NotAStateDatabase { location: String, reason: String },

    /// The database was written by a newer bulkspec.
    #[error(
        "the state database {location} has schema version {found}, newer than {supported} which this bulkspec supports; upgrade bulkspec"
    )]
    TooNew {
        location: String,
        found: i64,
        supported: i64,
    },

    /// Another process kept the database busy for longer than the bounded wait.
    #[error("the state database {location} is busy: another process held it for more than {}; retry when it has finished", humantime::format_duration(*waited))]
    Busy { location: String, waited: Duration },

    /// The job's lease is held by a live holder.
    #[error("job {job} is locked by {holder} since {} ({} ago); wait for that run to finish, or run `bulkspec state unlock {job}` if it died", humantime::format_rfc3339_seconds(*since), humantime::format_duration(*age))]
    Locked {
        job: String,
        holder: Box<LockHolder>,
        since: SystemTime,
        age: Duration,
    },

    /// The database holds a value this version cannot read (edited by hand, or damaged).
    #[error(
        "the state database {location} holds an unreadable value ({what}); restore it from a backup or remove the job with `bulkspec state rm`"
    )]
    Corrupt { location: String, what: String },

    /// Any other database failure.
    #[error("state database {location}: {reason}")]
    Database { location: String, reason: String },
}

/// Shorthand for results of this stage.
pub type Result<T, E = StateError> = std::result::Result<T, E>;

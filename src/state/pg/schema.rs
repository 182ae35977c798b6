//! PostgreSQL schema and migrations. Concurrent openers serialize on an advisory lock; a
//! database from a newer bulkspec is refused, never altered.
use postgres::{Client, GenericClient};

use super::Ctx;
use crate::state::SCHEMA_VERSION;
use crate::state::error::{Result, StateError};

/// Advisory lock key held while migrating ("bulkspec" in ASCII).
const MIGRATION_LOCK: i64 = 0x6275_6c6b_7370_6563;

/// Migration N (1-based) brings the schema from version N-1 to N.
const MIGRATIONS: &[&str] = &[V1];

const V1: &str = "
CREATE TABLE bulkspec_jobs (
    id BIGSERIAL PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    lineage TEXT NOT NULL,
    serial BIGINT NOT NULL DEFAULT 0,
    -- Kept by each commit, so a summary need not count a million rows.
    record_count BIGINT NOT NULL DEFAULT 0,
    spec TEXT,
    applied_at_ms BIGINT,
    created_at_ms BIGINT NOT NULL
);
CREATE TABLE bulkspec_records (
    job_id BIGINT NOT NULL,
    key_hash BIGINT NOT NULL,
    content_hash BIGINT NOT NULL,
    key TEXT NOT NULL,
    PRIMARY KEY (job_id, key_hash)
);
CREATE TABLE bulkspec_journal (
    seq BIGSERIAL PRIMARY KEY,
    job_id BIGINT NOT NULL,
    run TEXT NOT NULL,
    step TEXT NOT NULL,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    remote_id TEXT,
    expires_at_ms BIGINT,
    details TEXT NOT NULL,
    started_at_ms BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL,
    UNIQUE (job_id, run, step)
);
CREATE TABLE bulkspec_rejects (
    job_id BIGINT NOT NULL,
    seq BIGINT NOT NULL,
    line BIGINT NOT NULL,
    key TEXT NOT NULL,
    code TEXT NOT NULL,
    reason TEXT NOT NULL,
    PRIMARY KEY (job_id, seq)
);
-- Keyed by job name, not id: a job that was never applied can be locked.
CREATE TABLE bulkspec_locks (
    job TEXT PRIMARY KEY,
    token TEXT NOT NULL,
    host TEXT NOT NULL,
    pid BIGINT NOT NULL,
    user_name TEXT NOT NULL,
    ci_run TEXT,
    since_ms BIGINT NOT NULL,
    heartbeat_ms BIGINT NOT NULL,
    lease_ms BIGINT NOT NULL
);
";

/// Brings the database to [`SCHEMA_VERSION`], or refuses it.
pub fn migrate(client: &mut Client, ctx: &Ctx) -> Result<()> {
    // Read first without locking: the common case is an up-to-date database.
    if check_version(client, ctx)? == Some(SCHEMA_VERSION) {
        return Ok(());
    }
    let mut tx = client.transaction().map_err(|e| ctx.err(e))?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .map_err(|e| ctx.err(e))?;
    // Another session may have migrated while we waited for the lock.
    let from = match check_version(&mut tx, ctx)? {
        Some(v) => v,
        None => {
            tx.batch_execute(
                "CREATE TABLE bulkspec_schema_version (version BIGINT NOT NULL);
                 INSERT INTO bulkspec_schema_version VALUES (0);",
            )
            .map_err(|e| ctx.err(e))?;
            0
        }
    };
    for (i, sql) in MIGRATIONS
        .iter()
        .enumerate()
        .skip(usize::try_from(from).unwrap_or(0))
    {
        tx.batch_execute(sql).map_err(|e| ctx.err(e))?;
        let version = i64::try_from(i + 1).unwrap_or(i64::MAX);
        tx.execute(
            "UPDATE bulkspec_schema_version SET version = $1",
            &[&version],
        )
        .map_err(|e| ctx.err(e))?;
    }
    tx.commit().map_err(|e| ctx.err(e))
}

/// The schema version, None when bulkspec never created its tables here; an error if newer.
fn check_version(client: &mut impl GenericClient, ctx: &Ctx) -> Result<Option<i64>> {
    let exists: bool = client
        .query_one(
            "SELECT to_regclass('bulkspec_schema_version') IS NOT NULL",
            &[],
        )
        .and_then(|r| r.try_get(0))
        .map_err(|e| ctx.err(e))?;
    if !exists {
        return Ok(None);
    }
    let found: Option<i64> = client
        .query_one("SELECT max(version) FROM bulkspec_schema_version", &[])
        .and_then(|r| r.try_get(0))
        .map_err(|e| ctx.err(e))?;
    let found = found.unwrap_or(0);
    if found > SCHEMA_VERSION {
        return Err(StateError::TooNew {
            location: ctx.location.clone(),
            found,
            supported: SCHEMA_VERSION,
        });
    }
    Ok(Some(found))
}

//! SQLite schema and migrations. `schema_version` holds one number; a database from a newer
//! bulkspec is refused, one holding someone else's tables is refused, never altered.
use rusqlite::{Connection, OptionalExtension, TransactionBehavior};

use super::Ctx;
use crate::state::SCHEMA_VERSION;
use crate::state::error::{Result, StateError};

/// Migration N (1-based) brings the schema from version N-1 to N.
const MIGRATIONS: &[&str] = &[V1];

const V1: &str = "
CREATE TABLE jobs (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    lineage TEXT NOT NULL,
    serial INTEGER NOT NULL DEFAULT 0,
    -- Kept by each commit, so a summary need not count a million rows.
    record_count INTEGER NOT NULL DEFAULT 0,
    spec TEXT,
    applied_at_ms INTEGER,
    created_at_ms INTEGER NOT NULL
);
-- WITHOUT ROWID keeps a job's records together in key order: loading them is one range scan.
CREATE TABLE records (
    job_id INTEGER NOT NULL,
    key_hash INTEGER NOT NULL,
    content_hash INTEGER NOT NULL,
    key TEXT NOT NULL,
    PRIMARY KEY (job_id, key_hash)
) WITHOUT ROWID;
CREATE TABLE journal (
    seq INTEGER PRIMARY KEY,
    job_id INTEGER NOT NULL,
    run TEXT NOT NULL,
    step TEXT NOT NULL,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    remote_id TEXT,
    expires_at_ms INTEGER,
    details TEXT NOT NULL,
    started_at_ms INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL,
    UNIQUE (job_id, run, step)
);
CREATE TABLE rejects (
    job_id INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    line INTEGER NOT NULL,
    key TEXT NOT NULL,
    code TEXT NOT NULL,
    reason TEXT NOT NULL,
    PRIMARY KEY (job_id, seq)
) WITHOUT ROWID;
-- Keyed by job name, not id: a job that was never applied can be locked.
CREATE TABLE locks (
    job TEXT PRIMARY KEY,
    token TEXT NOT NULL,
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    user_name TEXT NOT NULL,
    ci_run TEXT,
    since_ms INTEGER NOT NULL,
    heartbeat_ms INTEGER NOT NULL,
    lease_ms INTEGER NOT NULL
);
";

/// Brings the database to [`SCHEMA_VERSION`], or refuses it.
pub fn migrate(conn: &mut Connection, ctx: &Ctx) -> Result<()> {
    // Read first without a write lock: the common case is an up-to-date database.
    if check_version(conn, ctx)? == SCHEMA_VERSION {
        return Ok(());
    }
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(|e| ctx.err(e))?;
    // Another process may have migrated while we waited for the write lock.
    let from = check_version(&tx, ctx)?;
    if from == 0 {
        tx.execute_batch("CREATE TABLE schema_version (version INTEGER NOT NULL); INSERT INTO schema_version VALUES (0);")
            .map_err(|e| ctx.err(e))?;
    }
    for (i, sql) in MIGRATIONS
        .iter()
        .enumerate()
        .skip(usize::try_from(from).unwrap_or(0))
    {
        tx.execute_batch(sql).map_err(|e| ctx.err(e))?;
        tx.execute(
            "UPDATE schema_version SET version = ?1",
            [i64::try_from(i + 1).unwrap_or(i64::MAX)],
        )
        .map_err(|e| ctx.err(e))?;
    }
    tx.commit().map_err(|e| ctx.err(e))
}

/// The schema version, 0 for an empty file; an error for a newer or foreign database.
fn check_version(conn: &Connection, ctx: &Ctx) -> Result<i64> {
    let tables: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table'",
            [],
            |r| r.get(0),
        )
        .map_err(|e| ctx.err(e))?;
    let has_version: bool = conn
        .query_row(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'",
            [],
            |_| Ok(true),
        )
        .optional()
        .map_err(|e| ctx.err(e))?
        .unwrap_or(false);
    if !has_version {
        if tables > 0 {
            return Err(StateError::NotAStateDatabase {
                location: ctx.location.clone(),
                reason: "it holds tables that bulkspec did not create".into(),
            });
        }
        return Ok(0);
    }
    let found: Option<i64> = conn
        .query_row("SELECT max(version) FROM schema_version", [], |r| r.get(0))
        .map_err(|e| ctx.err(e))?;
    let found = found.unwrap_or(0);
    if found > SCHEMA_VERSION {
        return Err(StateError::TooNew {
            location: ctx.location.clone(),
            found,
            supported: SCHEMA_VERSION,
        });
    }
    Ok(found)
}

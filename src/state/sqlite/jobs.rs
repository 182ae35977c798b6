//! Jobs in SQLite: list, show, rm, the applied spec, and the helpers that create a job (with a
//! new lineage) and bump its serial inside a caller's transaction.
use std::time::SystemTime;

use rusqlite::{Connection, OptionalExtension, Row, params};

use super::{Ctx, lock, write_tx};
use crate::state::error::Result;
use crate::state::types::{JobSummary, from_ms, new_lineage, to_ms};

const SUMMARY: &str = "SELECT name, lineage, serial, applied_at_ms, record_count FROM jobs";

pub fn list(conn: &Connection, ctx: &Ctx) -> Result<Vec<JobSummary>> {
    let mut st = conn
        .prepare(&format!("{SUMMARY} ORDER BY name"))
        .map_err(|e| ctx.err(e))?;
    let rows = st.query_map([], summary_row).map_err(|e| ctx.err(e))?;
    let mut jobs = rows
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ctx.err(e))?;
    for job in &mut jobs {
        job.lock = lock::info(conn, ctx, &job.job)?;
    }
    Ok(jobs)
}

pub fn show(conn: &Connection, ctx: &Ctx, job: &str) -> Result<Option<JobSummary>> {
    let found = conn
        .query_row(&format!("{SUMMARY} WHERE name = ?1"), [job], summary_row)
        .optional()
        .map_err(|e| ctx.err(e))?;
    match found {
        Some(mut summary) => {
            summary.lock = lock::info(conn, ctx, job)?;
            Ok(Some(summary))
        }
        None => Ok(None),
    }
}

fn summary_row(r: &Row<'_>) -> rusqlite::Result<JobSummary> {
    Ok(JobSummary {
        job: r.get(0)?,
        lineage: r.get(1)?,
        serial: u64::try_from(r.get::<_, i64>(2)?).unwrap_or(0),
        last_apply: r.get::<_, Option<i64>>(3)?.map(from_ms),
        records: u64::try_from(r.get::<_, i64>(4)?).unwrap_or(0),
        lock: None,
    })
}

pub fn rm(conn: &mut Connection, ctx: &Ctx, job: &str) -> Result<bool> {
    let tx = write_tx(conn, ctx)?;
    let id = job_id(&tx, ctx, job)?;
    if let Some(id) = id {
        for table in ["records", "journal", "rejects"] {
            tx.execute(&format!("DELETE FROM {table} WHERE job_id = ?1"), [id])
                .map_err(|e| ctx.err(e))?;
        }
        tx.execute("DELETE FROM jobs WHERE id = ?1", [id])
            .map_err(|e| ctx.err(e))?;
    }
    let unlocked = tx
        .execute("DELETE FROM locks WHERE job = ?1", [job])
        .map_err(|e| ctx.err(e))?;
    tx.commit().map_err(|e| ctx.err(e))?;
    Ok(id.is_some() || unlocked > 0)
}

pub fn applied_spec(conn: &Connection, ctx: &Ctx, job: &str) -> Result<Option<String>> {
    let spec = conn
        .query_row("SELECT spec FROM jobs WHERE name = ?1", [job], |r| {
            r.get::<_, Option<String>>(0)
        })
        .optional()
        .map_err(|e| ctx.err(e))?;
    Ok(spec.flatten())
}

/// The job's row id, if the state has seen it.
pub fn job_id(conn: &Connection, ctx: &Ctx, job: &str) -> Result<Option<i64>> {
    conn.query_row("SELECT id FROM jobs WHERE name = ?1", [job], |r| r.get(0))
        .optional()
        .map_err(|e| ctx.err(e))
}

/// The job's row id, creating the job with a new lineage when it first appears.
pub fn ensure_job(conn: &Connection, ctx: &Ctx, job: &str) -> Result<i64> {
    if let Some(id) = job_id(conn, ctx, job)? {
        return Ok(id);
    }
    let lineage = new_lineage();
    conn.execute(
        "INSERT INTO jobs (name, lineage, serial, created_at_ms) VALUES (?1, ?2, 0, ?3)",
        params![job, lineage, to_ms(SystemTime::now())],
    )
    .map_err(|e| ctx.err(e))?;
    Ok(conn.last_insert_rowid())
}

/// Increments the serial, adds `record_delta` to the record count, returns the new serial.
pub fn bump_serial(conn: &Connection, ctx: &Ctx, id: i64, record_delta: i64) -> Result<u64> {
    let serial: i64 = conn
        .query_row(
            "UPDATE jobs SET serial = serial + 1, record_count = record_count + ?2 WHERE id = ?1 RETURNING serial",
            params![id, record_delta],
            |r| r.get(0),
        )
        .map_err(|e| ctx.err(e))?;
    Ok(u64::try_from(serial).unwrap_or(0))
}

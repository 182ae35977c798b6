//! Jobs in PostgreSQL: list, show, rm, the applied spec, and the helpers that create a job (with
//! a new lineage) and bump its serial inside a caller's transaction.
use std::time::SystemTime;

use postgres::{Client, GenericClient, Row};

use super::{Ctx, lock};
use crate::state::error::Result;
use crate::state::types::{JobSummary, from_ms, new_lineage, to_ms};

const SUMMARY: &str =
    "SELECT name, lineage, serial, applied_at_ms, record_count FROM bulkspec_jobs";

pub fn list(client: &mut Client, ctx: &Ctx) -> Result<Vec<JobSummary>> {
    let rows = client
        .query(&format!("{SUMMARY} ORDER BY name"), &[])
        .map_err(|e| ctx.err(e))?;
    let mut jobs = rows
        .iter()
        .map(summary_row)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ctx.err(e))?;
    for job in &mut jobs {
        job.lock = lock::info(client, ctx, &job.job)?;
    }
    Ok(jobs)
}

pub fn show(client: &mut Client, ctx: &Ctx, job: &str) -> Result<Option<JobSummary>> {
    let row = client
        .query_opt(&format!("{SUMMARY} WHERE name = $1"), &[&job])
        .map_err(|e| ctx.err(e))?;
    let Some(row) = row else {
        return Ok(None);
    };
    let mut summary = summary_row(&row).map_err(|e| ctx.err(e))?;
    summary.lock = lock::info(client, ctx, job)?;
    Ok(Some(summary))
}

fn summary_row(r: &Row) -> Result<JobSummary, postgres::Error> {
    Ok(JobSummary {
        job: r.try_get(0)?,
        lineage: r.try_get(1)?,
        serial: u64::try_from(r.try_get::<_, i64>(2)?).unwrap_or(0),
        last_apply: r.try_get::<_, Option<i64>>(3)?.map(from_ms),
        records: u64::try_from(r.try_get::<_, i64>(4)?).unwrap_or(0),
        lock: None,
    })
}

pub fn rm(client: &mut Client, ctx: &Ctx, job: &str) -> Result<bool> {
    let mut tx = client.transaction().map_err(|e| ctx.err(e))?;
    let id = job_id(&mut tx, ctx, job)?;
    if let Some(id) = id {
        for table in ["bulkspec_records", "bulkspec_journal", "bulkspec_rejects"] {
            tx.execute(&format!("DELETE FROM {table} WHERE job_id = $1"), &[&id])
                .map_err(|e| ctx.err(e))?;
        }
        tx.execute("DELETE FROM bulkspec_jobs WHERE id = $1", &[&id])
            .map_err(|e| ctx.err(e))?;
    }
    let unlocked = tx
        .execute("DELETE FROM bulkspec_locks WHERE job = $1", &[&job])
        .map_err(|e| ctx.err(e))?;
    tx.commit().map_err(|e| ctx.err(e))?;
    Ok(id.is_some() || unlocked > 0)
}

pub fn applied_spec(client: &mut Client, ctx: &Ctx, job: &str) -> Result<Option<String>> {
    let row = client
        .query_opt("SELECT spec FROM bulkspec_jobs WHERE name = $1", &[&job])
        .map_err(|e| ctx.err(e))?;
    match row {
        Some(r) => r.try_get(0).map_err(|e| ctx.err(e)),
        None => Ok(None),
    }
}

/// The job's row id, if the state has seen it.
pub fn job_id(client: &mut impl GenericClient, ctx: &Ctx, job: &str) -> Result<Option<i64>> {
    let row = client
        .query_opt("SELECT id FROM bulkspec_jobs WHERE name = $1", &[&job])
        .map_err(|e| ctx.err(e))?;
    row.map(|r| r.try_get(0))
        .transpose()
        .map_err(|e| ctx.err(e))
}

/// The job's row id, creating the job with a new lineage when it first appears.
/// `ON CONFLICT` makes two sessions creating the same job at once agree on one lineage.
pub fn ensure_job(client: &mut impl GenericClient, ctx: &Ctx, job: &str) -> Result<i64> {
    if let Some(id) = job_id(client, ctx, job)? {
        return Ok(id);
    }
    client
        .execute(
            "INSERT INTO bulkspec_jobs (name, lineage, serial, created_at_ms) VALUES ($1, $2, 0, $3)
             ON CONFLICT (name) DO NOTHING",
            &[&job, &new_lineage(), &to_ms(SystemTime::now())],
        )
        .map_err(|e| ctx.err(e))?;
    job_id(client, ctx, job)?
        .ok_or_else(|| ctx.corrupt(format!("job {job} vanished while being created")))
}

/// Increments the serial, adds `record_delta` to the record count, returns the new serial.
pub fn bump_serial(
    client: &mut impl GenericClient,
    ctx: &Ctx,
    id: i64,
    record_delta: i64,
) -> Result<u64> {
    let row = client
        .query_one(
            "UPDATE bulkspec_jobs SET serial = serial + 1, record_count = record_count + $2
             WHERE id = $1 RETURNING serial",
            &[&id, &record_delta],
        )
        .map_err(|e| ctx.err(e))?;
    let serial: i64 = row.try_get(0).map_err(|e| ctx.err(e))?;
    Ok(u64::try_from(serial).unwrap_or(0))
}

//! The apply journal, the rejects of the last apply and the end-of-apply record, in PostgreSQL.
use std::time::SystemTime;

use postgres::{Client, Row};

use super::Ctx;
use super::jobs::{bump_serial, ensure_job, job_id};
use crate::state::error::Result;
use crate::state::types::{JournalEntry, Reject, StepStatus, from_ms, to_ms};

pub fn record_apply(
    client: &mut Client,
    ctx: &Ctx,
    job: &str,
    spec: &str,
    rejects: &[Reject],
) -> Result<u64> {
    let mut tx = client.transaction().map_err(|e| ctx.err(e))?;
    let id = ensure_job(&mut tx, ctx, job)?;
    tx.execute(
        "UPDATE bulkspec_jobs SET spec = $1, applied_at_ms = $2 WHERE id = $3",
        &[&spec, &to_ms(SystemTime::now()), &id],
    )
    .map_err(|e| ctx.err(e))?;
    tx.execute("DELETE FROM bulkspec_rejects WHERE job_id = $1", &[&id])
        .map_err(|e| ctx.err(e))?;
    let ins = tx
        .prepare("INSERT INTO bulkspec_rejects (job_id, seq, line, key, code, reason) VALUES ($1, $2, $3, $4, $5, $6)")
        .map_err(|e| ctx.err(e))?;
    for (seq, r) in (0_i64..).zip(rejects) {
        let line = i64::try_from(r.line).unwrap_or(i64::MAX);
        tx.execute(&ins, &[&id, &seq, &line, &r.key, &r.code, &r.reason])
            .map_err(|e| ctx.err(e))?;
    }
    let serial = bump_serial(&mut tx, ctx, id, 0)?;
    tx.commit().map_err(|e| ctx.err(e))?;
    Ok(serial)
}

pub fn rejects(client: &mut Client, ctx: &Ctx, job: &str) -> Result<Vec<Reject>> {
    let Some(id) = job_id(client, ctx, job)? else {
        return Ok(Vec::new());
    };
    let rows = client
        .query(
            "SELECT line, key, code, reason FROM bulkspec_rejects WHERE job_id = $1 ORDER BY seq",
            &[&id],
        )
        .map_err(|e| ctx.err(e))?;
    rows.iter()
        .map(|r| {
            Ok(Reject {
                line: u64::try_from(r.try_get::<_, i64>(0)?).unwrap_or(0),
                key: r.try_get(1)?,
                code: r.try_get(2)?,
                reason: r.try_get(3)?,
            })
        })
        .collect::<Result<Vec<_>, postgres::Error>>()
        .map_err(|e| ctx.err(e))
}

pub fn put(client: &mut Client, ctx: &Ctx, job: &str, e: &JournalEntry) -> Result<()> {
    let mut tx = client.transaction().map_err(|e| ctx.err(e))?;
    let id = ensure_job(&mut tx, ctx, job)?;
    tx.execute(
        "INSERT INTO bulkspec_journal
            (job_id, run, step, kind, status, remote_id, expires_at_ms, details, started_at_ms, updated_at_ms)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
         ON CONFLICT (job_id, run, step) DO UPDATE SET kind = EXCLUDED.kind, status = EXCLUDED.status,
            remote_id = EXCLUDED.remote_id, expires_at_ms = EXCLUDED.expires_at_ms,
            details = EXCLUDED.details, updated_at_ms = EXCLUDED.updated_at_ms",
        &[
            &id,
            &e.run,
            &e.step,
            &e.kind,
            &e.status.as_str(),
            &e.remote_id,
            &e.expires_at.map(to_ms),
            &e.details.to_string(),
            &to_ms(e.started_at),
            &to_ms(e.updated_at),
        ],
    )
    .map_err(|e| ctx.err(e))?;
    tx.commit().map_err(|e| ctx.err(e))
}

pub fn prune(
    client: &mut Client,
    ctx: &Ctx,
    job: &str,
    closing_step: &str,
    keep_runs: u32,
) -> Result<u64> {
    let Some(id) = job_id(client, ctx, job)? else {
        return Ok(0);
    };
    client
        .execute(
            "DELETE FROM bulkspec_journal WHERE job_id = $1
               AND run IN (SELECT run FROM bulkspec_journal
                           WHERE job_id = $1 AND step = $2 AND status = $3)
               AND run NOT IN (SELECT run FROM bulkspec_journal WHERE job_id = $1
                               GROUP BY run ORDER BY max(seq) DESC LIMIT $4)",
            &[
                &id,
                &closing_step,
                &StepStatus::Done.as_str(),
                &i64::from(keep_runs),
            ],
        )
        .map_err(|e| ctx.err(e))
}

pub fn list(client: &mut Client, ctx: &Ctx, job: &str) -> Result<Vec<JournalEntry>> {
    let Some(id) = job_id(client, ctx, job)? else {
        return Ok(Vec::new());
    };
    let rows = client
        .query(
            "SELECT run, step, kind, status, remote_id, expires_at_ms, details, started_at_ms, updated_at_ms
             FROM bulkspec_journal WHERE job_id = $1 ORDER BY seq",
            &[&id],
        )
        .map_err(|e| ctx.err(e))?;
    rows.iter().map(|r| entry(r, ctx)).collect()
}

fn entry(r: &Row, ctx: &Ctx) -> Result<JournalEntry> {
    let get_err = |e| ctx.err(e);
    let status: String = r.try_get(3).map_err(get_err)?;
    let details: String = r.try_get(6).map_err(get_err)?;
    Ok(JournalEntry {
        run: r.try_get(0).map_err(get_err)?,
        step: r.try_get(1).map_err(get_err)?,
        kind: r.try_get(2).map_err(get_err)?,
        status: StepStatus::parse(&status)
            .ok_or_else(|| ctx.corrupt(format!("journal status {status:?}")))?,
        remote_id: r.try_get(4).map_err(get_err)?,
        expires_at: r
            .try_get::<_, Option<i64>>(5)
            .map_err(get_err)?
            .map(from_ms),
        details: serde_json::from_str(&details)
            .map_err(|e| ctx.corrupt(format!("journal details: {e}")))?,
        started_at: from_ms(r.try_get(7).map_err(get_err)?),
        updated_at: from_ms(r.try_get(8).map_err(get_err)?),
    })
}

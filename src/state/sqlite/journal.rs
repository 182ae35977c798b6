//! The apply journal, the rejects of the last apply and the end-of-apply record, in SQLite.
use std::time::SystemTime;

use rusqlite::{Connection, Row, params};

use super::jobs::{bump_serial, ensure_job, job_id};
use super::{Ctx, write_tx};
use crate::state::error::Result;
use crate::state::types::{JournalEntry, Reject, StepStatus, from_ms, to_ms};

pub fn record_apply(
    conn: &mut Connection,
    ctx: &Ctx,
    job: &str,
    spec: &str,
    rejects: &[Reject],
) -> Result<u64> {
    let tx = write_tx(conn, ctx)?;
    let id = ensure_job(&tx, ctx, job)?;
    tx.execute(
        "UPDATE jobs SET spec = ?1, applied_at_ms = ?2 WHERE id = ?3",
        params![spec, to_ms(SystemTime::now()), id],
    )
    .map_err(|e| ctx.err(e))?;
    tx.execute("DELETE FROM rejects WHERE job_id = ?1", [id])
        .map_err(|e| ctx.err(e))?;
    {
        let mut ins = tx
            .prepare("INSERT INTO rejects (job_id, seq, line, key, code, reason) VALUES (?1, ?2, ?3, ?4, ?5, ?6)")
            .map_err(|e| ctx.err(e))?;
        for (seq, r) in (0_i64..).zip(rejects) {
            let line = i64::try_from(r.line).unwrap_or(i64::MAX);
            ins.execute(params![id, seq, line, r.key, r.code, r.reason])
                .map_err(|e| ctx.err(e))?;
        }
    }
    let serial = bump_serial(&tx, ctx, id, 0)?;
    tx.commit().map_err(|e| ctx.err(e))?;
    Ok(serial)
}

pub fn rejects(conn: &Connection, ctx: &Ctx, job: &str) -> Result<Vec<Reject>> {
    let Some(id) = job_id(conn, ctx, job)? else {
        return Ok(Vec::new());
    };
    let mut st = conn
        .prepare("SELECT line, key, code, reason FROM rejects WHERE job_id = ?1 ORDER BY seq")
        .map_err(|e| ctx.err(e))?;
    let rows = st
        .query_map([id], |r| {
            Ok(Reject {
                line: u64::try_from(r.get::<_, i64>(0)?).unwrap_or(0),
                key: r.get(1)?,
                code: r.get(2)?,
                reason: r.get(3)?,
            })
        })
        .map_err(|e| ctx.err(e))?;
    rows.collect::<Result<Vec<_>, _>>().map_err(|e| ctx.err(e))
}

pub fn put(conn: &mut Connection, ctx: &Ctx, job: &str, e: &JournalEntry) -> Result<()> {
    let tx = write_tx(conn, ctx)?;
    let id = ensure_job(&tx, ctx, job)?;
    tx.execute(
        "INSERT INTO journal (job_id, run, step, kind, status, remote_id, expires_at_ms, details, started_at_ms, updated_at_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
         ON CONFLICT (job_id, run, step) DO UPDATE SET kind = excluded.kind, status = excluded.status,
            remote_id = excluded.remote_id, expires_at_ms = excluded.expires_at_ms,
            details = excluded.details, updated_at_ms = excluded.updated_at_ms",
        params![
            id,
            e.run,
            e.step,
            e.kind,
            e.status.as_str(),
            e.remote_id,
            e.expires_at.map(to_ms),
            e.details.to_string(),
            to_ms(e.started_at),
            to_ms(e.updated_at)
        ],
    )
    .map_err(|e| ctx.err(e))?;
    tx.commit().map_err(|e| ctx.err(e))
}

pub fn prune(
    conn: &mut Connection,
    ctx: &Ctx,
    job: &str,
    closing_step: &str,
    keep_runs: u32,
) -> Result<u64> {
    let Some(id) = job_id(conn, ctx, job)? else {
        return Ok(0);
    };
    let removed = conn
        .execute(
            "DELETE FROM journal WHERE job_id = ?1
               AND run IN (SELECT run FROM journal WHERE job_id = ?1 AND step = ?2 AND status = ?3)
               AND run NOT IN (SELECT run FROM journal WHERE job_id = ?1
                               GROUP BY run ORDER BY max(seq) DESC LIMIT ?4)",
            params![id, closing_step, StepStatus::Done.as_str(), keep_runs],
        )
        .map_err(|e| ctx.err(e))?;
    Ok(removed as u64)
}

pub fn list(conn: &Connection, ctx: &Ctx, job: &str) -> Result<Vec<JournalEntry>> {
    let Some(id) = job_id(conn, ctx, job)? else {
        return Ok(Vec::new());
    };
    let mut st = conn
        .prepare(
            "SELECT run, step, kind, status, remote_id, expires_at_ms, details, started_at_ms, updated_at_ms
             FROM journal WHERE job_id = ?1 ORDER BY seq",
        )
        .map_err(|e| ctx.err(e))?;
    let mut rows = st.query([id]).map_err(|e| ctx.err(e))?;
    let mut entries = Vec::new();
    while let Some(row) = rows.next().map_err(|e| ctx.err(e))? {
        entries.push(entry(row, ctx)?);
    }
    Ok(entries)
}

fn entry(r: &Row<'_>, ctx: &Ctx) -> Result<JournalEntry> {
    let get_err = |e| ctx.err(e);
    let status: String = r.get(3).map_err(get_err)?;
    let details: String = r.get(6).map_err(get_err)?;
    Ok(JournalEntry {
        run: r.get(0).map_err(get_err)?,
        step: r.get(1).map_err(get_err)?,
        kind: r.get(2).map_err(get_err)?,
        status: StepStatus::parse(&status)
            .ok_or_else(|| ctx.corrupt(format!("journal status {status:?}")))?,
        remote_id: r.get(4).map_err(get_err)?,
        expires_at: r.get::<_, Option<i64>>(5).map_err(get_err)?.map(from_ms),
        details: serde_json::from_str(&details)
            .map_err(|e| ctx.corrupt(format!("journal details: {e}")))?,
        started_at: from_ms(r.get(7).map_err(get_err)?),
        updated_at: from_ms(r.get(8).map_err(get_err)?),
    })
}

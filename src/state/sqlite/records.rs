//! Record hashes in SQLite: streaming load, key lookup, and the one-transaction commit.
use rusqlite::{Connection, OptionalExtension, params};

use super::jobs::{bump_serial, ensure_job, job_id};
use super::{Ctx, write_tx};
use crate::state::error::Result;
use crate::state::types::{RecordRef, from_db, sorted_unique, to_db};

pub fn for_each(
    conn: &Connection,
    ctx: &Ctx,
    job: &str,
    f: &mut dyn FnMut(u64, u64),
) -> Result<()> {
    let Some(id) = job_id(conn, ctx, job)? else {
        return Ok(());
    };
    let mut st = conn
        .prepare("SELECT key_hash, content_hash FROM records WHERE job_id = ?1")
        .map_err(|e| ctx.err(e))?;
    let mut rows = st.query([id]).map_err(|e| ctx.err(e))?;
    while let Some(row) = rows.next().map_err(|e| ctx.err(e))? {
        let key: i64 = row.get(0).map_err(|e| ctx.err(e))?;
        let content: i64 = row.get(1).map_err(|e| ctx.err(e))?;
        f(from_db(key), from_db(content));
    }
    Ok(())
}

pub fn keys_for(
    conn: &Connection,
    ctx: &Ctx,
    job: &str,
    hashes: &[u64],
) -> Result<Vec<(u64, String)>> {
    let Some(id) = job_id(conn, ctx, job)? else {
        return Ok(Vec::new());
    };
    let mut st = conn
        .prepare("SELECT key FROM records WHERE job_id = ?1 AND key_hash = ?2")
        .map_err(|e| ctx.err(e))?;
    let mut keys = Vec::with_capacity(hashes.len());
    for &h in hashes {
        let key: Option<String> = st
            .query_row(params![id, to_db(h)], |r| r.get(0))
            .optional()
            .map_err(|e| ctx.err(e))?;
        if let Some(key) = key {
            keys.push((h, key));
        }
    }
    Ok(keys)
}

pub fn commit(
    conn: &mut Connection,
    ctx: &Ctx,
    job: &str,
    upserts: &mut dyn Iterator<Item = RecordRef<'_>>,
    removes: &[u64],
) -> Result<u64> {
    let sorted = sorted_unique(upserts);
    let tx = write_tx(conn, ctx)?;
    let id = ensure_job(&tx, ctx, job)?;
    let mut delta = 0_i64;
    {
        // Insert first: a new record is then one statement, and whether it was new keeps the
        // job's record count exact. Only a known key needs the second statement.
        let mut insert = tx
            .prepare(
                "INSERT OR IGNORE INTO records (job_id, key_hash, content_hash, key) VALUES (?1, ?2, ?3, ?4)",
            )
            .map_err(|e| ctx.err(e))?;
        let mut update = tx
            .prepare(
                "UPDATE records SET content_hash = ?3, key = ?4 WHERE job_id = ?1 AND key_hash = ?2",
            )
            .map_err(|e| ctx.err(e))?;
        for r in &sorted {
            let values = params![id, to_db(r.key_hash), to_db(r.content_hash), r.key];
            if insert.execute(values).map_err(|e| ctx.err(e))? == 1 {
                delta += 1;
            } else {
                update.execute(values).map_err(|e| ctx.err(e))?;
            }
        }
        let mut delete = tx
            .prepare("DELETE FROM records WHERE job_id = ?1 AND key_hash = ?2")
            .map_err(|e| ctx.err(e))?;
        for &h in removes {
            let gone = delete
                .execute(params![id, to_db(h)])
                .map_err(|e| ctx.err(e))?;
            delta -= i64::try_from(gone).unwrap_or(0);
        }
    }
    let serial = bump_serial(&tx, ctx, id, delta)?;
    tx.commit().map_err(|e| ctx.err(e))?;
    Ok(serial)
}

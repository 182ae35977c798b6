//! Record hashes in SQLite: streaming load, key lookup, and the one-transaction commit.
use rusqlite::{Connection, OptionalExtension, params};

use super::jobs::{bump_serial, ensure_job, job_id};
use super::{Ctx, write_tx};
use crate::state::error::Result;
use crate::state::types::{RecordRef, from_db, to_db};

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
    // In the table's key order, inserts append to the B-tree instead of splitting pages all over
    // it: 1M new records commit several times faster. The sort is stable, so the last upsert of
    // a key still wins.
    let mut sorted: Vec<RecordRef<'_>> = upserts.collect();
    sorted.sort_by_key(|r| to_db(r.key_hash));
    let tx = write_tx(conn, ctx)?;
    let id = ensure_job(&tx, ctx, job)?;
    {
        let mut up = tx
            .prepare(
                "INSERT INTO records (job_id, key_hash, content_hash, key) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (job_id, key_hash) DO UPDATE SET content_hash = excluded.content_hash, key = excluded.key",
            )
            .map_err(|e| ctx.err(e))?;
        for r in &sorted {
            up.execute(params![id, to_db(r.key_hash), to_db(r.content_hash), r.key])
                .map_err(|e| ctx.err(e))?;
        }
        let mut del = tx
            .prepare("DELETE FROM records WHERE job_id = ?1 AND key_hash = ?2")
            .map_err(|e| ctx.err(e))?;
        for &h in removes {
            del.execute(params![id, to_db(h)]).map_err(|e| ctx.err(e))?;
        }
    }
    let serial = bump_serial(&tx, ctx, id)?;
    tx.commit().map_err(|e| ctx.err(e))?;
    Ok(serial)
}

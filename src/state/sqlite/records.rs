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

/// Rows per multi-row upsert statement: one statement per 100 records instead of one (or two)
/// per record cuts SQLite's per-statement work, which dominated a million-record commit.
const ROWS_PER_STATEMENT: usize = 100;

pub fn commit(
    conn: &mut Connection,
    ctx: &Ctx,
    job: &str,
    upserts: &mut dyn Iterator<Item = RecordRef<'_>>,
    removes: &[u64],
) -> Result<u64> {
    let sorted = sorted_unique(upserts);
    let keys = KeyArena::of(&sorted);
    let tx = write_tx(conn, ctx)?;
    let id = ensure_job(&tx, ctx, job)?;
    let before: i64 = tx
        .query_row("SELECT record_count FROM jobs WHERE id = ?1", [id], |r| {
            r.get(0)
        })
        .map_err(|e| ctx.err(e))?;
    {
        let sql = |rows: usize| {
            format!(
                "INSERT INTO records (job_id, key_hash, content_hash, key) VALUES {} \
                 ON CONFLICT (job_id, key_hash) DO UPDATE SET content_hash = excluded.content_hash, key = excluded.key",
                vec!["(?, ?, ?, ?)"; rows].join(", ")
            )
        };
        let mut many = tx
            .prepare(&sql(ROWS_PER_STATEMENT))
            .map_err(|e| ctx.err(e))?;
        let mut one = tx.prepare(&sql(1)).map_err(|e| ctx.err(e))?;
        for (n, rows) in sorted.chunks(ROWS_PER_STATEMENT).enumerate() {
            let first = n * ROWS_PER_STATEMENT;
            if rows.len() == ROWS_PER_STATEMENT {
                upsert_rows(&mut many, ctx, id, rows, &keys, first)?;
            } else {
                for (i, r) in rows.iter().enumerate() {
                    upsert_rows(&mut one, ctx, id, std::slice::from_ref(r), &keys, first + i)?;
                }
            }
        }
        let mut delete = tx
            .prepare("DELETE FROM records WHERE job_id = ?1 AND key_hash = ?2")
            .map_err(|e| ctx.err(e))?;
        for &h in removes {
            delete
                .execute(params![id, to_db(h)])
                .map_err(|e| ctx.err(e))?;
        }
    }
    // The count is read back rather than tracked per statement: an upsert does not say
    // whether it inserted or updated. A job that had no records has exactly the (distinct)
    // ones just written: no need to count a million rows again.
    let after: i64 = if before == 0 && removes.is_empty() {
        i64::try_from(sorted.len()).unwrap_or(i64::MAX)
    } else {
        tx.query_row(
            "SELECT count(*) FROM records WHERE job_id = ?1",
            [id],
            |r| r.get(0),
        )
        .map_err(|e| ctx.err(e))?
    };
    let serial = bump_serial(&tx, ctx, id, after - before)?;
    tx.commit().map_err(|e| ctx.err(e))?;
    Ok(serial)
}

/// The key texts of sorted records, copied one after another in their sorted order.
///
/// Why: the records are sorted by key hash, so their key strings (allocated in source order)
/// are read in random memory order. Binding them one by one inside SQLite's statement loop
/// takes one cache miss per key, paid in series; this tight copy loop lets the processor
/// overlap those misses, and the statements then read the keys sequentially.
struct KeyArena {
    text: String,
    ends: Vec<usize>,
}

impl KeyArena {
    fn of(sorted: &[RecordRef<'_>]) -> KeyArena {
        let mut text = String::with_capacity(sorted.len() * 32);
        let mut ends = Vec::with_capacity(sorted.len());
        for r in sorted {
            text.push_str(r.key);
            ends.push(text.len());
        }
        KeyArena { text, ends }
    }

    fn get(&self, i: usize) -> &str {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.text[start..self.ends[i]]
    }
}

/// Binds `rows` (starting at `first` in the arena) to a statement of as many `(?, ?, ?, ?)`
/// groups and runs it.
fn upsert_rows(
    st: &mut rusqlite::Statement<'_>,
    ctx: &Ctx,
    id: i64,
    rows: &[RecordRef<'_>],
    keys: &KeyArena,
    first: usize,
) -> Result<()> {
    for (i, r) in rows.iter().enumerate() {
        let at = i * 4;
        st.raw_bind_parameter(at + 1, id).map_err(|e| ctx.err(e))?;
        st.raw_bind_parameter(at + 2, to_db(r.key_hash))
            .map_err(|e| ctx.err(e))?;
        st.raw_bind_parameter(at + 3, to_db(r.content_hash))
            .map_err(|e| ctx.err(e))?;
        st.raw_bind_parameter(at + 4, keys.get(first + i))
            .map_err(|e| ctx.err(e))?;
    }
    st.raw_execute().map_err(|e| ctx.err(e))?;
    Ok(())
}

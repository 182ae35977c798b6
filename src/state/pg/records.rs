//! Record hashes in PostgreSQL: streaming load, key lookup, and the one-transaction commit
//! (binary COPY into a temporary table, then one UPDATE and one INSERT: far faster than a
//! statement per row).
use postgres::binary_copy::{BinaryCopyInWriter, BinaryCopyOutIter};
use postgres::fallible_iterator::FallibleIterator;
use postgres::types::Type;
use postgres::{Client, Transaction};

use super::Ctx;
use super::jobs::{bump_serial, ensure_job, job_id};
use super::lock::advisory_key;
use crate::state::error::Result;
use crate::state::types::{RecordRef, from_db, sorted_unique, to_db};

pub fn for_each(
    client: &mut Client,
    ctx: &Ctx,
    job: &str,
    f: &mut dyn FnMut(u64, u64),
) -> Result<()> {
    let Some(id) = job_id(client, ctx, job)? else {
        return Ok(());
    };
    // Binary COPY streams the rows several times faster than a query's row protocol. COPY takes
    // no parameters; the id is an integer read from the database, so it is safe to format.
    let query = format!(
        "COPY (SELECT key_hash, content_hash FROM bulkspec_records WHERE job_id = {id}) TO STDOUT (FORMAT binary)"
    );
    let reader = client.copy_out(&query).map_err(|e| ctx.err(e))?;
    let mut rows = BinaryCopyOutIter::new(reader, &[Type::INT8, Type::INT8]);
    while let Some(row) = rows.next().map_err(|e| ctx.err(e))? {
        let key: i64 = row.try_get(0).map_err(|e| ctx.err(e))?;
        let content: i64 = row.try_get(1).map_err(|e| ctx.err(e))?;
        f(from_db(key), from_db(content));
    }
    Ok(())
}

pub fn keys_for(
    client: &mut Client,
    ctx: &Ctx,
    job: &str,
    hashes: &[u64],
) -> Result<Vec<(u64, String)>> {
    let Some(id) = job_id(client, ctx, job)? else {
        return Ok(Vec::new());
    };
    let wanted: Vec<i64> = hashes.iter().map(|&h| to_db(h)).collect();
    let rows = client
        .query(
            "SELECT key_hash, key FROM bulkspec_records WHERE job_id = $1 AND key_hash = ANY($2)",
            &[&id, &wanted],
        )
        .map_err(|e| ctx.err(e))?;
    rows.iter()
        .map(|r| Ok((from_db(r.try_get(0)?), r.try_get(1)?)))
        .collect::<Result<Vec<_>, postgres::Error>>()
        .map_err(|e| ctx.err(e))
}

pub fn commit(
    client: &mut Client,
    ctx: &Ctx,
    job: &str,
    upserts: &mut dyn Iterator<Item = RecordRef<'_>>,
    removes: &[u64],
) -> Result<u64> {
    let sorted = sorted_unique(upserts);
    let mut tx = client.transaction().map_err(|e| ctx.err(e))?;
    let id = ensure_job(&mut tx, ctx, job)?;
    // One commit of a job at a time, so "insert where not there yet" cannot race another.
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&advisory_key(job)])
        .map_err(|e| ctx.err(e))?;
    // Room to join a million staged rows in memory rather than in temporary files. No
    // sequential scan of the records: on a fresh or vacuumed table the planner believes it is
    // empty and rescans it for every staged row, including the rows being inserted, which is
    // quadratic (a 1M-record first apply never finished). The index always serves these joins.
    // No JIT: the penalty that disables sequential scans would make it compile every commit.
    tx.batch_execute(
        "SET LOCAL work_mem = '128MB'; SET LOCAL enable_seqscan = off; SET LOCAL jit = off",
    )
    .map_err(|e| ctx.err(e))?;
    stage(&mut tx, ctx, &sorted)?;
    // UPDATE then INSERT ... WHERE NOT EXISTS: about twice as fast as INSERT ... ON CONFLICT on
    // a million rows, and the counts keep the job's record count exact.
    tx.execute(
        "UPDATE bulkspec_records r SET content_hash = u.content_hash, key = u.key
         FROM bulkspec_upserts u WHERE r.job_id = $1 AND r.key_hash = u.key_hash
         AND (r.content_hash <> u.content_hash OR r.key <> u.key)",
        &[&id],
    )
    .map_err(|e| ctx.err(e))?;
    let added = tx
        .execute(
            "INSERT INTO bulkspec_records (job_id, key_hash, content_hash, key)
             SELECT $1, u.key_hash, u.content_hash, u.key FROM bulkspec_upserts u
             WHERE NOT EXISTS (SELECT 1 FROM bulkspec_records r WHERE r.job_id = $1 AND r.key_hash = u.key_hash)",
            &[&id],
        )
        .map_err(|e| ctx.err(e))?;
    let mut removed = 0;
    if !removes.is_empty() {
        let gone: Vec<i64> = removes.iter().map(|&h| to_db(h)).collect();
        removed = tx
            .execute(
                "DELETE FROM bulkspec_records WHERE job_id = $1 AND key_hash = ANY($2)",
                &[&id, &gone],
            )
            .map_err(|e| ctx.err(e))?;
    }
    let delta = i64::try_from(added).unwrap_or(0) - i64::try_from(removed).unwrap_or(0);
    let serial = bump_serial(&mut tx, ctx, id, delta)?;
    tx.commit().map_err(|e| ctx.err(e))?;
    Ok(serial)
}

/// Binary COPY of the upserts into a temporary table dropped at commit, with statistics so
/// the planner picks a join that suits their number.
fn stage(tx: &mut Transaction<'_>, ctx: &Ctx, sorted: &[RecordRef<'_>]) -> Result<()> {
    tx.batch_execute(
        "CREATE TEMP TABLE bulkspec_upserts (key_hash BIGINT, content_hash BIGINT, key TEXT) ON COMMIT DROP",
    )
    .map_err(|e| ctx.err(e))?;
    let sink = tx
        .copy_in("COPY bulkspec_upserts FROM STDIN BINARY")
        .map_err(|e| ctx.err(e))?;
    let mut writer = BinaryCopyInWriter::new(sink, &[Type::INT8, Type::INT8, Type::TEXT]);
    for r in sorted {
        writer
            .write(&[&to_db(r.key_hash), &to_db(r.content_hash), &r.key])
            .map_err(|e| ctx.err(e))?;
    }
    writer.finish().map_err(|e| ctx.err(e))?;
    tx.batch_execute("ANALYZE bulkspec_upserts")
        .map_err(|e| ctx.err(e))
}

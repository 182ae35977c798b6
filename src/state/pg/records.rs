//! Record hashes in PostgreSQL: streaming load, key lookup, and the one-transaction commit
//! (binary COPY into a temporary table, then one upsert: far faster than a statement per row).
use postgres::Client;
use postgres::binary_copy::{BinaryCopyInWriter, BinaryCopyOutIter};
use postgres::fallible_iterator::FallibleIterator;
use postgres::types::Type;

use super::Ctx;
use super::jobs::{bump_serial, ensure_job, job_id};
use crate::state::error::Result;
use crate::state::types::{RecordRef, from_db, to_db};

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
    let mut tx = client.transaction().map_err(|e| ctx.err(e))?;
    let id = ensure_job(&mut tx, ctx, job)?;
    // Room to sort a million staged rows in memory rather than in temporary files.
    tx.batch_execute("SET LOCAL work_mem = '128MB'")
        .map_err(|e| ctx.err(e))?;
    tx.batch_execute(
        "CREATE TEMP TABLE bulkspec_upserts (seq BIGINT, key_hash BIGINT, content_hash BIGINT, key TEXT) ON COMMIT DROP",
    )
    .map_err(|e| ctx.err(e))?;
    let sink = tx
        .copy_in("COPY bulkspec_upserts FROM STDIN BINARY")
        .map_err(|e| ctx.err(e))?;
    let mut writer =
        BinaryCopyInWriter::new(sink, &[Type::INT8, Type::INT8, Type::INT8, Type::TEXT]);
    for (seq, r) in (0_i64..).zip(upserts) {
        writer
            .write(&[&seq, &to_db(r.key_hash), &to_db(r.content_hash), &r.key])
            .map_err(|e| ctx.err(e))?;
    }
    writer.finish().map_err(|e| ctx.err(e))?;
    // DISTINCT ON keeps the last upsert of a key, as a statement per row would.
    tx.execute(
        "INSERT INTO bulkspec_records (job_id, key_hash, content_hash, key)
         SELECT DISTINCT ON (key_hash) $1::BIGINT, key_hash, content_hash, key FROM bulkspec_upserts
         ORDER BY key_hash, seq DESC
         ON CONFLICT (job_id, key_hash) DO UPDATE SET content_hash = EXCLUDED.content_hash, key = EXCLUDED.key",
        &[&id],
    )
    .map_err(|e| ctx.err(e))?;
    if !removes.is_empty() {
        let gone: Vec<i64> = removes.iter().map(|&h| to_db(h)).collect();
        tx.execute(
            "DELETE FROM bulkspec_records WHERE job_id = $1 AND key_hash = ANY($2)",
            &[&id, &gone],
        )
        .map_err(|e| ctx.err(e))?;
    }
    let serial = bump_serial(&mut tx, ctx, id)?;
    tx.commit().map_err(|e| ctx.err(e))?;
    Ok(serial)
}

//! Job leases in PostgreSQL. A transaction-scoped advisory lock keyed by the job name makes
//! check-and-take atomic across sessions; lease times come from the server's clock, so runners
//! on machines whose clocks disagree still agree on whether a lease expired.
use std::time::Duration;

use postgres::{Client, Config, GenericClient};
use xxhash_rust::xxh3::xxh3_64;

use super::{Ctx, connect};
use crate::state::error::Result;
use crate::state::lock::{LeaseConn, LeaseRow, LockGuard, check_free, lease_ms, new_token};
use crate::state::types::{LockHolder, LockInfo, to_db};

/// The server's time in milliseconds since the epoch.
const NOW_MS: &str = "(extract(epoch FROM clock_timestamp()) * 1000)::BIGINT";

pub fn acquire(
    client: &mut Client,
    config: &Config,
    ctx: &Ctx,
    job: &str,
    holder: &LockHolder,
    lease: Duration,
) -> Result<LockGuard> {
    // Open the heartbeat's session first, so that failing to open it leaves no lease behind.
    let heartbeat = connect(config, ctx)?;
    let mut tx = client.transaction().map_err(|e| ctx.err(e))?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&advisory_key(job)])
        .map_err(|e| ctx.err(e))?;
    let now = now_ms(&mut tx, ctx)?;
    check_free(job, read(&mut tx, ctx, job)?.as_ref(), now)?;
    let token = new_token();
    let pid = i64::from(holder.pid);
    tx.execute(
        "INSERT INTO bulkspec_locks (job, token, host, pid, user_name, ci_run, since_ms, heartbeat_ms, lease_ms)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8)
         ON CONFLICT (job) DO UPDATE SET token = EXCLUDED.token, host = EXCLUDED.host, pid = EXCLUDED.pid,
            user_name = EXCLUDED.user_name, ci_run = EXCLUDED.ci_run, since_ms = EXCLUDED.since_ms,
            heartbeat_ms = EXCLUDED.heartbeat_ms, lease_ms = EXCLUDED.lease_ms",
        &[&job, &token, &holder.host, &pid, &holder.user, &holder.ci_run, &now, &lease_ms(lease)],
    )
    .map_err(|e| ctx.err(e))?;
    tx.commit().map_err(|e| ctx.err(e))?;
    let conn = Box::new(PgLease {
        client: heartbeat,
        ctx: ctx.clone(),
    });
    LockGuard::start(&ctx.location, job, token, lease, conn)
}

pub fn info(client: &mut Client, ctx: &Ctx, job: &str) -> Result<Option<LockInfo>> {
    let now = now_ms(client, ctx)?;
    Ok(read(client, ctx, job)?.map(|row| row.info(now)))
}

pub fn unlock(client: &mut Client, ctx: &Ctx, job: &str) -> Result<bool> {
    let n = client
        .execute("DELETE FROM bulkspec_locks WHERE job = $1", &[&job])
        .map_err(|e| ctx.err(e))?;
    Ok(n > 0)
}

/// The advisory lock key of a job: a hash of its name, namespaced so that other tools using
/// advisory locks on the same server are unlikely to collide.
pub(super) fn advisory_key(job: &str) -> i64 {
    to_db(xxh3_64(format!("bulkspec-lock:{job}").as_bytes()))
}

fn now_ms(client: &mut impl GenericClient, ctx: &Ctx) -> Result<i64> {
    let row = client
        .query_one(&format!("SELECT {NOW_MS}"), &[])
        .map_err(|e| ctx.err(e))?;
    row.try_get(0).map_err(|e| ctx.err(e))
}

fn read(client: &mut impl GenericClient, ctx: &Ctx, job: &str) -> Result<Option<LeaseRow>> {
    let row = client
        .query_opt(
            "SELECT host, pid, user_name, ci_run, since_ms, heartbeat_ms, lease_ms FROM bulkspec_locks WHERE job = $1",
            &[&job],
        )
        .map_err(|e| ctx.err(e))?;
    let Some(r) = row else {
        return Ok(None);
    };
    let lease = (|| {
        Ok::<_, postgres::Error>(LeaseRow {
            holder: LockHolder {
                host: r.try_get(0)?,
                pid: u32::try_from(r.try_get::<_, i64>(1)?).unwrap_or(0),
                user: r.try_get(2)?,
                ci_run: r.try_get(3)?,
            },
            since_ms: r.try_get(4)?,
            heartbeat_ms: r.try_get(5)?,
            lease_ms: r.try_get(6)?,
        })
    })();
    lease.map(Some).map_err(|e| ctx.err(e))
}

struct PgLease {
    client: Client,
    ctx: Ctx,
}

impl LeaseConn for PgLease {
    fn renew(&mut self, job: &str, token: &str) -> Result<bool> {
        let n = self
            .client
            .execute(
                &format!("UPDATE bulkspec_locks SET heartbeat_ms = {NOW_MS} WHERE job = $1 AND token = $2"),
                &[&job, &token],
            )
            .map_err(|e| self.ctx.err(e))?;
        Ok(n == 1)
    }

    fn release(&mut self, job: &str, token: &str) -> Result<()> {
        self.client
            .execute(
                "DELETE FROM bulkspec_locks WHERE job = $1 AND token = $2",
                &[&job, &token],
            )
            .map_err(|e| self.ctx.err(e))?;
        Ok(())
    }
}

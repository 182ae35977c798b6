//! Job leases in SQLite. The write transaction (BEGIN IMMEDIATE) makes check-and-take atomic
//! between processes; the heartbeat renews over its own connection.
use std::path::Path;
use std::time::{Duration, SystemTime};

use rusqlite::{Connection, OptionalExtension, params};

use super::{Ctx, connect, write_tx};
use crate::state::error::Result;
use crate::state::lock::{LeaseConn, LeaseRow, LockGuard, check_free, lease_ms, new_token};
use crate::state::types::{LockHolder, LockInfo, to_ms};

pub fn acquire(
    conn: &mut Connection,
    path: &Path,
    ctx: &Ctx,
    job: &str,
    holder: &LockHolder,
    lease: Duration,
) -> Result<LockGuard> {
    // Open the heartbeat's connection first, so that failing to open it leaves no lease behind.
    let heartbeat = connect(path, ctx)?;
    let tx = write_tx(conn, ctx)?;
    let now = now_ms();
    check_free(job, read(&tx, ctx, job)?.as_ref(), now)?;
    let token = new_token();
    tx.execute(
        "INSERT INTO locks (job, token, host, pid, user_name, ci_run, since_ms, heartbeat_ms, lease_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, ?8)
         ON CONFLICT (job) DO UPDATE SET token = excluded.token, host = excluded.host, pid = excluded.pid,
            user_name = excluded.user_name, ci_run = excluded.ci_run, since_ms = excluded.since_ms,
            heartbeat_ms = excluded.heartbeat_ms, lease_ms = excluded.lease_ms",
        params![job, token, holder.host, holder.pid, holder.user, holder.ci_run, now, lease_ms(lease)],
    )
    .map_err(|e| ctx.err(e))?;
    tx.commit().map_err(|e| ctx.err(e))?;
    let conn = Box::new(SqliteLease {
        conn: heartbeat,
        ctx: ctx.clone(),
    });
    LockGuard::start(&ctx.location, job, token, lease, conn)
}

pub fn info(conn: &Connection, ctx: &Ctx, job: &str) -> Result<Option<LockInfo>> {
    Ok(read(conn, ctx, job)?.map(|row| row.info(now_ms())))
}

pub fn unlock(conn: &Connection, ctx: &Ctx, job: &str) -> Result<bool> {
    let n = conn
        .execute("DELETE FROM locks WHERE job = ?1", [job])
        .map_err(|e| ctx.err(e))?;
    Ok(n > 0)
}

fn read(conn: &Connection, ctx: &Ctx, job: &str) -> Result<Option<LeaseRow>> {
    conn.query_row(
        "SELECT host, pid, user_name, ci_run, since_ms, heartbeat_ms, lease_ms FROM locks WHERE job = ?1",
        [job],
        |r| {
            Ok(LeaseRow {
                holder: LockHolder { host: r.get(0)?, pid: r.get(1)?, user: r.get(2)?, ci_run: r.get(3)? },
                since_ms: r.get(4)?,
                heartbeat_ms: r.get(5)?,
                lease_ms: r.get(6)?,
            })
        },
    )
    .optional()
    .map_err(|e| ctx.err(e))
}

/// SQLite's clock is this machine's: every holder of a SQLite state runs here.
fn now_ms() -> i64 {
    to_ms(SystemTime::now())
}

struct SqliteLease {
    conn: Connection,
    ctx: Ctx,
}

impl LeaseConn for SqliteLease {
    fn renew(&mut self, job: &str, token: &str) -> Result<bool> {
        let n = self
            .conn
            .execute(
                "UPDATE locks SET heartbeat_ms = ?1 WHERE job = ?2 AND token = ?3",
                params![now_ms(), job, token],
            )
            .map_err(|e| self.ctx.err(e))?;
        Ok(n == 1)
    }

    fn release(&mut self, job: &str, token: &str) -> Result<()> {
        self.conn
            .execute(
                "DELETE FROM locks WHERE job = ?1 AND token = ?2",
                params![job, token],
            )
            .map_err(|e| self.ctx.err(e))?;
        Ok(())
    }
}

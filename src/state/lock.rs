//! Job locks: leases renewed by a heartbeat, shared by both backends.
//!
//! A backend decides atomically whether a lease is free (see [`check_free`]) and writes it; this
//! module holds the rules (live vs. expired), who the current process is ([`LockHolder::current`]),
//! and the [`LockGuard`] whose background thread renews the lease over its own connection and
//! releases it on drop. It never decides what a locked job means for a run.
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::Duration;

use super::error::{Result, StateError};
use super::types::{LockHolder, LockInfo, from_ms};

impl LockHolder {
    /// This process: host, pid, user, and the CI run URL when the environment names one.
    pub fn current() -> LockHolder {
        LockHolder {
            host: hostname(),
            pid: std::process::id(),
            user: env_first(&["USER", "USERNAME", "LOGNAME"]).unwrap_or_else(|| "unknown".into()),
            ci_run: ci_run_url(),
        }
    }
}

fn env_first(names: &[&str]) -> Option<String> {
    names
        .iter()
        .find_map(|n| std::env::var(n).ok().filter(|v| !v.is_empty()))
}

fn hostname() -> String {
    // No dependency for this: Linux exposes it in /proc, other systems usually set HOSTNAME.
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .or_else(|| env_first(&["HOSTNAME", "COMPUTERNAME"]))
        .unwrap_or_else(|| "unknown".into())
}

/// GitHub Actions (server/repository/actions/runs/id) or GitLab CI (CI_JOB_URL).
fn ci_run_url() -> Option<String> {
    let gh = ["GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID"].map(|n| env_first(&[n]));
    if let [Some(server), Some(repo), Some(run)] = gh {
        return Some(format!("{server}/{repo}/actions/runs/{run}"));
    }
    env_first(&["CI_JOB_URL"])
}

/// A lease as stored: who, since when, last heartbeat, how long it lives without one.
#[derive(Debug, Clone)]
pub(crate) struct LeaseRow {
    pub holder: LockHolder,
    pub since_ms: i64,
    pub heartbeat_ms: i64,
    pub lease_ms: i64,
}

impl LeaseRow {
    /// The lease seen at `now_ms` (the backend's clock).
    pub fn info(&self, now_ms: i64) -> LockInfo {
        let ms = |v: i64| Duration::from_millis(u64::try_from(v).unwrap_or(0));
        LockInfo {
            holder: self.holder.clone(),
            since: from_ms(self.since_ms),
            age: ms(now_ms - self.since_ms),
            heartbeat_age: ms(now_ms - self.heartbeat_ms),
            lease: ms(self.lease_ms),
            expired: now_ms - self.heartbeat_ms > self.lease_ms,
        }
    }
}

/// Ok when there is no lease or it expired; `Locked` naming the holder when it is live.
pub(crate) fn check_free(job: &str, existing: Option<&LeaseRow>, now_ms: i64) -> Result<()> {
    match existing.map(|row| row.info(now_ms)) {
        Some(info) if !info.expired => Err(StateError::Locked {
            job: job.to_string(),
            holder: Box::new(info.holder),
            since: info.since,
            age: Duration::from_secs(info.age.as_secs()),
        }),
        _ => Ok(()),
    }
}

/// A random token identifying one lease, so a holder only renews or releases its own.
pub(crate) fn new_token() -> String {
    format!("{:032x}", rand::random::<u128>())
}

/// Lease as milliseconds for the database, at least 1.
pub(crate) fn lease_ms(lease: Duration) -> i64 {
    i64::try_from(lease.as_millis()).unwrap_or(i64::MAX).max(1)
}

/// The heartbeat's own connection to the state.
pub(crate) trait LeaseConn: Send {
    /// Extends the lease; false when it is no longer ours (taken over or force-unlocked).
    fn renew(&mut self, job: &str, token: &str) -> Result<bool>;
    /// Removes the lease if it is still ours.
    fn release(&mut self, job: &str, token: &str) -> Result<()>;
}

/// What the heartbeat thread is told when the guard goes.
#[derive(Debug, Clone, Copy)]
enum Stop {
    Release,
    Abandon,
}

/// A held job lock. Renewed in the background every third of the lease; released on drop.
#[derive(Debug)]
pub struct LockGuard {
    job: String,
    location: String,
    lost: Arc<AtomicBool>,
    stop: Option<Sender<Stop>>,
    thread: Option<JoinHandle<Result<()>>>,
}

impl LockGuard {
    /// Starts the heartbeat. If no thread can be started, the lease just written is left to
    /// expire by itself (the connection that could release it went with the thread).
    pub(crate) fn start(
        location: &str,
        job: &str,
        token: String,
        lease: Duration,
        mut conn: Box<dyn LeaseConn>,
    ) -> Result<LockGuard> {
        let lost = Arc::new(AtomicBool::new(false));
        let (stop, stopped) = mpsc::channel::<Stop>();
        let interval = (lease / 3).max(Duration::from_millis(10));
        let (job_name, flag) = (job.to_string(), lost.clone());
        let body = move || {
            loop {
                match stopped.recv_timeout(interval) {
                    Err(RecvTimeoutError::Timeout) => match conn.renew(&job_name, &token) {
                        Ok(true) => {}
                        Ok(false) => flag.store(true, Ordering::SeqCst),
                        // A failed renewal is retried at the next tick; the lease outlives
                        // two of them.
                        Err(e) => tracing::warn!(job = %job_name, "lock heartbeat failed: {e}"),
                    },
                    Ok(Stop::Release) | Err(RecvTimeoutError::Disconnected) => {
                        return conn.release(&job_name, &token);
                    }
                    Ok(Stop::Abandon) => return Ok(()),
                }
            }
        };
        let thread = std::thread::Builder::new()
            .name(format!("bulkspec-lock-{job}"))
            .spawn(body)
            .map_err(|e| StateError::Database {
                location: location.to_string(),
                reason: format!("cannot start the lock heartbeat of job {job}: {e}"),
            })?;
        Ok(LockGuard {
            job: job.to_string(),
            location: location.to_string(),
            lost,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// The job this lock is for.
    pub fn job(&self) -> &str {
        &self.job
    }

    /// True when the lease was taken over or force-unlocked while held: stop writing.
    pub fn is_lost(&self) -> bool {
        self.lost.load(Ordering::SeqCst)
    }

    /// Releases the lock now and reports whether the release was written.
    pub fn release(mut self) -> Result<()> {
        self.stop_thread(Stop::Release)
    }

    /// Stops renewing without releasing, as a killed holder would: the lease expires by itself.
    /// For tests of takeover and for crash simulations.
    pub fn abandon(mut self) {
        // Nothing is written, so nothing can fail that the caller could act on.
        let _ = self.stop_thread(Stop::Abandon);
    }

    fn stop_thread(&mut self, how: Stop) -> Result<()> {
        if let Some(stop) = self.stop.take() {
            // The thread may already have ended; then there is nobody to tell.
            let _ = stop.send(how);
        }
        match self.thread.take().map(JoinHandle::join) {
            Some(Ok(result)) => result,
            Some(Err(_)) => Err(StateError::Database {
                location: self.location.clone(),
                reason: format!(
                    "the lock heartbeat of job {} stopped unexpectedly",
                    self.job
                ),
            }),
            None => Ok(()),
        }
    }
}

impl Drop for LockGuard {
    fn drop(&mut self) {
        if let Err(e) = self.stop_thread(Stop::Release) {
            tracing::warn!(job = %self.job, "releasing the lock failed, it will expire by itself: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(heartbeat_ms: i64) -> LeaseRow {
        let holder = LockHolder {
            host: "h".into(),
            pid: 1,
            user: "u".into(),
            ci_run: None,
        };
        LeaseRow {
            holder,
            since_ms: 1_000,
            heartbeat_ms,
            lease_ms: 500,
        }
    }

    #[test]
    fn a_lease_is_live_until_its_heartbeat_is_older_than_the_lease() {
        assert!(check_free("j", None, 0).is_ok());
        let live = row(10_000);
        let err = check_free("j", Some(&live), 10_500).unwrap_err();
        let StateError::Locked { age, .. } = err else {
            panic!("{err}")
        };
        assert_eq!(age, Duration::from_secs(9));
        assert!(check_free("j", Some(&live), 10_501).is_ok());
        let info = live.info(10_250);
        assert_eq!(
            (info.heartbeat_age, info.expired),
            (Duration::from_millis(250), false)
        );
    }

    #[test]
    fn current_holder_is_this_process() {
        let holder = LockHolder::current();
        assert_eq!(holder.pid, std::process::id());
        assert!(!holder.host.is_empty() && !holder.user.is_empty());
    }
}

//! Taking a job's lock for an apply: fails at once (exit 4) when another live run holds it,
//! takes over a lease whose holder died (expired, or a process of this host that is gone).

use std::time::Duration;

use crate::state::{LockGuard, LockHolder, StateError, StateStore};

/// How long a lease lasts without a heartbeat.
pub const LEASE: Duration = Duration::from_secs(30);

/// Takes the lock of `job`.
pub fn acquire(store: &mut dyn StateStore, job: &str) -> Result<LockGuard, StateError> {
    let me = LockHolder::current();
    match store.acquire_lock(job, &me, LEASE) {
        Err(StateError::Locked { holder, .. })
            if holder.host == me.host && !process_alive(holder.pid) =>
        {
            // A run on this machine was killed: its lease would expire by itself, but there is
            // no reason to make the user wait for it.
            tracing::info!(
                "taking over the lock of {job}: its holder (pid {}) is gone",
                holder.pid
            );
            store.unlock(job)?;
            store.acquire_lock(job, &me, LEASE)
        }
        other => other,
    }
}

fn process_alive(pid: u32) -> bool {
    if pid == std::process::id() {
        return true;
    }
    let proc = std::path::Path::new("/proc");
    if !proc.is_dir() {
        return true; // cannot tell: assume alive and let the lease expire
    }
    proc.join(pid.to_string()).exists()
}

//! Lock conformance: contention, expiry, heartbeat, forced unlock, racing acquirers.
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use bulkspec::state::{LockHolder, StateError};

use super::Open;

fn holder(name: &str) -> LockHolder {
    LockHolder {
        host: format!("{name}-host"),
        pid: 4242,
        user: name.into(),
        ci_run: Some(format!("https://ci/{name}")),
    }
}

const LONG: Duration = Duration::from_secs(30);

pub fn lock_contention(open: Open) {
    let (mut a, mut b) = (open(), open());
    let guard = a.acquire_lock("job", &holder("alice"), LONG).unwrap();
    std::thread::sleep(Duration::from_millis(1100));
    let started = Instant::now();
    let err = b.acquire_lock("job", &holder("bob"), LONG).unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "a held lock must fail at once"
    );
    let StateError::Locked {
        job,
        holder: who,
        age,
        ..
    } = &err
    else {
        panic!("expected Locked, got {err}")
    };
    assert_eq!((job.as_str(), who.as_ref()), ("job", &holder("alice")));
    assert!(*age >= Duration::from_secs(1) && *age < LONG, "age {age:?}");
    let message = err.to_string();
    for part in [
        "job job",
        "alice@alice-host",
        "pid 4242",
        "https://ci/alice",
        " ago",
        "bulkspec state unlock job",
    ] {
        assert!(message.contains(part), "{part:?} missing from: {message}");
    }
    let info = b.lock_info("job").unwrap().unwrap();
    assert_eq!(info.holder, holder("alice"));
    assert!(!info.expired);
    // Other jobs are not affected; releasing frees the job.
    drop(b.acquire_lock("other", &holder("bob"), LONG).unwrap());
    guard.release().unwrap();
    assert!(b.lock_info("job").unwrap().is_none());
    drop(b.acquire_lock("job", &holder("bob"), LONG).unwrap());
}

pub fn lease_expiry_takeover(open: Open) {
    let (mut a, mut b) = (open(), open());
    // A holder that dies stops renewing: its lease expires by itself.
    a.acquire_lock("job", &holder("alice"), Duration::from_millis(300))
        .unwrap()
        .abandon();
    assert!(matches!(
        b.acquire_lock("job", &holder("bob"), LONG),
        Err(StateError::Locked { .. })
    ));
    std::thread::sleep(Duration::from_millis(700));
    assert!(b.lock_info("job").unwrap().unwrap().expired);
    let guard = b.acquire_lock("job", &holder("bob"), LONG).unwrap();
    assert_eq!(a.lock_info("job").unwrap().unwrap().holder, holder("bob"));
    drop(guard);
}

pub fn heartbeat_keeps_lease(open: Open) {
    let (mut a, mut b) = (open(), open());
    let lease = Duration::from_millis(500);
    let guard = a.acquire_lock("job", &holder("alice"), lease).unwrap();
    // Several leases long: only the heartbeat keeps it alive.
    std::thread::sleep(Duration::from_millis(1600));
    let err = b.acquire_lock("job", &holder("bob"), LONG).unwrap_err();
    assert!(matches!(err, StateError::Locked { .. }), "{err}");
    let info = b.lock_info("job").unwrap().unwrap();
    assert!(info.heartbeat_age < lease && !info.expired, "{info:?}");
    assert!(!guard.is_lost());
    drop(guard);
    assert!(
        b.lock_info("job").unwrap().is_none(),
        "dropping the guard releases the lock"
    );
}

pub fn forced_unlock(open: Open) {
    let (mut a, mut b) = (open(), open());
    assert!(!b.unlock("job").unwrap());
    let old = a
        .acquire_lock("job", &holder("alice"), Duration::from_millis(150))
        .unwrap();
    assert!(b.unlock("job").unwrap());
    let new = b.acquire_lock("job", &holder("bob"), LONG).unwrap();
    // The old holder finds out at its next heartbeat, and releasing it leaves bob's lock alone.
    std::thread::sleep(Duration::from_millis(300));
    assert!(old.is_lost());
    assert!(!new.is_lost());
    old.release().unwrap();
    assert_eq!(a.lock_info("job").unwrap().unwrap().holder, holder("bob"));
    drop(new);
}

pub fn concurrent_acquirers(open: Open) {
    for round in 0..5 {
        let job = format!("race-{round}");
        let barrier = Arc::new(Barrier::new(2));
        let results: Vec<_> = std::thread::scope(|scope| {
            let handles: Vec<_> = ["alice", "bob"]
                .map(|name| {
                    let (mut store, barrier, job) = (open(), barrier.clone(), job.clone());
                    scope.spawn(move || {
                        barrier.wait();
                        // The guard is returned (not dropped) so the loser cannot win later.
                        store.acquire_lock(&job, &holder(name), LONG)
                    })
                })
                .into_iter()
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let winners = results.iter().filter(|r| r.is_ok()).count();
        let locked = results
            .iter()
            .filter(|r| matches!(r, Err(StateError::Locked { .. })))
            .count();
        assert_eq!((winners, locked), (1, 1), "round {round}: {results:?}");
    }
}

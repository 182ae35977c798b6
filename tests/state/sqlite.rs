//! The conformance suite on SQLite, and SQLite's own failure cases.
use std::path::PathBuf;
use std::time::{Duration, Instant};

use bulkspec::state::{
    SCHEMA_VERSION, SqliteStore, StateConfig, StateError, StateStore, open_store,
};

struct Db {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

impl Db {
    fn new() -> Db {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".bulkspec/state.db");
        Db { _dir: dir, path }
    }

    fn open(&self) -> Box<dyn StateStore> {
        open_store(&StateConfig::Sqlite {
            path: self.path.clone(),
        })
        .unwrap()
    }
}

crate::conformance_tests!(Some(Db::new());
    migrations_idempotent, lineage_and_serial, records_round_trip, records_100k, journal_round_trip,
    journal_prunes_finished_runs,
    rejects_round_trip, list_and_rm, lock_contention, lease_expiry_takeover, heartbeat_keeps_lease,
    forced_unlock, concurrent_acquirers,
);

#[test]
fn sqlite_newer_version_is_refused() {
    let db = Db::new();
    drop(db.open());
    let raw = rusqlite::Connection::open(&db.path).unwrap();
    raw.execute(
        "UPDATE schema_version SET version = ?1",
        [SCHEMA_VERSION + 1],
    )
    .unwrap();
    drop(raw);
    let err = SqliteStore::open(&db.path).err().unwrap();
    assert!(
        matches!(err, StateError::TooNew { found, .. } if found == SCHEMA_VERSION + 1),
        "{err}"
    );
    let message = err.to_string();
    assert!(
        message.contains(&db.path.display().to_string()) && message.contains("upgrade bulkspec"),
        "{message}"
    );
}

#[test]
fn sqlite_corrupt_file_is_refused() {
    let db = Db::new();
    std::fs::create_dir_all(db.path.parent().unwrap()).unwrap();
    std::fs::write(&db.path, "email,name\na@example.com,A\n".repeat(200)).unwrap();
    let err = SqliteStore::open(&db.path).err().unwrap();
    assert!(matches!(err, StateError::NotAStateDatabase { .. }), "{err}");
    assert!(
        err.to_string().contains(&db.path.display().to_string()),
        "{err}"
    );
    // Nothing was written over the user's file.
    assert!(
        std::fs::read_to_string(&db.path)
            .unwrap()
            .starts_with("email,name\n")
    );
}

#[test]
fn sqlite_foreign_database_is_refused() {
    let db = Db::new();
    std::fs::create_dir_all(db.path.parent().unwrap()).unwrap();
    let raw = rusqlite::Connection::open(&db.path).unwrap();
    raw.execute_batch("CREATE TABLE customers (id INTEGER)")
        .unwrap();
    drop(raw);
    let err = SqliteStore::open(&db.path).err().unwrap();
    assert!(matches!(err, StateError::NotAStateDatabase { .. }), "{err}");
}

#[test]
fn sqlite_busy_database_fails_after_a_bounded_wait() {
    let db = Db::new();
    drop(db.open());
    let mut other = rusqlite::Connection::open(&db.path).unwrap();
    let tx = other
        .transaction_with_behavior(rusqlite::TransactionBehavior::Exclusive)
        .unwrap();
    tx.execute("UPDATE schema_version SET version = version", [])
        .unwrap();
    let mut store = SqliteStore::open_with_timeout(&db.path, Duration::from_millis(300)).unwrap();
    let started = Instant::now();
    let err = store
        .commit_records("job", &mut std::iter::empty(), &[])
        .unwrap_err();
    let waited = started.elapsed();
    assert!(matches!(err, StateError::Busy { .. }), "{err}");
    assert!(
        waited >= Duration::from_millis(250) && waited < Duration::from_secs(3),
        "{waited:?}"
    );
    assert!(err.to_string().contains("busy"), "{err}");
    tx.rollback().unwrap();
    store
        .commit_records("job", &mut std::iter::empty(), &[])
        .unwrap();
}

#[test]
fn sqlite_default_location_creates_its_folder() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(bulkspec::state::DEFAULT_SQLITE_PATH);
    let store = open_store(&StateConfig::Sqlite { path: path.clone() }).unwrap();
    assert_eq!(store.location(), path.display().to_string());
    assert!(path.exists());
}

//! Loads and commits 1M records through the state store, next to the yardstick of
//! ../shared/bench floor (a bare `records (key INTEGER PRIMARY KEY, content INTEGER)` table read
//! the same way), all in one run so the figures compare on the same machine and cache.
//!
//! `cargo bench --bench state_load` (SQLite); with BULKSPEC_TEST_PG_URL set, PostgreSQL too.
//! Set STATE_BENCH_RECORDS to change the count. Prints one line per measure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use bulkspec::state::{RecordHashes, RecordRef, StateConfig, StateStore, open_store};
use xxhash_rust::xxh3::xxh3_64;

fn main() {
    let n: u64 = std::env::var("STATE_BENCH_RECORDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let keys: Vec<String> = (0..n).map(|i| format!("person{i}@example.com")).collect();
    let dir = tempfile::tempdir().unwrap();

    let floor = floor_write(&dir.path().join("floor.db"), n);
    let mut sqlite = open_store(&StateConfig::Sqlite {
        path: dir.path().join("state.db"),
    })
    .unwrap();
    measure("sqlite", sqlite.as_mut(), &keys, Some(&floor));

    if let Ok(server) = std::env::var("BULKSPEC_TEST_PG_URL") {
        // A schema of its own, as the tests do, dropped afterwards.
        let schema = format!("bench_{:016x}", rand::random::<u64>());
        let mut admin = postgres::Client::connect(&server, postgres::NoTls).unwrap();
        admin
            .batch_execute(&format!("CREATE SCHEMA {schema}"))
            .unwrap();
        let sep = if server.contains('?') { '&' } else { '?' };
        let url = format!("{server}{sep}options=-c%20search_path%3D{schema}");
        let mut pg = open_store(&StateConfig::Postgres { url }).unwrap();
        measure("postgres", pg.as_mut(), &keys, None);
        drop(pg);
        admin
            .batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
            .unwrap();
    }
}

fn measure(
    name: &str,
    store: &mut dyn StateStore,
    keys: &[String],
    floor: Option<&rusqlite::Connection>,
) {
    let n = keys.len();
    let started = Instant::now();
    let mut upserts = keys.iter().zip(0u64..).map(|(k, i)| RecordRef {
        key_hash: xxh3_64(k.as_bytes()),
        content_hash: i,
        key: k,
    });
    store.commit_records("bench", &mut upserts, &[]).unwrap();
    println!(
        "{name}: commit {n} new records in {}",
        secs(started.elapsed())
    );

    let mut changed = keys.iter().zip(0u64..).step_by(20).map(|(k, i)| RecordRef {
        key_hash: xxh3_64(k.as_bytes()),
        content_hash: i + 1,
        key: k,
    });
    let started = Instant::now();
    store.commit_records("bench", &mut changed, &[]).unwrap();
    println!(
        "{name}: commit {} changed records (5%) in {}",
        n / 20,
        secs(started.elapsed())
    );

    // Interleaved with the floor's read, best of 7 each: the machine is shared, so only
    // figures taken side by side compare.
    let (mut best, mut best_floor) = (Duration::MAX, Duration::MAX);
    for _ in 0..7 {
        if let Some(db) = floor {
            best_floor = best_floor.min(floor_read(db, n));
        }
        let started = Instant::now();
        let map = store.load_hashes("bench").unwrap();
        best = best.min(started.elapsed());
        assert_eq!(map.len(), n);
    }
    if floor.is_some() {
        println!(
            "{name}: floor (bare table read as ../shared/bench floor does), best of 7: {}",
            secs(best_floor)
        );
    }
    println!("{name}: load_hashes {n} records, best of 7: {}", secs(best));

    let started = Instant::now();
    let summary = store.show("bench").unwrap().unwrap();
    assert_eq!(summary.records, n as u64);
    println!(
        "{name}: show (summary with record count): {}",
        secs(started.elapsed())
    );

    let started = Instant::now();
    let mut count = 0usize;
    store
        .for_each_record("bench", &mut |_, _| count += 1)
        .unwrap();
    assert_eq!(count, n);
    println!(
        "{name}: for_each_record {n} records: {}",
        secs(started.elapsed())
    );
}

/// The floor's table (see ../shared/bench/floor/src/main.rs), written as it writes it.
fn floor_write(path: &std::path::Path, n: u64) -> rusqlite::Connection {
    let mut db = rusqlite::Connection::open(path).unwrap();
    db.execute_batch("PRAGMA journal_mode=WAL; CREATE TABLE records (key INTEGER PRIMARY KEY, content INTEGER NOT NULL);").unwrap();
    let mut pairs: Vec<(i64, i64)> = (0..n)
        .map(|i| (xxh3_64(&i.to_le_bytes()) as i64, i as i64))
        .collect();
    pairs.sort_unstable();
    let tx = db.transaction().unwrap();
    {
        let mut st = tx
            .prepare("INSERT OR REPLACE INTO records VALUES (?1, ?2)")
            .unwrap();
        for p in &pairs {
            st.execute(*p).unwrap();
        }
    }
    tx.commit().unwrap();
    db
}

/// The floor's read loop into the same map type.
fn floor_read(db: &rusqlite::Connection, n: usize) -> Duration {
    let started = Instant::now();
    let mut state = RecordHashes::default();
    let mut st = db.prepare("SELECT key, content FROM records").unwrap();
    let rows = st
        .query_map([], |r| {
            Ok((r.get::<_, i64>(0)? as u64, r.get::<_, i64>(1)? as u64))
        })
        .unwrap();
    for row in rows {
        let (k, c) = row.unwrap();
        state.insert(k, c);
    }
    assert_eq!(state.len(), n);
    started.elapsed()
}

fn secs(d: Duration) -> String {
    format!("{:.3} s", d.as_secs_f64())
}

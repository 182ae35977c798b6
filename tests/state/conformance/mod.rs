//! The conformance suite: every case takes `open`, which returns a new store (a new connection)
//! on the same, initially empty, database. Both backends must pass every case.
mod locks;

use std::time::{Duration, Instant, SystemTime};

use bulkspec::state::{JournalEntry, RecordRef, Reject, StateStore, StepStatus, write_rejects_csv};
use serde_json::json;

pub use locks::*;

pub type Open<'a> = &'a dyn Fn() -> Box<dyn StateStore>;

fn rec(key_hash: u64, content_hash: u64, key: &str) -> RecordRef<'_> {
    RecordRef {
        key_hash,
        content_hash,
        key,
    }
}

fn commit(
    store: &mut dyn StateStore,
    job: &str,
    records: &[RecordRef<'_>],
    removes: &[u64],
) -> u64 {
    store
        .commit_records(job, &mut records.iter().copied(), removes)
        .unwrap()
}

pub fn migrations_idempotent(open: Open) {
    let mut first = open();
    commit(first.as_mut(), "job", &[rec(1, 10, "a")], &[]);
    drop(first);
    // Opening again (and again) must neither fail nor lose anything.
    for _ in 0..3 {
        let mut again = open();
        let summary = again.show("job").unwrap().unwrap();
        assert_eq!((summary.serial, summary.records), (1, 1));
    }
}

pub fn lineage_and_serial(open: Open) {
    let mut s = open();
    assert!(s.show("job").unwrap().is_none());
    assert!(s.applied_spec("job").unwrap().is_none());
    assert_eq!(commit(s.as_mut(), "job", &[rec(1, 10, "a")], &[]), 1);
    let first = s.show("job").unwrap().unwrap();
    assert_eq!(first.lineage.len(), 32);
    assert!(first.last_apply.is_none());
    assert_eq!(commit(s.as_mut(), "job", &[], &[1]), 2);
    let spec = r#"{"job":"job","provider":"marketo"}"#;
    assert_eq!(s.record_apply("job", spec, &[]).unwrap(), 3);
    let after = s.show("job").unwrap().unwrap();
    assert_eq!(
        (after.lineage.as_str(), after.serial),
        (first.lineage.as_str(), 3)
    );
    let applied = after.last_apply.unwrap();
    assert!(SystemTime::now().duration_since(applied).unwrap() < Duration::from_secs(60));
    assert_eq!(s.applied_spec("job").unwrap().as_deref(), Some(spec));
    // Another connection sees the same.
    assert_eq!(open().show("job").unwrap().unwrap().serial, 3);
    // A job made again after rm is another lineage.
    assert!(s.rm("job").unwrap());
    assert_eq!(commit(s.as_mut(), "job", &[], &[]), 1);
    assert_ne!(s.show("job").unwrap().unwrap().lineage, first.lineage);
}

pub fn records_round_trip(open: Open) {
    let mut s = open();
    let high = u64::MAX - 7; // hashes use all 64 bits; the databases store signed integers
    commit(
        s.as_mut(),
        "job",
        &[rec(1, 10, "a@x"), rec(2, 20, "b@x"), rec(high, high, "ü@x")],
        &[],
    );
    commit(s.as_mut(), "other", &[rec(1, 99, "a@x")], &[]);
    let map = s.load_hashes("job").unwrap();
    assert_eq!(map.len(), 3);
    assert_eq!((map[&1], map[&2], map[&high]), (10, 20, high));
    // Change one, remove one, add one; the last upsert of a key in one commit wins.
    let changes = [rec(1, 11, "a@x"), rec(3, 30, "c@x"), rec(3, 31, "c2@x")];
    commit(s.as_mut(), "job", &changes, &[2, 404]);
    let mut seen = Vec::new();
    s.for_each_record("job", &mut |k, c| seen.push((k, c)))
        .unwrap();
    seen.sort_unstable();
    assert_eq!(seen, vec![(1, 11), (3, 31), (high, high)]);
    let mut keys = s.keys_for("job", &[high, 3, 2, 77]).unwrap();
    keys.sort_unstable();
    assert_eq!(
        keys,
        vec![(3, "c2@x".to_string()), (high, "ü@x".to_string())]
    );
    // Other jobs are untouched; unknown jobs are empty, not errors.
    assert_eq!(s.load_hashes("other").unwrap()[&1], 99);
    assert!(s.load_hashes("nobody").unwrap().is_empty());
    assert!(s.keys_for("nobody", &[1]).unwrap().is_empty());
    assert_eq!(s.show("job").unwrap().unwrap().records, 3);
}

pub fn records_100k(open: Open) {
    let mut s = open();
    let keys: Vec<String> = (0..100_000)
        .map(|i| format!("person{i}@example.com"))
        .collect();
    let hash = |i: u64| xxhash_rust::xxh3::xxh3_64(&i.to_le_bytes());
    let started = Instant::now();
    let mut upserts = keys.iter().zip(0u64..).map(|(k, i)| rec(hash(i), i, k));
    s.commit_records("big", &mut upserts, &[]).unwrap();
    let committed = started.elapsed();
    let map = s.load_hashes("big").unwrap();
    eprintln!(
        "{}: 100k commit {committed:?}, load {:?}",
        s.location(),
        started.elapsed() - committed
    );
    assert_eq!(map.len(), 100_000);
    assert!((0..100_000u64).all(|i| map[&hash(i)] == i));
    // 5% changed and 1% removed in a second commit.
    let mut changed = keys
        .iter()
        .zip(0u64..)
        .step_by(20)
        .map(|(k, i)| rec(hash(i), i + 1, k));
    let removed: Vec<u64> = (0..1000).map(|i| hash(i * 100 + 1)).collect();
    s.commit_records("big", &mut changed, &removed).unwrap();
    let map = s.load_hashes("big").unwrap();
    assert_eq!(map.len(), 99_000);
    assert_eq!(s.show("big").unwrap().unwrap().records, 99_000);
    assert_eq!((map[&hash(20)], map[&hash(21)]), (21, 21));
    assert!(!map.contains_key(&hash(101)));
}

fn entry(run: &str, step: &str, status: StepStatus, at: u64) -> JournalEntry {
    let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000 + at);
    JournalEntry {
        run: run.into(),
        step: step.into(),
        kind: "upload".into(),
        status,
        remote_id: None,
        expires_at: None,
        details: json!({}),
        started_at: t,
        updated_at: t,
    }
}

pub fn journal_round_trip(open: Open) {
    let mut s = open();
    assert!(s.journal("job").unwrap().is_empty());
    s.journal_put("job", &entry("run1", "upload/1", StepStatus::Started, 0))
        .unwrap();
    s.journal_put("job", &entry("run1", "upload/2", StepStatus::Started, 5))
        .unwrap();
    let mut done = entry("run1", "upload/1", StepStatus::Done, 9);
    done.remote_id = Some("batch-1234".into());
    done.expires_at = Some(SystemTime::UNIX_EPOCH + Duration::from_millis(1_700_000_600_123));
    done.details = json!({"chunk": 1, "rows": 5000, "uri": "/syncs/77"});
    s.journal_put("job", &done).unwrap();
    let mut failed = entry("run1", "upload/2", StepStatus::Failed, 12);
    failed.kind = "poll".into();
    s.journal_put("job", &failed).unwrap();

    let got = open().journal("job").unwrap();
    assert_eq!(got.len(), 2);
    // Updating keeps the first started_at and the order the steps first appeared in.
    let mut expected = done.clone();
    expected.started_at = entry("", "", StepStatus::Started, 0).started_at;
    assert_eq!(got[0], expected);
    assert_eq!(got[1].status, StepStatus::Failed);
    assert_eq!(got[1].kind, "poll");
    assert_eq!(
        got[1].started_at,
        entry("", "", StepStatus::Started, 5).started_at
    );
    // The journal belongs to its job.
    assert!(s.journal("other").unwrap().is_empty());
}

pub fn journal_prunes_finished_runs(open: Open) {
    let mut s = open();
    let put = |s: &mut Box<dyn StateStore>, job: &str, run: &str, step: &str, status| {
        s.journal_put(job, &entry(run, step, status, 0)).unwrap();
    };
    // r0: an old run that never finished; r1..r5 finished; r6 running now.
    put(&mut s, "job", "r0", "upload/1", StepStatus::Started);
    for run in ["r1", "r2", "r3", "r4", "r5"] {
        put(&mut s, "job", run, "upload/1", StepStatus::Done);
        put(&mut s, "job", run, "commit", StepStatus::Done);
    }
    put(&mut s, "job", "r6", "upload/1", StepStatus::Started);
    put(&mut s, "other", "r1", "commit", StepStatus::Done);
    assert_eq!(s.prune_journal("job", "commit", 2).unwrap(), 8);
    let runs: Vec<String> = open()
        .journal("job")
        .unwrap()
        .into_iter()
        .map(|e| format!("{}:{}", e.run, e.step))
        .collect();
    assert_eq!(
        runs,
        ["r0:upload/1", "r5:upload/1", "r5:commit", "r6:upload/1"]
    );
    assert_eq!(s.journal("other").unwrap().len(), 1, "other jobs untouched");
    assert_eq!(s.prune_journal("job", "commit", 2).unwrap(), 0);
    assert_eq!(s.prune_journal("nobody", "commit", 2).unwrap(), 0);
}

pub fn rejects_round_trip(open: Open) {
    let mut s = open();
    assert!(s.rejects("job").unwrap().is_empty());
    let rejects = vec![
        Reject {
            line: 17,
            key: "a@x".into(),
            code: "1004".into(),
            reason: "Lead not found".into(),
        },
        Reject {
            line: 3,
            key: "b,\"quoted\"".into(),
            code: "1006".into(),
            reason: "Field 'x' not found".into(),
        },
    ];
    s.record_apply("job", "{}", &rejects).unwrap();
    assert_eq!(open().rejects("job").unwrap(), rejects);
    let mut csv = Vec::new();
    write_rejects_csv(&s.rejects("job").unwrap(), &mut csv).unwrap();
    assert_eq!(
        String::from_utf8(csv).unwrap(),
        "line,key,code,reason\n17,a@x,1004,Lead not found\n3,\"b,\"\"quoted\"\"\",1006,Field 'x' not found\n"
    );
    // The next apply replaces them.
    s.record_apply("job", "{}", &rejects[1..]).unwrap();
    assert_eq!(s.rejects("job").unwrap(), rejects[1..].to_vec());
    s.record_apply("job", "{}", &[]).unwrap();
    assert!(s.rejects("job").unwrap().is_empty());
}

pub fn list_and_rm(open: Open) {
    let mut s = open();
    assert!(s.list_jobs().unwrap().is_empty());
    commit(s.as_mut(), "b-job", &[rec(1, 1, "a"), rec(2, 2, "b")], &[]);
    commit(s.as_mut(), "a-job", &[rec(1, 1, "a")], &[]);
    s.journal_put("b-job", &entry("r", "s", StepStatus::Done, 0))
        .unwrap();
    s.record_apply(
        "b-job",
        "{}",
        &[Reject {
            line: 1,
            key: "a".into(),
            code: "c".into(),
            reason: "r".into(),
        }],
    )
    .unwrap();
    let lock = s
        .acquire_lock(
            "b-job",
            &bulkspec::state::LockHolder::current(),
            Duration::from_secs(30),
        )
        .unwrap();
    let jobs = s.list_jobs().unwrap();
    let names: Vec<_> = jobs
        .iter()
        .map(|j| (j.job.as_str(), j.records, j.lock.is_some()))
        .collect();
    assert_eq!(names, vec![("a-job", 1, false), ("b-job", 2, true)]);
    lock.abandon();

    assert!(s.rm("b-job").unwrap());
    assert!(!s.rm("b-job").unwrap());
    assert!(s.show("b-job").unwrap().is_none());
    assert!(s.load_hashes("b-job").unwrap().is_empty());
    assert!(s.journal("b-job").unwrap().is_empty());
    assert!(s.rejects("b-job").unwrap().is_empty());
    assert!(s.lock_info("b-job").unwrap().is_none());
    assert_eq!(s.list_jobs().unwrap().len(), 1);
    assert_eq!(s.load_hashes("a-job").unwrap().len(), 1);
}

//! In-process benchmark of a large bulk import, phase by phase (parse and analysis, prepare,
//! commit), without HTTP. Test-only; run it in release:
//! `cargo test --release --lib -- --ignored --nocapture phases`.

use std::fmt::Write;
use std::time::Instant;

use super::commit::commit;
use super::request::parse_records;
use super::rules::prepare;
use super::settings::JsonLimits;
use super::store::{Scope, Store};

/// Phases of a 48 MB import without HTTP:
/// `cargo test --release --lib -- --ignored --nocapture phases`.
#[test]
#[ignore = "benchmark; run in release"]
fn phases_of_a_large_import() {
    let mut body = String::from("[");
    let mut n = 0;
    while body.len() < 48 * 1024 * 1024 {
        if n > 0 {
            body.push(',');
        }
        let _ = write!(
            body,
            r#"{{"key":"ORD-{n:08}","contactIdentifier":"c{c}@example.org","json":{{"orderTotal":{t}.5,"currency":"EUR","placedAt":"2024-05-02T10:15:00Z","paid":true,"lines":[{{"sku":"A-{n}","qty":2,"price":9.99}},{{"sku":"B-{c}","qty":1,"price":20}}],"shipping":{{"method":"post","cost":4.5}}}}}}"#,
            c = n % 1000,
            t = n % 997
        );
        n += 1;
    }
    body.push(']');
    let mut store = Store::default();
    for c in 0..1000 {
        store.upsert_contact(&format!("c{c}@example.org"), None);
    }
    store.create_collection("Orders", Scope::Contact);
    let limits = JsonLimits::default();
    // Reference on this machine: serde_json only validating and skipping the same body.
    let skip = Instant::now();
    serde_json::from_slice::<serde::de::IgnoredAny>(body.as_bytes()).unwrap();
    let skip = skip.elapsed();
    let cpu0 = cpu_seconds();
    let t0 = Instant::now();
    let records = parse_records(body.as_bytes(), &limits).unwrap();
    let t1 = Instant::now();
    let prepared = prepare(records, &limits);
    let t2 = Instant::now();
    let report = commit(&mut store, "Orders", prepared, true);
    let t3 = Instant::now();
    let cpu = cpu_seconds() - cpu0;
    assert_eq!(report.total_imported as usize, n);
    let mb = body.len() as f64 / 1e6;
    let total = (t3 - t0).as_secs_f64();
    println!(
        "{mb:.1} MB, {n} records: parse+analyse {:?}, prepare {:?}, commit {:?}: {:.0} MB/s; \
         {cpu:.2} CPU s ({:.0} MB per CPU second); serde_json skipping alone: {skip:?}",
        t1 - t0,
        t2 - t1,
        t3 - t2,
        mb / total,
        mb / cpu
    );
}

/// User + system CPU time of this process (all threads), from /proc (Linux only).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or("");
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}

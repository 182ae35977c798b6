//! Source reading speed: reads a generated members file through `SourceReader`, touching 4
//! columns of every row, and compares with the `csv` crate loop that the bench `floor` uses.
//!
//!     gen-data --rows 1000000 --out /tmp/members-1M.csv      # from ../shared/bench
//!     cargo bench --bench source_read -- /tmp/members-1M.csv [ROUNDS] [ONLY]
//!
//! Prints one line per measurement (best of ROUNDS, default 3); ONLY (`csv`, `reader` or `hash`)
//! runs one measurement (for a profiler or /usr/bin/time). Data is never committed.

use std::error::Error;
use std::time::Instant;

use bulkspec::source::{Field, Format, ReadOptions, SourceReader};

const COLUMNS: [&str; 4] = ["email", "firstName", "leadScore", "crmId"];

/// `SourceReader`, 4 columns per row; with `hash`, also the row's content hash (as floor does).
fn source_reader(path: &str, hash: bool) -> Result<(u64, u64), Box<dyn Error>> {
    let mut reader = SourceReader::open(&ReadOptions::new(path, Format::Csv))?;
    let cols = reader.resolve(&COLUMNS)?;
    let (mut rows, mut check) = (0u64, 0u64);
    while let Some(row) = reader.next_row()? {
        for col in &cols {
            if let Some(Field::Str(s)) = row.get(col) {
                check = check.wrapping_add(s.len() as u64);
            }
        }
        if hash {
            check ^= row.hash64();
        }
        rows += 1;
    }
    Ok((rows, check))
}

/// The parse loop of the bench `floor` without its hashing: `csv` crate, byte records.
fn csv_crate(path: &str) -> Result<(u64, u64), Box<dyn Error>> {
    let mut rdr = csv::ReaderBuilder::new()
        .buffer_capacity(1 << 16)
        .from_path(path)?;
    let headers = rdr.byte_headers()?.clone();
    let idx: Vec<usize> = COLUMNS
        .iter()
        .filter_map(|c| headers.iter().position(|h| h == c.as_bytes()))
        .collect();
    let mut rec = csv::ByteRecord::new();
    let (mut rows, mut check) = (0u64, 0u64);
    while rdr.read_byte_record(&mut rec)? {
        for i in &idx {
            check = check.wrapping_add(rec.get(*i).map_or(0, |f| f.len() as u64));
        }
        rows += 1;
    }
    Ok((rows, check))
}

type Run = fn(&str) -> Result<(u64, u64), Box<dyn Error>>;

fn main() -> Result<(), Box<dyn Error>> {
    let mut args = std::env::args().skip(1).filter(|a| a != "--bench");
    let path = args
        .next()
        .unwrap_or_else(|| "/tmp/members-1M.csv".to_string());
    let rounds: usize = args.next().map_or(Ok(3), |r| r.parse())?;
    let only = args.next();
    let size = std::fs::metadata(&path)?.len() as f64 / 1e6;
    let runs: [(&str, &str, Run); 3] = [
        (
            "csv",
            "csv crate byte records (floor's parser, no hash)",
            csv_crate,
        ),
        ("reader", "SourceReader, 4 columns", |p| {
            source_reader(p, false)
        }),
        ("hash", "SourceReader, 4 columns + hash64", |p| {
            source_reader(p, true)
        }),
    ];
    for (key, name, run) in runs {
        if only.as_deref().is_some_and(|o| o != key) {
            continue;
        }
        let mut best = f64::MAX;
        let mut rows = 0;
        for _ in 0..rounds.max(1) {
            let t = Instant::now();
            let (n, check) = run(&path)?;
            best = best.min(t.elapsed().as_secs_f64());
            rows = n;
            std::hint::black_box(check);
        }
        println!(
            "{name}: {rows} rows, {best:.3} s best of {rounds}, {:.0} MB/s",
            size / best
        );
    }
    Ok(())
}

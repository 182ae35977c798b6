//! Sandbox benchmark (no harness): a Marketo program-member upload of just under 10 MB is sent,
//! parsed and its batch completed, timed from the POST to the `Complete` status; plus the
//! sandbox's start-up time. Target: >= 100 MB/s, start-up < 1 s.
//!
//! Two cases, each run several times: files of people the instance has never seen (every row
//! creates a lead and a membership) and the same file again into a new program (every row
//! finds its lead, unchanged, and adds a membership).
//!
//! Run: `cargo bench --bench sandbox_upload`

use std::time::{Duration, Instant};

use bulkspec::sandbox::core::SandboxConfig;
use bulkspec::sandbox::{SandboxOptions, start};
use reqwest::multipart::{Form, Part};
use serde_json::Value;

const LIMIT: usize = 10 * 1024 * 1024;
const RUNS: usize = 7;

/// A CSV of distinct people, as large as fits under the 10 MB body limit with the multipart
/// framing; `set` makes the people of one file different from those of another.
fn csv_file(set: usize) -> String {
    let mut file = String::from("email,firstName,lastName,company,leadScore\n");
    let mut i = 0u64;
    loop {
        let line = format!(
            "person.{set}.{i:07}@example.org,First{i},Last{i},Company {} Inc,{}\n",
            i % 977,
            i % 100
        );
        if file.len() + line.len() > LIMIT - 4096 {
            return file;
        }
        file.push_str(&line);
        i += 1;
    }
}

/// CPU time used so far by this process (all threads: server and client), from
/// /proc/self/stat on Linux; `None` elsewhere. On a busy machine wall time mostly measures the
/// other processes, so both are reported.
fn cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let after_name = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the file, 12 and 13 after the name.
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(Duration::from_millis(ticks * 10))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(run())
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let config = SandboxConfig {
        processing_time: Duration::ZERO,
        ..SandboxConfig::default()
    };
    let t0 = Instant::now();
    let sandbox = start(SandboxOptions {
        config,
        ..SandboxOptions::default()
    })
    .await?;
    let startup = t0.elapsed();
    let base = sandbox.base_url();
    let http = reqwest::Client::builder().no_proxy().build()?;
    let token: Value = http
        .get(format!("{base}/marketo/identity/oauth/token?grant_type=client_credentials&client_id=sandbox&client_secret=sandbox"))
        .send()
        .await?
        .json()
        .await?;
    let token = token["access_token"].as_str().ok_or("no token")?.to_owned();
    let client = Client {
        http,
        base: base.to_owned(),
        token,
    };
    let cpu_start = cpu_time();
    let mut wall_total = Duration::ZERO;
    let mut bytes = 0usize;
    // New people: a different file each run, every row creates a lead. Known people: the
    // first file again, into a new program each run.
    // (case, first program id, a new file each run)
    let cases = [("new people", 5000, true), ("known people", 6000, false)];
    let mut rates = [Vec::new(), Vec::new()];
    // SANDBOX_BENCH_CASE=new (or known) runs one case only, for a profiler.
    let only = std::env::var("SANDBOX_BENCH_CASE").unwrap_or_default();
    for ((case, programs, new_file), rates) in cases.iter().zip(&mut rates) {
        if !case.starts_with(only.as_str()) {
            continue;
        }
        for run in 0..RUNS {
            let file = csv_file(if *new_file { run } else { 0 });
            let (rate, wall) = client.upload(programs + run, &file).await?;
            println!(
                "{case}, run {run}: {:.1} MB in {wall:?} = {rate:.0} MB/s",
                mb(&file)
            );
            rates.push(rate);
            wall_total += wall;
            bytes += file.len();
        }
    }
    let file = csv_file(0);
    println!("start-up: {startup:?}");
    let rows = file.lines().count() - 1;
    for ((case, _, _), rates) in cases.iter().zip(&mut rates) {
        if rates.is_empty() {
            continue;
        }
        rates.sort_by(f64::total_cmp);
        println!(
            "{case}: upload+parse+complete of {:.1} MB ({rows} rows): median {:.0} MB/s, best {:.0} MB/s, worst {:.0} MB/s",
            mb(&file),
            rates[rates.len() / 2],
            rates[rates.len() - 1],
            rates[0]
        );
    }
    if let (Some(a), Some(b)) = (cpu_start, cpu_time()) {
        let cpu = b.saturating_sub(a);
        println!(
            "CPU time (server and client together): {cpu:?} for {} uploads ({wall_total:?} wall) = {:.0} MB per CPU-second",
            rates.iter().map(Vec::len).sum::<usize>(),
            bytes as f64 / 1e6 / cpu.as_secs_f64()
        );
    }
    sandbox.shutdown().await?;
    Ok(())
}

fn mb(file: &str) -> f64 {
    file.len() as f64 / 1e6
}

struct Client {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Client {
    /// Uploads `file` as members of `program` and waits for the batch to complete: the rate
    /// in MB/s and the time from the POST to the `Complete` status.
    async fn upload(
        &self,
        program: usize,
        file: &str,
    ) -> Result<(f64, Duration), Box<dyn std::error::Error>> {
        let base = &self.base;
        let part = Part::bytes(file.as_bytes().to_vec())
            .file_name("members.csv")
            .mime_str("text/csv")?;
        let url = format!(
            "{base}/marketo/bulk/v1/program/{program}/members/import.json?format=csv&programMemberStatus=On%20List"
        );
        let started = Instant::now();
        let created: Value = self
            .http
            .post(url)
            .bearer_auth(&self.token)
            .multipart(Form::new().part("file", part))
            .send()
            .await?
            .json()
            .await?;
        let batch = created["result"][0]["batchId"]
            .as_i64()
            .ok_or_else(|| format!("import refused: {created}"))?;
        let status_url =
            format!("{base}/marketo/bulk/v1/program/members/import/{batch}/status.json");
        let done = loop {
            let body: Value = self
                .http
                .get(&status_url)
                .bearer_auth(&self.token)
                .send()
                .await?
                .json()
                .await?;
            match body["result"][0]["status"].as_str() {
                Some("Complete") => break body,
                Some("Failed") | None => return Err(format!("batch failed: {body}").into()),
                // Poll every millisecond: close enough for timing, without a busy loop that
                // competes with the import for the CPU.
                _ => tokio::time::sleep(Duration::from_millis(1)).await,
            }
        };
        let elapsed = started.elapsed();
        let rows = file.lines().count() - 1;
        let processed = done["result"][0]["numOfLeadsProcessed"]
            .as_u64()
            .unwrap_or(0) as usize;
        if processed != rows {
            return Err(format!("{processed} of {rows} rows processed").into());
        }
        Ok((mb(file) / elapsed.as_secs_f64(), elapsed))
    }
}

//! Views of the state: `state list` and `state show`.

use std::fmt::Write as _;
use std::time::SystemTime;

use serde_json::{Value, json};

use crate::state::{JobSummary, JournalEntry, LockInfo};

fn time(t: Option<SystemTime>) -> String {
    t.map_or_else(
        || "never".into(),
        |t| humantime::format_rfc3339_seconds(t).to_string(),
    )
}

fn lock_text(l: &Option<LockInfo>) -> String {
    match l {
        None => "unlocked".into(),
        Some(l) if l.expired => format!(
            "expired lease of {} (since {})",
            l.holder,
            humantime::format_rfc3339_seconds(l.since)
        ),
        Some(l) => format!(
            "locked by {} for {}",
            l.holder,
            humantime::format_duration(std::time::Duration::from_secs(l.age.as_secs()))
        ),
    }
}

fn lock_json(l: &Option<LockInfo>) -> Value {
    match l {
        None => Value::Null,
        Some(l) => json!({
            "holder": l.holder.to_string(),
            "host": l.holder.host,
            "pid": l.holder.pid,
            "user": l.holder.user,
            "ci_run": l.holder.ci_run,
            "since": humantime::format_rfc3339_seconds(l.since).to_string(),
            "age_secs": l.age.as_secs(),
            "expired": l.expired,
        }),
    }
}

pub fn summary_json(s: &JobSummary) -> Value {
    json!({
        "job": s.job,
        "lineage": s.lineage,
        "serial": s.serial,
        "records": s.records,
        "last_apply": s.last_apply.map(|t| humantime::format_rfc3339_seconds(t).to_string()),
        "lock": lock_json(&s.lock),
    })
}

pub fn list_human(jobs: &[JobSummary], location: &str) -> String {
    let mut out = format!("state: {location}\n");
    if jobs.is_empty() {
        out.push_str("no jobs\n");
        return out;
    }
    let _ = writeln!(
        out,
        "{:<32} {:>7} {:>10}  {:<20}  lock",
        "job", "serial", "records", "last apply"
    );
    for j in jobs {
        let _ = writeln!(
            out,
            "{:<32} {:>7} {:>10}  {:<20}  {}",
            j.job,
            j.serial,
            j.records,
            time(j.last_apply),
            lock_text(&j.lock)
        );
    }
    out
}

pub fn show_human(s: &JobSummary, journal: &[JournalEntry], rejects: usize) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "job:        {}", s.job);
    let _ = writeln!(out, "lineage:    {}", s.lineage);
    let _ = writeln!(out, "serial:     {}", s.serial);
    let _ = writeln!(out, "records:    {}", s.records);
    let _ = writeln!(out, "last apply: {}", time(s.last_apply));
    let _ = writeln!(out, "lock:       {}", lock_text(&s.lock));
    let _ = writeln!(out, "rejects:    {rejects} (bulkspec report {})", s.job);
    if !journal.is_empty() {
        let _ = writeln!(out, "journal:");
        for e in journal.iter().rev().take(20).rev() {
            let _ = writeln!(
                out,
                "  {} {:<12} {:<8} {}",
                e.run,
                e.step,
                e.status.as_str(),
                e.remote_id.as_deref().unwrap_or("-")
            );
        }
    }
    out
}

pub fn journal_json(journal: &[JournalEntry]) -> Value {
    Value::Array(
        journal
            .iter()
            .map(|e| json!({"run": e.run, "step": e.step, "kind": e.kind, "status": e.status.as_str(), "remote_id": e.remote_id}))
            .collect(),
    )
}

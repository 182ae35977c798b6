//! `bulkspec status [JOB...]`: each job's state, and the live status of remote jobs an
//! unfinished apply left in flight (polled once).

use serde_json::{Value, json};

use super::args::JobsArgs;
use super::{Context, Exit, state_open};
use crate::apply::connect::Connections;
use crate::output::{Format, state_view};
use crate::providers::{BatchKind, RemoteBatch};
use crate::spec::workspace::{self, LoadedSpec};
use crate::state::{JournalEntry, StepStatus};

pub fn run(cx: &Context, args: &JobsArgs) -> Exit {
    let (ws, diags) = workspace::load(&cx.load_options(&[]));
    if diags.has_errors() {
        cx.out.diagnostics(&diags, ws.file_count(&diags));
        return Exit::Error;
    }
    let mut store = match state_open::open(&ws) {
        Ok(Some(s)) => s,
        Ok(None) => {
            cx.out.info("no state yet (nothing was applied)");
            return Exit::Ok;
        }
        Err(e) => {
            cx.out.error(&format!("error: {e}\n"));
            return Exit::Error;
        }
    };
    let jobs = match store.list_jobs() {
        Ok(j) => j,
        Err(e) => {
            cx.out.error(&format!("error: {e}\n"));
            return Exit::Error;
        }
    };
    let wanted: Vec<_> = jobs
        .into_iter()
        .filter(|j| args.jobs.is_empty() || args.jobs.contains(&j.job))
        .collect();
    if let Some(name) = args
        .jobs
        .iter()
        .find(|n| !wanted.iter().any(|j| &j.job == *n))
    {
        cx.out
            .error(&format!("error: the state has no job `{name}`\n"));
        return Exit::Error;
    }
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            cx.out.error(&format!("error: {e}\n"));
            return Exit::Error;
        }
    };
    let mut docs = Vec::new();
    let mut text = String::new();
    for summary in &wanted {
        let journal = store.journal(&summary.job).unwrap_or_default();
        let inflight = in_flight(&journal);
        let batches = batches(&journal);
        let loaded = ws.specs.iter().find(|s| s.spec.job == summary.job);
        let live: Vec<Value> = runtime.block_on(live_status(&ws, loaded, &inflight, &batches));
        let mut doc = state_view::summary_json(summary);
        doc["in_flight"] = Value::Array(live.clone());
        text.push_str(&state_view::show_human(
            summary,
            &[],
            store.rejects(&summary.job).map(|r| r.len()).unwrap_or(0),
        ));
        for l in &live {
            text.push_str(&format!(
                "in flight:  {} {} -> {}\n",
                l["step"].as_str().unwrap_or(""),
                l["remote_id"].as_str().unwrap_or(""),
                l["status"].as_str().unwrap_or("")
            ));
        }
        text.push('\n');
        docs.push(doc);
    }
    match cx.out.format {
        Format::Json => cx.out.json(&json!({"format_version": 1, "jobs": docs})),
        _ => cx.out.stdout(&text),
    }
    Exit::Ok
}

/// Remote jobs of the last unfinished run: uploads (per-chunk providers) or starts not yet polled.
fn in_flight(journal: &[JournalEntry]) -> Vec<JournalEntry> {
    let Some(last) = journal.last().map(|e| e.run.clone()) else {
        return Vec::new();
    };
    let run: Vec<&JournalEntry> = journal.iter().filter(|e| e.run == last).collect();
    if run
        .iter()
        .any(|e| e.step == "commit" && e.status == StepStatus::Done)
    {
        return Vec::new();
    }
    run.iter()
        .filter(|e| {
            e.remote_id.as_deref().is_some_and(|r| !r.is_empty())
                && (e.kind == "upload" || e.kind == "start")
        })
        .filter(|e| {
            let poll = e
                .step
                .replacen("upload", "poll", 1)
                .replacen("start", "poll", 1);
            !run.iter()
                .any(|p| p.step == poll && p.status == StepStatus::Done)
        })
        .map(|e| (*e).clone())
        .collect()
}

/// The remote batches the last run opened, by journal step (`batch`, `rm-batch`).
fn batches(journal: &[JournalEntry]) -> Vec<(String, RemoteBatch)> {
    let Some(last) = journal.last().map(|e| e.run.clone()) else {
        return Vec::new();
    };
    journal
        .iter()
        .filter(|e| {
            e.run == last
                && e.status == StepStatus::Done
                && (e.step == "batch" || e.step == "rm-batch")
        })
        .filter_map(|e| {
            serde_json::from_value(e.details.clone())
                .ok()
                .map(|b| (e.step.clone(), b))
        })
        .collect()
}

async fn live_status(
    ws: &workspace::Workspace,
    loaded: Option<&LoadedSpec>,
    inflight: &[JournalEntry],
    batches: &[(String, RemoteBatch)],
) -> Vec<Value> {
    let mut out = Vec::new();
    let Some(loaded) = loaded else { return out };
    if inflight.is_empty() {
        return out;
    }
    let conns = match Connections::new(ws, &[loaded]).await {
        Ok(c) => c,
        Err(e) => return vec![json!({"error": e})],
    };
    for e in inflight {
        let remote = e.remote_id.clone().unwrap_or_default();
        // Single-batch providers poll with their batch (Eloqua definition, MyPreferences
        // token); per-chunk providers need none.
        let prefix = if e.step.starts_with("rm-") {
            "rm-batch"
        } else {
            "batch"
        };
        let batch = batches
            .iter()
            .find(|b| b.0 == prefix)
            .map(|b| b.1.clone())
            .unwrap_or(RemoteBatch {
                id: String::new(),
                kind: BatchKind::Upsert,
                expires_at: None,
                details: Value::Null,
            });
        let status = match conns.poll_once(ws, loaded, &batch, &remote).await {
            Ok(s) => format!("{s:?}"),
            Err(e) => format!("cannot poll: {e}"),
        };
        out.push(json!({"step": e.step, "remote_id": remote, "status": status}));
    }
    out
}

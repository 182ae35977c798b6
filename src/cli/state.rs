//! `bulkspec state list | show JOB | unlock JOB | rm JOB`.

use serde_json::json;

use super::args::StateCommand;
use super::{Context, Exit, state_open};
use crate::output::{Format, state_view};
use crate::spec::workspace;
use crate::state::StateStore;

pub fn run(cx: &Context, cmd: &StateCommand) -> Exit {
    let (ws, diags) = workspace::load_project_only(&cx.load_options(&[]));
    if diags.has_errors() {
        cx.out.diagnostics(&diags, ws.file_count(&diags));
        return Exit::Error;
    }
    let store = match state_open::open(&ws) {
        Ok(Some(s)) => s,
        Ok(None) => {
            return match cmd {
                StateCommand::List => {
                    emit_list(cx, &[], "no state yet (nothing was applied)");
                    Exit::Ok
                }
                _ => no_job(cx, job_of(cmd)),
            };
        }
        Err(e) => {
            cx.out.error(&format!("error: {e}\n"));
            return Exit::Error;
        }
    };
    match run_with(cx, cmd, store) {
        Ok(exit) => exit,
        Err(e) => {
            cx.out.error(&format!("error: {e}\n"));
            Exit::Error
        }
    }
}

fn job_of(cmd: &StateCommand) -> &str {
    match cmd {
        StateCommand::List => "",
        StateCommand::Show { job }
        | StateCommand::Unlock { job, .. }
        | StateCommand::Rm { job, .. } => job,
    }
}

fn no_job(cx: &Context, job: &str) -> Exit {
    cx.out.error(&format!(
        "error: the state has no job `{job}`\n  help: `bulkspec state list` shows the jobs it has\n"
    ));
    Exit::Error
}

fn emit_list(cx: &Context, jobs: &[crate::state::JobSummary], location: &str) {
    match cx.out.format {
        Format::Json => cx.out.json(&json!({"state": location, "jobs": jobs.iter().map(state_view::summary_json).collect::<Vec<_>>()})),
        _ => cx.out.stdout(&state_view::list_human(jobs, location)),
    }
}

fn run_with(
    cx: &Context,
    cmd: &StateCommand,
    mut store: Box<dyn StateStore>,
) -> Result<Exit, crate::state::StateError> {
    match cmd {
        StateCommand::List => {
            let jobs = store.list_jobs()?;
            let location = store.location().to_owned();
            emit_list(cx, &jobs, &location);
            Ok(Exit::Ok)
        }
        StateCommand::Show { job } => {
            let Some(summary) = store.show(job)? else {
                return Ok(no_job(cx, job));
            };
            let journal = store.journal(job)?;
            let rejects = store.rejects(job)?.len();
            match cx.out.format {
                Format::Json => {
                    let mut v = state_view::summary_json(&summary);
                    v["journal"] = state_view::journal_json(&journal);
                    v["rejects"] = json!(rejects);
                    cx.out.json(&v);
                }
                _ => cx
                    .out
                    .stdout(&state_view::show_human(&summary, &journal, rejects)),
            }
            Ok(Exit::Ok)
        }
        StateCommand::Unlock { job, yes } => {
            let Some(info) = store.lock_info(job)? else {
                cx.out.info(&format!("job `{job}` is not locked"));
                return Ok(Exit::Ok);
            };
            let question = format!(
                "Release the lock of `{job}` held by {} (an apply may still be running)?",
                info.holder
            );
            if !confirmed(cx, *yes, &question) {
                return Ok(Exit::Error);
            }
            store.unlock(job)?;
            cx.out.info(&format!("released the lock of `{job}`"));
            Ok(Exit::Ok)
        }
        StateCommand::Rm { job, yes } => {
            let Some(summary) = store.show(job)? else {
                return Ok(no_job(cx, job));
            };
            let question = format!(
                "Forget job `{job}` ({} records)? The next plan will add every record again.",
                summary.records
            );
            if !confirmed(cx, *yes, &question) {
                return Ok(Exit::Error);
            }
            store.rm(job)?;
            cx.out.info(&format!("forgot job `{job}`"));
            Ok(Exit::Ok)
        }
    }
}

/// `--yes`, or a "yes" typed at a terminal; refuses without a terminal.
fn confirmed(cx: &Context, yes: bool, question: &str) -> bool {
    if yes {
        return true;
    }
    match cx.out.confirm(question) {
        Some(true) => true,
        Some(false) => {
            cx.out.error("cancelled\n");
            false
        }
        None => {
            cx.out
                .error("error: no terminal to confirm on; pass --yes to confirm\n");
            false
        }
    }
}

//! `bulkspec apply [PATH...] [--plan FILE] [--auto-approve] [--allow-destructive]`.

use super::args::ApplyArgs;
use super::{Context, Exit, state_open};
use crate::apply::connect::Connections;
use crate::apply::feed::Prefeed;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use crate::apply::{ApplyError, Events, JobResult, lock, schedule};
use crate::output::apply_progress::ApplyProgress;
use crate::output::progress::SourceProgress;
use crate::plan::saved::{SavedPlan, staleness};
use crate::plan::{Plan, PlanOptions, plan_workspace};
use crate::spec::workspace::{self, LoadedSpec, Workspace};
use crate::state::{StateError, StateStore};

pub fn run(cx: &Context, args: &ApplyArgs) -> Exit {
    let (ws, diags) = workspace::load(&cx.load_options(&args.paths.paths));
    if diags.has_errors() {
        cx.out.diagnostics(&diags, ws.file_count(&diags));
        return Exit::Error;
    }
    cx.out.warnings(&diags);
    let mut store = match open_or_create(&ws) {
        Ok(s) => s,
        Err(e) => {
            cx.out.error(&format!("error: {e}\n"));
            return Exit::Error;
        }
    };
    let Some(runtime) = cx.runtime() else {
        return Exit::Error;
    };
    // Each job's records are encoded while the plan is made and confirmed (nothing is sent
    // before the confirmation). Declared after the runtime, so dropped before it: a prefeed
    // no one takes stops, and the runtime does not wait for it.
    let prefeeds = Mutex::new({
        let _enter = runtime.enter();
        crate::apply::early::start_all(&ws)
    });
    let saved = match &args.plan {
        Some(file) => match SavedPlan::read(&cx.dir.join(file)) {
            Ok(p) => Some(p),
            Err(e) => {
                cx.out.error(&format!("error: {e}\n"));
                return Exit::Error;
            }
        },
        None => None,
    };
    let plan = match &saved {
        Some(saved) => {
            let stale = staleness(saved, &ws, Some(&mut store));
            if !stale.is_empty() {
                cx.out.error(&format!(
                    "error: the saved plan {} is stale:\n{}\n  help: make a new plan with `bulkspec plan --out FILE` and review it\n",
                    args.plan.as_ref().map(|p| p.display().to_string()).unwrap_or_default(),
                    stale.iter().map(|s| format!("  - {s}")).collect::<Vec<_>>().join("\n")
                ));
                return Exit::Stale;
            }
            saved.plan.clone()
        }
        None => match make_plan(cx, &ws, &mut store, args) {
            Ok(p) => p,
            Err(exit) => return exit,
        },
    };
    // In JSON the plan goes out with the results, as one document.
    if cx.out.format != crate::output::Format::Json {
        cx.out.plan(&plan, &[]);
    }
    if plan.summary.guard_violations > 0 {
        cx.out
            .error("error: a guard stopped the plan (see above)\n");
        return Exit::Error;
    }
    let jobs: Vec<&LoadedSpec> = workspace::order(&ws.specs)
        .into_iter()
        .filter(|s| {
            plan.jobs.iter().any(|j| {
                j.job == s.spec.job && (j.records.has_changes() || !j.config_changes.is_empty())
            })
        })
        .collect();
    if jobs.is_empty() {
        cx.out.info("Nothing to apply.");
        if cx.out.format == crate::output::Format::Json {
            cx.out.apply_results(&[], &plan);
        }
        return Exit::Ok;
    }
    if let Some(job) = plan
        .jobs
        .iter()
        .find(|j| j.destructive && !args.allow_destructive && !allowed_by_spec(&ws, &j.job))
    {
        cx.out.error(&format!(
            "error: job `{}` is destructive ({}); pass --allow-destructive or set guard.allow_destructive: true\n",
            job.job,
            job.destructive_effects.join("; ")
        ));
        return Exit::Error;
    }
    if saved.is_none() && !args.auto_approve {
        match cx.out.confirm("Apply this plan?") {
            Some(true) => {}
            Some(false) => {
                cx.out.error("apply cancelled\n");
                return Exit::Error;
            }
            None => {
                cx.out.error("error: no terminal to confirm on: review the plan above and pass --auto-approve (or apply a saved plan with --plan FILE)\n");
                return Exit::Error;
            }
        }
    }
    // Each job opens its own connection to the state: jobs run at the same time.
    drop(store);
    let parallelism = usize::from(args.parallelism);
    run_jobs(cx, &runtime, &ws, &jobs, &plan, &prefeeds, parallelism)
}

fn open_or_create(ws: &Workspace) -> Result<Box<dyn StateStore>, String> {
    state_open::open(ws).and_then(|s| match s {
        Some(s) => Ok(s),
        None => create_state(ws),
    })
}

fn create_state(ws: &Workspace) -> Result<Box<dyn StateStore>, String> {
    let crate::spec::project::StateBackend::Sqlite { path } = &ws.project.state else {
        return Err("the state backend is not configured".into());
    };
    let cfg = crate::state::StateConfig::Sqlite {
        path: ws.root.join(path),
    };
    crate::state::open_store(&cfg).map_err(|e| e.to_string())
}

fn allowed_by_spec(ws: &Workspace, job: &str) -> bool {
    ws.specs
        .iter()
        .any(|s| s.spec.job == job && s.spec.guard.allow_destructive)
}

fn make_plan(
    cx: &Context,
    ws: &Workspace,
    store: &mut Box<dyn StateStore>,
    args: &ApplyArgs,
) -> Result<Plan, Exit> {
    let opts = PlanOptions {
        allow_destructive: args.allow_destructive,
        mask_keys: args.mask_keys,
        ..PlanOptions::default()
    };
    let mut progress = SourceProgress::new(cx.out.quiet);
    let (plan, errors) = plan_workspace(ws, Some(store), &opts, &mut |job, read, total| {
        progress.update(job, read, total)
    });
    progress.finish();
    if errors.is_empty() {
        return Ok(plan);
    }
    for e in errors {
        cx.out.error(&format!("error: {e}\n"));
    }
    Err(Exit::Error)
}

fn run_jobs(
    cx: &Context,
    runtime: &tokio::runtime::Runtime,
    ws: &Workspace,
    jobs: &[&LoadedSpec],
    plan: &Plan,
    prefeeds: &Mutex<HashMap<String, Prefeed>>,
    parallelism: usize,
) -> Exit {
    let progress = Arc::new(ApplyProgress::new(plan, cx.out.quiet));
    let sink = progress.clone();
    let events = Events::new(move |event| sink.event(event));
    runtime.block_on(async {
        let conns = match Connections::new(ws, jobs).await {
            Ok(c) => c,
            Err(e) => {
                cx.out.error(&format!("error: {e}\n"));
                return Exit::Error;
            }
        };
        let exit = Mutex::new(Exit::Ok);
        let results = Mutex::new(Vec::new());
        let run = job_runner(|loaded| {
            let (conns, events, exit, results) = (&conns, &events, &exit, &results);
            async move {
                let prefeed = locked(prefeeds).remove(&loaded.spec.job);
                let (code, result) = run_job(cx, ws, loaded, conns, events, prefeed).await;
                let ok = result.is_some();
                let mut e = locked(exit);
                *e = e.combine(code);
                drop(e);
                locked(results).extend(result);
                ok
            }
        });
        schedule::run_jobs(jobs, parallelism, run, |job, dep| {
            cx.out.error(&format!(
                "error: job `{job}` skipped: it depends on `{dep}`, which failed\n"
            ));
            let mut e = locked(&exit);
            *e = e.combine(Exit::Error);
        })
        .await;
        progress.finish();
        let mut results = results.into_inner().unwrap_or_else(PoisonError::into_inner);
        // Jobs may end in any order; results are shown in the plan's.
        let order = |job: &str| plan.jobs.iter().position(|j| j.job == job);
        results.sort_by_key(|r| order(&r.job));
        cx.out.apply_results(&results, plan);
        exit.into_inner().unwrap_or_else(PoisonError::into_inner)
    })
}

/// Ties the closure's argument to the jobs' lifetime (closures cannot name it).
fn job_runner<'a, F, Fut>(f: F) -> F
where
    F: Fn(&'a LoadedSpec) -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    f
}

fn locked<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A job's state connection, closed off the async threads: the PostgreSQL client runs a
/// runtime of its own, which must not be dropped on one.
struct JobStore(Option<Box<dyn StateStore>>);

impl Drop for JobStore {
    fn drop(&mut self) {
        if let Some(store) = self.0.take() {
            crate::state::off_async(move || drop(store));
        }
    }
}

/// One job: its own state connection (jobs run at the same time), its lock, the apply (again
/// in a new remote import when the first one expired), and the lock released.
async fn run_job(
    cx: &Context,
    ws: &Workspace,
    loaded: &LoadedSpec,
    conns: &Connections,
    events: &Events,
    prefeed: Option<Prefeed>,
) -> (Exit, Option<JobResult>) {
    let job = &loaded.spec.job;
    let mut owned = match crate::state::off_async(|| open_or_create(ws)) {
        Ok(s) => JobStore(Some(s)),
        Err(e) => {
            cx.out.error(&format!("error: job `{job}`: {e}\n"));
            return (Exit::Error, None);
        }
    };
    let Some(store) = owned.0.as_mut() else {
        return (Exit::Error, None);
    };
    let guard = match lock::acquire(store.as_mut(), job) {
        Ok(g) => g,
        Err(StateError::Locked {
            holder, since, age, ..
        }) => {
            cx.out.error(&format!(
                "error: job `{job}` is locked by {holder} since {} ({} ago)\n  help: wait for that run, or `bulkspec state unlock {job}` if it is dead\n",
                humantime::format_rfc3339_seconds(since),
                humantime::format_duration(std::time::Duration::from_secs(age.as_secs()))
            ));
            return (Exit::Locked, None);
        }
        Err(e) => {
            cx.out.error(&format!("error: job `{job}`: {e}\n"));
            return (Exit::Error, None);
        }
    };
    let mut result = conns
        .apply(ws, loaded, store, &guard, events, prefeed)
        .await;
    // An expired remote import (a token or definition gone, a lost upload) is redone in a new
    // one; the journal already marked the old one's steps for redoing.
    for _ in 0..2 {
        let Err(ApplyError::Expired { message, .. }) = &result else {
            break;
        };
        events.line(&format!("{job}: {message}; opening a new remote import"));
        result = conns.apply(ws, loaded, store, &guard, events, None).await;
    }
    let _ = guard.release();
    match result {
        Ok(r) => {
            let rejected = r.rejects.iter().any(|x| x.code != "INVALID");
            (if rejected { Exit::Rejects } else { Exit::Ok }, Some(r))
        }
        Err(e) => {
            cx.out.error(&format!("error: {}\n", describe(job, &e)));
            (Exit::Error, None)
        }
    }
}

fn describe(job: &str, e: &ApplyError) -> String {
    match e {
        ApplyError::Timeout { .. } | ApplyError::Expired { .. } | ApplyError::Setup { .. } => {
            e.to_string()
        }
        other => format!(
            "job `{job}`: {other}; the apply is journaled: run `bulkspec apply` again to resume"
        ),
    }
}

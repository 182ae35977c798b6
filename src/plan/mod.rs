//! Plan: stream each job's source, map its records, diff them against the recorded state and
//! describe the remote steps an apply would take. A plan is data (`model`); `output` renders it.

pub mod config;
pub mod diff;
pub mod guard;
pub mod job;
pub mod model;
pub mod saved;
pub mod steps;

use std::collections::BTreeSet;

pub use model::{JobPlan, Plan};

use crate::spec::workspace::{self, Workspace};
use crate::state::{StateConfig, StateStore};

/// What the user asked of a plan.
#[derive(Debug, Clone, Default)]
pub struct PlanOptions {
    pub allow_destructive: bool,
    pub show_values: bool,
    pub mask_keys: bool,
    /// Report jobs in the state without a spec (only when every spec was loaded).
    pub report_orphans: bool,
}

/// Why a job could not be planned.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("job `{job}`: {message}")]
    Job { job: String, message: String },
    #[error(
        "job `{job}`: {count} duplicate key(s) in {path}: {}; keys must be unique, fix the source or the `key` template",
        duplicates.iter().map(|(k, a, b)| format!("`{k}` on lines {a} and {b}")).collect::<Vec<_>>().join(", ")
    )]
    Duplicates {
        job: String,
        path: String,
        duplicates: Vec<(String, u64, u64)>,
        count: u64,
    },
    #[error("state: {0}")]
    State(#[from] crate::state::StateError),
}

impl PlanError {
    pub fn job(job: &str, e: impl std::fmt::Display) -> Self {
        PlanError::Job {
            job: job.to_owned(),
            message: e.to_string(),
        }
    }
}

/// The state backend the project names; `None` when it is an SQLite file that does not exist
/// yet (nothing was applied, and a plan must not create it).
pub fn state_config(ws: &Workspace) -> Result<Option<StateConfig>, String> {
    match &ws.project.state {
        crate::spec::project::StateBackend::Sqlite { path } => {
            let p = ws.root.join(path);
            Ok(p.exists().then_some(StateConfig::Sqlite { path: p }))
        }
        crate::spec::project::StateBackend::Postgres { url_env } => match std::env::var(url_env) {
            Ok(url) if !url.is_empty() => Ok(Some(StateConfig::Postgres { url })),
            _ => Err(format!(
                "the state is in PostgreSQL, but the environment variable {url_env} (named in bulkspec.yaml) is not set"
            )),
        },
    }
}

/// Plans every job of the workspace, in dependency order. Jobs that fail are returned as
/// errors next to the plan of the others.
pub fn plan_workspace(
    ws: &Workspace,
    mut store: Option<&mut Box<dyn StateStore>>,
    opts: &PlanOptions,
    progress: &mut dyn FnMut(&str, u64, Option<u64>),
) -> (Plan, Vec<PlanError>) {
    let mut jobs = Vec::new();
    let mut errors = Vec::new();
    for loaded in workspace::order(&ws.specs) {
        let name = loaded.spec.job.clone();
        let mut p = |read: u64, total: Option<u64>| progress(&name, read, total);
        match job::plan_job(ws, loaded, store.as_deref_mut(), opts, &mut p) {
            Ok(plan) => jobs.push(plan),
            Err(e) => errors.push(e),
        }
    }
    let mut orphaned = Vec::new();
    if opts.report_orphans
        && let Some(s) = store
    {
        match s.list_jobs() {
            Ok(list) => {
                let known: BTreeSet<&str> = ws.specs.iter().map(|s| s.spec.job.as_str()).collect();
                orphaned = list
                    .into_iter()
                    .map(|j| j.job)
                    .filter(|j| !known.contains(j.as_str()))
                    .collect();
            }
            Err(e) => errors.push(e.into()),
        }
    }
    (Plan::new(jobs, orphaned), errors)
}

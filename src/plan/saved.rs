//! Saved plans (`plan --out FILE`): the plan document plus what it was made from, so that
//! `apply --plan FILE` applies exactly that plan or refuses, naming what changed.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::model::Plan;

/// Version of the saved-plan file.
pub const SAVED_FORMAT_VERSION: u32 = 1;

/// A plan file.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SavedPlan {
    pub saved_format_version: u32,
    /// The bulkspec version that made it; apply refuses a plan from another version.
    pub tool_version: String,
    /// Seconds since the Unix epoch.
    pub created_at: u64,
    /// The rendered specs, by job.
    pub specs: serde_json::Map<String, serde_json::Value>,
    pub plan: Plan,
}

/// Why a saved plan cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SavedPlanError {
    #[error("{path}: cannot {what}: {message}")]
    Io {
        path: String,
        what: &'static str,
        message: String,
    },
}

impl SavedPlan {
    pub fn new(plan: Plan, specs: serde_json::Map<String, serde_json::Value>) -> Self {
        let created_at = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        Self {
            saved_format_version: SAVED_FORMAT_VERSION,
            tool_version: env!("CARGO_PKG_VERSION").into(),
            created_at,
            specs,
            plan,
        }
    }

    /// Writes the plan atomically (a temp file renamed into place).
    pub fn write(&self, path: &Path) -> Result<(), SavedPlanError> {
        let err = |what, e: &dyn std::fmt::Display| SavedPlanError::Io {
            path: path.display().to_string(),
            what,
            message: e.to_string(),
        };
        let text = serde_json::to_string_pretty(self).map_err(|e| err("serialize the plan", &e))?;
        let dir = path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let mut tmp =
            tempfile::NamedTempFile::new_in(dir).map_err(|e| err("create a temporary file", &e))?;
        std::io::Write::write_all(&mut tmp, text.as_bytes()).map_err(|e| err("write", &e))?;
        tmp.persist(path)
            .map_err(|e| err("rename into place", &e.error))?;
        Ok(())
    }

    pub fn read(path: &Path) -> Result<Self, SavedPlanError> {
        let err = |what, e: &dyn std::fmt::Display| SavedPlanError::Io {
            path: path.display().to_string(),
            what,
            message: e.to_string(),
        };
        let text = std::fs::read_to_string(path).map_err(|e| err("read", &e))?;
        serde_json::from_str(&text)
            .map_err(|e| err("parse the plan (is it a bulkspec plan file?)", &e))
    }
}

/// What changed since a saved plan was made; empty when it can be applied as it is.
pub fn staleness(
    saved: &SavedPlan,
    ws: &crate::spec::workspace::Workspace,
    store: Option<&mut Box<dyn crate::state::StateStore>>,
) -> Vec<String> {
    let mut out = Vec::new();
    if saved.tool_version != env!("CARGO_PKG_VERSION") {
        out.push(format!(
            "the plan was made by bulkspec {}, this is {}",
            saved.tool_version,
            env!("CARGO_PKG_VERSION")
        ));
    }
    let mut store = store;
    for job in &saved.plan.jobs {
        let Some(loaded) = ws.specs.iter().find(|s| s.spec.job == job.job) else {
            out.push(format!("job `{}`: its spec is gone", job.job));
            continue;
        };
        if super::job::spec_digest(&loaded.rendered) != job.pins.spec_sha256 {
            out.push(format!(
                "job `{}`: the rendered spec changed ({})",
                job.job,
                loaded.src.path().display()
            ));
        }
        match crate::source::file_digest(&ws.root.join(&job.pins.source_path)) {
            Ok(d) if d == job.pins.source_sha256 => {}
            Ok(_) => out.push(format!(
                "job `{}`: the source file {} changed",
                job.job, job.pins.source_path
            )),
            Err(e) => out.push(format!("job `{}`: {e}", job.job)),
        }
        let current = match store.as_mut() {
            Some(s) => s.show(&job.job).map_err(|e| e.to_string()),
            None => Ok(None),
        };
        match current {
            Ok(summary) => {
                let (lineage, serial) = summary.map_or((None, 0), |s| (Some(s.lineage), s.serial));
                if lineage != job.pins.state_lineage || serial != job.pins.state_serial {
                    out.push(format!(
                        "job `{}`: the state changed (serial {} -> {serial}{})",
                        job.job,
                        job.pins.state_serial,
                        if lineage != job.pins.state_lineage {
                            ", new lineage"
                        } else {
                            ""
                        }
                    ));
                }
            }
            Err(e) => out.push(format!("job `{}`: cannot read the state: {e}", job.job)),
        }
    }
    out
}

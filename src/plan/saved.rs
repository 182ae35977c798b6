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
    Io { path: String, what: &'static str, message: String },
}

impl SavedPlan {
    pub fn new(plan: Plan, specs: serde_json::Map<String, serde_json::Value>) -> Self {
        let created_at = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
        Self { saved_format_version: SAVED_FORMAT_VERSION, tool_version: env!("CARGO_PKG_VERSION").into(), created_at, specs, plan }
    }

    /// Writes the plan atomically (a temp file renamed into place).
    pub fn write(&self, path: &Path) -> Result<(), SavedPlanError> {
        let err = |what, e: &dyn std::fmt::Display| SavedPlanError::Io { path: path.display().to_string(), what, message: e.to_string() };
        let text = serde_json::to_string_pretty(self).map_err(|e| err("serialize the plan", &e))?;
        let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
        let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(|e| err("create a temporary file", &e))?;
        std::io::Write::write_all(&mut tmp, text.as_bytes()).map_err(|e| err("write", &e))?;
        tmp.persist(path).map_err(|e| err("rename into place", &e.error))?;
        Ok(())
    }

    pub fn read(path: &Path) -> Result<Self, SavedPlanError> {
        let err = |what, e: &dyn std::fmt::Display| SavedPlanError::Io { path: path.display().to_string(), what, message: e.to_string() };
        let text = std::fs::read_to_string(path).map_err(|e| err("read", &e))?;
        serde_json::from_str(&text).map_err(|e| err("parse the plan (is it a bulkspec plan file?)", &e))
    }
}

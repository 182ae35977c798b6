//! Opening the project's state for a command.

use crate::plan::state_config;
use crate::spec::workspace::Workspace;
use crate::state::{StateStore, open_store};

/// The project's state store; `Ok(None)` when the SQLite file does not exist yet.
pub fn open(ws: &Workspace) -> Result<Option<Box<dyn StateStore>>, String> {
    match state_config(ws)? {
        Some(cfg) => open_store(&cfg).map(Some).map_err(|e| e.to_string()),
        None => Ok(None),
    }
}

//! Exit codes (DESIGN.md): over many jobs, any 1 gives 1, else the highest of the others.

/// What a run ended with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Exit {
    /// Success (with `--detailed-exitcode`: no changes).
    Ok = 0,
    /// Any error, usage errors included.
    Error = 1,
    /// The plan has changes (only with `--detailed-exitcode`).
    Changes = 2,
    /// Apply finished but the target rejected some records.
    Rejects = 3,
    /// The job is locked by another run.
    Locked = 4,
    /// A saved plan is stale.
    Stale = 5,
}

impl Exit {
    /// Combines the outcomes of two jobs.
    pub fn combine(self, other: Exit) -> Exit {
        if self == Exit::Error || other == Exit::Error {
            Exit::Error
        } else {
            self.max(other)
        }
    }
}

impl From<Exit> for std::process::ExitCode {
    fn from(e: Exit) -> Self {
        std::process::ExitCode::from(e as u8)
    }
}

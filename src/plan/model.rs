//! The plan as data (DESIGN.md "Plan as JSON"): what every view (human, JSON, Markdown) and a
//! saved plan render. Building it is `diff`/`steps`' job; printing it is `output`'s.

use serde::{Deserialize, Serialize};

/// Version of the plan document; bumped on incompatible changes.
pub const FORMAT_VERSION: u32 = 1;

/// A plan over one or more jobs.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Plan {
    pub format_version: u32,
    /// The bulkspec version that made the plan.
    pub tool_version: String,
    pub jobs: Vec<JobPlan>,
    /// Jobs in the state that have no spec any more: reported, never acted on.
    #[serde(default)]
    pub orphaned: Vec<String>,
    pub summary: Summary,
}

/// The plan of one job.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct JobPlan {
    pub job: String,
    pub provider: String,
    pub object: String,
    pub connection: String,
    /// `upsert`, `mirror` or `delete`.
    pub mode: String,
    pub records: Counts,
    pub config_changes: Vec<ConfigChange>,
    pub steps: Vec<Step>,
    /// Requests the apply is expected to send (uploads, starts, polls, result fetches).
    pub api_calls: u64,
    pub destructive: bool,
    /// What makes the job destructive, for people.
    #[serde(default)]
    pub destructive_effects: Vec<String>,
    /// A guard that stops this plan, if any.
    #[serde(default)]
    pub guard_violation: Option<String>,
    pub warnings: Vec<String>,
    /// Keys (never values) of some records per class; `truncated` when there are more.
    pub keys: KeySamples,
    /// Rows that cannot be sent, with their source line and reason (the first ones).
    pub invalid: Vec<InvalidRow>,
    /// What the plan was made from, for `apply --plan` to check.
    pub pins: Pins,
    /// Record values of some changed records; only with `--show-values`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<serde_json::Value>,
}

/// Records per class.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Counts {
    pub add: u64,
    pub change: u64,
    pub unchanged: u64,
    pub remove: u64,
    pub invalid: u64,
}

impl Counts {
    pub fn has_changes(&self) -> bool {
        self.add + self.change + self.remove > 0
    }
}

/// A setting that differs from the last applied spec.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ConfigChange {
    /// JSON pointer into the spec, e.g. `/refresh/tags`.
    pub path: String,
    pub before: serde_json::Value,
    pub after: serde_json::Value,
    pub destructive: bool,
}

/// One kind of remote request the apply will send.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Step {
    /// `auth`, `create_definition`, `upload`, `start`, `poll`, `fetch_results`, ...
    pub kind: String,
    pub requests: u64,
    pub bytes: u64,
    /// Records carried (uploads only).
    #[serde(default)]
    pub records: u64,
    pub description: String,
    /// Whether `requests` is an estimate (polls depend on how fast the remote job runs).
    #[serde(default)]
    pub estimated: bool,
}

/// Some keys of each class.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct KeySamples {
    pub add: Vec<String>,
    pub change: Vec<String>,
    pub remove: Vec<String>,
    pub truncated: bool,
}

/// A row that cannot be sent.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct InvalidRow {
    /// Physical line of the source where the row starts.
    pub line: u64,
    pub key: Option<String>,
    pub reason: String,
}

/// What a plan was made from.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Pins {
    /// sha256 of the rendered spec (canonical JSON).
    pub spec_sha256: String,
    /// The source file and its sha256.
    pub source_path: String,
    pub source_sha256: String,
    /// The job's state lineage and serial when planned (`None`: never applied).
    pub state_lineage: Option<String>,
    pub state_serial: u64,
}

/// Totals over all jobs.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Summary {
    pub jobs: usize,
    pub add: u64,
    pub change: u64,
    pub unchanged: u64,
    pub remove: u64,
    pub invalid: u64,
    pub changes: bool,
    pub destructive: bool,
    /// Jobs stopped by a guard.
    #[serde(default)]
    pub guard_violations: usize,
}

impl Plan {
    /// Builds the document from job plans, computing the summary.
    pub fn new(jobs: Vec<JobPlan>, orphaned: Vec<String>) -> Plan {
        let mut s = Summary {
            jobs: jobs.len(),
            ..Summary::default()
        };
        for j in &jobs {
            s.add += j.records.add;
            s.change += j.records.change;
            s.unchanged += j.records.unchanged;
            s.remove += j.records.remove;
            s.invalid += j.records.invalid;
            s.changes |= j.records.has_changes() || !j.config_changes.is_empty();
            s.destructive |= j.destructive;
            s.guard_violations += usize::from(j.guard_violation.is_some());
        }
        Plan {
            format_version: FORMAT_VERSION,
            tool_version: env!("CARGO_PKG_VERSION").into(),
            jobs,
            orphaned,
            summary: s,
        }
    }
}

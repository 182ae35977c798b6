//! The root of a spec file: one import job.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::policy::{Guard, Limits, Polling, Retry};
use super::source::Source;
use super::target::Target;

/// One bulk-import job: where the rows come from, how each becomes a target record, and
/// where and how it is imported.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "bulkspec job spec")]
pub struct Spec {
    /// Version of the spec language; always 1.
    #[schemars(range(min = 1, max = 1))]
    pub version: u32,
    /// Unique name of the job (lowercase letters, digits, `-`, `_`); the key of its state.
    #[schemars(regex(pattern = r"^[a-z0-9][a-z0-9_-]{0,99}$"))]
    pub job: String,
    /// What the job is for, shown in plans.
    #[serde(default)]
    pub description: Option<String>,
    /// Jobs that must be applied before this one (e.g. create opportunities before linking).
    #[serde(default)]
    pub depends_on: Vec<String>,
    /// The API and object the records go to.
    pub target: Target,
    /// The file the rows come from.
    pub source: Source,
    /// Template over `row` giving each record's unique key, e.g. `"{{ row.email }}"`.
    pub key: String,
    /// The target record: a tree whose string leaves are templates over `row` (a source row),
    /// `vars` and `env`. A leaf that is one `{{ row.column }}` copies the column as is.
    pub record: serde_json::Map<String, serde_json::Value>,
    /// How the target matches existing records, where the API lets you choose.
    #[serde(default, rename = "match")]
    pub match_on: Option<MatchCriteria>,
    /// What happens to records that left the source, and whether the source is deleted.
    #[serde(default)]
    pub mode: Mode,
    /// Deactivate or delete what the import omits (MyPreferences Refresh* flags). Destructive.
    #[serde(default)]
    pub refresh: Refresh,
    /// How the remote job's status is polled.
    #[serde(default)]
    pub polling: Polling,
    /// How failed requests are retried.
    #[serde(default)]
    pub retry: Retry,
    /// Request size and concurrency limits.
    #[serde(default)]
    pub limits: Limits,
    /// Guards against destructive plans.
    #[serde(default)]
    pub guard: Guard,
}

/// Match criteria. Set one of the fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MatchCriteria {
    /// Field the target matches on: Marketo leads `lookupField` (default `email`), Eloqua
    /// contacts `identifierFieldName` (a key of `target.fields`).
    #[serde(default)]
    pub field: Option<String>,
    /// MyPreferences: match profiles by this AlternateId type (`MatchCriteria:
    /// AlternateIdType`, `MatchValue`) instead of ProfileId.
    #[serde(default)]
    pub alternate_id_type: Option<String>,
}

/// What the job does with records.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Insert or update; records that left the source are only forgotten by the state.
    #[default]
    Upsert,
    /// Like upsert, and records that left the source are removed or deactivated remotely
    /// where the API can. Destructive.
    Mirror,
    /// Delete the source's records remotely (MyPreferences ImportAction Delete). Destructive.
    Delete,
}

/// MyPreferences refresh flags: existing data absent from the import is deactivated or deleted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Refresh {
    /// `RefreshAlternateIds`: deactivate AlternateIds absent from the import.
    pub alternate_ids: bool,
    /// `RefreshContacts`: deactivate emails, phones and addresses absent from the import,
    /// with their preferences.
    pub contacts: bool,
    /// `RefreshCustomFields`: delete CustomFields absent from the import.
    pub custom_fields: bool,
    /// `RefreshGroups`: deactivate Groups absent from the import.
    pub groups: bool,
    /// `RefreshTags`: delete Tags absent from the import.
    pub tags: bool,
}

impl Refresh {
    pub fn any(&self) -> bool {
        self.alternate_ids || self.contacts || self.custom_fields || self.groups || self.tags
    }
}

impl Spec {
    /// Whether applying this spec can remove or deactivate data.
    pub fn is_destructive(&self) -> bool {
        self.mode != Mode::Upsert || self.refresh.any()
    }

    /// The record field a Marketo import matches existing leads on (and names rejected rows
    /// by): `email` for program members, the lookup field (`match.field`, default `email`)
    /// for leads; `None` for other targets.
    pub fn marketo_match_column(&self) -> Option<&str> {
        match &self.target {
            Target::ProgramMembers(_) => Some("email"),
            Target::Leads(_) => Some(
                self.match_on
                    .as_ref()
                    .and_then(|m| m.field.as_deref())
                    .unwrap_or("email"),
            ),
            _ => None,
        }
    }
}

//! Oracle Eloqua target settings (../shared/providers/eloqua.md §5).
//!
//! `fields` values and `sync_actions[].destination` are Eloqua markup (`{{Opportunity.Id}}`),
//! not bulkspec templates: the renderer leaves them alone.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// `provider: eloqua`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum EloquaName {
    Eloqua,
}

/// What an opportunity is linked to (`linkOpportunitiesEntityType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum LinkEntityType {
    /// Link to the matched contacts.
    Contact,
    /// Link to every contact of the matched account.
    Account,
}

/// How existing values are overwritten (`updateRule`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum UpdateRule {
    #[default]
    Always,
    IfNewIsNotNull,
    IfExistingIsNull,
    UseFieldRule,
}

/// Opportunity-contact linkage import (`/opportunities/contacts/imports`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OpportunityContacts {
    /// Always `eloqua`.
    pub provider: EloquaName,
    /// Name of a connection in bulkspec.yaml.
    pub connection: String,
    /// Name of the import definition (at most 100 characters); the job name by default.
    #[serde(default)]
    #[schemars(length(max = 100))]
    pub name: Option<String>,
    /// Column name -> Eloqua statement, e.g. `OpportunityID: "{{Opportunity.Id}}"`. The
    /// columns are the keys of `record`. At most 100.
    pub fields: BTreeMap<String, String>,
    /// `linkOpportunitiesEntityType`: link to contacts or to accounts' contacts.
    pub link_entity_type: LinkEntityType,
    /// `linkOpportunitiesMatchFieldName`: the column (a key of `fields`) naming the opportunity.
    pub match_field_name: String,
    /// `linkOpportunitiesSourceField`: the column (a key of `fields`) matched against the
    /// contact or account.
    pub source_field: String,
    /// `linkOpportunitiesMultipleSourceMatches`: a row may link several matching contacts.
    #[serde(default)]
    pub multiple_source_matches: bool,
    /// `linkOpportunitiesCaseSensitiveMatchField`.
    #[serde(default)]
    pub case_sensitive_match_field: bool,
    /// `linkOpportunitiesCaseSensitiveSourceField`.
    #[serde(default)]
    pub case_sensitive_source_field: bool,
    /// `dataRetentionDuration` (ISO-8601, `PT1H` to `P14D`): how long unsynced data is kept.
    #[serde(default)]
    pub data_retention_duration: Option<String>,
}

/// An action run on each imported contact (`syncActions`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SyncAction {
    /// `add`, `remove` or `setStatus`.
    pub action: SyncActionKind,
    /// Eloqua markup of the destination, e.g. `{{ContactList[123]}}`.
    pub destination: String,
    /// Member status, for `setStatus` (e.g. `subscribed`).
    #[serde(default)]
    pub status: Option<String>,
}

/// Kind of sync action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum SyncActionKind {
    Add,
    Remove,
    SetStatus,
}

/// Contact import (`/contacts/imports`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Contacts {
    /// Always `eloqua`.
    pub provider: EloquaName,
    /// Name of a connection in bulkspec.yaml.
    pub connection: String,
    /// Name of the import definition (at most 100 characters); the job name by default.
    #[serde(default)]
    #[schemars(length(max = 100))]
    pub name: Option<String>,
    /// Column name -> Eloqua statement, e.g. `Email: "{{Contact.Field(C_EmailAddress)}}"`.
    pub fields: BTreeMap<String, String>,
    /// How existing values are overwritten (`updateRule`).
    #[serde(default)]
    pub update_rule: UpdateRule,
    /// `isUpdatingMultipleMatchedRecords`; must be false to update the email address.
    #[serde(default)]
    pub update_multiple_matches: bool,
    /// Actions run on each imported contact (at most 10).
    #[serde(default)]
    #[schemars(length(max = 10))]
    pub sync_actions: Vec<SyncAction>,
    /// `dataRetentionDuration` (ISO-8601, `PT1H` to `P14D`).
    #[serde(default)]
    pub data_retention_duration: Option<String>,
}

/// Upload body limit.
pub const MAX_UPLOAD_BYTES: u64 = 32 * 1024 * 1024;
/// Fields per import definition.
pub const MAX_FIELDS: usize = 100;
/// Syncs in flight per spec.
pub const MAX_CONCURRENCY: u32 = 10;

//! Marketo target settings (../shared/providers/marketo.md §6).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// `provider: marketo`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum MarketoName {
    Marketo,
}

/// Delimiter of the file uploaded to Marketo.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum UploadFormat {
    #[default]
    Csv,
    Tsv,
    Ssv,
}

/// Marketo "Import Program Members": put people into one program at one status. Matches by
/// email only.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProgramMembers {
    /// Always `marketo`.
    pub provider: MarketoName,
    /// Name of a connection in bulkspec.yaml (`sandbox` runs against the embedded emulator).
    pub connection: String,
    /// The program the members go into (`programId`).
    #[schemars(range(min = 1))]
    pub program_id: u64,
    /// The program status to set (`programMemberStatus`), e.g. `On List`, `Registered`; it must
    /// be one of the program channel's statuses.
    #[schemars(length(min = 1))]
    pub program_member_status: String,
    /// Delimiter of the uploaded file (`format`).
    #[serde(default)]
    pub format: UploadFormat,
}

/// Marketo "Import Leads": insert or update leads, matched by `match.field` (lookupField).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Leads {
    /// Always `marketo`.
    pub provider: MarketoName,
    /// Name of a connection in bulkspec.yaml.
    pub connection: String,
    /// Static list the imported leads are also added to (`listId`).
    #[serde(default)]
    pub list_id: Option<u64>,
    /// Lead partition to import into (`partitionName`).
    #[serde(default)]
    pub partition_name: Option<String>,
    /// Delimiter of the uploaded file (`format`).
    #[serde(default)]
    pub format: UploadFormat,
    /// Custom fields (of type string, email or integer) that may serve as `match.field`
    /// besides Marketo's standard lookup fields.
    #[serde(default)]
    pub custom_lookup_fields: Vec<String>,
}

/// Standard lookup fields of the lead import (marketo.md §6.3).
pub const LEAD_LOOKUP_FIELDS: &[&str] = &[
    "email",
    "id",
    "cookies",
    "twitterId",
    "facebookId",
    "linkedInId",
    "sfdcAccountId",
    "sfdcContactId",
    "sfdcLeadId",
    "sfdcLeadOwnerId",
    "sfdcOpptyId",
];

/// Upload body limit: "under 10 MB".
pub const MAX_UPLOAD_BYTES: u64 = 10_000_000;
/// Imports queued or running per instance.
pub const MAX_CONCURRENCY: u32 = 10;

//! Dotdigital target settings (../shared/providers/dotdigital.md §5, §6).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// `provider: dotdigital`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum DotdigitalName {
    Dotdigital,
}

/// Whom the collection's records belong to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// Each record belongs to a contact (`contact_identifier` names it).
    #[default]
    Contact,
    /// Records belong to the account (sent with contact identifier `account`).
    Account,
}

/// Transactional (insight) data import into one collection. `record` is the `json` payload,
/// `key` the record key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TransactionalData {
    /// Always `dotdigital`.
    pub provider: DotdigitalName,
    /// Name of a connection in bulkspec.yaml.
    pub connection: String,
    /// Collection name: letters, digits and `_`, not starting with a digit, at most 255.
    pub collection: String,
    /// Contact- or account-scoped collection.
    #[serde(default)]
    pub scope: Scope,
    /// Template over `row` giving the contact's email or numeric id (contact scope only),
    /// e.g. `"{{ row.email }}"`.
    #[serde(default)]
    pub contact_identifier: Option<String>,
    /// Accept dashes in the collection name (older API revisions allowed them).
    #[serde(default)]
    pub allow_dashes: bool,
}

/// Upload body limit (the current documentation; an older revision says 10 MB).
pub const MAX_UPLOAD_BYTES: u64 = 50 * 1024 * 1024;
/// Default split size: the older, lower documented limit.
pub const DEFAULT_UPLOAD_BYTES: u64 = 10 * 1024 * 1024;
/// Concurrent imports per account.
pub const MAX_CONCURRENCY: u32 = 5;

/// Whether `name` is a valid collection name.
pub fn collection_name_ok(name: &str, allow_dashes: bool) -> bool {
    let mut chars = name.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    first_ok
        && name.len() <= 255
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || (allow_dashes && c == '-'))
}

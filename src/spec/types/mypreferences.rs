//! PossibleNOW MyPreferences target settings (../shared/providers/mypreferences.md §4.1).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// `provider: mypreferences`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum MyPreferencesName {
    Mypreferences,
}

/// Bulk profile import. Matching (`MatchCriteria`/`MatchValue`) comes from `match:`, refresh
/// flags from `refresh:`, Add or Delete from `mode:`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Profiles {
    /// Always `mypreferences`.
    pub provider: MyPreferencesName,
    /// Name of a connection in bulkspec.yaml.
    pub connection: String,
    /// Import name (`Name`, 1-100 characters); the job name by default.
    #[serde(default)]
    #[schemars(length(min = 1, max = 100))]
    pub name: Option<String>,
    /// Days staged data is kept before it is deleted (`DataStageDuration`, 0-10).
    #[serde(default = "three")]
    #[schemars(range(min = 0, max = 10))]
    pub data_stage_duration: u8,
    /// Allow adding an older consent version when no newer one is on the profile
    /// (`AllowPriorConsents`).
    #[serde(default)]
    pub allow_prior_consents: bool,
    /// With `refresh.contacts`, keep (true) or archive (false) the preferences of deactivated
    /// contact elements (`PreservePreferences`).
    #[serde(default)]
    pub preserve_preferences: Option<bool>,
    /// Reason stored with deactivated or deleted profiles (`ReasonCode`, at most 256).
    #[serde(default)]
    #[schemars(length(max = 256))]
    pub reason_code: Option<String>,
}

fn three() -> u8 {
    3
}

/// Stage request body: default maximum.
pub const DEFAULT_UPLOAD_BYTES: u64 = 25 * 1024 * 1024;
/// Stage request body: the ceiling.
pub const MAX_UPLOAD_BYTES: u64 = 28 * 1024 * 1024;
/// One import at a time, as the vendor recommends.
pub const MAX_CONCURRENCY: u32 = 1;

//! What the emulated MyPreferences holds: accounts (users, configured types, the email rule)
//! and their profiles, every element with its active/inactive state so that refresh semantics
//! can be inspected. Serialized as is for snapshots and for `GET /_sandbox/mypreferences/profiles`.
//!
//! This module is data and small lookups only; import validation and application are elsewhere.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::imports::Import;

/// Everything the emulator holds.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct State {
    pub accounts: BTreeMap<String, Account>,
    /// Imports by access token (tokens are unique across accounts).
    pub imports: BTreeMap<u64, Import>,
    pub oauth_tokens: BTreeMap<String, OAuthToken>,
    /// Seconds the virtual clock runs ahead of the sandbox clock.
    pub clock_offset_secs: u64,
    /// The next this-many executions end `Failed` with nothing applied (fault injection).
    pub fail_executions: u32,
}

/// An issued OAuth bearer token, bound to one account and user (`scope = ClientId/UserId`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OAuthToken {
    pub client_id: String,
    pub user_id: String,
    pub expires_at: u64,
}

/// One MyPreferences account (`clientId` in the paths).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Account {
    pub client_id: String,
    pub users: Vec<User>,
    pub alternate_id_types: Vec<String>,
    pub email_types: Vec<String>,
    pub phone_types: Vec<String>,
    /// Consent types with their versions; the highest version is the current one.
    pub consent_types: BTreeMap<String, Vec<String>>,
    pub groups: Vec<String>,
    pub tags: Vec<String>,
    pub custom_fields: Vec<String>,
    /// The account's email rule (a regular expression).
    pub email_regex: String,
    pub profiles: BTreeMap<u64, Profile>,
    pub next_profile_id: u64,
    /// Virtual times of the Initiates of the last 24 hours (rolling quota).
    pub initiated_at: Vec<u64>,
}

impl Account {
    pub fn new(client_id: &str, user_id: &str, email_regex: &str) -> Self {
        Self {
            client_id: client_id.to_owned(),
            users: vec![User::new(user_id)],
            alternate_id_types: Vec::new(),
            email_types: vec!["Personal".to_owned(), "Work".to_owned()],
            phone_types: vec!["Mobile".to_owned(), "Home".to_owned(), "Work".to_owned()],
            consent_types: BTreeMap::new(),
            groups: Vec::new(),
            tags: Vec::new(),
            custom_fields: Vec::new(),
            email_regex: email_regex.to_owned(),
            profiles: BTreeMap::new(),
            next_profile_id: 1001,
            initiated_at: Vec::new(),
        }
    }

    pub fn user(&self, user_id: &str) -> Option<&User> {
        self.users
            .iter()
            .find(|u| u.id.eq_ignore_ascii_case(user_id) && u.active)
    }

    /// The configured spelling of an AlternateIdType (names compare case-insensitively).
    pub fn alternate_id_type(&self, name: &str) -> Option<&str> {
        self.alternate_id_types
            .iter()
            .find(|t| t.eq_ignore_ascii_case(name))
            .map(String::as_str)
    }

    pub fn allocate_profile_id(&mut self) -> u64 {
        let id = self.next_profile_id;
        self.next_profile_id = self.next_profile_id.saturating_add(1);
        id
    }
}

/// A user of an account with the permission flags checked at Initiate and Stage.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct User {
    pub id: String,
    pub active: bool,
    /// May use the bulk import at all (else 403 on Initiate).
    pub can_import: bool,
    /// Profile-level permission: may create or change profiles.
    pub can_edit_profiles: bool,
    /// Preference-level permission: may set preferences and consents.
    pub can_edit_preferences: bool,
    /// Channel-level permission: channels this user may not touch (`Email`, `Phone`, `Address`).
    pub denied_channels: Vec<String>,
}

impl Default for User {
    fn default() -> Self {
        Self::new("")
    }
}

impl User {
    pub fn new(id: &str) -> Self {
        Self {
            id: id.to_owned(),
            active: true,
            can_import: true,
            can_edit_profiles: true,
            can_edit_preferences: true,
            denied_channels: Vec::new(),
        }
    }

    pub fn may_use_channel(&self, channel: &str) -> bool {
        !self
            .denied_channels
            .iter()
            .any(|c| c.eq_ignore_ascii_case(channel))
    }
}

/// A stored profile. Elements keep an `IsActive` flag: refresh flags deactivate rather than
/// delete where the documentation says so.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Profile {
    pub profile_id: u64,
    #[serde(default = "active")]
    pub is_active: bool,
    pub create_date: String,
    pub default_locale: Option<String>,
    pub registration_confirmed: Option<bool>,
    pub customer_type: Option<String>,
    pub customer_name: Option<Value>,
    pub alternate_ids: Vec<StoredAlternateId>,
    pub emails: Vec<StoredEmail>,
    pub phone_numbers: Vec<StoredPhone>,
    pub addresses: Vec<StoredAddress>,
    pub profile_preferences: Vec<Map<String, Value>>,
    pub consents: Vec<StoredConsent>,
    pub groups: Vec<StoredGroup>,
    pub profile_tags: Vec<StoredTag>,
    pub custom_fields: Vec<StoredCustomField>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct StoredAlternateId {
    pub alternate_id_type: String,
    pub alternate_id: String,
    #[serde(default = "active")]
    pub is_active: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct StoredEmail {
    pub email_address: String,
    pub email_address_type: Option<String>,
    pub is_default: bool,
    #[serde(default = "active")]
    pub is_active: bool,
    pub email_preferences: Vec<Map<String, Value>>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct StoredPhone {
    pub phone_number: String,
    pub phone_number_type: Option<String>,
    pub is_mobile: bool,
    pub is_default: bool,
    #[serde(default = "active")]
    pub is_active: bool,
    pub phone_preferences: Vec<Map<String, Value>>,
}

/// An address: its (undocumented) fields as given, plus state and preferences.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct StoredAddress {
    #[serde(flatten)]
    pub fields: Map<String, Value>,
    #[serde(default = "active")]
    pub is_active: bool,
    pub address_preferences: Vec<Map<String, Value>>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct StoredConsent {
    pub consent_type: String,
    pub consent_version: Value,
    pub locale: Option<String>,
    pub consent_status: Value,
    pub consent_date: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct StoredGroup {
    pub group_name: String,
    #[serde(default = "active")]
    pub is_active: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct StoredTag {
    pub tag_name: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct StoredCustomField {
    pub field_name: String,
    pub field_value: Value,
}

/// Elements and profiles given without `IsActive` (seeds) are active.
fn active() -> bool {
    true
}

/// Orders consent versions: numerically when both are numbers, else as text.
pub fn compare_versions(a: &Value, b: &Value) -> std::cmp::Ordering {
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let (a, b) = (text(a), text(b));
    match (a.parse::<f64>(), b.parse::<f64>()) {
        (Ok(x), Ok(y)) => x.partial_cmp(&y).unwrap_or(std::cmp::Ordering::Equal),
        _ => a.cmp(&b),
    }
}

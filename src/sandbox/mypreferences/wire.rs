//! Wire types of the emulated MyPreferences bulk-import API, written from
//! `providers/mypreferences.md` (§4, §5) and shared with nothing in `src/providers`.
//!
//! Property names are PascalCase as on the vendor's help pages. Names the notes mark as
//! inferred ([I]) are: the AlternateId, phone, group, tag and custom-field element names, the
//! exception definition `{Code, Message}` and the OAuth token response. This module holds
//! shapes only; validation and behaviour live in `validate.rs` and `apply.rs`.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

/// `null` and absent both read as an empty list (the vendor's models are nullable).
fn nullable_vec<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

/// Initiate body: the `BulkImportStatus` model used as a request. Unknown and read-only
/// properties (counters, `AccessToken`) are ignored, as a client may send the model back.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct InitiateRequest {
    pub name: Option<String>,
    pub data_stage_duration: Option<i64>,
    pub import_action: Option<String>,
    pub match_criteria: Option<String>,
    pub match_value: Option<String>,
    pub refresh_alternate_ids: Option<bool>,
    pub refresh_contacts: Option<bool>,
    pub refresh_custom_fields: Option<bool>,
    pub refresh_groups: Option<bool>,
    pub refresh_tags: Option<bool>,
    pub allow_prior_consents: Option<bool>,
    pub preserve_preferences: Option<bool>,
    pub reason_code: Option<String>,
}

/// `BulkImportStatus` as answered by Initiate, Stage, Execute and Retrieve status.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ImportStatus {
    pub access_token: u64,
    pub status: &'static str,
    pub expires: String,
    pub name: String,
    pub import_action: String,
    pub data_stage_duration: i64,
    pub match_criteria: Option<String>,
    pub match_value: Option<String>,
    pub refresh_alternate_ids: bool,
    pub refresh_contacts: bool,
    pub refresh_custom_fields: bool,
    pub refresh_groups: bool,
    pub refresh_tags: bool,
    pub allow_prior_consents: bool,
    pub preserve_preferences: Option<bool>,
    pub reason_code: Option<String>,
    pub total_records_received: u64,
    pub validation_successful: u64,
    pub validation_failed: u64,
    pub processed: u64,
    pub pending: u64,
    pub exceptions: u64,
    pub not_honored: u64,
}

/// One staged record: model `CreateBulkUserProfilePreference`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ProfileRecord {
    pub profile_id: Option<u64>,
    pub is_active: Option<bool>,
    pub default_locale: Option<String>,
    pub registration_confirmed: Option<bool>,
    pub customer_type: Option<String>,
    pub preserve_preferences: Option<bool>,
    pub customer_name: Option<Value>,
    #[serde(default, deserialize_with = "nullable_vec")]
    pub alternate_ids: Vec<AlternateIdEntry>,
    #[serde(default, deserialize_with = "nullable_vec")]
    pub emails: Vec<EmailEntry>,
    #[serde(default, deserialize_with = "nullable_vec")]
    pub phone_numbers: Vec<PhoneEntry>,
    /// Address element names are not documented: kept as given.
    #[serde(default, deserialize_with = "nullable_vec")]
    pub addresses: Vec<Map<String, Value>>,
    #[serde(default, deserialize_with = "nullable_vec")]
    pub profile_preferences: Vec<Map<String, Value>>,
    #[serde(default, deserialize_with = "nullable_vec")]
    pub consents: Vec<ConsentEntry>,
    #[serde(default, deserialize_with = "nullable_vec")]
    pub groups: Vec<GroupEntry>,
    #[serde(default, deserialize_with = "nullable_vec")]
    pub profile_tags: Vec<TagEntry>,
    #[serde(default, deserialize_with = "nullable_vec")]
    pub custom_fields: Vec<CustomFieldEntry>,
}

/// AlternateId entry [I].
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AlternateIdEntry {
    pub alternate_id_type: String,
    pub alternate_id: String,
}

/// Email entry: model `BulkEmailPreference`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct EmailEntry {
    pub email_address: Option<String>,
    pub email_address_type: Option<String>,
    pub is_default: Option<bool>,
    #[serde(default, deserialize_with = "nullable_vec")]
    pub email_preferences: Vec<Map<String, Value>>,
}

/// Phone entry [I].
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PhoneEntry {
    pub phone_number: Option<String>,
    pub phone_number_type: Option<String>,
    pub is_mobile: Option<bool>,
    pub is_default: Option<bool>,
    #[serde(default, deserialize_with = "nullable_vec")]
    pub phone_preferences: Vec<Map<String, Value>>,
}

/// Consent entry (v4 "add consents" contract). `ConsentStatus` is a string in XML samples
/// and a number in JSON samples, `ConsentVersion` either: both kept as given.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ConsentEntry {
    pub consent_type: Option<String>,
    pub consent_version: Option<Value>,
    pub locale: Option<String>,
    pub consent_status: Option<Value>,
    pub consent_date: Option<String>,
}

/// Group membership [I].
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GroupEntry {
    pub group_name: String,
}

/// Tag [I].
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TagEntry {
    pub tag_name: String,
}

/// Custom field value [I].
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CustomFieldEntry {
    pub field_name: String,
    #[serde(default)]
    pub field_value: Value,
}

/// `ExceptionsDefinition` [I: fields not documented].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ExceptionDefinition {
    pub code: String,
    pub message: String,
}

impl ExceptionDefinition {
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        Self {
            code: code.to_owned(),
            message: message.into(),
        }
    }
}

/// Retrieve-exceptions query: `limit` default 1000, `offset` 1-based default 1.
#[derive(Debug, Clone, Deserialize)]
pub struct ExceptionsQuery {
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

/// Error body of the documented pages.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ErrorBody {
    pub message: String,
}

/// OAuth 2.0 client-credentials request (form body; credentials may be in a Basic header).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct TokenRequest {
    pub grant_type: Option<String>,
    pub scope: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
}

/// OAuth 2.0 token response (RFC 6749 §5.1).
#[derive(Debug, Clone, Serialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: u64,
    pub scope: String,
}

/// OAuth 2.0 error response (RFC 6749 §5.2).
#[derive(Debug, Clone, Serialize)]
pub struct TokenError {
    pub error: &'static str,
    pub error_description: String,
}

//! Eloqua's wire types, written from ../shared/providers/eloqua.md and the vendor OpenAPI
//! documents (eloqua-bulk-2.0-*.openapi.yml). Field names are Eloqua's (camelCase).
//!
//! These types only describe JSON shapes; they hold no behaviour and must not be shared with the
//! client code in src/providers.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// An import definition as Eloqua returns it (contact, opportunity or linkage import). Only the
/// properties that apply to the definition's kind are set; absent ones are omitted.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ImportDefinition {
    pub name: String,
    pub fields: Map<String, Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identifier_field_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_identifier_field_case_sensitive: Option<bool>,
    pub is_sync_triggered_on_import: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub update_rule: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub update_rule_by_field: Option<Map<String, Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub import_rule: Option<String>,
    pub is_updating_multiple_matched_records: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub null_identifier_field_name: Option<bool>,
    pub data_retention_duration: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auto_delete_duration: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub import_priority_uri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_system_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sync_actions: Option<Vec<SyncAction>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link_opportunities_entity_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link_opportunities_match_field_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link_opportunities_source_field: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link_opportunities_multiple_source_matches: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link_opportunities_case_sensitive_match_field: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link_opportunities_case_sensitive_source_field: Option<bool>,
    // Read-only properties, filled in when the definition is rendered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated_by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kb_used: Option<u64>,
}

/// One sync action of a contact import (`add`/`remove`/`setStatus` on a list or group).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SyncAction {
    pub action: String,
    pub destination: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub update_all: Option<bool>,
}

/// The sync object (§8.1).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Sync {
    pub synced_instance_uri: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub callback_url: Option<String>,
    pub status: String,
    pub created_at: String,
    pub created_by: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sync_started_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sync_ended_at: Option<String>,
    pub uri: String,
}

/// One item of `/syncs/{id}/logs` (§8.3).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SyncLog {
    pub sync_uri: String,
    pub severity: String,
    pub status_code: String,
    pub message: String,
    pub count: u64,
    pub created_at: String,
}

/// One item of `/syncs/{id}/rejects` (§8.4).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SyncReject {
    pub record_index: u64,
    pub status_code: String,
    pub message: String,
    pub invalid_fields: Vec<String>,
    pub field_values: Map<String, Value>,
}

/// A field of `/contacts/fields` or `/opportunities/fields`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct FieldItem {
    pub name: String,
    pub internal_name: String,
    pub data_type: String,
    pub statement: String,
    pub has_not_null_constraint: bool,
    pub has_read_only_constraint: bool,
    pub has_uniqueness_constraint: bool,
    pub uri: String,
}

/// The paging envelope of every list endpoint (§6).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Page<T> {
    pub items: Vec<T>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_results: Option<u64>,
    pub limit: u64,
    pub offset: u64,
    pub count: u64,
    pub has_more: bool,
}

/// One entry of the post-20D validation error body `{"failures": [...]}` (§10.2).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Failure {
    pub field: String,
    pub value: String,
    pub constraint: String,
}

/// The 400 body.
#[derive(Debug, Clone, Serialize)]
pub struct Failures {
    pub failures: Vec<Failure>,
}

/// `GET /id` (§3.3).
#[derive(Debug, Clone, Serialize)]
pub struct IdResponse {
    pub site: IdSite,
    pub user: IdUser,
    pub urls: IdUrls,
}

#[derive(Debug, Clone, Serialize)]
pub struct IdSite {
    pub id: u64,
    pub name: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IdUser {
    pub id: u64,
    pub username: String,
    pub display_name: String,
    pub first_name: String,
    pub last_name: String,
    pub email_address: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct IdUrls {
    pub base: String,
    pub apis: IdApis,
}

#[derive(Debug, Clone, Serialize)]
pub struct IdApis {
    pub soap: IdSoap,
    pub rest: IdRest,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IdSoap {
    pub standard: String,
    pub data_transfer: String,
    pub email: String,
    pub external_action: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct IdRest {
    pub standard: String,
    pub bulk: String,
}

/// OAuth 2.0 token response of `POST /auth/oauth2/token` (§3.2).
#[derive(Debug, Clone, Serialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: String,
    pub expires_in: u64,
    pub refresh_token: String,
}

/// OAuth 2.0 error body (RFC 6749 §5.2).
#[derive(Debug, Clone, Serialize)]
pub struct OAuthError {
    pub error: String,
    pub error_description: String,
}

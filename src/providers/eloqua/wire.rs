//! Eloqua Bulk API 2.0 request and response shapes, written from eloqua.md (§3.3 `/id`, §5
//! definitions, §6 paging, §8 syncs and rejects, §10.2 error bodies). Responses are read
//! leniently: unknown fields are ignored, optional ones defaulted, booleans may be strings.
//!
//! Shapes only; no I/O. Nothing is shared with the sandbox's own wire types.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The `/id` document: only the Bulk API URL template matters here.
#[derive(Debug, Deserialize)]
pub struct IdDocument {
    pub urls: IdUrls,
}

#[derive(Debug, Deserialize)]
pub struct IdUrls {
    pub apis: IdApis,
}

#[derive(Debug, Deserialize)]
pub struct IdApis {
    pub rest: IdRest,
}

#[derive(Debug, Deserialize)]
pub struct IdRest {
    /// e.g. `https://secure.p03.eloqua.com/API/Bulk/{version}/`.
    pub bulk: String,
}

/// `POST /opportunities/contacts/imports` (§5.1, §5.2).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LinkageDefinition {
    pub name: String,
    pub fields: BTreeMap<String, String>,
    pub link_opportunities_entity_type: &'static str,
    pub link_opportunities_match_field_name: String,
    pub link_opportunities_source_field: String,
    pub link_opportunities_multiple_source_matches: bool,
    pub link_opportunities_case_sensitive_match_field: bool,
    pub link_opportunities_case_sensitive_source_field: bool,
    /// Always sent: its default is documented both ways (§12).
    pub is_sync_triggered_on_import: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_retention_duration: Option<String>,
    pub auto_delete_duration: &'static str,
}

/// `POST /contacts/imports` (§5.1, §5.3).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ContactDefinition {
    pub name: String,
    pub fields: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identifier_field_name: Option<String>,
    pub update_rule: &'static str,
    pub is_updating_multiple_matched_records: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sync_actions: Vec<SyncAction>,
    pub is_sync_triggered_on_import: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_retention_duration: Option<String>,
    pub auto_delete_duration: &'static str,
}

/// One `syncActions` item.
#[derive(Debug, Clone, Serialize)]
pub struct SyncAction {
    pub action: &'static str,
    pub destination: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
}

/// What a created definition answers; only its `uri` is used.
#[derive(Debug, Deserialize)]
pub struct Created {
    pub uri: String,
}

/// `POST /syncs`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncRequest<'a> {
    pub synced_instance_uri: &'a str,
}

/// A sync object (§8.1).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Sync {
    pub uri: String,
    pub status: String,
    #[serde(default)]
    pub synced_instance_uri: Option<String>,
}

/// The paging envelope (§6).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Page<T> {
    #[serde(default = "Vec::new")]
    pub items: Vec<T>,
    /// A bool, or a string such as `"true"` (§5.3: booleans are sometimes strings).
    #[serde(default)]
    pub has_more: Value,
}

impl<T> Page<T> {
    pub fn has_more(&self) -> bool {
        match &self.has_more {
            Value::Bool(b) => *b,
            Value::String(s) => s.eq_ignore_ascii_case("true"),
            _ => false,
        }
    }
}

/// One reject of an import sync (§8.4).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Reject {
    #[serde(default)]
    pub record_index: Option<u64>,
    #[serde(default)]
    pub status_code: Option<String>,
    #[serde(default)]
    pub message: Option<String>,
}

/// One line of a sync's logs (§8.3).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogItem {
    #[serde(default)]
    pub severity: Option<String>,
    #[serde(default)]
    pub status_code: Option<String>,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub count: Option<u64>,
}

/// The post-20D validation body (§10.2).
#[derive(Debug, Deserialize)]
pub struct Failures {
    pub failures: Vec<Failure>,
}

#[derive(Debug, Deserialize)]
pub struct Failure {
    #[serde(default)]
    pub field: Option<String>,
    #[serde(default)]
    pub value: Option<Value>,
    #[serde(default)]
    pub constraint: Option<String>,
}

/// One item of the older REST-style validation body (an array, §10.2).
#[derive(Debug, Deserialize)]
pub struct RestValidation {
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    #[serde(default)]
    pub property: Option<String>,
    #[serde(default)]
    pub parameter: Option<String>,
    #[serde(default)]
    pub value: Option<Value>,
}

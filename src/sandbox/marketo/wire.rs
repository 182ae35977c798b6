//! Marketo's wire shapes, written from ../shared/providers/marketo.md §3-§7 and the vendor's
//! Swagger document: the response envelope, error items, the batch object, the identity token
//! and its OAuth-style errors. Nothing here is shared with the client in src/providers.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// `{requestId, success, result, errors, warnings}`; empty `errors`/`warnings` and an absent
/// `result` are omitted, as in every documented example.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Envelope<T: Serialize> {
    pub request_id: String,
    pub success: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<Vec<T>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<ErrorItem>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<WarningItem>,
}

/// An error: `code` is a string holding a number (`"601"`).
#[derive(Debug, Clone, Serialize)]
pub struct ErrorItem {
    pub code: String,
    pub message: String,
}

/// A warning: `code` is an integer in the spec.
#[derive(Debug, Clone, Serialize)]
pub struct WarningItem {
    pub code: i32,
    pub message: String,
}

/// The response-level error code carried by an envelope, kept in the response extensions so
/// the limits layer can tell which calls do not count (601, 602, 604, 605, 608, 611).
#[derive(Debug, Clone)]
pub struct EnvelopeCode(pub String);

/// HTTP 200 with `success: true` and these results.
pub fn ok<T: Serialize>(request_id: String, result: Vec<T>) -> Response {
    let env = Envelope {
        request_id,
        success: true,
        result: Some(result),
        errors: vec![],
        warnings: vec![],
    };
    Json(env).into_response()
}

/// HTTP 200 with `success: false` and one error (business errors use HTTP 200).
pub fn error(request_id: String, code: &str, message: impl Into<String>) -> Response {
    let env: Envelope<()> = Envelope {
        request_id,
        success: false,
        result: None,
        errors: vec![ErrorItem {
            code: code.to_owned(),
            message: message.into(),
        }],
        warnings: vec![],
    };
    let mut resp = Json(env).into_response();
    resp.extensions_mut().insert(EnvelopeCode(code.to_owned()));
    resp
}

/// The documented message of a response-level code (§10).
pub fn message_of(code: &str) -> &'static str {
    match code {
        "600" => "Access token not specified",
        "601" => "Access token invalid",
        "602" => "Access token expired",
        "603" => "Access denied",
        "604" => "Request time-out",
        "605" => "HTTP Method not supported",
        "606" => "Max rate limit '100' exceeded with in '20' secs",
        "607" => "Daily quota reached",
        "608" => "API Temporarily Unavailable",
        "609" => "Invalid JSON",
        "610" => "Requested resource not found",
        "611" => "System error",
        "612" => "Invalid Content Type",
        "613" => "Invalid Multipart Request",
        "614" => "Invalid Subscription",
        "615" => "Concurrent access limit reached",
        "709" => "Business Rule Violation",
        "713" => "Transient Error",
        "1003" => "Invalid data",
        "1013" => "Object not found",
        "1016" => "Too many imports",
        "1019" => "Import in progress",
        "1025" => "Program status not found",
        "1029" => "Too many jobs in queue",
        _ => "Unknown error",
    }
}

/// One batch as the import, status and create answers show it (§7.1). Counters are `None`
/// where the documents omit them (the program-member create answer).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchView {
    pub batch_id: u32,
    pub import_id: String,
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub num_of_leads_processed: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub num_of_rows_failed: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub num_of_rows_with_warning: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// The identity endpoint's token (§3.1).
#[derive(Debug, Serialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: u64,
    pub scope: String,
}

/// The identity endpoint's OAuth-style error body (not the Marketo envelope).
#[derive(Debug, Serialize)]
pub struct OAuthError {
    pub error: &'static str,
    pub error_description: String,
}

pub fn oauth_error(
    status: StatusCode,
    error: &'static str,
    description: impl Into<String>,
) -> Response {
    let body = OAuthError {
        error,
        error_description: description.into(),
    };
    (status, Json(body)).into_response()
}

/// A failures or warnings file: `text/csv` whatever the delimiter, empty when there is none.
pub fn delimited_file(body: String) -> Response {
    let mut resp = body.into_response();
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv"));
    resp
}

/// One field of a describe answer (`/rest/v1/leads/describe.json`).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LeadAttribute {
    pub id: u32,
    pub display_name: String,
    pub data_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub length: Option<u32>,
    pub rest: RestName,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RestName {
    pub name: String,
    pub read_only: bool,
}

/// The program-member describe answer (`/rest/v1/programs/members/describe.json`).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MemberDescribe {
    pub name: &'static str,
    pub description: &'static str,
    pub created_at: &'static str,
    pub updated_at: &'static str,
    pub dedupe_fields: Vec<&'static str>,
    pub searchable_fields: Vec<Vec<&'static str>>,
    pub fields: Vec<MemberField>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MemberField {
    pub name: String,
    pub display_name: String,
    pub data_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub length: Option<u32>,
    pub updateable: bool,
    pub crm_managed: bool,
}

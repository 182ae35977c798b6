//! Eloqua's error answers: the HTTP statuses of §10.1 with their documented reason phrases, and the
//! post-20D `{"failures": [...]}` body on 400 (§10.2). Also renders faults injected by the server.
//!
//! Only rendering lives here; deciding *when* an error applies belongs to the handlers.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::wire::{Failure, Failures};
use crate::sandbox::core::InjectedFault;

/// An error answer of the Bulk API.
#[derive(Debug, Clone, PartialEq)]
pub enum ApiError {
    /// 400 with one or more `failures`.
    Validation(Vec<Failure>),
    /// 401 "You are not authorized to make this request".
    Unauthorized,
    /// 404 "The requested resource was not found." (also an upload above 32 MB).
    NotFound,
    /// 409 "There was a conflict."
    Conflict,
    /// 410 "The requested resource is no longer available."
    Gone,
    /// 412 "The resource you are attempting to delete has dependencies, and cannot be deleted"
    Dependencies,
    /// 413 "Storage space exceeded."
    StorageExceeded,
    /// 429 "Too Many Requests" (soft sync-rate counters).
    TooManyRequests,
}

impl ApiError {
    /// A 400 with a single failure.
    pub fn invalid(field: &str, value: impl Into<String>, constraint: impl Into<String>) -> Self {
        ApiError::Validation(vec![failure(field, value, constraint)])
    }

    /// The 400 of a body that cannot be parsed.
    pub fn parsing(detail: impl Into<String>) -> Self {
        ApiError::invalid("body", detail, "There was a parsing error.")
    }
}

/// Builds one failure entry.
pub fn failure(field: &str, value: impl Into<String>, constraint: impl Into<String>) -> Failure {
    Failure {
        field: field.to_string(),
        value: value.into(),
        constraint: constraint.into(),
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            ApiError::Validation(failures) => {
                (StatusCode::BAD_REQUEST, Json(Failures { failures })).into_response()
            }
            ApiError::Unauthorized => status_text(401),
            ApiError::NotFound => status_text(404),
            ApiError::Conflict => status_text(409),
            ApiError::Gone => status_text(410),
            ApiError::Dependencies => status_text(412),
            ApiError::StorageExceeded => status_text(413),
            ApiError::TooManyRequests => status_text(429),
        }
    }
}

/// The documented reason phrase of a status (§10.1).
pub fn reason(status: u16) -> &'static str {
    match status {
        400 => "There was a validation error",
        401 => "You are not authorized to make this request",
        403 => "This service has not been enabled for your site.",
        404 => "The requested resource was not found.",
        409 => "There was a conflict.",
        410 => "The requested resource is no longer available.",
        412 => "The resource you are attempting to delete has dependencies, and cannot be deleted",
        413 => "Storage space exceeded.",
        429 => "Too Many Requests",
        500 => "The service has encountered an error.",
        502 => "Bad Gateway",
        503 => "There was a timeout processing the request",
        _ => "Error",
    }
}

/// A plain-text answer with the status's reason phrase; 400 uses the failures body instead.
pub fn status_text(status: u16) -> Response {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if code == StatusCode::BAD_REQUEST {
        return ApiError::invalid("", "", reason(400)).into_response();
    }
    (
        code,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        reason(status),
    )
        .into_response()
}

/// Renders a fault the server injects. Eloqua has no vendor error codes at the HTTP level: a
/// numeric code is taken as a status, "Sandbox Limit Exceeded" becomes the 409 of sandbox
/// instances, anything else a 500.
pub fn injected(fault: &InjectedFault, retry_after_secs: Option<u64>) -> Response {
    let mut response = match fault {
        InjectedFault::Status(status) => status_text(*status),
        InjectedFault::VendorCode(code) => match code.trim().parse::<u16>() {
            Ok(status) => status_text(status),
            Err(_) if code.eq_ignore_ascii_case("Sandbox Limit Exceeded") => (
                StatusCode::CONFLICT,
                [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                "Sandbox Limit Exceeded",
            )
                .into_response(),
            Err(_) => status_text(500),
        },
    };
    let status = response.status().as_u16();
    if let (Some(secs), 429 | 503) = (retry_after_secs, status)
        && let Ok(value) = HeaderValue::from_str(&secs.to_string())
    {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

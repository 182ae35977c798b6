//! The v2 error answers (notes §9): a JSON body `{"message": "... ERROR_*"}` with the status the
//! notes give or the emulator chose ([I] where the vendor does not document one).
//!
//! Only rendering lives here; deciding *when* to answer with an error is the handlers' job.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::wire::ErrorBody;

/// A v2 error answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (
            self.status,
            Json(ErrorBody {
                message: &self.message,
            }),
        )
            .into_response()
    }
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }

    /// A 400 with a plain `Error: CODE` message.
    pub fn code(code: &str) -> Self {
        Self::new(StatusCode::BAD_REQUEST, format!("Error: {code}"))
    }

    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "Authorization has been denied for this request.",
        )
    }

    pub fn forbidden() -> Self {
        Self::new(StatusCode::FORBIDDEN, "Forbidden: Access is denied.")
    }

    pub fn import_not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "Error: ERROR_IMPORT_NOT_FOUND")
    }

    pub fn report_not_found() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "Import is not processed yet or completed with error. ERROR_IMPORT_REPORT_NOT_FOUND",
        )
    }

    pub fn invalid_collection_name() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "Collection name is not valid. ERROR_TRANSACTIONAL_DATA_INVALID_COLLECTION_NAME",
        )
    }

    pub fn validation_failed(detail: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            format!("{detail} ERROR_TRANSACTIONAL_DATA_VALIDATION_FAILED"),
        )
    }

    pub fn body_mismatch() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "The request body is not valid JSON. ERROR_BODY_DOES_NOT_MATCH_CONTENT_TYPE",
        )
    }

    pub fn content_type() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "Content type must be application/json. ERROR_CONTENT_TYPE_IS_NOT_SUPPORTED",
        )
    }

    pub fn too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "The request body exceeds the maximum of {limit} bytes. ERROR_MALFORMED_REQUEST"
            ),
        )
    }

    pub fn too_many_imports(limit: usize) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            format!(
                "There are more than {limit} imports running for this account. \
                 ERROR_IMPORT_TOOMANYACTIVEIMPORTS"
            ),
        )
    }

    pub fn collection_missing() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "Error: ERROR_TRANSACTIONAL_DATA_COLLECTION_DOES_NOT_EXIST",
        )
    }

    pub fn record_missing() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "Error: ERROR_TRANSACTIONAL_DATA_DOES_NOT_EXIST",
        )
    }

    pub fn contact_not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "Error: ERROR_CONTACT_NOT_FOUND")
    }

    pub fn apiusage_exceeded() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "Your account has generated excess API activity and is being temporarily capped. \
             Please contact support. ERROR_APIUSAGE_EXCEEDED",
        )
    }

    pub fn unknown(status: StatusCode) -> Self {
        Self::new(status, "An error has occurred. ERROR_UNKNOWN")
    }

    /// The error for a vendor code injected by the faults route, with the status the notes
    /// associate with it (400 unless documented otherwise).
    pub fn for_vendor_code(code: &str) -> Self {
        match code {
            "ERROR_IMPORT_NOT_FOUND" => Self::import_not_found(),
            "ERROR_IMPORT_REPORT_NOT_FOUND" => Self::report_not_found(),
            "ERROR_APIUSAGE_EXCEEDED" => Self::apiusage_exceeded(),
            "ERROR_TRANSACTIONAL_DATA_INVALID_COLLECTION_NAME" => Self::invalid_collection_name(),
            "ERROR_UNKNOWN" => Self::unknown(StatusCode::INTERNAL_SERVER_ERROR),
            "ERROR_IMPORT_TOOMANYACTIVEIMPORTS" => Self::too_many_imports(5),
            other => Self::code(other),
        }
    }
}

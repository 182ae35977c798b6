//! Marketo's JSON shapes as the client reads them, written from marketo.md §3-§7: the identity
//! token and its OAuth-style error, the response envelope with its errors, and the batch
//! object of the bulk imports. Everything the notes call optional is optional here.
//!
//! It must not import anything from `crate::sandbox`: the emulator has its own types.

use serde::{Deserialize, Deserializer};

/// The identity endpoint's answer (§3.1).
#[derive(Debug, Clone, Deserialize)]
pub struct Token {
    pub access_token: String,
    /// Remaining lifetime in seconds.
    pub expires_in: u64,
}

/// The identity endpoint's error body (§3.1), not the Marketo envelope.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct OAuthError {
    #[serde(default)]
    pub error: String,
    #[serde(default)]
    pub error_description: String,
}

/// `{requestId, success, result, errors, warnings}` (§4); empty parts are often omitted.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Envelope<T> {
    #[serde(default)]
    pub request_id: Option<String>,
    #[serde(default)]
    pub success: bool,
    #[serde(default = "Vec::new")]
    pub result: Vec<T>,
    #[serde(default)]
    pub errors: Vec<ApiError>,
}

/// One item of `errors[]`. The code is a string holding a number; some answers use a number.
#[derive(Debug, Clone, Deserialize)]
pub struct ApiError {
    #[serde(deserialize_with = "code_text")]
    pub code: String,
    #[serde(default)]
    pub message: String,
}

/// A bulk import batch: the create answer and the status object (§6.2, §7.1).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Batch {
    pub batch_id: u64,
    /// `Queued`, `Importing`, `Complete` or `Failed`.
    pub status: String,
    #[serde(default)]
    pub num_of_leads_processed: Option<u64>,
    #[serde(default)]
    pub num_of_rows_failed: Option<u64>,
    #[serde(default)]
    pub num_of_rows_with_warning: Option<u64>,
    #[serde(default)]
    pub message: Option<String>,
}

/// Accepts `"601"` and `601`.
fn code_text<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Code {
        Text(String),
        Number(i64),
    }
    Ok(match Code::deserialize(d)? {
        Code::Text(s) => s,
        Code::Number(n) => n.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelopes_parse_with_parts_omitted() {
        let ok: Envelope<Batch> = serde_json::from_str(
            r#"{"requestId":"1c7e#18f3c2da002","result":[{"batchId":2051,"importId":"2051","status":"Queued"}],"success":true}"#,
        )
        .unwrap();
        assert!(ok.success && ok.errors.is_empty());
        assert_eq!(
            (ok.result[0].batch_id, ok.result[0].status.as_str()),
            (2051, "Queued")
        );
        assert_eq!(ok.result[0].num_of_rows_failed, None);

        let err: Envelope<Batch> =
            serde_json::from_str(r#"{"requestId":"a#b","success":false,"errors":[{"code":601,"message":"Access token invalid"}]}"#)
                .unwrap();
        assert!(!err.success && err.result.is_empty());
        assert_eq!(err.errors[0].code, "601");
    }

    #[test]
    fn status_object_reads_counters() {
        let b: Batch = serde_json::from_str(
            r#"{"batchId":7,"status":"Complete","numOfLeadsProcessed":7,"numOfRowsFailed":1,"numOfRowsWithWarning":2,"message":"m"}"#,
        )
        .unwrap();
        assert_eq!(
            (
                b.num_of_leads_processed,
                b.num_of_rows_failed,
                b.num_of_rows_with_warning
            ),
            (Some(7), Some(1), Some(2))
        );
    }
}

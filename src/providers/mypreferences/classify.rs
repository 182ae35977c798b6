//! Classification of every failed MyPreferences call into a `ProviderError`, by HTTP status
//! (the API has no vendor error codes: its errors are statuses with `{"Message": …}`), per the
//! retry table of the notes (§8):
//!
//! | status | class |
//! |---|---|
//! | 400, 403, 404, 409, 413, other 4xx | Permanent |
//! | 401 | re-authenticated once by the client; then Expired for calls carrying an import token, Permanent for Initiate |
//! | 408, 429, 500, 502, 503, 504, other 5xx | Retryable (Retry-After honoured) |
//! | dropped connection, timeout | Retryable |
//!
//! The steps refine 409 and 400 where the import's status tells more (see `steps.rs`). No
//! message built here ever contains a credential: URLs are stripped from transport errors.

use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{HeaderMap, RETRY_AFTER};

use super::wire::ErrorBody;
use crate::providers::ProviderError;

/// The operations of the API, for messages and for the 401 rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Token,
    Initiate,
    Stage,
    Execute,
    Status,
    Exceptions,
}

impl Op {
    pub fn name(self) -> &'static str {
        match self {
            Op::Token => "token request",
            Op::Initiate => "Initiate",
            Op::Stage => "Stage",
            Op::Execute => "Execute",
            Op::Status => "Retrieve status",
            Op::Exceptions => "Retrieve exceptions",
        }
    }

    /// Whether the call names an import access token (a 401 then means it expired).
    fn uses_import_token(self) -> bool {
        !matches!(self, Op::Token | Op::Initiate)
    }
}

/// A failed call: the classified error and, for HTTP answers, the status (the steps look at
/// 400 and 409).
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    pub status: Option<StatusCode>,
    pub error: ProviderError,
}

impl From<Failure> for ProviderError {
    fn from(f: Failure) -> Self {
        f.error
    }
}

impl Failure {
    pub fn permanent(message: String) -> Self {
        Self {
            status: None,
            error: ProviderError::Permanent { message },
        }
    }

    /// Whether the call may have been applied although no answer said so (dropped
    /// connection, timeout, 5xx): a Stage must then be checked before it is sent again.
    pub fn in_doubt(&self) -> bool {
        matches!(self.error, ProviderError::Retryable { .. })
    }

    pub fn is(&self, status: StatusCode) -> bool {
        self.status == Some(status)
    }
}

/// A transport failure: nothing (usable) came back.
pub fn transport(op: Op, e: reqwest::Error) -> Failure {
    // `without_url`: the URL holds the account id, which is a credential.
    let e = e.without_url();
    let what = if e.is_timeout() {
        "timed out"
    } else {
        "connection failed"
    };
    let mut text = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    Failure {
        status: None,
        error: ProviderError::Retryable {
            message: format!("MyPreferences {}: {what}: {text}", op.name()),
            retry_after: None,
        },
    }
}

/// An HTTP error answer (a 401 here has already survived a fresh bearer token: the client
/// re-authenticates once before classifying).
pub fn http(op: Op, status: StatusCode, headers: &HeaderMap, body: &[u8]) -> Failure {
    let vendor = serde_json::from_slice::<ErrorBody>(body)
        .ok()
        .and_then(|b| b.message)
        .unwrap_or_else(|| String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned());
    let message = format!(
        "MyPreferences {} answered {status}: {}",
        op.name(),
        vendor.trim()
    );
    let retry_after = retry_after(headers);
    let error = match status.as_u16() {
        401 if op.uses_import_token() => ProviderError::Expired { message },
        408 | 429 | 500..=599 => ProviderError::Retryable {
            message,
            retry_after,
        },
        _ => ProviderError::Permanent { message },
    };
    Failure {
        status: Some(status),
        error,
    }
}

/// `Retry-After` in seconds (the HTTP-date form is not used by this API's gateway as far as
/// the notes show, and is ignored).
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?;
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn class(op: Op, status: u16) -> ProviderError {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, HeaderValue::from_static("7"));
        let status = StatusCode::from_u16(status).unwrap();
        http(op, status, &headers, br#"{"Message":"why"}"#).error
    }

    #[test]
    fn retry_table_of_the_notes() {
        for status in [400, 403, 404, 409, 413] {
            assert!(
                matches!(class(Op::Stage, status), ProviderError::Permanent { .. }),
                "{status}"
            );
        }
        for status in [429, 500, 502, 503, 504] {
            let e = class(Op::Stage, status);
            assert_eq!(
                e,
                ProviderError::Retryable {
                    message: format!(
                        "MyPreferences Stage answered {}: why",
                        StatusCode::from_u16(status).unwrap()
                    ),
                    retry_after: Some(Duration::from_secs(7)),
                }
            );
        }
        assert!(matches!(
            class(Op::Status, 401),
            ProviderError::Expired { .. }
        ));
        assert!(matches!(
            class(Op::Initiate, 401),
            ProviderError::Permanent { .. }
        ));
        assert!(matches!(
            class(Op::Token, 401),
            ProviderError::Permanent { .. }
        ));
    }
}

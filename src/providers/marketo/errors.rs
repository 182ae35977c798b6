//! How Marketo failures become `ProviderError`s (marketo.md §4, §10): non-2xx HTTP answers,
//! envelopes that say `success: false` with a code from the retry table, and requests that got
//! no answer at all. Messages carry the code and the request id, never a secret or a URL.

use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, HeaderMap, RETRY_AFTER};

use super::wire::{ApiError, Batch, Envelope};
use crate::providers::ProviderError;

/// At most this much of an unexpected answer goes into an error message.
const SNIPPET: usize = 200;

/// What a call is, for the codes whose meaning depends on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Call {
    /// A bulk import POST: 1013 means an unknown program or list.
    Import,
    /// A batch lookup (status, failures, warnings): 1013 means the batch id expired.
    Batch,
}

/// 601/602 (and the legacy 600): authenticate again, then retry (§3.2).
pub fn is_token_code(code: &str) -> bool {
    matches!(code, "600" | "601" | "602")
}

/// The first error of an envelope that says `success: false`, with its request id.
pub fn refusal(headers: &HeaderMap, body: &[u8]) -> Option<(ApiError, Option<String>)> {
    let json = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("json"));
    if !json && body.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return None;
    }
    let env: Envelope<serde::de::IgnoredAny> = serde_json::from_slice(body).ok()?;
    if env.success {
        return None;
    }
    let err = env.errors.into_iter().next().unwrap_or(ApiError {
        code: String::new(),
        message: "the request was refused without an error code".into(),
    });
    Some((err, env.request_id))
}

/// `result[0]` of a successful envelope.
pub fn first_batch(body: &[u8]) -> Result<Batch, ProviderError> {
    let env: Envelope<Batch> =
        serde_json::from_slice(body).map_err(|e| ProviderError::Retryable {
            message: format!(
                "Marketo answered with an unreadable batch ({e}): {}",
                snippet(body)
            ),
            retry_after: None,
        })?;
    env.result
        .into_iter()
        .next()
        .ok_or_else(|| ProviderError::Permanent {
            message: format!("Marketo answered without a batch: {}", snippet(body)),
        })
}

/// An envelope error code, classified per the retry table (marketo.md §10).
pub fn from_code(call: Call, err: &ApiError, request_id: Option<&str>) -> ProviderError {
    let message = match request_id {
        Some(id) => format!("Marketo {} {} (request {id})", err.code, err.message),
        None => format!("Marketo {} {}", err.code, err.message),
    };
    let retryable = |message| ProviderError::Retryable {
        message,
        retry_after: None,
    };
    match err.code.as_str() {
        "1016" => ProviderError::QueueFull { message },
        "600" | "601" | "602" | "604" | "606" | "608" | "611" | "614" | "615" | "713" | "1019" => {
            retryable(message)
        }
        // Bulk-extract queue codes; the daily-quota variant waits for the next day.
        "1029" if !err.message.to_ascii_lowercase().contains("daily quota") => retryable(message),
        "1013" if call == Call::Batch => ProviderError::Expired {
            message: format!(
                "{message}: the batch id is unknown to Marketo (batch ids live 7 days)"
            ),
        },
        _ => ProviderError::Permanent { message },
    }
}

/// A non-2xx HTTP answer: gateway errors and throttling are retryable, the rest is not.
pub fn from_status(status: StatusCode, headers: &HeaderMap, body: &[u8]) -> ProviderError {
    let message = format!(
        "Marketo answered HTTP {}: {}",
        status.as_u16(),
        snippet(body)
    );
    if status.is_server_error()
        || status == StatusCode::TOO_MANY_REQUESTS
        || status == StatusCode::REQUEST_TIMEOUT
    {
        let retry_after = headers
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        return ProviderError::Retryable {
            message,
            retry_after,
        };
    }
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        return ProviderError::Permanent {
            message: format!("{message} (the upload must stay under 10 MB)"),
        };
    }
    ProviderError::Permanent { message }
}

/// A request that got no answer (refused, dropped, timed out): retryable. The URL is removed
/// first: the identity call carries the client secret in its query.
pub fn transport(e: reqwest::Error) -> ProviderError {
    let e = e.without_url();
    if e.is_builder() {
        return ProviderError::Permanent {
            message: format!("cannot build the Marketo request: {e}"),
        };
    }
    let mut message = format!("Marketo request failed: {e}");
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        message.push_str(": ");
        message.push_str(&s.to_string());
        source = s.source();
    }
    if e.is_timeout() && !message.contains("timed out") {
        message.push_str(" (timed out)");
    }
    ProviderError::Retryable {
        message,
        retry_after: None,
    }
}

/// A lost import answer may hide a created batch (§12): say so.
pub fn lost_import(e: ProviderError, path: &str) -> ProviderError {
    match e {
        ProviderError::Retryable {
            message,
            retry_after,
        } if message.starts_with("Marketo request failed") => ProviderError::Retryable {
            message: format!("{message} (POST {path}: the import may have been accepted)"),
            retry_after,
        },
        other => other,
    }
}

/// The start of an answer body, for messages.
pub fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    match text.char_indices().nth(SNIPPET) {
        Some((i, _)) => format!("{}...", &text[..i]),
        None if text.is_empty() => "(empty body)".into(),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(code: &str, message: &str) -> ApiError {
        ApiError {
            code: code.into(),
            message: message.into(),
        }
    }

    #[test]
    fn codes_follow_the_retry_table() {
        for code in ["604", "606", "608", "611", "614", "615", "713", "1019"] {
            assert!(
                matches!(
                    from_code(Call::Import, &err(code, "x"), None),
                    ProviderError::Retryable { .. }
                ),
                "{code}"
            );
        }
        for code in [
            "603", "605", "607", "609", "610", "612", "613", "701", "709", "1001", "1003", "1006",
            "1011", "1025",
        ] {
            assert!(
                matches!(
                    from_code(Call::Import, &err(code, "x"), None),
                    ProviderError::Permanent { .. }
                ),
                "{code}"
            );
        }
        assert!(matches!(
            from_code(Call::Import, &err("1016", "Too many imports"), None),
            ProviderError::QueueFull { .. }
        ));
        assert!(matches!(
            from_code(Call::Import, &err("1029", "Too many jobs in queue"), None),
            ProviderError::Retryable { .. }
        ));
        assert!(matches!(
            from_code(
                Call::Import,
                &err("1029", "Export daily quota exceeded"),
                None
            ),
            ProviderError::Permanent { .. }
        ));
        assert!(matches!(
            from_code(Call::Import, &err("1013", "Object not found"), None),
            ProviderError::Permanent { .. }
        ));
        assert!(matches!(
            from_code(Call::Batch, &err("1013", "Object not found"), None),
            ProviderError::Expired { .. }
        ));
        let msg = from_code(Call::Batch, &err("606", "Max rate limit"), Some("ab#cd")).to_string();
        assert!(msg.contains("606") && msg.contains("ab#cd"), "{msg}");
    }

    #[test]
    fn statuses_are_classified() {
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, "7".parse().unwrap());
        assert_eq!(
            from_status(StatusCode::TOO_MANY_REQUESTS, &h, b""),
            ProviderError::Retryable {
                message: "Marketo answered HTTP 429: (empty body)".into(),
                retry_after: Some(Duration::from_secs(7))
            }
        );
        assert!(matches!(
            from_status(StatusCode::BAD_GATEWAY, &HeaderMap::new(), b"x"),
            ProviderError::Retryable {
                retry_after: None,
                ..
            }
        ));
        assert!(matches!(
            from_status(StatusCode::PAYLOAD_TOO_LARGE, &HeaderMap::new(), b""),
            ProviderError::Permanent { .. }
        ));
        assert!(matches!(
            from_status(StatusCode::URI_TOO_LONG, &HeaderMap::new(), b""),
            ProviderError::Permanent { .. }
        ));
    }

    #[test]
    fn refusals_are_found_in_json_and_not_in_files() {
        let h = HeaderMap::new();
        let (e, id) = refusal(&h, br#"{"requestId":"a#1","success":false,"errors":[{"code":"602","message":"Access token expired"}]}"#).unwrap();
        assert_eq!((e.code.as_str(), id.as_deref()), ("602", Some("a#1")));
        assert!(refusal(&h, br#"{"success":true,"result":[]}"#).is_none());
        assert!(refusal(&h, b"email,Import Failure Reason\n").is_none());
    }

    #[test]
    fn long_bodies_are_cut() {
        let long = "x".repeat(1000);
        assert_eq!(snippet(long.as_bytes()).len(), SNIPPET + 3);
    }
}

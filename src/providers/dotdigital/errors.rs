//! Classification of every failed Dotdigital call into a `ProviderError`, by HTTP status AND
//! the v2 error code in the body (../shared/providers/dotdigital.md §8.1, §9.2): what the
//! executor may retry, when, what means "the import queue is full", and what will never work.
//!
//! Pure functions over status, headers and body; no I/O. Messages never carry credentials
//! (they are built from the status, the vendor's message and our own words only).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::StatusCode;
use reqwest::header::HeaderMap;

use super::wire::{ErrorBody, error_code};
use crate::providers::ProviderError;

/// Wait after the flat hourly cap (`ERROR_APIUSAGE_EXCEEDED`): the notes say to back off for
/// minutes while the rolling hour moves on.
pub const FLAT_CAP_WAIT: Duration = Duration::from_secs(300);

/// Wait after a 429 that names no reset time: a tier window is one minute.
pub const TIER_WINDOW: Duration = Duration::from_secs(60);

/// `X-RateLimit-Reset` values above this are epoch seconds, below it seconds until the reset
/// (the sources disagree; §8.1 says to accept both).
const EPOCH_THRESHOLD: u64 = 1_000_000_000;

/// The error of a call that got an HTTP answer other than success.
pub fn classify(what: &str, status: StatusCode, headers: &HeaderMap, body: &[u8]) -> ProviderError {
    let message = vendor_message(body);
    let code = error_code(&message);
    let text = describe(what, status, &message);
    match status.as_u16() {
        401 => {
            return ProviderError::Permanent {
                message: format!(
                    "{text}; Dotdigital refused the API user (wrong user or password, or the user is disabled)"
                ),
            };
        }
        403 => {
            return ProviderError::Permanent {
                message: format!(
                    "{text}; this URL is not the account's region (r1, r2 or r3): fix the connection's url"
                ),
            };
        }
        429 => {
            // Both headers may be present; waiting for the later of the two satisfies both.
            let wait = match (rate_limit_reset(headers), retry_after(headers)) {
                (Some(a), Some(b)) => a.max(b),
                (a, b) => a.or(b).unwrap_or(TIER_WINDOW),
            };
            return ProviderError::Retryable {
                message: text,
                retry_after: Some(wait),
            };
        }
        _ => {}
    }
    match code {
        Some("ERROR_IMPORT_TOOMANYACTIVEIMPORTS") => {
            return ProviderError::QueueFull { message: text };
        }
        Some("ERROR_APIUSAGE_EXCEEDED") => {
            return ProviderError::Retryable {
                message: text,
                retry_after: Some(FLAT_CAP_WAIT),
            };
        }
        // A report asked for before the import finished, a busy list, a server-side fault.
        Some("ERROR_IMPORT_REPORT_NOT_FOUND" | "ERROR_ADDRESSBOOK_IN_USE" | "ERROR_UNKNOWN") => {
            return ProviderError::Retryable {
                message: text,
                retry_after: retry_after(headers),
            };
        }
        _ => {}
    }
    if status.is_server_error() || status == StatusCode::REQUEST_TIMEOUT {
        return ProviderError::Retryable {
            message: text,
            retry_after: retry_after(headers),
        };
    }
    ProviderError::Permanent { message: text }
}

/// The error of a call that got no usable answer: refused or dropped connection, timeout, a
/// body cut short. All of these are worth retrying, except a request we could not even build.
pub fn transport(what: &str, err: &reqwest::Error) -> ProviderError {
    let message = format!("Dotdigital {what}: {}", chain(err));
    if err.is_builder() {
        return ProviderError::Permanent { message };
    }
    ProviderError::Retryable {
        message,
        retry_after: None,
    }
}

/// A success answer whose body is not what the API documents: retrying will not change it.
pub fn unexpected(what: &str, status: StatusCode, err: &serde_json::Error) -> ProviderError {
    ProviderError::Permanent {
        message: format!(
            "Dotdigital {what}: HTTP {}: unexpected answer: {err}",
            status.as_u16()
        ),
    }
}

fn describe(what: &str, status: StatusCode, message: &str) -> String {
    if message.is_empty() {
        format!("Dotdigital {what}: HTTP {}", status.as_u16())
    } else {
        format!("Dotdigital {what}: HTTP {}: {message}", status.as_u16())
    }
}

/// The `message` of a v2 error body, or a short excerpt of a body that is not one.
fn vendor_message(body: &[u8]) -> String {
    if let Ok(e) = serde_json::from_slice::<ErrorBody>(body) {
        return e.message;
    }
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    match text.char_indices().nth(200) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

/// `X-RateLimit-Reset` as a wait: seconds until the reset, or an epoch time.
fn rate_limit_reset(headers: &HeaderMap) -> Option<Duration> {
    let value: u64 = headers
        .get("x-ratelimit-reset")?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    if value > EPOCH_THRESHOLD {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        Some(Duration::from_secs(value.saturating_sub(now)))
    } else {
        Some(Duration::from_secs(value))
    }
}

/// `Retry-After` in seconds (the HTTP-date form is not used by this API).
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let secs: u64 = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(Duration::from_secs(secs))
}

/// An error and its causes, `a: b: c` (reqwest's own text hides why a request failed).
fn chain(err: &dyn std::error::Error) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn body(message: &str) -> Vec<u8> {
        serde_json::to_vec(&serde_json::json!({ "message": message })).unwrap()
    }

    fn classify_code(status: u16, message: &str) -> ProviderError {
        classify(
            "import",
            StatusCode::from_u16(status).unwrap(),
            &HeaderMap::new(),
            &body(message),
        )
    }

    #[test]
    fn vendor_codes_decide_over_the_400() {
        assert!(matches!(
            classify_code(
                400,
                "There are more than 5 imports running. ERROR_IMPORT_TOOMANYACTIVEIMPORTS"
            ),
            ProviderError::QueueFull { .. }
        ));
        assert_eq!(
            classify_code(400, "Your account has generated excess API activity. ERROR_APIUSAGE_EXCEEDED"),
            ProviderError::Retryable {
                message: "Dotdigital import: HTTP 400: Your account has generated excess API activity. ERROR_APIUSAGE_EXCEEDED".into(),
                retry_after: Some(FLAT_CAP_WAIT)
            }
        );
        assert!(matches!(
            classify_code(500, "An error has occurred. ERROR_UNKNOWN"),
            ProviderError::Retryable { .. }
        ));
        assert!(matches!(
            classify_code(
                400,
                "Import is not processed yet. ERROR_IMPORT_REPORT_NOT_FOUND"
            ),
            ProviderError::Retryable { .. }
        ));
        for permanent in [
            "Collection name is not valid. ERROR_TRANSACTIONAL_DATA_INVALID_COLLECTION_NAME",
            "Error: ERROR_TRANSACTIONAL_DATA_VALIDATION_FAILED",
            "Error: ERROR_FEATURENOTACTIVE",
            "Bad request",
        ] {
            assert!(
                matches!(
                    classify_code(400, permanent),
                    ProviderError::Permanent { .. }
                ),
                "{permanent}"
            );
        }
        assert!(matches!(
            classify_code(404, "Error: ERROR_IMPORT_NOT_FOUND"),
            ProviderError::Permanent { .. }
        ));
        assert!(matches!(
            classify_code(413, "too large"),
            ProviderError::Permanent { .. }
        ));
    }

    #[test]
    fn statuses_without_codes() {
        assert!(matches!(
            classify_code(401, "Authorization has been denied for this request."),
            ProviderError::Permanent { .. }
        ));
        assert!(matches!(
            classify_code(403, "Forbidden"),
            ProviderError::Permanent { .. }
        ));
        for s in [500, 502, 503, 504, 408] {
            assert!(
                matches!(
                    classify(
                        "x",
                        StatusCode::from_u16(s).unwrap(),
                        &HeaderMap::new(),
                        b"<html>"
                    ),
                    ProviderError::Retryable { .. }
                ),
                "{s}"
            );
        }
    }

    #[test]
    fn rate_limit_reset_in_seconds_or_epoch() {
        let mut h = HeaderMap::new();
        h.insert("x-ratelimit-reset", HeaderValue::from_static("42"));
        let e = classify("x", StatusCode::TOO_MANY_REQUESTS, &h, b"");
        assert_eq!(
            e,
            ProviderError::Retryable {
                message: "Dotdigital x: HTTP 429".into(),
                retry_after: Some(Duration::from_secs(42))
            }
        );
        let epoch = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs()
            + 30;
        h.insert("x-ratelimit-reset", HeaderValue::from(epoch));
        let ProviderError::Retryable {
            retry_after: Some(wait),
            ..
        } = classify("x", StatusCode::TOO_MANY_REQUESTS, &h, b"")
        else {
            panic!("429 must be retryable");
        };
        assert!((28..=30).contains(&wait.as_secs()), "{wait:?}");
        let mut only_retry_after = HeaderMap::new();
        only_retry_after.insert("retry-after", HeaderValue::from_static("7"));
        let e = classify("x", StatusCode::TOO_MANY_REQUESTS, &only_retry_after, b"");
        assert!(
            matches!(e, ProviderError::Retryable { retry_after: Some(d), .. } if d == Duration::from_secs(7))
        );
        let e = classify("x", StatusCode::TOO_MANY_REQUESTS, &HeaderMap::new(), b"");
        assert!(matches!(
            e,
            ProviderError::Retryable {
                retry_after: Some(TIER_WINDOW),
                ..
            }
        ));
        let mut both = only_retry_after.clone();
        both.insert("x-ratelimit-reset", HeaderValue::from_static("3"));
        let e = classify("x", StatusCode::TOO_MANY_REQUESTS, &both, b"");
        assert!(
            matches!(e, ProviderError::Retryable { retry_after: Some(d), .. } if d == Duration::from_secs(7))
        );
    }

    #[test]
    fn long_non_json_bodies_are_cut() {
        let e = classify(
            "x",
            StatusCode::BAD_GATEWAY,
            &HeaderMap::new(),
            "y".repeat(5000).as_bytes(),
        );
        assert!(e.to_string().len() < 300, "{e}");
    }
}

//! Eloqua failures to `ProviderError`, per eloqua.md §10.1: by HTTP status, and for 409 by its
//! text (Eloqua has no vendor error code at the HTTP level; sandbox instances answer 409
//! "Sandbox Limit Exceeded", which no retry fixes). Transport failures (dropped connections,
//! timeouts) are retryable.
//!
//! Only classification and message building; no I/O. Messages quote the API's answer, never a
//! request header, so no credential can reach them.

use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{HeaderMap, RETRY_AFTER};

use super::wire::{Failures, RestValidation};
use crate::providers::ProviderError;

/// Longest part of a response body quoted in a message.
const MAX_QUOTED: usize = 300;

/// What kind of call failed, where the status alone is ambiguous.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Call {
    /// `POST .../data`: a 404 there means the body was over 32 MB.
    Upload,
    /// Anything else.
    Other,
}

/// Classifies a non-success answer to `what` (e.g. `POST /syncs`).
pub fn status(
    what: &str,
    call: Call,
    status: StatusCode,
    headers: &HeaderMap,
    body: &[u8],
) -> ProviderError {
    let code = status.as_u16();
    let text = quote(body);
    let message = |detail: &str| format!("Eloqua answered {code} to {what}: {detail}");
    match code {
        400 => ProviderError::Permanent {
            message: message(&validation(body).unwrap_or(text)),
        },
        401 | 403 => ProviderError::Permanent {
            message: message(&format!(
                "{text} (check the connection's site, user and password, and the user's API permissions)"
            )),
        },
        404 if call == Call::Upload => ProviderError::Permanent {
            message: message(&format!(
                "{text} (the upload is over Eloqua's 32 MB limit, or the import definition is unknown)"
            )),
        },
        409 if text.to_ascii_lowercase().contains("sandbox limit") => ProviderError::Permanent {
            message: message(&text),
        },
        // Another sync of the definition is in progress: retry once it has ended (§8.2).
        409 => ProviderError::Retryable {
            message: message(&format!("{text} (a sync is in progress)")),
            retry_after: retry_after(headers),
        },
        410 => ProviderError::Expired {
            message: message(&format!("{text} (the import definition or sync expired)")),
        },
        413 => ProviderError::Permanent {
            message: message(&format!(
                "{text} (staged data is over the instance's storage quota)"
            )),
        },
        429 | 500..=599 => ProviderError::Retryable {
            message: message(&text),
            retry_after: retry_after(headers),
        },
        _ => ProviderError::Permanent {
            message: message(&text),
        },
    }
}

/// Classifies a request that got no answer.
///
/// A refused connection never reached Eloqua: retryable. Any other loss (timeout, connection
/// dropped mid-request, body cut short) may or may not have been applied. That is harmless
/// for reads, deletes and the `start` of a batch (it looks for its sync before syncing again),
/// but an upload sent twice stages its rows twice: duplicate rows are rejected and every later
/// `recordIndex` shifts. So a lost upload is `Expired`: the executor opens a new definition and
/// uploads the batch again; the old one is never synced and deletes itself (§10.1).
pub fn transport(what: &str, call: Call, e: &reqwest::Error) -> ProviderError {
    let mut detail = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        detail.push_str(": ");
        detail.push_str(&s.to_string());
        source = s.source();
    }
    let message = format!("{what} failed: {detail}");
    if e.is_builder() {
        ProviderError::Permanent { message }
    } else if call == Call::Upload && !e.is_connect() {
        ProviderError::Expired {
            message: format!(
                "{message}; the rows may be staged already, so the batch is redone in a new definition"
            ),
        }
    } else {
        ProviderError::Retryable {
            message,
            retry_after: None,
        }
    }
}

/// A success answer whose body is not what the notes describe.
pub fn unexpected(what: &str, e: &serde_json::Error, body: &[u8]) -> ProviderError {
    ProviderError::Permanent {
        message: format!(
            "unexpected answer from Eloqua to {what} ({e}): {}",
            quote(body)
        ),
    }
}

/// `Retry-After` in seconds (the HTTP-date form is not used by Eloqua's gateways).
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?;
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// The failures of a 400 body, `field` = `value`: constraint; both shapes of §10.2.
fn validation(body: &[u8]) -> Option<String> {
    if let Ok(f) = serde_json::from_slice::<Failures>(body) {
        let parts: Vec<String> = f
            .failures
            .iter()
            .map(|x| {
                let value = x
                    .value
                    .as_ref()
                    .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
                    .unwrap_or_default();
                format!(
                    "`{}` = `{}`: {}",
                    x.field.as_deref().unwrap_or("?"),
                    value,
                    x.constraint.as_deref().unwrap_or("invalid")
                )
            })
            .collect();
        return (!parts.is_empty()).then(|| truncate(parts.join("; ")));
    }
    let items = serde_json::from_slice::<Vec<RestValidation>>(body).ok()?;
    let parts: Vec<String> = items
        .iter()
        .map(|x| {
            let name = x
                .property
                .as_deref()
                .or(x.parameter.as_deref())
                .unwrap_or("?");
            let value = x
                .value
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default();
            format!(
                "{} on `{name}` = {value}",
                x.kind.as_deref().unwrap_or("validation error")
            )
        })
        .collect();
    (!parts.is_empty()).then(|| truncate(parts.join("; ")))
}

/// A body as quotable text: trimmed, JSON strings unquoted, cut at `MAX_QUOTED` characters.
fn quote(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        return "(no body)".into();
    }
    let text = serde_json::from_str::<String>(text).unwrap_or_else(|_| text.to_string());
    truncate(text)
}

fn truncate(mut text: String) -> String {
    if let Some((at, _)) = text.char_indices().nth(MAX_QUOTED) {
        text.truncate(at);
        text.push('…');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classify(code: u16, call: Call, body: &str) -> ProviderError {
        let code = StatusCode::from_u16(code).unwrap_or(StatusCode::IM_A_TEAPOT);
        status(
            "POST /syncs",
            call,
            code,
            &HeaderMap::new(),
            body.as_bytes(),
        )
    }

    #[test]
    fn validation_failures_are_named() {
        let body = r#"{"failures":[{"field":"identifierFieldName","value":"Emial","constraint":"Must be one of the field names in fields."}]}"#;
        let message = "Eloqua answered 400 to POST /syncs: `identifierFieldName` = `Emial`: Must be one of the field names in fields.";
        assert_eq!(
            classify(400, Call::Other, body),
            ProviderError::Permanent {
                message: message.into()
            }
        );
        let rest = r#"[{"type":"ObjectValidationError","property":"name","value":"x","requirement":{"type":"NotNullRequirement"}}]"#;
        let got = classify(400, Call::Other, rest).to_string();
        assert!(
            got.ends_with("ObjectValidationError on `name` = \"x\""),
            "{got}"
        );
    }

    #[test]
    fn statuses_map_to_the_retry_table() {
        assert!(matches!(
            classify(401, Call::Other, "Login required"),
            ProviderError::Permanent { .. }
        ));
        assert!(matches!(
            classify(403, Call::Other, ""),
            ProviderError::Permanent { .. }
        ));
        assert!(
            classify(404, Call::Upload, "")
                .to_string()
                .contains("32 MB")
        );
        assert!(!classify(404, Call::Other, "").to_string().contains("32 MB"));
        assert!(matches!(
            classify(409, Call::Other, "There was a conflict."),
            ProviderError::Retryable { .. }
        ));
        assert!(matches!(
            classify(409, Call::Other, "Sandbox Limit Exceeded"),
            ProviderError::Permanent { .. }
        ));
        assert!(matches!(
            classify(410, Call::Other, ""),
            ProviderError::Expired { .. }
        ));
        assert!(matches!(
            classify(412, Call::Other, ""),
            ProviderError::Permanent { .. }
        ));
        assert!(matches!(
            classify(413, Call::Upload, ""),
            ProviderError::Permanent { .. }
        ));
        for code in [429, 500, 502, 503, 504] {
            assert!(
                matches!(
                    classify(code, Call::Other, ""),
                    ProviderError::Retryable { .. }
                ),
                "{code}"
            );
        }
    }

    #[test]
    fn retry_after_is_read() {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, reqwest::header::HeaderValue::from_static("7"));
        let got = status(
            "GET /syncs/1",
            Call::Other,
            StatusCode::TOO_MANY_REQUESTS,
            &headers,
            b"Too Many Requests",
        );
        let want = ProviderError::Retryable {
            message: "Eloqua answered 429 to GET /syncs/1: Too Many Requests".into(),
            retry_after: Some(Duration::from_secs(7)),
        };
        assert_eq!(got, want);
    }

    #[test]
    fn long_bodies_are_cut() {
        let body = "x".repeat(1000);
        let got = classify(500, Call::Other, &body).to_string();
        assert!(got.len() < 400 && got.contains('…'), "{got}");
    }
}

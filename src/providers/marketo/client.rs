//! Marketo over HTTP: the client-credentials token (cached until shortly before it expires,
//! renewed and the call retried once on 601/602), one method per remote call, the rate
//! limiter before every request, and the classification of every failure into
//! `ProviderError` by HTTP status and envelope code (marketo.md §3, §4, §10).
//!
//! It never formats a secret or a URL that carries one (reqwest errors lose their URL before
//! they become messages), and it holds no retry loop besides the documented token renewal.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use reqwest::header::{CONTENT_TYPE, HeaderMap, RETRY_AFTER};
use reqwest::{RequestBuilder, StatusCode};

use super::wire::{ApiError, Batch, Envelope, OAuthError, Token};
use crate::providers::{ClientContext, Limiter, ProviderError, Secret};

/// Renew a token this long before it expires (clients typically renew under 60 s, §3.2).
const RENEW_MARGIN: Duration = Duration::from_secs(60);
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

/// A token and when to stop using it.
struct Cached {
    token: Secret,
    renew_at: Instant,
}

/// The HTTP client of one job.
pub struct Client {
    http: reqwest::Client,
    base: String,
    client_id: Secret,
    client_secret: Secret,
    limiter: Arc<Limiter>,
    token: tokio::sync::Mutex<Option<Cached>>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

impl Client {
    pub fn new(cx: &ClientContext) -> Result<Client, ProviderError> {
        Ok(Client {
            http: cx.http.clone(),
            base: cx.endpoint.base_url.trim_end_matches('/').to_owned(),
            client_id: cx.endpoint.credential("client_id")?.clone(),
            client_secret: cx.endpoint.credential("client_secret")?.clone(),
            limiter: cx.limiter.clone(),
            token: tokio::sync::Mutex::new(None),
        })
    }

    /// `{base}{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Uploads a file to an import endpoint; returns the batch Marketo created.
    pub async fn import(
        &self,
        path: &str,
        query: &[(&str, String)],
        file: Bytes,
        file_name: &str,
    ) -> Result<Batch, ProviderError> {
        let url = self.url(path);
        let body = self
            .authorized(Call::Import, || {
                let part = reqwest::multipart::Part::stream_with_length(
                    reqwest::Body::from(file.clone()),
                    file.len() as u64,
                )
                .file_name(file_name.to_owned())
                .mime_str("text/csv")
                .map_err(|e| ProviderError::Permanent {
                    message: format!("bad upload content type: {e}"),
                })?;
                let form = reqwest::multipart::Form::new().part("file", part);
                Ok(self.http.post(&url).query(query).multipart(form))
            })
            .await
            .map_err(|e| lost_import(e, path))?;
        first_batch(&body)
    }

    /// Reads a batch's status object.
    pub async fn batch(&self, path: &str) -> Result<Batch, ProviderError> {
        let url = self.url(path);
        let body = self
            .authorized(Call::Batch, || Ok(self.http.get(&url)))
            .await?;
        first_batch(&body)
    }

    /// Downloads a failures or warnings file (empty when there is nothing to report).
    pub async fn file(&self, path: &str) -> Result<Bytes, ProviderError> {
        let url = self.url(path);
        self.authorized(Call::Batch, || Ok(self.http.get(&url)))
            .await
    }

    /// Sends a request with the bearer token; on 601/602 renews the token and sends it once
    /// more. Returns the body of a successful answer.
    async fn authorized(
        &self,
        call: Call,
        build: impl Fn() -> Result<RequestBuilder, ProviderError>,
    ) -> Result<Bytes, ProviderError> {
        let mut renewed = false;
        loop {
            let token = self.token().await?;
            self.limiter.until_ready().await;
            let resp = build()?
                .bearer_auth(token.expose())
                .send()
                .await
                .map_err(transport)?;
            let status = resp.status();
            let headers = resp.headers().clone();
            let body = resp.bytes().await.map_err(transport)?;
            if !status.is_success() {
                return Err(from_status(status, &headers, &body));
            }
            match refusal(&headers, &body) {
                None => return Ok(body),
                Some((err, _)) if is_token_code(&err.code) && !renewed => {
                    tracing::debug!(code = %err.code, "Marketo refused the access token; authenticating again");
                    self.forget(&token).await;
                    renewed = true;
                }
                Some((err, request_id)) => {
                    return Err(from_code(call, &err, request_id.as_deref()));
                }
            }
        }
    }

    /// The cached token, or a new one when none is cached or it is about to expire.
    async fn token(&self) -> Result<Secret, ProviderError> {
        let mut slot = self.token.lock().await;
        if let Some(c) = slot.as_ref()
            && Instant::now() < c.renew_at
        {
            return Ok(c.token.clone());
        }
        let fresh = self.authenticate().await?;
        let token = fresh.token.clone();
        *slot = Some(fresh);
        Ok(token)
    }

    /// Drops the cached token if it is still the one that was refused.
    async fn forget(&self, refused: &Secret) {
        let mut slot = self.token.lock().await;
        if slot.as_ref().is_some_and(|c| &c.token == refused) {
            *slot = None;
        }
    }

    /// `POST /identity/oauth/token` with the client credentials as query parameters (§3.1).
    async fn authenticate(&self) -> Result<Cached, ProviderError> {
        self.limiter.until_ready().await;
        let started = Instant::now();
        let params = [
            ("grant_type", "client_credentials"),
            ("client_id", self.client_id.expose()),
            ("client_secret", self.client_secret.expose()),
        ];
        let resp = self
            .http
            .post(self.url("/identity/oauth/token"))
            .query(&params)
            .send()
            .await
            .map_err(transport)?;
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = resp.bytes().await.map_err(transport)?;
        if status.is_success() {
            let token: Token =
                serde_json::from_slice(&body).map_err(|_| ProviderError::Retryable {
                    message: format!(
                        "Marketo identity answered with an unreadable token: {}",
                        snippet(&body)
                    ),
                    retry_after: None,
                })?;
            let lifetime = Duration::from_secs(token.expires_in);
            let renew_at = started + lifetime.saturating_sub(RENEW_MARGIN.min(lifetime / 2));
            return Ok(Cached {
                token: Secret::new(token.access_token),
                renew_at,
            });
        }
        let oauth: OAuthError = serde_json::from_slice(&body).unwrap_or_default();
        match status {
            StatusCode::UNAUTHORIZED | StatusCode::BAD_REQUEST | StatusCode::FORBIDDEN => {
                Err(ProviderError::Permanent {
                    message: format!(
                        "Marketo identity refused the client credentials (HTTP {}: {} {}); check the connection's client id and secret",
                        status.as_u16(),
                        oauth.error,
                        oauth.error_description
                    ),
                })
            }
            _ => Err(from_status(status, &headers, &body)),
        }
    }
}

/// 601/602 (and the legacy 600): authenticate again, then retry (§3.2).
fn is_token_code(code: &str) -> bool {
    matches!(code, "600" | "601" | "602")
}

/// The first error of an envelope that says `success: false`, with its request id.
fn refusal(headers: &HeaderMap, body: &[u8]) -> Option<(ApiError, Option<String>)> {
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
fn first_batch(body: &[u8]) -> Result<Batch, ProviderError> {
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
fn transport(e: reqwest::Error) -> ProviderError {
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
fn lost_import(e: ProviderError, path: &str) -> ProviderError {
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
fn snippet(body: &[u8]) -> String {
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

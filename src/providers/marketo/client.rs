//! Marketo over HTTP: the client-credentials token (cached until shortly before it expires,
//! renewed and the call retried once on 601/602), one method per remote call, and the rate
//! limiter before every request. Failures are classified by `errors` (marketo.md §3, §4, §10).
//!
//! It never formats a secret or a URL that carries one (reqwest errors lose their URL before
//! they become messages), and it holds no retry loop besides the documented token renewal.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use reqwest::{RequestBuilder, StatusCode};

use super::errors::{
    Call, first_batch, from_code, from_status, is_token_code, lost_import, refusal, snippet,
    transport,
};
use super::wire::{Batch, OAuthError, Token};
use crate::providers::{ClientContext, Limiter, ProviderError, Secret};

/// Renew a token this long before it expires (clients typically renew under 60 s, §3.2).
const RENEW_MARGIN: Duration = Duration::from_secs(60);

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

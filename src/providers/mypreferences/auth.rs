//! OAuth 2.0 client credentials (notes §3.2): a bearer token fetched from the token endpoint
//! with the `user`/`password` credentials in a Basic header and `scope = <clientId>/<user>`,
//! cached until shortly before it expires, and dropped when the API refuses it (the client
//! then fetches a new one and retries once).
//!
//! Secrets stay in `Secret` values; no message built here contains one.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use tokio::sync::Mutex;

use super::classify::{self, Failure, Op};
use super::wire::{TokenError, TokenResponse};
use crate::providers::{Limiter, ProviderError, Secret};

/// A token is renewed this long before the end of its announced lifetime.
const EARLY_RENEWAL: Duration = Duration::from_secs(60);

/// Where and how to get a token.
pub struct TokenSource {
    pub url: String,
    pub user: Secret,
    pub password: Secret,
    /// `<clientId>/<user>`.
    pub scope: Secret,
}

struct Bearer {
    token: Secret,
    /// `None` when the endpoint announced no lifetime: kept until refused.
    renew_at: Option<Instant>,
}

/// The cached bearer token of one client.
pub struct Auth {
    source: TokenSource,
    bearer: Mutex<Option<Bearer>>,
}

impl Auth {
    pub fn new(source: TokenSource) -> Self {
        Self {
            source,
            bearer: Mutex::new(None),
        }
    }

    /// A usable bearer token, fetched when none is cached or the cached one is due. The lock
    /// is held while fetching so concurrent calls share one token request.
    pub async fn token(
        &self,
        http: &reqwest::Client,
        limiter: &Limiter,
    ) -> Result<Secret, Failure> {
        let mut cached = self.bearer.lock().await;
        if let Some(b) = cached.as_ref()
            && b.renew_at.is_none_or(|at| Instant::now() < at)
        {
            return Ok(b.token.clone());
        }
        let fresh = self.fetch(http, limiter).await?;
        let token = fresh.token.clone();
        *cached = Some(fresh);
        Ok(token)
    }

    /// Forgets `refused` (if it is still the cached token), so the next call fetches anew.
    pub async fn invalidate(&self, refused: &Secret) {
        let mut cached = self.bearer.lock().await;
        if cached.as_ref().is_some_and(|b| &b.token == refused) {
            *cached = None;
        }
    }

    async fn fetch(&self, http: &reqwest::Client, limiter: &Limiter) -> Result<Bearer, Failure> {
        limiter.until_ready().await;
        let s = &self.source;
        let form = [
            ("grant_type", "client_credentials"),
            ("scope", s.scope.expose()),
        ];
        let response = http
            .post(&s.url)
            .basic_auth(s.user.expose(), Some(s.password.expose()))
            .form(&form)
            .send()
            .await
            .map_err(|e| classify::transport(Op::Token, e))?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = response
            .bytes()
            .await
            .map_err(|e| classify::transport(Op::Token, e))?;
        if !status.is_success() {
            return Err(refused(status, &headers, &body));
        }
        let parsed: TokenResponse = serde_json::from_slice(&body).map_err(|e| {
            Failure::permanent(format!(
                "MyPreferences token response is not understood: {e}"
            ))
        })?;
        if parsed.access_token.is_empty() {
            return Err(Failure::permanent(
                "MyPreferences token response has no access_token".into(),
            ));
        }
        let renew_at = parsed
            .expires_in
            .map(|secs| Instant::now() + Duration::from_secs(secs).saturating_sub(EARLY_RENEWAL));
        Ok(Bearer {
            token: Secret::new(parsed.access_token),
            renew_at,
        })
    }
}

/// A refused token request: 400/401 (bad client, secret or scope) are permanent, the rest is
/// classified like any call.
fn refused(status: StatusCode, headers: &reqwest::header::HeaderMap, body: &[u8]) -> Failure {
    if matches!(status.as_u16(), 400 | 401 | 403) {
        let oauth: TokenError = serde_json::from_slice(body).unwrap_or_default();
        let why = [oauth.error, oauth.error_description]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(": ");
        let message = format!(
            "MyPreferences refused the token request ({status}{}{why}); check the connection's client id, user and password",
            if why.is_empty() { "" } else { ", " }
        );
        return Failure {
            status: Some(status),
            error: ProviderError::Permanent { message },
        };
    }
    classify::http(Op::Token, status, headers, body)
}

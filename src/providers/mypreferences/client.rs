//! HTTP calls to the MyPreferences bulk-import API: one method per operation (Initiate, Stage,
//! Execute, Retrieve status, Retrieve exceptions), each waiting on the rate limiter, carrying
//! the bearer token, re-authenticating once when the token is refused, and classifying every
//! failure (`classify.rs`).
//!
//! No retry loops here (the executor owns them) and no knowledge of batches or records.

use std::sync::Arc;

use bytes::Bytes;
use reqwest::header::{ACCEPT, CONTENT_TYPE};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;

use super::auth::{Auth, TokenSource};
use super::classify::{self, Failure, Op};
use super::config::Settings;
use super::wire::{ExceptionsPage, ImportStatus, InitiateRequest};
use crate::providers::{ClientContext, Limiter, ProviderError, Secret};

/// A client of one account.
pub struct Client {
    http: reqwest::Client,
    limiter: Arc<Limiter>,
    base_url: String,
    /// The MyPreferences account id (`clientId` in the paths).
    account: Secret,
    settings: Settings,
    auth: Auth,
}

impl Client {
    pub fn new(cx: ClientContext, settings: Settings) -> Result<Self, ProviderError> {
        let ep = &cx.endpoint;
        let account = ep.credential("client_id")?.clone();
        let user = ep.credential("user")?.clone();
        let password = ep.credential("password")?.clone();
        let base_url = ep.base_url.trim_end_matches('/').to_owned();
        let source = TokenSource {
            url: format!("{base_url}{}", settings.routes.token),
            scope: Secret::new(format!("{}/{}", account.expose(), user.expose())),
            user,
            password,
        };
        Ok(Self {
            http: cx.http,
            limiter: cx.limiter,
            base_url,
            account,
            settings,
            auth: Auth::new(source),
        })
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    pub async fn initiate(&self, request: &InitiateRequest) -> Result<ImportStatus, Failure> {
        let body = serde_json::to_vec(request)
            .map_err(|e| Failure::permanent(format!("cannot write the Initiate body: {e}")))?;
        let url = self.url(&self.settings.routes.initiate, None);
        decode(
            Op::Initiate,
            &self
                .call(Op::Initiate, Method::POST, &url, Some(body.into()), &[])
                .await?,
        )
    }

    pub async fn stage(&self, token: &str, body: Bytes) -> Result<ImportStatus, Failure> {
        let url = self.url(&self.settings.routes.stage, Some(token));
        decode(
            Op::Stage,
            &self
                .call(Op::Stage, Method::POST, &url, Some(body), &[])
                .await?,
        )
    }

    pub async fn execute(&self, token: &str) -> Result<ImportStatus, Failure> {
        let url = self.url(&self.settings.routes.execute, Some(token));
        decode(
            Op::Execute,
            &self
                .call(Op::Execute, Method::POST, &url, Some(Bytes::new()), &[])
                .await?,
        )
    }

    pub async fn status(&self, token: &str) -> Result<ImportStatus, Failure> {
        let url = self.url(&self.settings.routes.status, Some(token));
        decode(
            Op::Status,
            &self.call(Op::Status, Method::GET, &url, None, &[]).await?,
        )
    }

    /// One page of exceptions; `offset` is 1-based (notes §4.5).
    pub async fn exceptions(
        &self,
        token: &str,
        offset: u64,
        limit: u32,
    ) -> Result<ExceptionsPage, Failure> {
        let url = self.url(&self.settings.routes.exceptions, Some(token));
        let query = [("limit", limit.to_string()), ("offset", offset.to_string())];
        decode(
            Op::Exceptions,
            &self
                .call(Op::Exceptions, Method::GET, &url, None, &query)
                .await?,
        )
    }

    fn url(&self, template: &str, token: Option<&str>) -> String {
        let path = template.replace("{clientId}", &encode_segment(self.account.expose()));
        let path = match token {
            Some(t) => path.replace("{accessToken}", &encode_segment(t)),
            None => path,
        };
        format!("{}{path}", self.base_url)
    }

    /// One request; a 401 is answered by fetching a new bearer token and sending once more.
    async fn call(
        &self,
        op: Op,
        method: Method,
        url: &str,
        body: Option<Bytes>,
        query: &[(&str, String)],
    ) -> Result<Bytes, Failure> {
        let mut refreshed = false;
        loop {
            let bearer = self.auth.token(&self.http, &self.limiter).await?;
            self.limiter.until_ready().await;
            let mut request = self
                .http
                .request(method.clone(), url)
                .bearer_auth(bearer.expose())
                .header(ACCEPT, "application/json");
            if let Some(body) = &body {
                request = request
                    .header(CONTENT_TYPE, "application/json")
                    .body(body.clone());
            }
            if !query.is_empty() {
                request = request.query(query);
            }
            let response = request
                .send()
                .await
                .map_err(|e| classify::transport(op, e))?;
            let status = response.status();
            let headers = response.headers().clone();
            let bytes = response
                .bytes()
                .await
                .map_err(|e| classify::transport(op, e))?;
            if status.is_success() {
                return Ok(bytes);
            }
            if status == StatusCode::UNAUTHORIZED && !refreshed {
                // The bearer may have expired before its announced lifetime: renew it once.
                self.auth.invalidate(&bearer).await;
                refreshed = true;
                continue;
            }
            return Err(classify::http(op, status, &headers, &bytes));
        }
    }
}

fn decode<T: DeserializeOwned>(op: Op, body: &[u8]) -> Result<T, Failure> {
    serde_json::from_slice(body).map_err(|e| {
        Failure::permanent(format!(
            "MyPreferences {} answer is not understood: {e}",
            op.name()
        ))
    })
}

/// Percent-encodes one path segment (RFC 3986 unreserved characters pass).
fn encode_segment(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::encode_segment;

    #[test]
    fn path_segments_are_escaped() {
        assert_eq!(encode_segment("ACME_CORP"), "ACME_CORP");
        assert_eq!(encode_segment("a/b c"), "a%2Fb%20c");
    }
}

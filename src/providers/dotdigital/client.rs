//! HTTP calls to the Dotdigital v2 bulk insight data import: start an import, read its status,
//! read its report (../shared/providers/dotdigital.md §4.1). One method per call; each waits
//! for the shared rate limiter, authenticates with HTTP Basic (no tokens: the API user's
//! credentials go with every call, §3) and turns any failure into a classified `ProviderError`.
//!
//! No retries, no polling loops: the executor owns those. Credentials are only ever handed to
//! reqwest's `basic_auth`; they are never formatted, logged or put in a message.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use reqwest::header::{ACCEPT, CONTENT_TYPE};
use reqwest::{RequestBuilder, StatusCode};
use serde::de::DeserializeOwned;

use super::config::CALL_TIMEOUT;
use super::errors;
use super::wire::{Import, Report};
use crate::providers::{ClientContext, Limiter, ProviderError, Secret};

/// Path of the bulk import calls, below the regional base URL.
const IMPORTS: &str = "/v2/contacts/transactional-data/import";

/// A Dotdigital API client for one API user.
pub struct Client {
    http: reqwest::Client,
    base_url: String,
    user: Secret,
    password: Secret,
    limiter: Arc<Limiter>,
    timeout: Duration,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client from the job's context; fails when a credential is missing.
    pub fn new(cx: &ClientContext) -> Result<Self, ProviderError> {
        Ok(Self {
            http: cx.http.clone(),
            base_url: cx.endpoint.base_url.trim_end_matches('/').to_owned(),
            user: cx.endpoint.credential("user")?.clone(),
            password: cx.endpoint.credential("password")?.clone(),
            limiter: Arc::clone(&cx.limiter),
            timeout: CALL_TIMEOUT,
        })
    }

    /// Overrides the per-call timeout (tests use a short one).
    pub fn set_timeout(&mut self, timeout: Duration) {
        self.timeout = timeout;
    }

    /// `POST .../import/{collectionName}` with an encoded JSON array of records; the answer is
    /// 202 with the new import's id. `collection` must already be a valid name (letters,
    /// digits, `_`, `-`), so it needs no escaping in the path.
    pub async fn start_import(
        &self,
        collection: &str,
        body: Bytes,
    ) -> Result<Import, ProviderError> {
        let url = format!("{}{IMPORTS}/{collection}", self.base_url);
        let request = self
            .http
            .post(url)
            .header(CONTENT_TYPE, "application/json")
            .body(body);
        self.call("bulk import", request).await
    }

    /// `GET .../import/{importId}`: the import's status.
    pub async fn import_status(&self, import_id: &str) -> Result<Import, ProviderError> {
        let url = format!("{}{IMPORTS}/{}", self.base_url, checked_id(import_id)?);
        self.call("import status", self.http.get(url)).await
    }

    /// `GET .../import/{importId}/report`: counters and one fault per rejected record.
    pub async fn import_report(&self, import_id: &str) -> Result<Report, ProviderError> {
        let url = format!(
            "{}{IMPORTS}/{}/report",
            self.base_url,
            checked_id(import_id)?
        );
        self.call("import report", self.http.get(url)).await
    }

    /// Sends one request after the rate limiter allows it, and parses a success answer.
    async fn call<T: DeserializeOwned>(
        &self,
        what: &str,
        request: RequestBuilder,
    ) -> Result<T, ProviderError> {
        self.limiter.until_ready().await;
        let response = request
            .basic_auth(self.user.expose(), Some(self.password.expose()))
            .header(ACCEPT, "application/json")
            .timeout(self.timeout)
            .send()
            .await
            .map_err(|e| errors::transport(what, &e))?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = response
            .bytes()
            .await
            .map_err(|e| errors::transport(what, &e))?;
        if !status.is_success() {
            return Err(errors::classify(what, status, &headers, &body));
        }
        parse(what, status, &body)
    }
}

fn parse<T: DeserializeOwned>(
    what: &str,
    status: StatusCode,
    body: &[u8],
) -> Result<T, ProviderError> {
    serde_json::from_slice(body).map_err(|e| errors::unexpected(what, status, &e))
}

/// An import id is a GUID; anything else (a damaged journal entry) must not reach the URL.
fn checked_id(id: &str) -> Result<&str, ProviderError> {
    if !id.is_empty() && id.len() <= 64 && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    {
        Ok(id)
    } else {
        Err(ProviderError::Permanent {
            message: format!("`{id}` is not a Dotdigital import id"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn import_ids_are_guids() {
        assert!(checked_id("0f6b8a52-3c1e-4d7a-9b55-7e2f4c1a9d03").is_ok());
        for bad in ["", "../account-info", "a b", "x?y=1"] {
            assert!(checked_id(bad).is_err(), "{bad}");
        }
    }
}

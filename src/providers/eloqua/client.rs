//! HTTP calls to the Eloqua Bulk API 2.0: one method per call, HTTP Basic `Site\User:password`
//! on every request, the Bulk base URL discovered once through `{login}/id` (eloqua.md §3), the
//! rate limiter awaited before every request, and every failure classified (`classify`).
//!
//! Basic credentials do not expire, so there is no token to refresh: a 401 is permanent. The
//! discovered base is kept for the client's life (one job of one run). URIs the API returns
//! (`/contacts/imports/43`, `/syncs/3456`) are only ever appended to that base, never followed
//! as URLs. Nothing here retries, loops on a status or formats a credential.

use bytes::Bytes;
use reqwest::header::{CONTENT_TYPE, HeaderMap};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::Value;
use tokio::sync::OnceCell;

use super::classify::{self, Call};
use super::wire::{Created, IdDocument, LogItem, Page, Reject, Sync, SyncRequest};
use crate::providers::{ClientContext, ProviderError, Secret};

/// Bulk API version substituted into the `/id` URL template.
const BULK_VERSION: &str = "2.0";

/// An Eloqua Bulk API client for one job.
pub struct Client {
    cx: ClientContext,
    /// `Site\User`, the Basic user name.
    login_name: Secret,
    password: Secret,
    /// The Bulk base (`https://secure.p03.eloqua.com/API/Bulk/2.0`), without trailing `/`.
    bulk: OnceCell<String>,
}

impl Client {
    pub fn new(cx: ClientContext) -> Result<Self, ProviderError> {
        let site = cx.endpoint.credential("site")?.expose();
        let user = cx.endpoint.credential("user")?.expose();
        let login_name = Secret::new(format!("{site}\\{user}"));
        let password = cx.endpoint.credential("password")?.clone();
        Ok(Self {
            cx,
            login_name,
            password,
            bulk: OnceCell::new(),
        })
    }

    /// Creates an import definition under `collection` (e.g. `/contacts/imports`); its URI.
    pub async fn create_definition(
        &self,
        collection: &str,
        definition: &Value,
    ) -> Result<String, ProviderError> {
        let body = serde_json::to_vec(definition).map_err(|e| ProviderError::Permanent {
            message: format!("cannot encode the import definition: {e}"),
        })?;
        let created: Created = self
            .json(
                Method::POST,
                collection,
                Call::Other,
                Some(Bytes::from(body)),
            )
            .await?;
        relative(&created.uri)?;
        Ok(created.uri)
    }

    /// Stages one upload on a definition. 201 (a sync was triggered) and 204 both succeed.
    pub async fn upload(&self, definition: &str, body: Bytes) -> Result<(), ProviderError> {
        let path = format!("{}/data", relative(definition)?);
        self.call(Method::POST, &path, Call::Upload, Some(body))
            .await
            .map(drop)
    }

    /// Starts a sync of a definition.
    pub async fn create_sync(&self, definition: &str) -> Result<Sync, ProviderError> {
        let request = SyncRequest {
            synced_instance_uri: relative(definition)?,
        };
        let body = serde_json::to_vec(&request).map_err(|e| ProviderError::Permanent {
            message: format!("cannot encode the sync request: {e}"),
        })?;
        let sync: Sync = self
            .json(Method::POST, "/syncs", Call::Other, Some(Bytes::from(body)))
            .await?;
        relative(&sync.uri)?;
        Ok(sync)
    }

    /// Reads a sync.
    pub async fn sync(&self, sync: &str) -> Result<Sync, ProviderError> {
        self.json(Method::GET, relative(sync)?, Call::Other, None)
            .await
    }

    /// One page of the instance's syncs.
    pub async fn syncs(&self, offset: u64, limit: u64) -> Result<Page<Sync>, ProviderError> {
        self.json(
            Method::GET,
            &format!("/syncs?limit={limit}&offset={offset}"),
            Call::Other,
            None,
        )
        .await
    }

    /// One page of a sync's rejects.
    pub async fn rejects(
        &self,
        sync: &str,
        offset: u64,
        limit: u64,
    ) -> Result<Page<Reject>, ProviderError> {
        let path = format!("{}/rejects?limit={limit}&offset={offset}", relative(sync)?);
        self.json(Method::GET, &path, Call::Other, None).await
    }

    /// One page of a sync's logs.
    pub async fn logs(
        &self,
        sync: &str,
        offset: u64,
        limit: u64,
    ) -> Result<Page<LogItem>, ProviderError> {
        let path = format!("{}/logs?limit={limit}&offset={offset}", relative(sync)?);
        self.json(Method::GET, &path, Call::Other, None).await
    }

    /// Deletes a definition; one that is already gone (404, 410) counts as deleted.
    pub async fn delete_definition(&self, definition: &str) -> Result<(), ProviderError> {
        let path = relative(definition)?;
        let what = format!("DELETE {path}");
        let request = self
            .cx
            .http
            .delete(format!("{}{path}", self.bulk_base().await?));
        let (status, headers, bytes) = self.exchange(&what, Call::Other, request).await?;
        match status {
            s if s.is_success() || s == StatusCode::NOT_FOUND || s == StatusCode::GONE => Ok(()),
            s => Err(classify::status(&what, Call::Other, s, &headers, &bytes)),
        }
    }

    /// A call whose success body is JSON of type `T`.
    async fn json<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        call: Call,
        body: Option<Bytes>,
    ) -> Result<T, ProviderError> {
        let what = format!("{method} {}", strip_query(path));
        let bytes = self.call(method, path, call, body).await?;
        serde_json::from_slice(&bytes).map_err(|e| classify::unexpected(&what, &e, &bytes))
    }

    /// One request below the Bulk base; the success body, or the classified failure.
    async fn call(
        &self,
        method: Method,
        path: &str,
        call: Call,
        body: Option<Bytes>,
    ) -> Result<Bytes, ProviderError> {
        let what = format!("{method} {}", strip_query(path));
        let url = format!("{}{path}", self.bulk_base().await?);
        let mut request = self.cx.http.request(method, url);
        if let Some(body) = body {
            request = request.header(CONTENT_TYPE, "application/json").body(body);
        }
        self.send(&what, call, request).await
    }

    /// Sends; the success body, or the classified failure.
    async fn send(
        &self,
        what: &str,
        call: Call,
        request: reqwest::RequestBuilder,
    ) -> Result<Bytes, ProviderError> {
        let (status, headers, bytes) = self.exchange(what, call, request).await?;
        if status.is_success() {
            Ok(bytes)
        } else {
            Err(classify::status(what, call, status, &headers, &bytes))
        }
    }

    /// Sends with Basic auth once the limiter allows it and reads the whole answer; only a
    /// request that got no answer is an error here.
    async fn exchange(
        &self,
        what: &str,
        call: Call,
        request: reqwest::RequestBuilder,
    ) -> Result<(StatusCode, HeaderMap, Bytes), ProviderError> {
        self.cx.limiter.until_ready().await;
        let request = request.basic_auth(self.login_name.expose(), Some(self.password.expose()));
        let response = request
            .send()
            .await
            .map_err(|e| classify::transport(what, call, &e))?;
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response
            .bytes()
            .await
            .map_err(|e| classify::transport(what, call, &e))?;
        Ok((status, headers, bytes))
    }

    /// The Bulk base, discovered on first use.
    async fn bulk_base(&self) -> Result<&str, ProviderError> {
        self.bulk
            .get_or_try_init(|| self.discover())
            .await
            .map(String::as_str)
    }

    /// `GET {login}/id` (§3.3): the Bulk URL template with the version filled in. Bad
    /// credentials answer 200 with the JSON string "Not authenticated.".
    async fn discover(&self) -> Result<String, ProviderError> {
        let login = self.cx.endpoint.base_url.trim_end_matches('/');
        let what = format!("GET {login}/id");
        let bytes = self
            .send(&what, Call::Other, self.cx.http.get(format!("{login}/id")))
            .await?;
        let value: Value =
            serde_json::from_slice(&bytes).map_err(|e| classify::unexpected(&what, &e, &bytes))?;
        if let Value::String(text) = &value {
            return Err(ProviderError::Permanent {
                message: format!(
                    "Eloqua refused the credentials at {login}/id: {text} (check the connection's site, user and password)"
                ),
            });
        }
        let id: IdDocument =
            serde_json::from_value(value).map_err(|e| classify::unexpected(&what, &e, &bytes))?;
        let bulk = id.urls.apis.rest.bulk.replace("{version}", BULK_VERSION);
        let bulk = bulk.trim_end_matches('/');
        if !(bulk.starts_with("https://") || bulk.starts_with("http://")) {
            return Err(ProviderError::Permanent {
                message: format!("{what} gave a Bulk API URL that is not http(s): {bulk}"),
            });
        }
        Ok(bulk.to_string())
    }
}

/// Checks that a URI from the API or the journal is a plain path below the Bulk base
/// (`/syncs/12`), so it can never point the client at another host.
pub fn relative(uri: &str) -> Result<&str, ProviderError> {
    let ok = uri.starts_with('/')
        && !uri.starts_with("//")
        && !uri.contains("..")
        && uri
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'_' | b'-' | b'.'));
    if ok {
        Ok(uri)
    } else {
        Err(ProviderError::Permanent {
            message: format!("`{uri}` is not an Eloqua resource URI such as /syncs/12"),
        })
    }
}

fn strip_query(path: &str) -> &str {
    path.split_once('?').map_or(path, |(p, _)| p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_paths_are_accepted() {
        assert_eq!(relative("/syncs/12"), Ok("/syncs/12"));
        assert_eq!(
            relative("/opportunities/contacts/imports/3"),
            Ok("/opportunities/contacts/imports/3")
        );
        for bad in [
            "https://evil.example/syncs/1",
            "//evil.example/x",
            "syncs/1",
            "/syncs/../id",
            "/syncs/1?x=y",
            "/syncs/1@x",
            "",
        ] {
            assert!(relative(bad).is_err(), "{bad}");
        }
    }
}

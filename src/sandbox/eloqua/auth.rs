//! Authentication (§3): Basic `Site\User:Password` against the user table, Bearer tokens issued
//! by the emulator's `POST /auth/oauth2/token` (password and refresh-token grants), and the
//! `GET /id` base-URL discovery whose URLs point back at this sandbox.
//!
//! Bulk paths answer 401 to bad credentials; `/id` answers 200 with the JSON string
//! `"Not authenticated."`, as Eloqua does. This module does not touch definitions or syncs.

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rand::Rng;
use serde::Deserialize;

use super::Eloqua;
use super::errors::ApiError;
use super::settings::Token;
use super::store::Store;
use super::time::Nanos;
use super::wire::{
    IdApis, IdResponse, IdRest, IdSite, IdSoap, IdUrls, IdUser, OAuthError, TokenResponse,
};

/// Token lifetime when no fault overrides it (a client fixture shows `expires_in: 28800`).
const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(28_800);

/// The authenticated caller, put in the request extensions by `require_auth`.
#[derive(Debug, Clone)]
pub struct Caller {
    pub site: String,
    pub user: String,
}

/// Middleware of the Bulk routes: 401 unless Basic or Bearer credentials are valid.
pub async fn require_auth(
    State(emu): State<Arc<Eloqua>>,
    mut request: Request,
    next: Next,
) -> Response {
    let caller = {
        let mut store = emu.lock();
        let now = store.now(emu.shared.now());
        authenticate(&mut store, request.headers(), now)
    };
    match caller {
        Some(caller) => {
            request.extensions_mut().insert(caller);
            next.run(request).await
        }
        None => ApiError::Unauthorized.into_response(),
    }
}

/// Checks the Authorization header against users and issued tokens.
pub fn authenticate(store: &mut Store, headers: &HeaderMap, now: Nanos) -> Option<Caller> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, credentials) = value.split_once(' ')?;
    if scheme.eq_ignore_ascii_case("basic") {
        let (login, password) = decode_basic(credentials)?;
        let (site, user) = login.split_once('\\')?;
        let known = store
            .settings
            .users
            .iter()
            .any(|u| u.site == site && u.user == user && u.password == password);
        return known.then(|| Caller {
            site: site.to_string(),
            user: user.to_string(),
        });
    }
    if scheme.eq_ignore_ascii_case("bearer") {
        store.tokens.retain(|_, t| t.expires_at > now);
        let token = store
            .tokens
            .get(credentials.trim())
            .filter(|t| !t.refresh)?;
        return Some(Caller {
            site: token.site.clone(),
            user: token.user.clone(),
        });
    }
    None
}

/// `GET /id`: the §3.3 document, or the JSON string "Not authenticated." with status 200.
pub async fn id(State(emu): State<Arc<Eloqua>>, headers: HeaderMap) -> Response {
    let (caller, site_id, user_id) = {
        let mut store = emu.lock();
        let now = store.now(emu.shared.now());
        let Some(caller) = authenticate(&mut store, &headers, now) else {
            return Json("Not authenticated.").into_response();
        };
        let index = store
            .settings
            .users
            .iter()
            .position(|u| u.site == caller.site && u.user == caller.user);
        let index = u64::try_from(index.unwrap_or(0)).unwrap_or(0);
        (caller, 1000 + index, 10 + index)
    };
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1");
    let base = format!("http://{host}/eloqua");
    Json(IdResponse {
        site: IdSite {
            id: site_id,
            name: caller.site.clone(),
        },
        user: IdUser {
            id: user_id,
            username: caller.user.clone(),
            display_name: caller.user.clone(),
            first_name: caller.user.clone(),
            last_name: caller.site.clone(),
            email_address: format!(
                "{}@{}.example.com",
                caller.user,
                caller.site.to_ascii_lowercase()
            ),
        },
        urls: IdUrls {
            apis: IdApis {
                soap: IdSoap {
                    standard: format!("{base}/API/{{version}}/Service.svc"),
                    data_transfer: format!("{base}/API/{{version}}/DataTransferService.svc"),
                    email: format!("{base}/API/{{version}}/EmailService.svc"),
                    external_action: format!("{base}/API/{{version}}/ExternalActionService.svc"),
                },
                rest: IdRest {
                    standard: format!("{base}/API/REST/{{version}}/"),
                    bulk: format!("{base}/API/Bulk/{{version}}/"),
                },
            },
            base,
        },
    })
    .into_response()
}

/// Body of the token request; Eloqua's examples send JSON, OAuth clients often send a form.
#[derive(Debug, Deserialize)]
pub struct TokenRequest {
    grant_type: String,
    username: Option<String>,
    password: Option<String>,
    refresh_token: Option<String>,
}

/// `POST /auth/oauth2/token` with `Basic base64(client_id:client_secret)`.
pub async fn token(
    State(emu): State<Arc<Eloqua>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let Some(request) = parse_token_request(&headers, &body) else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "grant_type is required",
        );
    };
    let lifetime = emu.shared.token_lifetime(DEFAULT_TOKEN_LIFETIME);
    let mut store = emu.lock();
    let now = store.now(emu.shared.now());
    if !known_client(&store, &headers) {
        let description = "Unknown client or bad client secret";
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", description);
    }
    let (site, user) = match grant(&mut store, request, now) {
        Ok(caller) => caller,
        Err((error, description)) => {
            return oauth_error(StatusCode::BAD_REQUEST, error, &description);
        }
    };
    let access = emu.shared.with_rng(random_token);
    let refresh = emu.shared.with_rng(random_token);
    let expires_at = now.saturating_add(u64::try_from(lifetime.as_nanos()).unwrap_or(u64::MAX));
    let token = Token {
        site: site.clone(),
        user: user.clone(),
        expires_at,
        refresh: false,
    };
    store.tokens.insert(access.clone(), token);
    // Refresh tokens outlive access tokens; a year stands for "long".
    let expires_at = now.saturating_add(365 * 86_400 * 1_000_000_000);
    store.tokens.insert(
        refresh.clone(),
        Token {
            site,
            user,
            expires_at,
            refresh: true,
        },
    );
    Json(TokenResponse {
        access_token: access,
        token_type: "bearer".into(),
        expires_in: lifetime.as_secs(),
        refresh_token: refresh,
    })
    .into_response()
}

/// Whether the request carries the Basic credentials of a known OAuth client.
fn known_client(store: &Store, headers: &HeaderMap) -> bool {
    let client = headers
        .get(header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok())
        .and_then(|v| v.trim().split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("basic"))
        .and_then(|(_, credentials)| decode_basic(credentials));
    client.is_some_and(|(id, secret)| {
        store
            .settings
            .clients
            .iter()
            .any(|(i, s)| *i == id && *s == secret)
    })
}

/// The user a grant authenticates, or the OAuth error code and description.
fn grant(
    store: &mut Store,
    request: TokenRequest,
    now: Nanos,
) -> Result<(String, String), (&'static str, String)> {
    match request.grant_type.as_str() {
        "password" => {
            let login = request.username.unwrap_or_default();
            let password = request.password.unwrap_or_default();
            let (site, user) = login.split_once('\\').unwrap_or(("", ""));
            let found = store
                .settings
                .users
                .iter()
                .find(|u| u.site == site && u.user == user && u.password == password);
            found
                .map(|u| (u.site.clone(), u.user.clone()))
                .ok_or(("invalid_grant", "Bad user name or password".to_string()))
        }
        "refresh_token" => {
            store.tokens.retain(|_, t| t.expires_at > now);
            let key = request.refresh_token.unwrap_or_default();
            match store.tokens.remove(&key).filter(|t| t.refresh) {
                Some(t) => Ok((t.site, t.user)),
                None => Err(("invalid_grant", "Unknown refresh token".to_string())),
            }
        }
        other => Err((
            "unsupported_grant_type",
            format!("{other} is not supported"),
        )),
    }
}

fn parse_token_request(headers: &HeaderMap, body: &[u8]) -> Option<TokenRequest> {
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return serde_json::from_slice(body).ok();
    }
    let text = std::str::from_utf8(body).ok()?;
    let mut map = serde_json::Map::new();
    for pair in text.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        map.insert(
            percent_decode(k)?,
            serde_json::Value::String(percent_decode(v)?),
        );
    }
    serde_json::from_value(serde_json::Value::Object(map)).ok()
}

/// Decodes one form component (`+` is a space, `%XX` a byte).
fn percent_decode(text: &str) -> Option<String> {
    let mut out = Vec::with_capacity(text.len());
    let mut bytes = text.bytes();
    while let Some(b) = bytes.next() {
        match b {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = [bytes.next()?, bytes.next()?];
                out.push(u8::from_str_radix(std::str::from_utf8(&hex).ok()?, 16).ok()?);
            }
            _ => out.push(b),
        }
    }
    String::from_utf8(out).ok()
}

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        Json(OAuthError {
            error: error.into(),
            error_description: description.into(),
        }),
    )
        .into_response()
}

fn random_token(rng: &mut rand::rngs::StdRng) -> String {
    (0..4)
        .map(|_| format!("{:016x}", rng.random::<u64>()))
        .collect()
}

/// Decodes `base64(login:password)`.
fn decode_basic(encoded: &str) -> Option<(String, String)> {
    let bytes = base64_decode(encoded.trim())?;
    let text = String::from_utf8(bytes).ok()?;
    let (login, password) = text.split_once(':')?;
    Some((login.to_string(), password.to_string()))
}

/// Standard base64 (RFC 4648) with optional padding; small enough not to need a crate.
fn base64_decode(input: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(input.len() * 3 / 4);
    let mut acc: u32 = 0;
    let mut bits = 0;
    for c in input.bytes().filter(|&c| c != b'=') {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(u8::try_from((acc >> bits) & 0xff).ok()?);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_decodes_basic_credentials() {
        // "Sandbox\sandbox:sandbox"
        let decoded = decode_basic("U2FuZGJveFxzYW5kYm94OnNhbmRib3g=");
        assert_eq!(
            decoded,
            Some(("Sandbox\\sandbox".to_string(), "sandbox".to_string()))
        );
        assert_eq!(base64_decode("a$b"), None);
    }
}

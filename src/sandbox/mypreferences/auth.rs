//! Authentication (§3, §11 items 2–3). Both documented schemes are accepted:
//!
//! - `PNAUTHINFO3[-HMAC]-SHA256|SHA384|SHA512 Credential=<UserId>/<IssuedTimestamp> Signature=<base64>`:
//!   scheme, user, ISO-8601 timestamp, not in the future, at most 15 minutes old
//!   (configurable). The string-to-sign is not in the notes, so the signature is only checked
//!   to be present and valid base64.
//! - OAuth 2.0 client credentials (`scope = ClientId/UserId`) and `Bearer` tokens bound to
//!   that account and user.
//!
//! Failures carry the vendor's documented 401 reasons. This module decides; it does not
//! build HTTP responses.

use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::clock::parse_iso;
use super::store::{Account, State};
use super::wire::TokenRequest;

pub const MISSING: &str = "Missing Authorization Header";
pub const BAD_SCHEME: &str = "The scheme is invalid";
pub const BAD_DATE: &str = "The specified date does not match an expected ISO 8601 format";
pub const BAD_TIME: &str =
    "The difference between the issued timestamp and the current time is too large";
pub const GENERIC: &str = "Unable to authenticate request";

/// Checks the `Authorization` header for `account`; returns the calling user id or the
/// documented 401 reason.
pub fn authenticate(
    state: &State,
    account: &Account,
    headers: &HeaderMap,
    now: u64,
    validity_secs: u64,
) -> Result<String, &'static str> {
    let value = headers
        .get(AUTHORIZATION)
        .ok_or(MISSING)?
        .to_str()
        .map_err(|_| GENERIC)?
        .trim();
    let (scheme, params) = value.split_once(' ').unwrap_or((value, ""));
    if scheme.eq_ignore_ascii_case("Bearer") {
        return bearer(state, account, params.trim(), now);
    }
    if !valid_scheme(scheme) {
        return Err(BAD_SCHEME);
    }
    let credential = param(params, "Credential").ok_or(GENERIC)?;
    let signature = param(params, "Signature").ok_or(GENERIC)?;
    let (user_id, issued) = credential.split_once('/').ok_or(GENERIC)?;
    let issued = parse_iso(issued).ok_or(BAD_DATE)?;
    if issued > now || now - issued > validity_secs {
        return Err(BAD_TIME);
    }
    if signature.is_empty() || STANDARD.decode(signature).is_err() {
        return Err(GENERIC);
    }
    account.user(user_id).map(|u| u.id.clone()).ok_or(GENERIC)
}

/// `PNAUTHINFO3-<hash>` or `PNAUTHINFO3-HMAC-<hash>`, case-insensitive.
fn valid_scheme(scheme: &str) -> bool {
    let upper = scheme.to_ascii_uppercase();
    let Some(rest) = upper.strip_prefix("PNAUTHINFO3-") else {
        return false;
    };
    let hash = rest.strip_prefix("HMAC-").unwrap_or(rest);
    matches!(hash, "SHA256" | "SHA384" | "SHA512")
}

/// The value of `name=...` among space- or comma-separated parameters.
fn param<'a>(params: &'a str, name: &str) -> Option<&'a str> {
    params
        .split([' ', ','])
        .filter(|p| !p.is_empty())
        .find_map(|p| {
            let (key, value) = p.split_once('=')?;
            key.trim()
                .eq_ignore_ascii_case(name)
                .then(|| value.trim().trim_matches('"'))
        })
}

fn bearer(state: &State, account: &Account, token: &str, now: u64) -> Result<String, &'static str> {
    let issued = state.oauth_tokens.get(token).ok_or(GENERIC)?;
    if issued.expires_at <= now || issued.client_id != account.client_id {
        return Err(GENERIC);
    }
    account
        .user(&issued.user_id)
        .map(|u| u.id.clone())
        .ok_or(GENERIC)
}

/// Client credentials from a Basic header or, failing that, the form body.
pub fn client_credentials(headers: &HeaderMap, form: &TokenRequest) -> Option<(String, String)> {
    let basic = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Basic ")
                .or_else(|| v.strip_prefix("basic "))
        })
        .and_then(|b64| STANDARD.decode(b64.trim()).ok())
        .and_then(|raw| String::from_utf8(raw).ok())
        .and_then(|pair| {
            pair.split_once(':')
                .map(|(id, secret)| (id.to_owned(), secret.to_owned()))
        });
    basic.or_else(|| Some((form.client_id.clone()?, form.client_secret.clone()?)))
}

/// `"<ClientId>/<UserId>"`.
pub fn parse_scope(scope: &str) -> Option<(&str, &str)> {
    let (client, user) = scope.trim().split_once('/')?;
    (!client.is_empty() && !user.is_empty()).then_some((client, user))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemes_and_params() {
        assert!(valid_scheme("PNAUTHINFO3-HMAC-SHA256"));
        assert!(valid_scheme("pnauthinfo3-sha512"));
        assert!(!valid_scheme("PNAUTHINFO3-MD5"));
        assert!(!valid_scheme("PNAUTHINFO3"));
        let params = "Credential=jane/2024-03-05T16:00:00Z, Signature=YWJj";
        assert_eq!(
            param(params, "credential"),
            Some("jane/2024-03-05T16:00:00Z")
        );
        assert_eq!(param(params, "Signature"), Some("YWJj"));
        assert_eq!(
            parse_scope("ACME_CORP/jane.doe"),
            Some(("ACME_CORP", "jane.doe"))
        );
        assert_eq!(parse_scope("ACME_CORP"), None);
    }
}

//! The checks every `/v2` call passes before its handler (notes §3, §11 items 1, 2, 13, 14):
//! HTTP Basic against the seeded API users, the optional region check, then the rate limiter;
//! successful tiered answers get the `X-RateLimit-*` counters.
//!
//! No endpoint logic here.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::Dotdigital;
use super::errors::ApiError;
use super::ratelimit::{Counters, Tier, Verdict, write_headers};
use super::settings::{ResetFormat, Settings};

/// Header a test or a proxy may set to say which regional host was called.
pub const REGION_HEADER: &str = "x-sandbox-region";

/// Whether the `Authorization` header carries the credentials of an enabled API user.
pub fn authorized(settings: &Settings, headers: &HeaderMap) -> bool {
    let Some(value) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let Some((scheme, encoded)) = value.trim().split_once(' ') else {
        return false;
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return false;
    }
    let Ok(decoded) = STANDARD.decode(encoded.trim()) else {
        return false;
    };
    let Ok(text) = String::from_utf8(decoded) else {
        return false;
    };
    let Some((user, password)) = text.split_once(':') else {
        return false;
    };
    settings
        .api_users
        .iter()
        .any(|u| !u.disabled && u.username.eq_ignore_ascii_case(user) && u.password == password)
}

/// The region a request was addressed to: the `x-sandbox-region` header, else a `rN-api...`
/// host name.
fn requested_region(headers: &HeaderMap) -> Option<String> {
    if let Some(r) = headers.get(REGION_HEADER).and_then(|v| v.to_str().ok()) {
        return Some(r.trim().to_ascii_lowercase());
    }
    let host = headers.get(header::HOST)?.to_str().ok()?;
    let prefix = host.split('-').next()?.to_ascii_lowercase();
    matches!(prefix.as_str(), "r1" | "r2" | "r3").then_some(prefix)
}

/// The middleware: auth, region, rate limit, then the handler.
pub async fn guard(State(emu): State<Arc<Dotdigital>>, req: Request, next: Next) -> Response {
    let tier = Tier::of(req.method(), req.uri().path());
    let (verdict, reset) = {
        let mut store = emu.store();
        let store = &mut *store;
        if !authorized(&store.settings, req.headers()) {
            return ApiError::unauthorized().into_response();
        }
        if let (Some(home), Some(asked)) = (&store.settings.region, requested_region(req.headers()))
            && *home != asked
        {
            return ApiError::forbidden().into_response();
        }
        let verdict = store
            .rate
            .check(&store.settings.rate, &emu.shared, tier, Instant::now());
        (verdict, store.settings.rate.reset)
    };
    match verdict {
        Verdict::TooManyRequests(c) => too_many_requests(&c, reset),
        Verdict::FlatCapped => ApiError::apiusage_exceeded().into_response(),
        Verdict::Allowed(counters) => {
            let mut response = next.run(req).await;
            if let Some(c) = counters {
                write_headers(response.headers_mut(), &c, reset, false);
            }
            response
        }
    }
}

/// The 429 of the tiered scheme, with the four `X-RateLimit-*` headers.
pub fn too_many_requests(c: &Counters, reset: ResetFormat) -> Response {
    let message = format!(
        "The {} call rate tier allows {} calls per minute. ERROR_APIUSAGE_EXCEEDED",
        c.tier.name(),
        c.limit
    );
    let mut response = ApiError::new(StatusCode::TOO_MANY_REQUESTS, message).into_response();
    write_headers(response.headers_mut(), c, reset, true);
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn basic(user_pass: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        let v = format!("Basic {}", STANDARD.encode(user_pass));
        h.insert(header::AUTHORIZATION, HeaderValue::from_str(&v).unwrap());
        h
    }

    #[test]
    fn basic_credentials_are_checked() {
        let mut settings = Settings::default();
        assert!(authorized(&settings, &basic("sandbox:sandbox")));
        assert!(!authorized(&settings, &basic("sandbox:wrong")));
        assert!(!authorized(&settings, &HeaderMap::new()));
        settings.api_users[0].disabled = true;
        assert!(!authorized(&settings, &basic("sandbox:sandbox")));
    }

    #[test]
    fn region_comes_from_header_or_host() {
        let mut h = HeaderMap::new();
        h.insert(
            header::HOST,
            HeaderValue::from_static("r2-api.dotdigital.com"),
        );
        assert_eq!(requested_region(&h).as_deref(), Some("r2"));
        h.insert(REGION_HEADER, HeaderValue::from_static("R3"));
        assert_eq!(requested_region(&h).as_deref(), Some("r3"));
        assert_eq!(requested_region(&HeaderMap::new()), None);
    }
}

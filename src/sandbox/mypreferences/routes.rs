//! The API router (paths from the configurable route table), the `{"Message": …}` error
//! responses, the OAuth token endpoint and the rendering of injected faults. The import
//! handlers themselves are in `handlers.rs`.

use std::sync::Arc;

use axum::Router;
use axum::extract::rejection::FormRejection;
use axum::extract::{Form, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use rand::Rng;

use super::Mypreferences;
use super::auth::{client_credentials, parse_scope};
use super::config::Routes;
use super::handlers;
use super::store::OAuthToken;
use super::wire::{ErrorBody, TokenError, TokenRequest, TokenResponse};
use crate::sandbox::core::{FaultConfig, InjectedFault};

/// `WWW-Authenticate` of every 401 (documented for PNAUTHINFO3).
const CHALLENGE: &str = "PNAUTHINFO3 realm=\"https://pm.mypreferences.com\"";

pub fn router(emu: Arc<Mypreferences>) -> Router {
    let routes = emu.config.routes.clone();
    Router::new()
        .route(&routes.token, post(token))
        .route(&routes.initiate, post(handlers::initiate))
        .route(&routes.stage, post(handlers::stage))
        .route(&routes.execute, post(handlers::execute))
        .route(&routes.status, get(handlers::status))
        .route(&routes.exceptions, get(handlers::exceptions))
        .with_state(emu)
}

/// An error answered as the documented pages do: status and `{"Message": …}`.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        message_response(self.status, self.message, None)
    }
}

fn message_response(status: StatusCode, message: String, retry_after: Option<u64>) -> Response {
    let mut response = (status, axum::Json(ErrorBody { message })).into_response();
    let headers = response.headers_mut();
    if status == StatusCode::UNAUTHORIZED {
        headers.insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static(CHALLENGE),
        );
    }
    if let Some(secs) = retry_after.filter(|_| matches!(status.as_u16(), 429 | 503)) {
        headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    response
}

/// An injected fault as MyPreferences would answer it. The API has no vendor error codes, so
/// a numeric code is read as a status and any other text becomes the 500's message.
pub fn fault_response(faults: &FaultConfig, fault: &InjectedFault) -> Response {
    let (status, message) = match fault {
        InjectedFault::Status(code) => (
            StatusCode::from_u16(*code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            None,
        ),
        InjectedFault::VendorCode(code) => match code
            .parse::<u16>()
            .ok()
            .and_then(|c| StatusCode::from_u16(c).ok())
        {
            Some(status) => (status, None),
            None => (StatusCode::INTERNAL_SERVER_ERROR, Some(code.clone())),
        },
    };
    let message = message.unwrap_or_else(|| fault_message(status).to_owned());
    message_response(status, message, faults.retry_after_secs)
}

fn fault_message(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "The request is invalid.",
        401 => super::auth::GENERIC,
        403 => "The authenticated user does not have permission to perform this action.",
        404 => "The requested resource was not found.",
        409 => "The request conflicts with the current state of the resource.",
        429 => "The import request quota has been exceeded.",
        503 => "The service is temporarily unavailable. Please retry later.",
        _ => "An unexpected error occurred on the server.",
    }
}

fn token_error(
    status: StatusCode,
    error: &'static str,
    description: impl Into<String>,
) -> Response {
    let body = TokenError {
        error,
        error_description: description.into(),
    };
    let mut response = (status, axum::Json(body)).into_response();
    if status == StatusCode::UNAUTHORIZED {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic"));
    }
    response
}

/// OAuth 2.0 client-credentials grant; `scope` names the account and user.
async fn token(
    State(emu): State<Arc<Mypreferences>>,
    headers: HeaderMap,
    form: Result<Form<TokenRequest>, FormRejection>,
) -> Response {
    let Ok(Form(form)) = form else {
        return token_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "expected a form-encoded body",
        );
    };
    let config = &emu.config;
    match client_credentials(&headers, &form) {
        Some((id, secret))
            if id == config.oauth_client_id && secret == config.oauth_client_secret => {}
        _ => {
            return token_error(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "unknown client or bad secret",
            );
        }
    }
    if form.grant_type.as_deref() != Some("client_credentials") {
        return token_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "use client_credentials",
        );
    }
    let scope = form.scope.unwrap_or_default();
    let Some((client_id, user_id)) = parse_scope(&scope) else {
        return token_error(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            "scope must be <ClientId>/<UserId>",
        );
    };
    let mut state = emu.lock();
    let now = emu.now(&state);
    let user = emu
        .account_mut(&mut state, client_id)
        .and_then(|a| a.user(user_id))
        .map(|u| u.id.clone());
    let Some(user_id) = user else {
        return token_error(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            "unknown account or user",
        );
    };
    let access_token: String = emu.shared.with_rng(|rng| {
        (0..40)
            .map(|_| char::from(b"0123456789abcdef"[rng.random_range(0..16)]))
            .collect()
    });
    let lifetime = config.oauth_token_lifetime.as_secs();
    let issued = OAuthToken {
        client_id: client_id.to_owned(),
        user_id,
        expires_at: now.saturating_add(lifetime),
    };
    state.oauth_tokens.retain(|_, t| t.expires_at > now);
    state.oauth_tokens.insert(access_token.clone(), issued);
    axum::Json(TokenResponse {
        access_token,
        token_type: "Bearer",
        expires_in: lifetime,
        scope,
    })
    .into_response()
}

/// The path with the literal segments of the matching route template in their configured
/// case, when it differs only by case. ASP.NET Web API (the vendor's stack, judging by its
/// help pages) routes case-insensitively, and the vendor's own pages write both `/api/3` and
/// `/API/3` [I].
pub fn canonical_path(routes: &Routes, path: &str) -> Option<String> {
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let templates = [
        &routes.token,
        &routes.initiate,
        &routes.stage,
        &routes.execute,
        &routes.status,
        &routes.exceptions,
    ];
    for template in templates {
        let literal: Vec<&str> = template.trim_start_matches('/').split('/').collect();
        if literal.len() != segments.len() {
            continue;
        }
        let fits = literal
            .iter()
            .zip(&segments)
            .all(|(t, s)| t.starts_with('{') || t.eq_ignore_ascii_case(s));
        if !fits {
            continue;
        }
        let rebuilt: Vec<&str> = literal
            .iter()
            .zip(&segments)
            .map(|(t, s)| if t.starts_with('{') { *s } else { *t })
            .collect();
        let canonical = format!("/{}", rebuilt.join("/"));
        return (canonical != path).then_some(canonical);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_differing_only_in_case_are_canonicalised() {
        let routes = Routes::default();
        assert_eq!(
            canonical_path(&routes, "/profiles/V4/Acme/bulkimport/123/status").as_deref(),
            Some("/Profiles/v4/Acme/BulkImport/123/Status")
        );
        assert_eq!(
            canonical_path(&routes, "/Profiles/v4/Acme/BulkImport"),
            None,
            "already canonical"
        );
        assert_eq!(
            canonical_path(&routes, "/OAUTH/TOKEN").as_deref(),
            Some("/oauth/token")
        );
        assert_eq!(canonical_path(&routes, "/Profiles/v4/Acme/Other"), None);
    }
}

//! The router of the Eloqua API (mounted under `/eloqua`): `/id`, `/auth/oauth2/token` and the
//! Bulk API 2.0 below `/api/bulk/2.0`, plus the path rewriting that gives Eloqua's routing quirks
//! (§13.4): case-insensitive paths, repeated `/` collapsed, trailing `/` ignored.
//!
//! Only wiring lives here; behaviour is in the handler modules.

use std::sync::Arc;

use axum::Extension;
use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::HeaderMap;
use axum::middleware::from_fn_with_state;
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get, post};

use super::Eloqua;
use super::auth::{self, Caller};
use super::definitions;
use super::errors::ApiError;
use super::fields;
use super::store::Kind;
use super::syncs;
use super::uploads;

/// The API routes, with the emulator as state.
pub fn api(emu: Arc<Eloqua>) -> Router {
    let mut bulk = Router::new()
        .route("/contacts/fields", get(fields::list_contact_fields))
        .route("/contacts/fields/{id}", get(fields::get_contact_field))
        .route(
            "/opportunities/fields",
            get(fields::list_opportunity_fields),
        )
        .route(
            "/opportunities/fields/{id}",
            get(fields::get_opportunity_field),
        )
        .route("/syncs", get(syncs::list).post(syncs::create))
        .route("/syncs/{id}", get(syncs::read))
        .route("/syncs/{id}/logs", get(syncs::logs))
        .route("/syncs/{id}/rejects", get(syncs::rejects))
        .route(
            "/syncs/{id}/data",
            get(syncs::data).delete(syncs::delete_data),
        );
    for kind in [Kind::Contact, Kind::Opportunity, Kind::Linkage] {
        bulk = bulk
            .route(kind.path(), definitions::handlers(kind))
            .route(
                &format!("{}/{{id}}", kind.path()),
                definitions::item_handlers(kind),
            )
            .route(&format!("{}/{{id}}/data", kind.path()), data_handlers(kind));
    }
    let bulk = bulk
        .route_layer(from_fn_with_state(Arc::clone(&emu), auth::require_auth))
        // Uploads enforce Eloqua's own 32 MB limit (answered with 404), not axum's default.
        .layer(DefaultBodyLimit::disable());
    Router::new()
        .route("/id", get(auth::id))
        .route("/auth/oauth2/token", post(auth::token))
        .nest("/api/bulk/2.0", bulk)
        .fallback(not_found)
        .with_state(emu)
}

fn data_handlers(kind: Kind) -> MethodRouter<Arc<Eloqua>> {
    post(
        move |State(emu): State<Arc<Eloqua>>,
              Path(id): Path<String>,
              Extension(caller): Extension<Caller>,
              headers: HeaderMap,
              body: Body| uploads::upload(emu, kind, id, caller, headers, body),
    )
    .delete(
        move |State(emu): State<Arc<Eloqua>>, Path(id): Path<String>| {
            uploads::discard(emu, kind, id)
        },
    )
}

async fn not_found() -> Response {
    ApiError::NotFound.into_response()
}

/// Canonical form of a path below `/eloqua`: lower case, single slashes, no trailing slash.
/// `None` when the path is already canonical.
pub fn rewrite(path: &str) -> Option<String> {
    if path.is_empty() {
        return None;
    }
    // A query string (should a caller pass one) keeps its case: `q=name='Foo'` is data.
    let (path, query) = match path.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (path, None),
    };
    let mut out = String::with_capacity(path.len());
    let mut previous_slash = false;
    for c in path.chars() {
        if c == '/' && previous_slash {
            continue;
        }
        previous_slash = c == '/';
        out.push(c.to_ascii_lowercase());
    }
    if out.len() > 1 && out.ends_with('/') {
        out.pop();
    }
    if out.is_empty() {
        out.push('/');
    }
    if out == path {
        return None;
    }
    Some(match query {
        Some(q) => format!("{out}?{q}"),
        None => out,
    })
}

#[cfg(test)]
mod tests {
    use super::rewrite;

    #[test]
    fn paths_are_canonicalised() {
        assert_eq!(
            rewrite("/API/Bulk/2.0//contacts/imports/"),
            Some("/api/bulk/2.0/contacts/imports".into())
        );
        assert_eq!(
            rewrite("//api/bulk/2.0/syncs/3"),
            Some("/api/bulk/2.0/syncs/3".into())
        );
        assert_eq!(rewrite("/api/bulk/2.0/syncs"), None);
        assert_eq!(rewrite("/"), None);
        assert_eq!(rewrite(""), None);
        assert_eq!(
            rewrite("/API/Bulk/2.0/syncs?q=name='Foo'"),
            Some("/api/bulk/2.0/syncs?q=name='Foo'".into())
        );
    }
}

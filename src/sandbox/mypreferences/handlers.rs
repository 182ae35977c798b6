//! Handlers of the five import operations (§4): Initiate, Stage, Execute, Retrieve status,
//! Retrieve exceptions. Each checks, in order: account (404), authentication (401),
//! permission (403), access token (401), state (409), body (400), then acts under the
//! emulator lock. Stage reads its body first, bounded by the configured limit (413), so an
//! oversized body is never buffered whole. Processing after Execute runs in a spawned task
//! (`processing.rs`).

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::Mypreferences;
use super::auth::authenticate;
use super::clock::format_iso;
use super::imports::{ExceptionRecord, Import, StagedRecord, Status, validate_initiate};
use super::processing;
use super::routes::ApiError;
use super::store::{State as Store, User};
use super::validate::Checker;
use super::wire::{ExceptionsQuery, InitiateRequest};

type Params = Path<HashMap<String, String>>;

fn param<'a>(params: &'a HashMap<String, String>, name: &str) -> &'a str {
    params.get(name).map(String::as_str).unwrap_or("")
}

impl Mypreferences {
    /// Account lookup and authentication; returns the calling user.
    fn caller(
        &self,
        state: &mut Store,
        client_id: &str,
        headers: &HeaderMap,
    ) -> Result<User, ApiError> {
        let now = self.now(state);
        let validity = self.config.auth_header_validity.as_secs();
        if self.account_mut(state, client_id).is_none() {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                format!("Client {client_id} was not found."),
            ));
        }
        let account = state
            .accounts
            .get(client_id)
            .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "Client not found."))?;
        let user_id = authenticate(state, account, headers, now, validity)
            .map_err(|reason| ApiError::new(StatusCode::UNAUTHORIZED, reason))?;
        account
            .user(&user_id)
            .cloned()
            .ok_or_else(|| ApiError::new(StatusCode::UNAUTHORIZED, super::auth::GENERIC))
    }

    /// The caller's import behind `token`, settled on the virtual clock.
    fn import<'a>(
        &self,
        state: &'a mut Store,
        client_id: &str,
        token: &str,
    ) -> Result<&'a mut Import, ApiError> {
        let now = self.now(state);
        let invalid = || {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "The access token is invalid or has expired.",
            )
        };
        let token: u64 = token.trim().parse().map_err(|_| invalid())?;
        let import = state
            .imports
            .get_mut(&token)
            .filter(|i| i.client_id == client_id)
            .ok_or_else(invalid)?;
        if import.is_expired(now) {
            return Err(invalid());
        }
        import.settle(now);
        Ok(import)
    }
}

fn refuse_if_closed(import: &Import) -> Result<(), ApiError> {
    match import.status {
        status if status.is_open() => Ok(()),
        Status::Failed if import.counters.processed == 0 && import.cursor == 0 => {
            Err(ApiError::new(
                StatusCode::CONFLICT,
                "The import can no longer be changed: its staged data was purged or its execution failed.",
            ))
        }
        _ => Err(ApiError::new(
            StatusCode::CONFLICT,
            "The import has already been executed.",
        )),
    }
}

fn bad_request(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, message)
}

pub async fn initiate(
    State(emu): State<Arc<Mypreferences>>,
    Path(params): Params,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let client_id = param(&params, "clientId");
    let mut state = emu.lock();
    let result = (|| {
        let user = emu.caller(&mut state, client_id, &headers)?;
        if !user.can_import {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                format!("User {} may not import profiles.", user.id),
            ));
        }
        let request: InitiateRequest = serde_json::from_slice(&body)
            .map_err(|e| bad_request(format!("The request is invalid: {e}")))?;
        let settings = validate_initiate(request).map_err(bad_request)?;
        let now = emu.now(&state);
        let strict = emu.shared.strict();
        let quota = emu.config.daily_import_quota;
        let account = state
            .accounts
            .get_mut(client_id)
            .ok_or_else(|| bad_request("Client not found."))?;
        if let Some(kind) = &settings.match_value
            && account.alternate_id_type(kind).is_none()
        {
            if strict {
                return Err(bad_request(format!(
                    "MatchValue {kind} is not an AlternateIdType of the account."
                )));
            }
            account.alternate_id_types.push(kind.clone());
        }
        account
            .initiated_at
            .retain(|t| t.saturating_add(86_400) > now);
        if account.initiated_at.len() >= quota as usize {
            return Err(ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "The daily import limit has been reached.",
            ));
        }
        account.initiated_at.push(now);
        let token = emu.new_access_token(&state);
        let lifetime = emu
            .shared
            .token_lifetime(emu.config.import_token_lifetime)
            .as_secs();
        let import = Import::new(token, client_id, &user.id, settings, now, lifetime);
        let wire = import.to_wire();
        state.imports.insert(token, import);
        Ok(wire)
    })();
    respond(result)
}

pub async fn stage(
    State(emu): State<Arc<Mypreferences>>,
    Path(params): Params,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let limit = emu.config.stage_max_bytes;
    let Ok(body) = axum::body::to_bytes(body, limit).await else {
        let message = format!("The request body exceeds the maximum of {limit} bytes.");
        return ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, message).into_response();
    };
    let (client_id, token) = (param(&params, "clientId"), param(&params, "accessToken"));
    let mut state = emu.lock();
    let result = (|| {
        let user = emu.caller(&mut state, client_id, &headers)?;
        refuse_if_closed(emu.import(&mut state, client_id, token)?)?;
        let records = stage_records(&body, &emu.config.stage_collection)?;
        stage_into(&emu, &mut state, client_id, token, user, records)
    })();
    respond(result)
}

/// The records of a Stage body: `{"<collection>": [ … ]}`.
fn stage_records(body: &[u8], collection: &str) -> Result<Vec<Value>, ApiError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| bad_request(format!("The request is invalid: {e}")))?;
    match value {
        Value::Object(mut map) => match map.remove(collection) {
            Some(Value::Array(records)) => Ok(records),
            Some(Value::Null) | None => Err(bad_request(format!("{collection} is required."))),
            Some(_) => Err(bad_request(format!("{collection} must be an array."))),
        },
        _ => Err(bad_request("The request body must be an object.")),
    }
}

fn stage_into(
    emu: &Mypreferences,
    state: &mut Store,
    client_id: &str,
    token: &str,
    user: User,
    records: Vec<Value>,
) -> Result<super::wire::ImportStatus, ApiError> {
    let max = emu.config.max_records_per_import;
    let strict = emu.shared.strict();
    let import = emu.import(state, client_id, token)?;
    let received = import.counters.total_records_received;
    if received + records.len() as u64 > max {
        return Err(bad_request(format!(
            "An import accepts at most {max} records."
        )));
    }
    let settings = import.settings.clone();
    let access_token = import.access_token;
    if settings.match_value.is_some() && emu.config.exclusive_alternate_id_staging {
        let busy = state.imports.values().any(|i| {
            i.client_id == client_id
                && i.access_token != access_token
                && processing::is_busy(i.status)
        });
        if busy {
            let message = "An earlier import of this account is still executing; stage again once it has finished.";
            return Err(ApiError::new(StatusCode::CONFLICT, message));
        }
    }
    let Store {
        accounts, imports, ..
    } = state;
    let account = accounts
        .get_mut(client_id)
        .ok_or_else(|| bad_request("Client not found."))?;
    let email_rule = regex::Regex::new(&account.email_regex).map_err(|e| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("Bad email rule: {e}"),
        )
    })?;
    let mut checker = Checker {
        account,
        user,
        settings: &settings,
        strict,
        email_rule,
    };
    let import = imports
        .get_mut(&access_token)
        .ok_or_else(|| bad_request("Import not found."))?;
    for (index, raw) in records.into_iter().enumerate() {
        let seq = received + index as u64 + 1;
        let findings = checker.check(&raw);
        let counters = &mut import.counters;
        counters.total_records_received += 1;
        if findings.is_empty() {
            counters.validation_successful += 1;
            counters.pending += 1;
            import.staged.push(StagedRecord { seq, raw });
        } else {
            counters.validation_failed += 1;
            let record = findings.into_exception(&raw, seq);
            import.exceptions.push(ExceptionRecord { seq, record });
        }
    }
    import.status = Status::Staging;
    Ok(import.to_wire())
}

pub async fn execute(
    State(emu): State<Arc<Mypreferences>>,
    Path(params): Params,
    headers: HeaderMap,
) -> Response {
    let (client_id, token) = (param(&params, "clientId"), param(&params, "accessToken"));
    let mut state = emu.lock();
    let result = (|| {
        emu.caller(&mut state, client_id, &headers)?;
        let now = emu.now(&state);
        let doomed = state.fail_executions > 0;
        let import = emu.import(&mut state, client_id, token)?;
        refuse_if_closed(import)?;
        if import.staged.is_empty() {
            return Err(bad_request(
                "No record passed validation: there is nothing to execute.",
            ));
        }
        import.status = Status::Queued;
        import.doomed = doomed;
        import.create_date = Some(format_iso(now));
        let wire = import.to_wire();
        if doomed {
            state.fail_executions -= 1;
        }
        Ok(wire)
    })();
    drop(state);
    if let Ok(wire) = &result {
        processing::spawn(&emu, wire.access_token);
    }
    respond(result)
}

pub async fn status(
    State(emu): State<Arc<Mypreferences>>,
    Path(params): Params,
    headers: HeaderMap,
) -> Response {
    let (client_id, token) = (param(&params, "clientId"), param(&params, "accessToken"));
    let mut state = emu.lock();
    let result = (|| {
        emu.caller(&mut state, client_id, &headers)?;
        Ok(emu.import(&mut state, client_id, token)?.to_wire())
    })();
    respond(result)
}

pub async fn exceptions(
    State(emu): State<Arc<Mypreferences>>,
    Path(params): Params,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let (client_id, token) = (param(&params, "clientId"), param(&params, "accessToken"));
    let mut state = emu.lock();
    let result = (|| {
        emu.caller(&mut state, client_id, &headers)?;
        let query = exceptions_query(&query)?;
        let import = emu.import(&mut state, client_id, token)?;
        import
            .exceptions_page(&query, &emu.config.exceptions_collection)
            .map_err(bad_request)
    })();
    respond(result)
}

/// `limit` and `offset`, matched case-insensitively; non-integers are a 400.
fn exceptions_query(query: &HashMap<String, String>) -> Result<ExceptionsQuery, ApiError> {
    let get = |name: &str| -> Result<Option<i64>, ApiError> {
        match query.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)) {
            None => Ok(None),
            Some((_, v)) => v
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| bad_request(format!("{name} must be an integer."))),
        }
    };
    Ok(ExceptionsQuery {
        limit: get("limit")?,
        offset: get("offset")?,
    })
}

fn respond<T: serde::Serialize>(result: Result<T, ApiError>) -> Response {
    match result {
        Ok(body) => Json(body).into_response(),
        Err(error) => error.into_response(),
    }
}

//! Single-record and list endpoints of insight data (notes §4.1, §11 item 11): add one record,
//! read, replace and delete by key, a contact's records (≤ 100, sorted by key), account-scoped
//! paging, the collections list and emptying a collection. Stored `json` is returned as a string.
//!
//! Single-record writes go through the same rules as the bulk import (`rules.rs`, `commit.rs`);
//! a rejected record is a 400 `ERROR_TRANSACTIONAL_DATA_VALIDATION_FAILED` naming the reason.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::Dotdigital;
use super::commit::commit;
use super::errors::ApiError;
use super::request::{RecordIn, parse_record};
use super::rules::{Ident, parse_ident, prepare, valid_collection_name};
use super::store::{Owner, Store, StoredRecord};
use super::wire::{CollectionOut, FaultReason, RecordOut};

type Handler = Result<Response, ApiError>;

fn out(key: &str, r: &StoredRecord) -> RecordOut {
    RecordOut {
        key: key.to_string(),
        contact_identifier: Store::read_identifier(r.owner),
        json: r.json.clone(),
    }
}

fn body(emu: &Dotdigital, raw: &[u8]) -> Result<RecordIn, ApiError> {
    let limits = emu.store().settings.limits.clone();
    match parse_record(raw, &limits) {
        Ok(r) => Ok(r),
        Err(e) if e.classify() == serde_json::error::Category::Data => Err(
            ApiError::validation_failed("The request body must be a record object."),
        ),
        Err(_) => Err(ApiError::body_mismatch()),
    }
}

/// Runs one record through the import rules and stores it; returns the stored record.
fn write_one(emu: &Dotdigital, collection: &str, record: RecordIn) -> Result<RecordOut, ApiError> {
    let mut store = emu.store();
    if !valid_collection_name(collection, store.settings.allow_dashes) {
        return Err(ApiError::invalid_collection_name());
    }
    let key = record.key.clone().unwrap_or_default();
    let prepared = prepare(vec![record], &store.settings.limits);
    let report = commit(&mut store, collection, prepared, emu.shared.strict());
    if let Some(f) = report.faults.first() {
        return Err(match f.reason {
            FaultReason::MissingCollection => ApiError::collection_missing(),
            reason => ApiError::validation_failed(&format!("The record was rejected: {reason:?}.")),
        });
    }
    let stored = store
        .collections
        .get(collection)
        .and_then(|c| c.records.get(&key));
    stored
        .map(|r| out(&key, r))
        .ok_or_else(ApiError::record_missing)
}

/// `POST /v2/contacts/transactional-data/{collectionName}` → 201.
pub async fn add(
    State(emu): State<Arc<Dotdigital>>,
    Path(collection): Path<String>,
    raw: axum::body::Bytes,
) -> Handler {
    let record = body(&emu, &raw)?;
    let stored = write_one(&emu, &collection, record)?;
    Ok((StatusCode::CREATED, Json(stored)).into_response())
}

/// `POST /v2/contacts/transactional-data/{collectionName}/{key}`: replaces the `json`.
pub async fn replace(
    State(emu): State<Arc<Dotdigital>>,
    Path((collection, key)): Path<(String, String)>,
    raw: axum::body::Bytes,
) -> Handler {
    let mut record = body(&emu, &raw)?;
    let identifier = {
        let store = emu.store();
        let coll = store
            .collections
            .get(&collection)
            .ok_or_else(ApiError::collection_missing)?;
        coll.records
            .get(&key)
            .map(|r| r.identifier.clone())
            .ok_or_else(ApiError::record_missing)?
    };
    record.key = Some(key);
    record.contact_identifier = Some(identifier);
    Ok(Json(write_one(&emu, &collection, record)?).into_response())
}

/// `GET /v2/contacts/transactional-data/{collectionName}/{key}`.
pub async fn get_one(
    State(emu): State<Arc<Dotdigital>>,
    Path((collection, key)): Path<(String, String)>,
) -> Handler {
    let store = emu.store();
    let coll = store
        .collections
        .get(&collection)
        .ok_or_else(ApiError::collection_missing)?;
    let record = coll
        .records
        .get(&key)
        .ok_or_else(ApiError::record_missing)?;
    Ok(Json(out(&key, record)).into_response())
}

/// `DELETE /v2/contacts/transactional-data/{collectionName}/{key}` → 204.
pub async fn delete_one(
    State(emu): State<Arc<Dotdigital>>,
    Path((collection, key)): Path<(String, String)>,
) -> Handler {
    let mut store = emu.store();
    let coll = store
        .collections
        .get_mut(&collection)
        .ok_or_else(ApiError::collection_missing)?;
    coll.records
        .remove(&key)
        .ok_or_else(ApiError::record_missing)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The owner a `{emailOrId}` path segment names.
fn contact_owner(store: &Store, selector: &str) -> Result<Owner, ApiError> {
    let id = match parse_ident(selector) {
        Some(Ident::Id(id)) if store.contacts.contains_key(&id) => Some(id),
        Some(Ident::Email) => store.contact_by_email(selector),
        _ => None,
    };
    id.map(Owner::Contact)
        .ok_or_else(ApiError::contact_not_found)
}

/// `GET /v2/contacts/{emailOrId}/transactional-data/{collectionName}`: up to 100, by key.
pub async fn contact_list(
    State(emu): State<Arc<Dotdigital>>,
    Path((selector, collection)): Path<(String, String)>,
) -> Handler {
    let store = emu.store();
    let owner = contact_owner(&store, &selector)?;
    let coll = store
        .collections
        .get(&collection)
        .ok_or_else(ApiError::collection_missing)?;
    let records: Vec<RecordOut> = Store::sorted(&coll.records)
        .into_iter()
        .filter(|(_, r)| r.owner == owner)
        .take(100)
        .map(|(k, r)| out(k, r))
        .collect();
    Ok(Json(records).into_response())
}

/// `DELETE /v2/contacts/{emailOrId}/transactional-data/{collectionName}` → 204.
pub async fn contact_delete(
    State(emu): State<Arc<Dotdigital>>,
    Path((selector, collection)): Path<(String, String)>,
) -> Handler {
    let mut store = emu.store();
    let owner = contact_owner(&store, &selector)?;
    let coll = store
        .collections
        .get_mut(&collection)
        .ok_or_else(ApiError::collection_missing)?;
    coll.records.retain(|_, r| r.owner != owner);
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `select` (1..=max, default max) and `skip` (default 0) of a paged read.
fn paging(q: &HashMap<String, String>, max: usize) -> Result<(usize, usize), ApiError> {
    let number = |name: &str, default: usize| -> Result<usize, ApiError> {
        let found = q
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v);
        match found {
            None => Ok(default),
            Some(v) => v
                .parse::<usize>()
                .map_err(|_| ApiError::code("ERROR_INVALID_PARAMETER")),
        }
    };
    let select = number("select", max)?;
    if !(1..=max).contains(&select) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("Select must be between 1 and {max}. ERROR_INVALID_PARAMETER"),
        ));
    }
    Ok((select, number("skip", 0)?))
}

/// `GET /v2/transactional-data/{collectionName}?select=&skip=`: account-scoped records.
pub async fn account_list(
    State(emu): State<Arc<Dotdigital>>,
    Path(collection): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Handler {
    let (select, skip) = paging(&q, 100)?;
    let store = emu.store();
    let coll = store
        .collections
        .get(&collection)
        .ok_or_else(ApiError::collection_missing)?;
    let records: Vec<RecordOut> = Store::sorted(&coll.records)
        .into_iter()
        .filter(|(_, r)| r.owner == Owner::Account)
        .skip(skip)
        .take(select)
        .map(|(k, r)| out(k, r))
        .collect();
    Ok(Json(records).into_response())
}

/// `GET /v2/contacts/transactional-data-collections?select=&skip=`.
pub async fn collections(
    State(emu): State<Arc<Dotdigital>>,
    Query(q): Query<HashMap<String, String>>,
) -> Handler {
    let (select, skip) = paging(&q, 1000)?;
    let store = emu.store();
    let list: Vec<CollectionOut> = store
        .collections
        .values()
        .skip(skip)
        .take(select)
        .map(|c| CollectionOut {
            id: c.id,
            name: &c.name,
        })
        .collect();
    Ok(Json(list).into_response())
}

/// `PUT /v2/contacts/transactional-data/{collectionName}/empty` → 204.
pub async fn empty(State(emu): State<Arc<Dotdigital>>, Path(collection): Path<String>) -> Handler {
    let mut store = emu.store();
    let coll = store
        .collections
        .get_mut(&collection)
        .ok_or_else(ApiError::collection_missing)?;
    coll.records.clear();
    Ok(StatusCode::NO_CONTENT.into_response())
}

//! The bulk contact import (notes §4.2, §11 item 12): a CSV file sent as `{fileName, data}`
//! (base64) or as a multipart `file` part, with an `Email` column; 202 `{id, status:
//! "NotFinished"}`, then `Finished` after the processing time; report counters and a faults CSV
//! whose first column is `Reason`.
//!
//! Contacts and list membership only; insight data is in `imports.rs`.

use std::collections::HashSet;
use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{FromRequest, Multipart, Path, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::Dotdigital;
use super::errors::ApiError;
use super::rules::is_email;
use super::store::{AddressBook, ContactImport, Store};
use super::wire::{ContactImportOut, ContactImportReport, ContactImportStatus, FileMediaIn};

type Handler = Result<Response, ApiError>;

/// How data fields of existing contacts are merged (`ApiContactMergeOptionTypes`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Merge {
    Overwrite,
    IfNotEmpty,
    IfNotPopulated,
}

fn merge_option(s: &str) -> Result<Merge, ApiError> {
    match s {
        "Overwrite" | "0" => Ok(Merge::Overwrite),
        "OnlyOverwriteIfNotEmpty" | "1" => Ok(Merge::IfNotEmpty),
        "OnlyOverwriteIfContactDataNotPopulated" | "2" => Ok(Merge::IfNotPopulated),
        _ => Err(ApiError::code("ERROR_INVALID_MERGE_OPTION")),
    }
}

pub async fn import_all(State(emu): State<Arc<Dotdigital>>, req: Request) -> Handler {
    start(emu, None, Merge::Overwrite, req).await
}

pub async fn import_all_merge(
    State(emu): State<Arc<Dotdigital>>,
    Path(merge): Path<String>,
    req: Request,
) -> Handler {
    start(emu, None, merge_option(&merge)?, req).await
}

pub async fn import_book(
    State(emu): State<Arc<Dotdigital>>,
    Path(book): Path<u64>,
    req: Request,
) -> Handler {
    start(emu, Some(book), Merge::Overwrite, req).await
}

pub async fn import_book_merge(
    State(emu): State<Arc<Dotdigital>>,
    Path((book, merge)): Path<(u64, String)>,
    req: Request,
) -> Handler {
    start(emu, Some(book), merge_option(&merge)?, req).await
}

/// Reads the uploaded file: a multipart `file` part, else the JSON `ApiFileMedia` form.
async fn file_bytes(req: Request) -> Result<(String, Vec<u8>), ApiError> {
    let ct = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if ct.to_ascii_lowercase().starts_with("multipart/form-data") {
        let mut multipart = Multipart::from_request(req, &())
            .await
            .map_err(|_| ApiError::code("ERROR_MALFORMED_REQUEST"))?;
        while let Ok(Some(field)) = multipart.next_field().await {
            if field.name() == Some("file") {
                let name = field.file_name().unwrap_or("contacts.csv").to_string();
                let data = field
                    .bytes()
                    .await
                    .map_err(|_| ApiError::code("ERROR_MALFORMED_REQUEST"))?;
                return Ok((name, data.to_vec()));
            }
        }
        return Err(ApiError::code("ERROR_MALFORMED_REQUEST"));
    }
    let raw = Bytes::from_request(req, &())
        .await
        .map_err(|_| ApiError::code("ERROR_MALFORMED_REQUEST"))?;
    let media: FileMediaIn = serde_json::from_slice(&raw).map_err(|_| ApiError::body_mismatch())?;
    let data = media
        .data
        .ok_or_else(|| ApiError::code("ERROR_MALFORMED_REQUEST"))?;
    let bytes = STANDARD
        .decode(data.trim())
        .map_err(|_| ApiError::code("ERROR_MALFORMED_REQUEST"))?;
    Ok((
        media.file_name.unwrap_or_else(|| "contacts.csv".into()),
        bytes,
    ))
}

/// A parsed upload: the header and the rows.
struct Upload {
    header: Vec<String>,
    email_column: usize,
    rows: Vec<Vec<String>>,
}

fn parse_csv(name: &str, bytes: &[u8]) -> Result<Upload, ApiError> {
    let lower = name.to_ascii_lowercase();
    if !lower.ends_with(".csv") && lower.contains('.') {
        return Err(ApiError::code("ERROR_IMPORT_UNSUPPORTED_FORMAT"));
    }
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(bytes);
    let header: Vec<String> = reader
        .headers()
        .map_err(|_| ApiError::code("ERROR_IMPORT_UNSUPPORTED_FORMAT"))?
        .iter()
        .map(|h| h.trim().trim_start_matches('\u{feff}').to_string())
        .collect();
    let email_column = header
        .iter()
        .position(|h| h.eq_ignore_ascii_case("email"))
        .ok_or_else(|| ApiError::code("ERROR_NO_EMAIL_COLUMN"))?;
    let mut rows = Vec::new();
    for row in reader.records() {
        let row = row.map_err(|_| ApiError::code("ERROR_IMPORT_UNSUPPORTED_FORMAT"))?;
        rows.push(row.iter().map(str::to_string).collect());
    }
    Ok(Upload {
        header,
        email_column,
        rows,
    })
}

async fn start(emu: Arc<Dotdigital>, book: Option<u64>, merge: Merge, req: Request) -> Handler {
    let (name, bytes) = file_bytes(req).await?;
    let upload = parse_csv(&name, &bytes)?;
    let id = {
        let mut store = emu.store();
        let id = emu.new_guid(&store);
        if let Some(book) = book
            && !store.address_books.contains_key(&book)
        {
            if emu.shared.strict() {
                return Err(ApiError::code("ERROR_ADDRESSBOOK_NOT_FOUND"));
            }
            let created = AddressBook {
                id: book,
                name: format!("Address book {book}"),
                contacts: Default::default(),
            };
            store.address_books.insert(book, created);
        }
        let pending = ContactImport {
            id: id.clone(),
            status: ContactImportStatus::NotFinished,
            report: ContactImportReport::default(),
            faults_csv: String::new(),
        };
        store.contact_imports.insert(id.clone(), pending);
        id
    };
    let task_emu = emu.clone();
    let task_id = id.clone();
    tokio::spawn(async move {
        tokio::time::sleep(task_emu.shared.processing_time()).await;
        let mut store = task_emu.store();
        let (report, faults_csv) = apply(&mut store, &upload, book, merge);
        if let Some(import) = store.contact_imports.get_mut(&task_id) {
            import.report = report;
            import.faults_csv = faults_csv;
            import.status = ContactImportStatus::Finished;
        }
    });
    let out = ContactImportOut {
        id: &id,
        status: ContactImportStatus::NotFinished,
    };
    Ok((StatusCode::ACCEPTED, Json(out)).into_response())
}

/// Creates or updates the contacts of an upload; returns the counters and the faults CSV.
fn apply(
    store: &mut Store,
    upload: &Upload,
    book: Option<u64>,
    merge: Merge,
) -> (ContactImportReport, String) {
    let mut report = ContactImportReport::default();
    let mut faults = csv::Writer::from_writer(Vec::new());
    let mut header = vec!["Reason".to_string()];
    header.extend(upload.header.iter().cloned());
    let _ = faults.write_record(&header);
    let mut seen = HashSet::new();
    for row in &upload.rows {
        let email = row.get(upload.email_column).map(|e| e.trim()).unwrap_or("");
        let reason = if !is_email(email) {
            report.invalid_entries += 1;
            Some("Invalid Email")
        } else if !seen.insert(email.to_ascii_lowercase()) {
            report.duplicate_emails += 1;
            Some("Duplicate")
        } else {
            None
        };
        if let Some(reason) = reason {
            let mut out = vec![reason.to_string()];
            out.extend(row.iter().cloned());
            let _ = faults.write_record(&out);
            continue;
        }
        let (id, created) = store.upsert_contact(email, None);
        if created {
            report.new_contacts += 1;
        } else {
            report.updated_contacts += 1;
        }
        merge_fields(store, id, upload, row, merge);
        if let Some(book) = book.and_then(|b| store.address_books.get_mut(&b)) {
            book.contacts.insert(id);
        }
    }
    let csv = faults
        .into_inner()
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    (report, csv)
}

fn merge_fields(store: &mut Store, id: u64, upload: &Upload, row: &[String], merge: Merge) {
    let Some(contact) = store.contacts.get_mut(&id) else {
        return;
    };
    for (i, column) in upload.header.iter().enumerate() {
        if i == upload.email_column {
            continue;
        }
        let value = row.get(i).cloned().unwrap_or_default();
        let name = column.to_ascii_uppercase();
        let populated = contact
            .data_fields
            .get(&name)
            .is_some_and(|v| !v.is_empty());
        let write = match merge {
            Merge::Overwrite => true,
            Merge::IfNotEmpty => !value.is_empty(),
            Merge::IfNotPopulated => !populated,
        };
        if write {
            contact.data_fields.insert(name, value);
        }
    }
}

fn finished(store: &Store, id: &str) -> Result<ContactImport, ApiError> {
    let import = store
        .contact_imports
        .get(&id.to_ascii_lowercase())
        .ok_or_else(ApiError::import_not_found)?;
    match import.status {
        ContactImportStatus::Finished => Ok(import.clone()),
        ContactImportStatus::NotFinished => Err(ApiError::report_not_found()),
    }
}

/// `GET /v2/contacts/import/{importId}`.
pub async fn status(State(emu): State<Arc<Dotdigital>>, Path(id): Path<String>) -> Handler {
    let store = emu.store();
    let import = store
        .contact_imports
        .get(&id.to_ascii_lowercase())
        .ok_or_else(ApiError::import_not_found)?;
    Ok(Json(ContactImportOut {
        id: &import.id,
        status: import.status,
    })
    .into_response())
}

/// `GET /v2/contacts/import/{importId}/report`.
pub async fn report(State(emu): State<Arc<Dotdigital>>, Path(id): Path<String>) -> Handler {
    let import = finished(&emu.store(), &id)?;
    Ok(Json(import.report).into_response())
}

/// `GET /v2/contacts/import/{importId}/report-faults`: UTF-8 CSV.
pub async fn report_faults(State(emu): State<Arc<Dotdigital>>, Path(id): Path<String>) -> Handler {
    let import = finished(&emu.store(), &id)?;
    Ok((
        [(header::CONTENT_TYPE, "text/csv; charset=utf-8")],
        import.faults_csv,
    )
        .into_response())
}

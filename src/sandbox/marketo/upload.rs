//! Reading a bulk import request (marketo.md §6, §14.7-8): the body is read up to the size
//! limit (a larger one is drained and refused with HTTP 413), then parsed as multipart; the
//! parameters come from the query string or from form fields.

use std::collections::HashMap;

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{FromRequest, Multipart, Query, Request};
use axum::http::header;
use http_body_util::BodyExt;

/// What an import request carried.
#[derive(Debug, Default)]
pub struct Upload {
    /// Query parameters, then form fields for names the query does not have.
    pub params: HashMap<String, String>,
    pub file: Option<Bytes>,
}

/// Why the request could not be read.
#[derive(Debug)]
pub enum UploadError {
    /// The body reached the limit: HTTP 413.
    TooLarge,
    /// Not `multipart/form-data`: 613.
    NotMultipart,
    /// A malformed multipart body: 613.
    BadMultipart(String),
}

pub async fn read(req: Request, limit: usize) -> Result<Upload, UploadError> {
    let (parts, body) = req.into_parts();
    let bytes = read_limited(body, limit).await?;
    let multipart = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("multipart/form-data"));
    let mut upload = Upload::default();
    if let Ok(Query(q)) = Query::<HashMap<String, String>>::try_from_uri(&parts.uri) {
        upload.params = q;
    }
    if !multipart {
        return Err(UploadError::NotMultipart);
    }
    let req = Request::from_parts(parts, Body::from(bytes));
    let mut form = Multipart::from_request(req, &())
        .await
        .map_err(|e| UploadError::BadMultipart(e.body_text()))?;
    while let Some(field) = form
        .next_field()
        .await
        .map_err(|e| UploadError::BadMultipart(e.body_text()))?
    {
        let name = field.name().unwrap_or("").to_owned();
        let data = field
            .bytes()
            .await
            .map_err(|e| UploadError::BadMultipart(e.body_text()))?;
        if name == "file" {
            upload.file = Some(data);
        } else {
            upload
                .params
                .entry(name)
                .or_insert_with(|| String::from_utf8_lossy(&data).into_owned());
        }
    }
    Ok(upload)
}

/// Reads the whole body if it is smaller than `limit`; otherwise drains it (so the client gets
/// the 413 rather than a reset connection) and says so.
async fn read_limited(mut body: Body, limit: usize) -> Result<Bytes, UploadError> {
    let mut buf = Vec::with_capacity((body.size_hint().lower() as usize).min(limit));
    let mut total = 0usize;
    while let Some(frame) = body.frame().await {
        let Ok(frame) = frame else {
            return Err(UploadError::BadMultipart("body read failed".into()));
        };
        if let Some(data) = frame.data_ref() {
            total += data.len();
            if total < limit {
                buf.extend_from_slice(data);
            }
        }
    }
    if total >= limit {
        return Err(UploadError::TooLarge);
    }
    Ok(Bytes::from(buf))
}

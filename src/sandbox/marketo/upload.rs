//! Reading a bulk import request (marketo.md §6, §14.7-8): the body is read up to the size
//! limit (a larger one is drained and refused with HTTP 413), then split into its multipart
//! parts (`multipart`, without copying the file); the parameters come from the query string or
//! from form fields.

use std::collections::HashMap;

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{Query, Request};
use axum::http::header;
use http_body_util::BodyExt;

use crate::sandbox::marketo::multipart;

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
    let content_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let mut upload = Upload::default();
    if let Ok(Query(q)) = Query::<HashMap<String, String>>::try_from_uri(&parts.uri) {
        upload.params = q;
    }
    if !content_type
        .trim_start()
        .to_ascii_lowercase()
        .starts_with("multipart/form-data")
    {
        return Err(UploadError::NotMultipart);
    }
    let boundary = multipart::boundary(content_type)
        .ok_or_else(|| UploadError::BadMultipart("no boundary in the content type".into()))?;
    for part in multipart::parse(&bytes, &boundary).map_err(UploadError::BadMultipart)? {
        if part.name == "file" {
            upload.file = Some(part.data);
        } else {
            upload
                .params
                .entry(part.name)
                .or_insert_with(|| String::from_utf8_lossy(&part.data).into_owned());
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

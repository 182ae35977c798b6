//! Splitting a `multipart/form-data` body (RFC 7578, RFC 2046 §5.1) that is already in memory
//! into its named parts. Each part's data is a slice of the body, not a copy: a 10 MB upload
//! is not copied again after it was read (a streaming parser copies it twice more).
//!
//! Only the framing lives here: which parts an import wants is `upload`'s business.

use axum::body::Bytes;
use memchr::memmem;

/// One part: the `name` of its `Content-Disposition` and its data.
#[derive(Debug)]
pub struct Part {
    pub name: String,
    pub data: Bytes,
}

/// The `boundary` parameter of a `multipart/form-data` content type.
pub fn boundary(content_type: &str) -> Option<String> {
    content_type.split(';').skip(1).find_map(|param| {
        let (key, value) = param.split_once('=')?;
        key.trim()
            .eq_ignore_ascii_case("boundary")
            .then(|| unquote(value.trim()))
            .filter(|b| !b.is_empty())
    })
}

/// The parts of `body`, in order. `Err` says what is malformed.
pub fn parse(body: &Bytes, boundary: &str) -> Result<Vec<Part>, String> {
    let delimiter = format!("--{boundary}");
    let next_delimiter = format!("\r\n--{boundary}");
    let finder = memmem::Finder::new(next_delimiter.as_bytes());
    let mut at = memmem::find(body, delimiter.as_bytes())
        .ok_or("no multipart boundary found in the body")?
        + delimiter.len();
    let mut parts = Vec::new();
    loop {
        let rest = body.get(at..).unwrap_or_default();
        if rest.starts_with(b"--") {
            return Ok(parts);
        }
        // Transport padding (spaces, tabs) may follow a delimiter before its line break.
        let padding = rest
            .iter()
            .take_while(|b| matches!(b, b' ' | b'\t'))
            .count();
        let headers_start = match rest.get(padding..) {
            Some(r) if r.starts_with(b"\r\n") => at + padding + 2,
            _ => return Err("malformed multipart boundary line".into()),
        };
        let headers_len = memmem::find(body.get(headers_start..).unwrap_or_default(), b"\r\n\r\n")
            .ok_or("incomplete multipart part headers")?;
        let headers = body
            .get(headers_start..headers_start + headers_len)
            .unwrap_or_default();
        let data_start = headers_start + headers_len + 4;
        let data_len = finder
            .find(body.get(data_start..).unwrap_or_default())
            .ok_or("incomplete multipart body: no closing boundary")?;
        parts.push(Part {
            name: part_name(headers)?,
            data: body.slice(data_start..data_start + data_len),
        });
        at = data_start + data_len + next_delimiter.len();
    }
}

/// The `name` parameter of the part's `Content-Disposition: form-data` header.
fn part_name(headers: &[u8]) -> Result<String, String> {
    let headers = std::str::from_utf8(headers).map_err(|_| "part headers are not UTF-8")?;
    let disposition = headers
        .split("\r\n")
        .filter_map(|line| line.split_once(':'))
        .find(|(key, _)| key.trim().eq_ignore_ascii_case("content-disposition"))
        .map(|(_, value)| value)
        .ok_or("a part has no Content-Disposition header")?;
    let name = disposition.split(';').skip(1).find_map(|param| {
        let (key, value) = param.split_once('=')?;
        key.trim()
            .eq_ignore_ascii_case("name")
            .then(|| unquote(value.trim()))
    });
    Ok(name.unwrap_or_default())
}

/// A parameter value without its quotes (and backslash escapes) if it is a quoted string.
fn unquote(value: &str) -> String {
    match value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
        Some(inner) => inner.replace("\\\"", "\"").replace("\\\\", "\\"),
        None => value.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_are_split_and_named() {
        let ct = "multipart/form-data; boundary=\"XyZ\"";
        let b = boundary(ct).unwrap();
        assert_eq!(b, "XyZ");
        let body = Bytes::from_static(
            b"preamble\r\n--XyZ\r\nContent-Disposition: form-data; name=\"format\"\r\n\r\ncsv\r\n--XyZ  \r\ncontent-disposition: form-data; name=file; filename=\"m.csv\"\r\nContent-Type: text/csv\r\n\r\nemail\r\na@b.co\r\n\r\n--XyZ--\r\n",
        );
        let parts = parse(&body, &b).unwrap();
        let got: Vec<(&str, &[u8])> = parts
            .iter()
            .map(|p| (p.name.as_str(), p.data.as_ref()))
            .collect();
        assert_eq!(
            got,
            [
                ("format", b"csv".as_slice()),
                ("file", b"email\r\na@b.co\r\n".as_slice())
            ]
        );
    }

    #[test]
    fn malformed_bodies_are_refused() {
        assert!(boundary("multipart/form-data").is_none());
        let unclosed =
            Bytes::from_static(b"--b\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\nabc");
        assert!(
            parse(&unclosed, "b")
                .unwrap_err()
                .contains("closing boundary")
        );
        assert!(parse(&Bytes::from_static(b"no parts"), "b").is_err());
        let no_headers_end = Bytes::from_static(b"--b\r\nContent-Disposition: form-data");
        assert!(parse(&no_headers_end, "b").is_err());
    }
}

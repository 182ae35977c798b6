//! The MyPreferences bulk-import wire format, written from `providers/mypreferences.md` (§3,
//! §4): the Initiate body, the `BulkImportStatus` counters object, exception pages, the error
//! and OAuth bodies, the Stage body writer and the `Expires` date parser.
//!
//! Property names are PascalCase as on the vendor's help pages. Nothing here is shared with
//! the emulator (`crate::sandbox`), so the two cannot agree on a mistake. No HTTP here.

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::de::IgnoredAny;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

/// Initiate request: the `BulkImportStatus` model used as a request (§4.1).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct InitiateRequest {
    pub name: String,
    pub import_action: &'static str,
    pub data_stage_duration: u8,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub match_criteria: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub match_value: Option<String>,
    pub refresh_alternate_ids: bool,
    pub refresh_contacts: bool,
    pub refresh_custom_fields: bool,
    pub refresh_groups: bool,
    pub refresh_tags: bool,
    pub allow_prior_consents: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preserve_preferences: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason_code: Option<String>,
}

/// `BulkImportStatus` as answered by Initiate, Stage, Execute and Retrieve status. Counters
/// the answer lacks read as 0.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ImportStatus {
    /// Typed integer on most vendor pages, string on the Stage page: both are accepted.
    #[serde(deserialize_with = "token_text")]
    pub access_token: String,
    pub status: String,
    pub expires: Option<String>,
    pub total_records_received: u64,
    pub validation_successful: u64,
    pub validation_failed: u64,
    pub processed: u64,
    pub pending: u64,
    pub exceptions: u64,
    pub not_honored: u64,
}

fn token_text<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::String(s) => s,
        Value::Null => String::new(),
        other => other.to_string(),
    })
}

/// One page of Retrieve exceptions (§4.5). The collection's name is a setting, so the page is
/// read as a map and the collection taken out of it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ExceptionsPage {
    pub count: u64,
    pub has_more: bool,
    #[serde(flatten)]
    pub rest: serde_json::Map<String, Value>,
}

/// An exception record: the staged record plus `SequenceNumber` and `Exceptions`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ExceptionRecord {
    /// 1-based position of the record over every Stage call of the import.
    pub sequence_number: Option<u64>,
    pub exceptions: Vec<ExceptionDefinition>,
    #[serde(flatten)]
    pub rest: serde_json::Map<String, Value>,
}

/// `ExceptionsDefinition` (fields not documented; `{Code, Message}` as the emulator has it).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ExceptionDefinition {
    #[serde(deserialize_with = "token_text")]
    pub code: String,
    pub message: Option<String>,
}

/// Error body of the documented pages.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ErrorBody {
    pub message: Option<String>,
}

/// OAuth 2.0 token response (RFC 6749 §5.1); the secret is wrapped as soon as it is read.
#[derive(Deserialize)]
pub struct TokenResponse {
    pub access_token: String,
    #[serde(default)]
    pub expires_in: Option<u64>,
}

/// OAuth 2.0 error response (RFC 6749 §5.2).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct TokenError {
    pub error: Option<String>,
    pub error_description: Option<String>,
}

/// Writes a Stage body: `{"<collection>":[` + compact records joined by `,` + `]}`.
/// `records` are the records' compact JSON texts, joined as they are.
pub fn stage_body<'a>(
    collection: &str,
    records: impl Iterator<Item = &'a [u8]>,
) -> Result<Vec<u8>, serde_json::Error> {
    let mut out = Vec::with_capacity(4096);
    out.push(b'{');
    serde_json::to_writer(&mut out, collection)?;
    out.extend_from_slice(b":[");
    for (i, record) in records.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(record);
    }
    out.extend_from_slice(b"]}");
    Ok(out)
}

/// Number of records in a Stage body written by `stage_body`.
pub fn count_staged(body: &[u8], collection: &str) -> Result<u64, serde_json::Error> {
    let map: HashMap<String, Vec<IgnoredAny>> = serde_json::from_slice(body)?;
    Ok(map.get(collection).map_or(0, |v| v.len() as u64))
}

/// Parses `Expires`: `YYYY-MM-DDTHH:MM:SS[.fff]` with `Z`, `±HH:MM` or no offset. The format
/// is not documented; no offset is read as UTC (the notes' example has none).
pub fn parse_expires(text: &str) -> Option<SystemTime> {
    let text = text.trim();
    let (base, offset) = split_offset(text)?;
    let time = humantime::parse_rfc3339_weak(base).ok()?;
    let secs = i64::try_from(time.duration_since(UNIX_EPOCH).ok()?.as_secs()).ok()? - offset;
    Some(UNIX_EPOCH + Duration::from_secs(u64::try_from(secs).ok()?))
}

/// Splits a trailing `Z` or `±HH:MM` offset (seconds east of UTC) from the date-time.
fn split_offset(text: &str) -> Option<(&str, i64)> {
    if let Some(base) = text.strip_suffix(['Z', 'z']) {
        return Some((base, 0));
    }
    let time_at = text.find(['T', 't', ' '])?;
    let Some(at) = text[time_at..].rfind(['+', '-']).map(|p| p + time_at) else {
        return Some((text, 0));
    };
    let (base, offset) = text.split_at(at);
    let digits: String = offset[1..].chars().filter(char::is_ascii_digit).collect();
    if digits.len() != 4 {
        return None;
    }
    let hours: i64 = digits[..2].parse().ok()?;
    let minutes: i64 = digits[2..].parse().ok()?;
    let sign = if offset.starts_with('-') { -1 } else { 1 };
    Some((base, sign * (hours * 3600 + minutes * 60)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn expires_in_every_offset_form() {
        let utc = UNIX_EPOCH + Duration::from_secs(1_709_654_400); // 2024-03-05T16:00:00Z
        assert_eq!(parse_expires("2024-03-05T16:00:00"), Some(utc));
        assert_eq!(parse_expires("2024-03-05T16:00:00Z"), Some(utc));
        assert_eq!(parse_expires("2024-03-05T18:00:00+02:00"), Some(utc));
        assert_eq!(parse_expires("2024-03-05T11:00:00-0500"), Some(utc));
        assert_eq!(parse_expires("2024-03-05T16:00:00.250"), Some(utc));
        assert_eq!(parse_expires("tomorrow"), None);
    }

    #[test]
    fn status_accepts_integer_and_string_tokens() {
        let a: ImportStatus =
            serde_json::from_value(json!({"AccessToken": 918273, "Status": "Initiated"})).unwrap();
        let b: ImportStatus =
            serde_json::from_value(json!({"AccessToken": "918273", "Processed": 4})).unwrap();
        assert_eq!(a.access_token, "918273");
        assert_eq!(b.access_token, "918273");
        assert_eq!(b.processed, 4);
    }

    #[test]
    fn stage_body_is_compact_and_counted() {
        let records = [
            json!({"ProfileId": 1}).to_string(),
            json!({"ProfileId": 2, "IsActive": true}).to_string(),
        ];
        let body = stage_body(
            "UserProfilePreferences",
            records.iter().map(String::as_bytes),
        )
        .unwrap();
        let text = String::from_utf8(body.clone()).unwrap();
        assert_eq!(
            text,
            r#"{"UserProfilePreferences":[{"ProfileId":1},{"ProfileId":2,"IsActive":true}]}"#
        );
        assert_eq!(count_staged(&body, "UserProfilePreferences").unwrap(), 2);
        let empty = stage_body("UserProfilePreferences", std::iter::empty()).unwrap();
        assert_eq!(empty, br#"{"UserProfilePreferences":[]}"#);
    }
}

//! A record's body as its provider sends it, written by the mapper straight from the row's
//! values: no JSON tree is built per row on the apply path. The writers here and the size
//! functions of `wire` follow one rule each, so what the plan counted is what apply sends.

use bytes::Bytes;
use serde_json::Value as Json;

/// One record, ready to be joined into an upload. The bytes are UTF-8; on apply's path they
/// are slices of one buffer per chunk (cheap to make, nothing freed per record).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordBody {
    /// The record object as compact JSON text (Eloqua, Dotdigital's `json`, MyPreferences).
    Json(Bytes),
    /// The record's values as one delimited line without its line break, in the record's
    /// field order (Marketo).
    Line(Bytes),
}

impl RecordBody {
    /// The body's bytes, whatever the wire.
    pub fn bytes(&self) -> &[u8] {
        match self {
            RecordBody::Json(b) | RecordBody::Line(b) => b,
        }
    }

    /// Bytes of the body (without any separator).
    pub fn len(&self) -> usize {
        self.bytes().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The JSON text, for JSON wires.
    pub fn json(&self) -> Option<&[u8]> {
        match self {
            RecordBody::Json(b) => Some(b),
            RecordBody::Line(_) => None,
        }
    }

    /// The record as a JSON value (a slow path for bodies given as JSON, e.g. in tests).
    pub fn to_value(&self) -> Option<Json> {
        self.json().and_then(|b| serde_json::from_slice(b).ok())
    }
}

impl From<Json> for RecordBody {
    fn from(v: Json) -> Self {
        RecordBody::Json(Bytes::from(v.to_string()))
    }
}

/// Whether a CSV field must be quoted: it holds the delimiter, a quote or a line break, or
/// starts or ends with a space (which a reader might trim).
pub fn csv_needs_quotes(s: &str, delimiter: u8) -> bool {
    s.as_bytes()
        .iter()
        .any(|&b| b == delimiter || b == b'"' || b == b'\n' || b == b'\r')
        || s.starts_with(' ')
        || s.ends_with(' ')
}

/// Writes one CSV field, quoted (inner quotes doubled) only when it must be.
pub fn write_csv_field(out: &mut Vec<u8>, s: &str, delimiter: u8) {
    if !csv_needs_quotes(s, delimiter) {
        out.extend_from_slice(s.as_bytes());
        return;
    }
    out.push(b'"');
    for &b in s.as_bytes() {
        if b == b'"' {
            out.push(b'"');
        }
        out.push(b);
    }
    out.push(b'"');
}

/// Writes a string as a JSON string literal, escaped as serde_json escapes it.
pub fn write_json_str(out: &mut Vec<u8>, s: &str) {
    // Writing to a Vec cannot fail, and a str always serializes.
    let _ = serde_json::to_writer(&mut *out, s);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::map::wire::{csv_len, json_str_len};

    #[test]
    fn writers_agree_with_the_size_model() {
        for s in [
            "",
            "plain",
            "a,b",
            "quo\"te",
            "new\nline",
            " lead",
            "trail ",
            "é 日本",
            "ctl\u{1}",
        ] {
            let mut out = Vec::new();
            write_csv_field(&mut out, s, b',');
            assert_eq!(out.len() as u64, csv_len(s, b','), "{s:?}");
            out.clear();
            write_json_str(&mut out, s);
            assert_eq!(out.len() as u64, json_str_len(s), "{s:?}");
        }
    }

    #[test]
    fn bodies_from_values_are_compact_json() {
        let b = RecordBody::from(serde_json::json!({"a": "x", "n": [1, 2]}));
        assert_eq!(b.json(), Some(&br#"{"a":"x","n":[1,2]}"#[..]));
        assert_eq!(b.len(), 19);
        assert_eq!(
            b.to_value(),
            Some(serde_json::json!({"a": "x", "n": [1, 2]}))
        );
        assert_eq!(RecordBody::Line(Bytes::from_static(b"a,b")).json(), None);
    }
}

//! The records of a bulk (or single) insight data request, as sent: `key`, `contactIdentifier`
//! and `json`, bound case-insensitively (the vendor's own Magento client sends PascalCase).
//! `json` objects are analysed while the body is parsed (`analyze.rs`), so the body is read
//! once and no JSON tree is built.
//!
//! Parsing only; the rules that reject records are in `rules.rs` and `commit.rs`.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::Value;

use super::analyze::{Analyzer, JsonIn, JsonSeed};
use super::settings::JsonLimits;

/// One submitted `ApiTransactionalData` record.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RecordIn {
    pub key: Option<String>,
    pub contact_identifier: Option<String>,
    pub json: JsonIn,
}

/// Bodies from this size on are parsed on several threads.
const PARALLEL_FROM: usize = 4 * 1024 * 1024;

/// Parses a bulk body: a JSON array of records. Large bodies are cut at top-level commas and
/// the parts parsed in parallel; any trouble falls back to one sequential parse, whose error
/// is the one reported.
pub fn parse_records(body: &[u8], limits: &JsonLimits) -> Result<Vec<RecordIn>, serde_json::Error> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(4);
    if body.len() >= PARALLEL_FROM
        && threads > 1
        && let Some(parts) = split_array(body, threads)
        && let Some(records) = parse_parts(&parts, limits)
    {
        return Ok(records);
    }
    parse_sequential(body, limits)
}

fn parse_sequential(body: &[u8], limits: &JsonLimits) -> Result<Vec<RecordIn>, serde_json::Error> {
    let mut analyzer = Analyzer::new(limits);
    let mut de = serde_json::Deserializer::from_slice(body);
    let records = RecordsSeed(&mut analyzer).deserialize(&mut de)?;
    de.end()?;
    Ok(records)
}

fn parse_parts(parts: &[Vec<u8>], limits: &JsonLimits) -> Option<Vec<RecordIn>> {
    let results: Vec<Option<Vec<RecordIn>>> = std::thread::scope(|scope| {
        let handles: Vec<_> = parts
            .iter()
            .map(|part| scope.spawn(move || parse_sequential(part, limits).ok()))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().ok().flatten())
            .collect()
    });
    let mut all = Vec::with_capacity(results.iter().flatten().map(Vec::len).sum());
    for part in results {
        all.extend(part?);
    }
    Some(all)
}

/// Cuts a top-level JSON array into about `parts` arrays at commas between its elements.
/// `None` when the body is not a UTF-8 array or cannot be cut (it is then parsed as one piece,
/// which also yields the exact error of a malformed body). Only the part before the last cut
/// is scanned, and string contents are skipped with a fast search for `"`.
fn split_array(body: &[u8], parts: usize) -> Option<Vec<Vec<u8>>> {
    let text = std::str::from_utf8(body).ok()?;
    let open = body.iter().position(|b| !b.is_ascii_whitespace())?;
    let close = body.iter().rposition(|b| !b.is_ascii_whitespace())?;
    if body[open] != b'[' || body[close] != b']' || close <= open {
        return None;
    }
    let mut cuts = vec![open];
    let mut depth = 0usize;
    let mut target = body.len() / parts;
    let mut i = open;
    while i < close && cuts.len() < parts {
        match body[i] {
            b'"' => i = string_end(text, i + 1)?,
            b'[' | b'{' => depth += 1,
            b']' | b'}' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return None;
                }
            }
            b',' if depth == 1 && i >= target => {
                cuts.push(i);
                target = cuts.len() * body.len() / parts;
            }
            _ => {}
        }
        i += 1;
    }
    if cuts.len() < 2 {
        return None;
    }
    cuts.push(close);
    let pieces = cuts
        .windows(2)
        .map(|w| {
            let mut piece = Vec::with_capacity(w[1] - w[0] + 2);
            piece.push(b'[');
            piece.extend_from_slice(&body[w[0] + 1..w[1]]);
            piece.push(b']');
            piece
        })
        .collect();
    Some(pieces)
}

/// The index of the quote that ends the string whose contents start at `from`.
fn string_end(text: &str, mut from: usize) -> Option<usize> {
    loop {
        let quote = from + text.get(from..)?.find('"')?;
        let backslashes = text.as_bytes()[from..quote]
            .iter()
            .rev()
            .take_while(|b| **b == b'\\')
            .count();
        if backslashes % 2 == 0 {
            return Some(quote);
        }
        from = quote + 1;
    }
}

/// Parses a single-record body (one JSON object).
pub fn parse_record(body: &[u8], limits: &JsonLimits) -> Result<RecordIn, serde_json::Error> {
    let mut analyzer = Analyzer::new(limits);
    let mut de = serde_json::Deserializer::from_slice(body);
    let record = RecordSeed(&mut analyzer).deserialize(&mut de)?;
    de.end()?;
    Ok(record)
}

/// A scalar request property that Json.NET would bind to a .NET string: strings as they are,
/// numbers and booleans by their text. Arrays and objects make the request body invalid.
fn scalar_text(value: Value) -> Result<Option<String>, &'static str> {
    match value {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s)),
        Value::Number(n) => Ok(Some(n.to_string())),
        Value::Bool(b) => Ok(Some(b.to_string())),
        Value::Array(_) | Value::Object(_) => Err("expected a string"),
    }
}

struct RecordsSeed<'a, 'l>(&'a mut Analyzer<'l>);

impl<'de> DeserializeSeed<'de> for RecordsSeed<'_, '_> {
    type Value = Vec<RecordIn>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Vec<RecordIn>, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for RecordsSeed<'_, '_> {
    type Value = Vec<RecordIn>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of records")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<RecordIn>, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(record) = seq.next_element_seed(RecordSeed(&mut *self.0))? {
            out.push(record);
        }
        Ok(out)
    }
}

struct RecordSeed<'a, 'l>(&'a mut Analyzer<'l>);

impl<'de> DeserializeSeed<'de> for RecordSeed<'_, '_> {
    type Value = RecordIn;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<RecordIn, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for RecordSeed<'_, '_> {
    type Value = RecordIn;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object with key, contactIdentifier and json")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RecordIn, A::Error> {
        let mut out = RecordIn::default();
        while let Some(field) = map.next_key::<Field>()? {
            match field {
                Field::Key => {
                    out.key = scalar_text(map.next_value()?).map_err(de::Error::custom)?
                }
                Field::ContactIdentifier => {
                    out.contact_identifier =
                        scalar_text(map.next_value()?).map_err(de::Error::custom)?
                }
                Field::Json => out.json = map.next_value_seed(JsonSeed(&mut *self.0))?,
                Field::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(out)
    }
}

/// A record property name, matched without regard to case and without allocating.
enum Field {
    Key,
    ContactIdentifier,
    Json,
    Other,
}

impl<'de> Deserialize<'de> for Field {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct FieldVisitor;
        impl Visitor<'_> for FieldVisitor {
            type Value = Field;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a property name")
            }
            fn visit_str<E: de::Error>(self, name: &str) -> Result<Field, E> {
                Ok(if name.eq_ignore_ascii_case("key") {
                    Field::Key
                } else if name.eq_ignore_ascii_case("contactIdentifier") {
                    Field::ContactIdentifier
                } else if name.eq_ignore_ascii_case("json") {
                    Field::Json
                } else {
                    Field::Other
                })
            }
        }
        d.deserialize_identifier(FieldVisitor)
    }
}

/// How a pending record is persisted in a snapshot: `json` as text (re-analysed on processing).
#[derive(Serialize, Deserialize)]
struct Persisted {
    key: Option<String>,
    #[serde(rename = "contactIdentifier")]
    contact_identifier: Option<String>,
    json: Option<String>,
}

impl Serialize for RecordIn {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let json = match &self.json {
            JsonIn::Text(t) => Some(t.clone()),
            JsonIn::Object(a) => Some(a.text.clone()),
            JsonIn::Missing | JsonIn::Other => None,
        };
        Persisted {
            key: self.key.clone(),
            contact_identifier: self.contact_identifier.clone(),
            json,
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for RecordIn {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let p = Persisted::deserialize(d)?;
        Ok(Self {
            key: p.key,
            contact_identifier: p.contact_identifier,
            json: p.json.map(JsonIn::Text).unwrap_or_default(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sandbox::dotdigital::store::JsonType;

    fn parse(body: &str) -> Vec<RecordIn> {
        parse_records(body.as_bytes(), &JsonLimits::default()).unwrap()
    }

    #[test]
    fn binds_property_names_case_insensitively() {
        let parsed = parse(
            r#"[{"Key":"A","ContactIdentifier":12,"Json":"{}"},{"KEY":"B","json":{"x":1},"extra":[1]}]"#,
        );
        assert_eq!(parsed[0].key.as_deref(), Some("A"));
        assert_eq!(parsed[0].contact_identifier.as_deref(), Some("12"));
        assert_eq!(parsed[0].json, JsonIn::Text("{}".into()));
        assert_eq!(parsed[1].key.as_deref(), Some("B"));
        assert_eq!(parsed[1].contact_identifier, None);
        assert!(matches!(&parsed[1].json, JsonIn::Object(a) if a.text == r#"{"x":1}"#));
    }

    #[test]
    fn objects_are_rewritten_compactly_with_their_property_types() {
        let body = r#"[{"key":"k","json":{ "a" : 1.5, "b":"q\"\n", "c":[{"d":true},{"d":null}], "e":{"f":-2}, "g":20.0 }}]"#;
        let JsonIn::Object(a) = &parse(body)[0].json else {
            panic!("not analysed")
        };
        assert_eq!(
            a.text,
            r#"{"a":1.5,"b":"q\"\n","c":[{"d":true},{"d":null}],"e":{"f":-2},"g":20.0}"#
        );
        let value: Value = serde_json::from_str(&a.text).unwrap();
        assert_eq!(value["c"][1]["d"], Value::Null);
        let paths: Vec<(&str, JsonType)> = a.props.iter().map(|(p, t)| (p.as_str(), *t)).collect();
        use JsonType::*;
        assert_eq!(
            paths,
            [
                ("a", Number),
                ("b", String),
                ("c", Array),
                ("c[]", Object),
                ("c[].d", Boolean),
                ("e", Object),
                ("e.f", Number),
                ("g", Number)
            ]
        );
        assert_eq!(a.violation, None);
    }

    #[test]
    fn a_structured_key_or_a_non_array_body_is_a_data_error() {
        let limits = JsonLimits::default();
        let err = parse_records(br#"[{"key":{"a":1}}]"#, &limits).unwrap_err();
        assert_eq!(err.classify(), serde_json::error::Category::Data);
        let err = parse_records(br#"{"key":"a"}"#, &limits).unwrap_err();
        assert_eq!(err.classify(), serde_json::error::Category::Data);
        let err = parse_records(br#"[{"key":"a"}"#, &limits).unwrap_err();
        assert_eq!(err.classify(), serde_json::error::Category::Eof);
    }

    #[test]
    fn large_bodies_split_at_top_level_commas_only() {
        let body = br#" [{"key":"a","json":{"s":"x,\\\"y]","l":[1,2]}},{"key":"b"},{"key":"c"} ,{"key":"d"}] "#;
        let parts = split_array(body, 3).unwrap();
        let parsed: Vec<Vec<Value>> = parts
            .iter()
            .map(|p| serde_json::from_slice(p).unwrap())
            .collect();
        let keys: Vec<Vec<&str>> = parsed
            .iter()
            .map(|p| p.iter().map(|r| r["key"].as_str().unwrap()).collect())
            .collect();
        assert_eq!(keys.concat(), ["a", "b", "c", "d"]);
        assert!(keys.len() > 1);
        assert!(split_array(br#"{"key":"a"}"#, 2).is_none());
        assert!(split_array(br#"[{"key":"a"}"#, 2).is_none());
        assert!(split_array(br#"[{"key":"a"}],[{"key":"b"},{"key":"c"}]"#, 2).is_none());
    }

    #[test]
    fn pending_records_survive_a_snapshot() {
        let parsed = parse(r#"[{"key":"k","contactIdentifier":"account","json":{"a":[1,2]}}]"#);
        let round: RecordIn =
            serde_json::from_value(serde_json::to_value(&parsed[0]).unwrap()).unwrap();
        assert_eq!(round.json, JsonIn::Text(r#"{"a":[1,2]}"#.into()));
        assert_eq!(round.key, parsed[0].key);
    }
}

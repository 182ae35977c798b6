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

/// Parses a bulk body: a JSON array of records.
pub fn parse_records(body: &[u8], limits: &JsonLimits) -> Result<Vec<RecordIn>, serde_json::Error> {
    let mut analyzer = Analyzer::new(limits);
    let mut de = serde_json::Deserializer::from_slice(body);
    let records = RecordsSeed(&mut analyzer).deserialize(&mut de)?;
    de.end()?;
    Ok(records)
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
    fn pending_records_survive_a_snapshot() {
        let parsed = parse(r#"[{"key":"k","contactIdentifier":"account","json":{"a":[1,2]}}]"#);
        let round: RecordIn =
            serde_json::from_value(serde_json::to_value(&parsed[0]).unwrap()).unwrap();
        assert_eq!(round.json, JsonIn::Text(r#"{"a":[1,2]}"#.into()));
        assert_eq!(round.key, parsed[0].key);
    }
}

//! Parsing of upload bodies into staged rows (§7): a JSON array of flat objects (keys are the
//! definition's column names) or CSV with those names as header. Empty strings count as null.
//!
//! JSON is read with a streaming serde visitor straight into columns and rows (no intermediate
//! `serde_json::Value` tree), so large uploads stay cheap. Nothing here touches the store.

use std::collections::HashMap;
use std::fmt;

use serde::Deserializer;
use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};

use super::errors::ApiError;
use super::store::StagedBatch;

/// A JSON array of flat objects; anything else is a parsing error (§13.11).
pub fn parse_json(bytes: &[u8]) -> Result<StagedBatch, ApiError> {
    let mut table = Table::default();
    let mut de = serde_json::Deserializer::from_slice(bytes);
    (&mut table)
        .deserialize(&mut de)
        .and_then(|()| de.end())
        .map_err(|e| ApiError::parsing(e.to_string()))?;
    Ok(StagedBatch {
        columns: table.columns,
        rows: table.rows,
        bytes: len(bytes),
        uploaded_at: 0,
    })
}

/// CSV with a header row of column names.
pub fn parse_csv(bytes: &[u8]) -> Result<StagedBatch, ApiError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(bytes);
    let columns: Vec<String> = reader
        .headers()
        .map_err(|e| ApiError::parsing(e.to_string()))?
        .iter()
        .map(|h| h.trim_start_matches('\u{feff}').to_string())
        .collect();
    let mut rows = Vec::new();
    let mut record = csv::StringRecord::new();
    while reader
        .read_record(&mut record)
        .map_err(|e| ApiError::parsing(e.to_string()))?
    {
        rows.push(
            record
                .iter()
                .map(|v| (!v.is_empty()).then(|| v.to_string()))
                .collect(),
        );
    }
    Ok(StagedBatch {
        columns,
        rows,
        bytes: len(bytes),
        uploaded_at: 0,
    })
}

fn len(bytes: &[u8]) -> u64 {
    u64::try_from(bytes.len()).unwrap_or(u64::MAX)
}

/// Columns in order of first appearance, and rows aligned on them.
#[derive(Default)]
struct Table {
    columns: Vec<String>,
    index: HashMap<String, usize>,
    rows: Vec<Vec<Option<String>>>,
}

impl Table {
    fn column(&mut self, name: &str) -> usize {
        if let Some(at) = self.index.get(name) {
            return *at;
        }
        self.columns.push(name.to_string());
        self.index.insert(name.to_string(), self.columns.len() - 1);
        self.columns.len() - 1
    }
}

impl<'de> DeserializeSeed<'de> for &mut Table {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for &mut Table {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON array of flat objects")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(RowSeed(&mut *self))?.is_some() {}
        Ok(())
    }
}

/// One row object.
struct RowSeed<'a>(&'a mut Table);

impl<'de> DeserializeSeed<'de> for RowSeed<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for RowSeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a flat JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut values: Vec<Option<String>> = vec![None; self.0.columns.len()];
        while let Some(at) = map.next_key_seed(KeySeed(&mut *self.0))? {
            let value = map.next_value_seed(ScalarSeed)?;
            if values.len() <= at {
                values.resize(at + 1, None);
            }
            values[at] = value;
        }
        self.0.rows.push(values);
        Ok(())
    }
}

/// A key, resolved to its column position without allocating for known columns.
struct KeySeed<'a>(&'a mut Table);

impl<'de> DeserializeSeed<'de> for KeySeed<'_> {
    type Value = usize;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<usize, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed<'_> {
    type Value = usize;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a column name")
    }

    fn visit_str<E: de::Error>(self, name: &str) -> Result<usize, E> {
        Ok(self.0.column(name))
    }
}

/// A scalar value as text; null and "" are `None`; arrays and objects are refused.
struct ScalarSeed;

impl<'de> DeserializeSeed<'de> for ScalarSeed {
    type Value = Option<String>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ScalarSeed {
    type Value = Option<String>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string, number, boolean or null (values must be scalars)")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok((!v.is_empty()).then(|| v.to_string()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok((!v.is_empty()).then_some(v))
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Some(v.to_string()))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Some(v.to_string()))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Some(v.to_string()))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Some(
            serde_json::Number::from_f64(v).map_or_else(|| v.to_string(), |n| n.to_string()),
        ))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_rows_align_on_columns_of_first_appearance() {
        let batch =
            parse_json(br#"[{"a": "1", "b": 2}, {"b": null, "c": true, "a": ""}, {"d": 1.5}]"#)
                .unwrap_or_default();
        assert_eq!(batch.columns, ["a", "b", "c", "d"]);
        assert_eq!(
            batch.rows[0],
            [Some("1".to_string()), Some("2".to_string())]
        );
        assert_eq!(batch.rows[1], [None, None, Some("true".to_string())]);
        assert_eq!(batch.rows[2], [None, None, None, Some("1.5".to_string())]);
        for bad in [
            &br#"{"a": 1}"#[..],
            br#"[{"a": {"b": 1}}]"#,
            br#"["x"]"#,
            b"[",
            br#"[{"a": [1]}]"#,
            b"[] x",
        ] {
            assert!(parse_json(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn csv_rows_use_the_header() {
        let batch =
            parse_csv(b"\xef\xbb\xbfOpportunityID,EmailAddress\nOPP-1,a@example.com\nOPP-2,\n")
                .unwrap_or_default();
        assert_eq!(batch.columns, ["OpportunityID", "EmailAddress"]);
        assert_eq!(batch.rows[1], [Some("OPP-2".to_string()), None]);
    }
}

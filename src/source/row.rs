//! One row of a source, borrowed from the reader's reused buffers, and the column references
//! (resolved once per job) that read its fields.
//!
//! It must not copy the row: a [`Row`] only borrows, and is valid until the next read.

use std::cell::RefCell;

use serde_json::{Map, Value};
use xxhash_rust::xxh3::xxh3_64;

thread_local! {
    /// The buffer `Row::hash64` lays a delimited row out in; reused so hashing never allocates.
    static SCRATCH: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// A column of the source, resolved once per job by [`super::SourceReader::resolve`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnRef {
    name: String,
    kind: RefKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum RefKind {
    /// The index of a field of a delimited row.
    Index(usize),
    /// A key of a JSON object; `path` is the key split on dots, tried when the whole key
    /// is absent (`address.city` reads `{"address": {"city": ...}}`).
    Key { path: Vec<String> },
}

impl ColumnRef {
    pub(crate) fn index(name: &str, index: usize) -> Self {
        ColumnRef {
            name: name.to_string(),
            kind: RefKind::Index(index),
        }
    }

    pub(crate) fn key(name: &str) -> Self {
        let path = name.split('.').map(str::to_string).collect();
        ColumnRef {
            name: name.to_string(),
            kind: RefKind::Key { path },
        }
    }

    /// The name the job used for this column.
    pub fn name(&self) -> &str {
        &self.name
    }
}

/// The value of one field.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Field<'a> {
    /// A field of a delimited file, or a JSON string.
    Str(&'a str),
    /// Any other JSON value (number, bool, null, array, object).
    Json(&'a Value),
}

impl<'a> Field<'a> {
    /// The text of a `Str` field.
    pub fn as_str(&self) -> Option<&'a str> {
        match self {
            Field::Str(s) => Some(s),
            Field::Json(_) => None,
        }
    }
}

/// One row, valid until the reader reads the next one.
#[derive(Debug, Clone, Copy)]
pub struct Row<'a> {
    line: u64,
    data: RowData<'a>,
}

#[derive(Debug, Clone, Copy)]
enum RowData<'a> {
    /// Unescaped field bytes back to back, and the end offset of each field.
    Delimited { bytes: &'a [u8], ends: &'a [usize] },
    /// A JSON Lines object and its line as read (trimmed).
    Json {
        object: &'a Map<String, Value>,
        raw: &'a [u8],
    },
}

impl<'a> Row<'a> {
    pub(crate) fn delimited(line: u64, bytes: &'a [u8], ends: &'a [usize]) -> Self {
        Row {
            line,
            data: RowData::Delimited { bytes, ends },
        }
    }

    pub(crate) fn json(line: u64, object: &'a Map<String, Value>, raw: &'a [u8]) -> Self {
        Row {
            line,
            data: RowData::Json { object, raw },
        }
    }

    /// The physical line (1-based) where the row starts.
    pub fn line(&self) -> u64 {
        self.line
    }

    /// The number of fields (delimited) or top-level keys (JSON Lines).
    pub fn len(&self) -> usize {
        match self.data {
            RowData::Delimited { ends, .. } => ends.len(),
            RowData::Json { object, .. } => object.len(),
        }
    }

    /// Whether the row has no fields at all.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The value of a column; `None` when a JSON row lacks the key (or the reference belongs to
    /// another format).
    pub fn get(&self, column: &ColumnRef) -> Option<Field<'a>> {
        match (&self.data, &column.kind) {
            (RowData::Delimited { bytes, ends }, RefKind::Index(i)) => {
                let raw = field(bytes, ends, *i)?;
                // The text layer guarantees UTF-8 and fields split at ASCII delimiters, so this
                // cannot fail; were it to, the value reads as missing (the row becomes invalid).
                std::str::from_utf8(raw).ok().map(Field::Str)
            }
            (RowData::Json { object, .. }, RefKind::Key { path }) => {
                let value = object
                    .get(column.name.as_str())
                    .or_else(|| walk(object, path))?;
                Some(match value {
                    Value::String(s) => Field::Str(s),
                    other => Field::Json(other),
                })
            }
            _ => None,
        }
    }

    /// The raw fields of a delimited row, unescaped, in file order (empty for JSON Lines).
    pub fn fields(&self) -> impl Iterator<Item = &'a [u8]> + 'a {
        let (bytes, ends): (&'a [u8], &'a [usize]) = match self.data {
            RowData::Delimited { bytes, ends } => (bytes, ends),
            RowData::Json { .. } => (&[], &[]),
        };
        (0..ends.len()).filter_map(move |i| field(bytes, ends, i))
    }

    /// The row as read: the JSON Lines line (trimmed), or for a delimited row its unescaped
    /// fields back to back (without separators: use [`Row::hash64`] to compare rows).
    pub fn raw_bytes(&self) -> &'a [u8] {
        match self.data {
            RowData::Delimited { bytes, ends } => &bytes[..ends.last().copied().unwrap_or(0)],
            RowData::Json { raw, .. } => raw,
        }
    }

    /// An xxh3 hash of the whole row. For a delimited row each field is hashed with its length
    /// (u32 little-endian) first, so `a,bc` and `ab,c` differ; this is the same content hash as
    /// the bench `floor` computes. For JSON Lines, the hash of the trimmed line.
    pub fn hash64(&self) -> u64 {
        match self.data {
            // One-shot xxh3 over a reused buffer is much faster than streaming small updates.
            RowData::Delimited { .. } => SCRATCH.with_borrow_mut(|scratch| {
                scratch.clear();
                for f in self.fields() {
                    scratch.extend_from_slice(&(f.len() as u32).to_le_bytes());
                    scratch.extend_from_slice(f);
                }
                xxh3_64(scratch)
            }),
            RowData::Json { raw, .. } => xxh3_64(raw),
        }
    }
}

fn field<'a>(bytes: &'a [u8], ends: &[usize], i: usize) -> Option<&'a [u8]> {
    let end = *ends.get(i)?;
    let start = if i == 0 { 0 } else { *ends.get(i - 1)? };
    bytes.get(start..end)
}

/// Follows a dotted path through objects (and arrays, by index).
fn walk<'a>(object: &'a Map<String, Value>, path: &[String]) -> Option<&'a Value> {
    let (first, rest) = path.split_first()?;
    if rest.is_empty() {
        return None; // a one-segment path is the whole key, already tried
    }
    let mut value = object.get(first)?;
    for segment in rest {
        value = match value {
            Value::Object(map) => map.get(segment)?,
            Value::Array(items) => items.get(segment.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delimited_fields_by_index() {
        let bytes = b"abcd";
        let ends = [1, 1, 4];
        let row = Row::delimited(7, bytes, &ends);
        assert_eq!(row.line(), 7);
        assert_eq!(row.len(), 3);
        assert_eq!(row.get(&ColumnRef::index("x", 1)), Some(Field::Str("")));
        assert_eq!(row.get(&ColumnRef::index("x", 2)), Some(Field::Str("bcd")));
        assert_eq!(row.get(&ColumnRef::index("x", 3)), None);
        assert_eq!(row.get(&ColumnRef::key("x")), None);
        assert_eq!(row.raw_bytes(), b"abcd");
    }

    #[test]
    fn json_keys_dotted_paths_and_array_indexes() {
        let value = serde_json::json!({"a": {"b": [10, {"c": "deep"}]}, "x.y": "literal", "n": 1});
        let Value::Object(object) = value else {
            panic!("not an object");
        };
        let row = Row::json(3, &object, b"{}");
        assert_eq!(
            row.get(&ColumnRef::key("a.b.1.c")),
            Some(Field::Str("deep"))
        );
        assert_eq!(row.get(&ColumnRef::key("x.y")), Some(Field::Str("literal")));
        assert_eq!(row.get(&ColumnRef::key("n")).and_then(|f| f.as_str()), None);
        assert!(matches!(row.get(&ColumnRef::key("a.b.0")), Some(Field::Json(v)) if v == 10));
        assert_eq!(row.get(&ColumnRef::key("a.b.7")), None);
        assert_eq!(row.get(&ColumnRef::key("n.z")), None);
        assert_eq!(row.get(&ColumnRef::index("n", 0)), None);
    }
}

//! One-pass analysis of a record's `json` object while the request body is parsed: it writes
//! the object back as compact JSON text (what the store keeps and the reads return), lists each
//! property path with its type, and notes the first rule the object breaks (nested arrays,
//! property name and value limits, dash/underscore clashes, one path with two types).
//!
//! No JSON tree is built: a 50 MB body must be processed at 100 MB/s or more, and keeping
//! text instead of `serde_json::Value` trees keeps the store small. The per-record rules that
//! do not look inside `json` are in `rules.rs`.

use std::collections::HashMap;
use std::fmt::{self, Write};
use std::sync::Arc;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use xxhash_rust::xxh3::xxh3_64;

use super::settings::JsonLimits;
use super::store::JsonType;
use super::wire::FaultReason;

/// A property path list shared by every record of the same shape.
pub type Props = Arc<[(String, JsonType)]>;

/// The result of analysing one `json` object.
#[derive(Debug, Clone, PartialEq)]
pub struct Analyzed {
    pub text: String,
    pub props: Props,
    pub shape: u64,
    pub violation: Option<(FaultReason, String)>,
}

/// How a record's `json` property arrived.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum JsonIn {
    #[default]
    Missing,
    /// A string, to be parsed as JSON at processing time.
    Text(String),
    /// An object, analysed while the body was parsed.
    Object(Analyzed),
    /// Anything else (number, array, boolean, null).
    Other,
}

/// Analysis state reused across the records of one request.
pub struct Analyzer<'l> {
    limits: &'l JsonLimits,
    shapes: HashMap<u64, Props>,
    out: String,
    path: String,
    /// Hash of `path`, built level by level so a path is never compared as text.
    hash: u64,
    arena: String,
    /// (path hash, path start and end in `arena`, type), each path once.
    spans: Vec<(u64, usize, usize, JsonType)>,
    violation: Option<(FaultReason, String)>,
}

impl<'l> Analyzer<'l> {
    pub fn new(limits: &'l JsonLimits) -> Self {
        Self {
            limits,
            shapes: HashMap::new(),
            out: String::new(),
            path: String::new(),
            hash: 0,
            arena: String::new(),
            spans: Vec::new(),
            violation: None,
        }
    }

    /// Analyses `json` given as a string: it must parse to an object.
    pub fn analyze_text(&mut self, text: &str) -> Option<Analyzed> {
        let mut de = serde_json::Deserializer::from_str(text);
        match JsonSeed(self).deserialize(&mut de) {
            Ok(JsonIn::Object(a)) if de.end().is_ok() => Some(a),
            _ => None,
        }
    }

    fn begin(&mut self) {
        self.out.clear();
        self.path.clear();
        self.hash = 0;
        self.arena.clear();
        self.spans.clear();
        self.violation = None;
    }

    fn finish(&mut self) -> Analyzed {
        let shape = self
            .spans
            .iter()
            .fold(0x5eed, |h, (p, _, _, t)| mix(mix(h, *p), *t as u64));
        let props = match self.shapes.get(&shape) {
            Some(props) => props.clone(),
            None => {
                let list: Vec<(String, JsonType)> = self
                    .spans
                    .iter()
                    .map(|(_, s, e, t)| (self.arena[*s..*e].to_string(), *t))
                    .collect();
                let props: Props = list.into();
                self.shapes.insert(shape, props.clone());
                props
            }
        };
        Analyzed {
            text: self.out.clone(),
            props,
            shape,
            violation: self.violation.take(),
        }
    }

    fn violate(&mut self, reason: FaultReason, detail: &str) {
        if self.violation.is_none() {
            self.violation = Some((reason, detail.to_string()));
        }
    }

    /// Notes the current path's type; one path with two types is `InconsistentTypes`.
    fn record(&mut self, t: JsonType) {
        let hash = self.hash;
        match self
            .spans
            .iter()
            .find(|span| span.0 == hash)
            .map(|span| span.3)
        {
            Some(existing) if existing != t => {
                self.violate(FaultReason::InconsistentTypes, &self.path.clone())
            }
            Some(_) => {}
            None => {
                let start = self.arena.len();
                self.arena.push_str(&self.path);
                self.spans.push((hash, start, self.arena.len(), t));
            }
        }
    }

    /// Extends the path (text and hash) by one level.
    fn push_level(&mut self, segment: &str, separator: bool, segment_hash: u64) {
        if separator && !self.path.is_empty() {
            self.path.push('.');
        }
        self.path.push_str(segment);
        self.hash = mix(self.hash, segment_hash);
    }

    fn write_str(&mut self, s: &str) {
        self.out.push('"');
        if s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
            self.out.push_str(s);
        } else {
            for c in s.chars() {
                match c {
                    '"' => self.out.push_str("\\\""),
                    '\\' => self.out.push_str("\\\\"),
                    '\n' => self.out.push_str("\\n"),
                    '\r' => self.out.push_str("\\r"),
                    '\t' => self.out.push_str("\\t"),
                    c if (c as u32) < 0x20 => {
                        let _ = write!(self.out, "\\u{:04x}", c as u32);
                    }
                    c => self.out.push(c),
                }
            }
        }
        self.out.push('"');
    }

    fn too_long(s: &str, limit: usize) -> bool {
        s.len() > limit && s.chars().count() > limit
    }

    fn number(&mut self, value: f64) {
        if !value.is_finite() || value.abs() > self.limits.number_max {
            self.violate(FaultReason::JsonNumberValueTooLarge, &self.path.clone());
        }
        self.record(JsonType::Number);
    }

    /// Writes an integer without the formatting machinery (most numbers are integers).
    fn write_int(&mut self, negative: bool, mut v: u64) {
        let mut buf = [0u8; 20];
        let mut i = buf.len();
        loop {
            i -= 1;
            buf[i] = b'0' + (v % 10) as u8;
            v /= 10;
            if v == 0 {
                break;
            }
        }
        if negative {
            self.out.push('-');
        }
        self.out.extend(buf[i..].iter().map(|b| *b as char));
    }
}

/// Deserializes a record's `json` property into a `JsonIn`.
pub struct JsonSeed<'a, 'l>(pub &'a mut Analyzer<'l>);

impl<'de> DeserializeSeed<'de> for JsonSeed<'_, '_> {
    type Value = JsonIn;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<JsonIn, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for JsonSeed<'_, '_> {
    type Value = JsonIn;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object or a string holding one")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<JsonIn, E> {
        Ok(JsonIn::Text(v.to_string()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<JsonIn, E> {
        Ok(JsonIn::Text(v))
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<JsonIn, A::Error> {
        self.0.begin();
        ValueSeed {
            an: &mut *self.0,
            in_array: false,
        }
        .visit_map(map)?;
        Ok(JsonIn::Object(self.0.finish()))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<JsonIn, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(JsonIn::Other)
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<JsonIn, E> {
        Ok(JsonIn::Other)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<JsonIn, E> {
        Ok(JsonIn::Other)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<JsonIn, E> {
        Ok(JsonIn::Other)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<JsonIn, E> {
        Ok(JsonIn::Other)
    }
    fn visit_unit<E: de::Error>(self) -> Result<JsonIn, E> {
        Ok(JsonIn::Other)
    }
}

/// Visits one value inside an object, at `Analyzer::path`.
struct ValueSeed<'a, 'l> {
    an: &'a mut Analyzer<'l>,
    in_array: bool,
}

impl<'de> DeserializeSeed<'de> for ValueSeed<'_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ValueSeed<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        if Analyzer::too_long(v, self.an.limits.string_length) {
            self.an
                .violate(FaultReason::JsonValueTooLong, &self.an.path.clone());
        }
        self.an.write_str(v);
        self.an.record(JsonType::String);
        Ok(())
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<(), E> {
        self.an.out.push_str(if v { "true" } else { "false" });
        self.an.record(JsonType::Boolean);
        Ok(())
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.an.out.push_str("null");
        Ok(())
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<(), E> {
        self.an.write_int(false, v);
        self.an.number(v as f64);
        Ok(())
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<(), E> {
        self.an.write_int(v < 0, v.unsigned_abs());
        self.an.number(v as f64);
        Ok(())
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<(), E> {
        // Debug keeps a fraction or exponent (`20.0`, `1e16`): valid JSON, and a float stays
        // a float.
        let _ = write!(self.an.out, "{v:?}");
        self.an.number(v);
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        if self.in_array {
            self.an
                .violate(FaultReason::JsonContainsNestedArray, &self.an.path.clone());
        }
        self.an.record(JsonType::Array);
        self.an.out.push('[');
        let (len, hash) = (self.an.path.len(), self.an.hash);
        self.an.push_level("[]", false, ARRAY_LEVEL);
        let mut first = true;
        loop {
            if !first {
                self.an.out.push(',');
            }
            if seq
                .next_element_seed(ValueSeed {
                    an: &mut *self.an,
                    in_array: true,
                })?
                .is_none()
            {
                if !first {
                    self.an.out.pop();
                }
                break;
            }
            first = false;
        }
        self.an.path.truncate(len);
        self.an.hash = hash;
        self.an.out.push(']');
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        if !self.an.path.is_empty() {
            self.an.record(JsonType::Object);
        }
        self.an.out.push('{');
        let (len, hash) = (self.an.path.len(), self.an.hash);
        let mut folded: Vec<String> = Vec::new();
        let mut first = true;
        while map
            .next_key_seed(KeySeed {
                an: &mut *self.an,
                first,
                folded: &mut folded,
            })?
            .is_some()
        {
            first = false;
            map.next_value_seed(ValueSeed {
                an: &mut *self.an,
                in_array: false,
            })?;
            self.an.path.truncate(len);
            self.an.hash = hash;
        }
        self.an.out.push('}');
        Ok(())
    }
}

/// Checks and writes one property name, and extends the path with it.
struct KeySeed<'a, 'l> {
    an: &'a mut Analyzer<'l>,
    first: bool,
    folded: &'a mut Vec<String>,
}

impl<'de> DeserializeSeed<'de> for KeySeed<'_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a property name")
    }
    fn visit_str<E: de::Error>(self, name: &str) -> Result<(), E> {
        let an = self.an;
        let scan = NameScan::of(name);
        if Analyzer::too_long(name, an.limits.key_length) {
            an.violate(FaultReason::JsonKeyTooLong, name);
        }
        if scan.bad {
            an.violate(FaultReason::JsonKeyInvalidCharacters, name);
        }
        if scan.dash_or_underscore {
            let f = fold(name);
            if self.folded.contains(&f) {
                an.violate(FaultReason::JsonContainsDashUnderscoreClash, name);
            }
            self.folded.push(f);
        }
        if !self.first {
            an.out.push(',');
        }
        if scan.plain {
            an.out.push('"');
            an.out.push_str(name);
            an.out.push_str("\":");
        } else {
            an.write_str(name);
            an.out.push(':');
        }
        an.push_level(name, true, xxh3_64(name.as_bytes()));
        Ok(())
    }
}

/// The hash step of an array level (`[]`).
const ARRAY_LEVEL: u64 = 0x9e37_79b9_7f4a_7c15;

/// Order-sensitive combination of two hashes (splitmix64 finaliser over a rotate-xor).
fn mix(a: u64, b: u64) -> u64 {
    let mut z = a.rotate_left(23) ^ b.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Folds `-` to `_`, the comparison behind `JsonContainsDashUnderscoreClash`.
pub fn fold(path: &str) -> String {
    path.replace('-', "_")
}

/// What one pass over a property name's bytes found (names are short and mostly ASCII).
struct NameScan {
    /// Empty, or a control character or one of `. $ [ ] { }`.
    bad: bool,
    dash_or_underscore: bool,
    /// Writable as is, without escapes.
    plain: bool,
}

impl NameScan {
    fn of(name: &str) -> Self {
        let mut scan = Self {
            bad: name.is_empty(),
            dash_or_underscore: false,
            plain: true,
        };
        let mut non_ascii = false;
        for &b in name.as_bytes() {
            match b {
                b'-' | b'_' => scan.dash_or_underscore = true,
                b'.' | b'$' | b'[' | b']' | b'{' | b'}' | 0x7f => scan.bad = true,
                b'"' | b'\\' => scan.plain = false,
                0..=0x1f => {
                    scan.bad = true;
                    scan.plain = false;
                }
                0x80.. => non_ascii = true,
                _ => {}
            }
        }
        if non_ascii && name.chars().any(char::is_control) {
            scan.bad = true;
        }
        scan
    }
}

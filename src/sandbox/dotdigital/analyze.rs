//! One-pass analysis of a record's `json` object while the request body is parsed: it writes
//! the object back as compact JSON text (what the store keeps and the reads return), lists each
//! property path with its type, and notes the first rule the object breaks (nested arrays,
//! property name and value limits, dash/underscore clashes, one path with two types).
//!
//! No JSON tree is built: a 50 MB body must be processed at 100 MB/s or more, and keeping
//! text instead of `serde_json::Value` trees keeps the store small. The per-record rules that
//! do not look inside `json` are in `rules.rs`.

mod visit;

use std::collections::HashMap;
use std::fmt::{self, Write};
use std::sync::Arc;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::settings::JsonLimits;
use super::store::JsonType;
use super::wire::FaultReason;
use visit::{ValueSeed, mix};

pub use visit::fold;

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

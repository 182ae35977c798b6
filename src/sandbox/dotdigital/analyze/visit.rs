//! The serde visitors behind `Analyzer`: values, property names, and the path hashing that
//! lets a path be recognised without comparing text. Part of `analyze`; it writes into the
//! analyzer's buffers and nothing else.

use std::fmt::Write;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use xxhash_rust::xxh3::xxh3_64;

use super::{Analyzer, FaultReason, JsonType, fmt};

/// Visits one value inside an object, at `Analyzer::path`.
pub(super) struct ValueSeed<'a, 'l> {
    pub(super) an: &'a mut Analyzer<'l>,
    pub(super) in_array: bool,
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
pub(super) const ARRAY_LEVEL: u64 = 0x9e37_79b9_7f4a_7c15;

/// Order-sensitive combination of two hashes (splitmix64 finaliser over a rotate-xor).
pub(super) fn mix(a: u64, b: u64) -> u64 {
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

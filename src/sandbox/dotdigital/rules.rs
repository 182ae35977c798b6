//! The per-record rules of a bulk insight import that need nothing but the record itself
//! (notes §11 item 7): key, identifier form, `json` parsing, nested arrays, property name and
//! value limits, dash/underscore clashes, duplicate keys within the request.
//!
//! Runs outside the store lock (it is the expensive part of processing). The rules that need the
//! account's state (contacts, scope, stored types) are in `commit.rs`.

use std::collections::HashSet;

use serde_json::{Map, Value};
use xxhash_rust::xxh3::Xxh3;

use super::settings::JsonLimits;
use super::store::JsonType;
use super::wire::{Fault, FaultReason, RecordIn};

/// How a record names its owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ident {
    Account,
    Email(String),
    Id(u64),
}

/// A record that passed the stateless rules.
#[derive(Debug, Clone, PartialEq)]
pub struct Prepared {
    pub key: String,
    pub ident: Ident,
    pub identifier: String,
    pub json: Map<String, Value>,
    /// Every property path with its type, each path once.
    pub props: Vec<(String, JsonType)>,
    /// A hash of `props`: records of one shape need their types checked only once.
    pub shape: u64,
}

pub fn fault(key: Option<String>, reason: FaultReason, detail: Option<&str>) -> Fault {
    Fault {
        key,
        reason,
        detail: detail.map(str::to_string),
    }
}

/// The collection name rule of §6: `^[A-Za-z_][A-Za-z0-9_]{0,254}$`; with the compatibility
/// switch, `-` is also accepted after the first character (older docs and clients).
pub fn valid_collection_name(name: &str, allow_dashes: bool) -> bool {
    let bytes = name.as_bytes();
    let Some(first) = bytes.first() else {
        return false;
    };
    (first.is_ascii_alphabetic() || *first == b'_')
        && bytes.len() <= 255
        && bytes[1..]
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'_' || (allow_dashes && *b == b'-'))
}

/// A plausible email address: one `@`, a non-empty local part, a dotted domain, no spaces.
pub fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !s.chars().any(char::is_whitespace)
}

/// Parses a contact identifier: `account`, a positive contact id, or an email address.
pub fn parse_ident(s: &str) -> Option<Ident> {
    if s.eq_ignore_ascii_case("account") {
        Some(Ident::Account)
    } else if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        s.parse::<u64>().ok().filter(|id| *id > 0).map(Ident::Id)
    } else if is_email(s) {
        Some(Ident::Email(s.to_ascii_lowercase()))
    } else {
        None
    }
}

/// Applies the stateless rules to every record, in order; later duplicates of a key are faults.
pub fn prepare(records: Vec<RecordIn>, limits: &JsonLimits) -> Vec<Result<Prepared, Fault>> {
    let mut seen: HashSet<String> = HashSet::with_capacity(records.len());
    records
        .into_iter()
        .map(|record| {
            let result = prepare_one(record, limits, &seen);
            if let Ok(p) = &result {
                seen.insert(p.key.clone());
            } else if let Err(Fault {
                key: Some(k),
                reason,
                ..
            }) = &result
                && *reason != FaultReason::DuplicateKey
                && *reason != FaultReason::InvalidClientKey
            {
                seen.insert(k.clone());
            }
            result
        })
        .collect()
}

fn prepare_one(
    record: RecordIn,
    limits: &JsonLimits,
    seen: &HashSet<String>,
) -> Result<Prepared, Fault> {
    let key = record.key.unwrap_or_default();
    if key.is_empty() || key.chars().count() > limits.record_key_length {
        return Err(fault(Some(key), FaultReason::InvalidClientKey, None));
    }
    if seen.contains(&key) {
        return Err(fault(Some(key), FaultReason::DuplicateKey, None));
    }
    let identifier = record.contact_identifier.unwrap_or_default();
    let Some(ident) = parse_ident(&identifier) else {
        return Err(fault(
            Some(key),
            FaultReason::InvalidContactIdentifier,
            None,
        ));
    };
    let json = match record.json {
        Some(Value::Object(map)) => map,
        Some(Value::String(text)) => match serde_json::from_str::<Value>(&text) {
            Ok(Value::Object(map)) => map,
            _ => return Err(fault(Some(key), FaultReason::InvalidJson, None)),
        },
        _ => return Err(fault(Some(key), FaultReason::InvalidJson, None)),
    };
    let mut walk = Walk {
        limits,
        props: Vec::new(),
    };
    if let Err((reason, detail)) = walk.object(&json, "") {
        return Err(fault(Some(key), reason, Some(&detail)));
    }
    let shape = shape_of(&walk.props);
    Ok(Prepared {
        key,
        ident,
        identifier,
        json,
        props: walk.props,
        shape,
    })
}

fn shape_of(props: &[(String, JsonType)]) -> u64 {
    let mut hasher = Xxh3::new();
    for (path, t) in props {
        hasher.update(path.as_bytes());
        hasher.update(&[0xff, *t as u8]);
    }
    hasher.digest()
}

/// Folds `-` to `_`, the comparison behind `JsonContainsDashUnderscoreClash`.
pub fn fold(path: &str) -> String {
    path.replace('-', "_")
}

fn type_of(v: &Value) -> Option<JsonType> {
    match v {
        Value::Null => None,
        Value::Bool(_) => Some(JsonType::Boolean),
        Value::Number(_) => Some(JsonType::Number),
        Value::String(_) => Some(JsonType::String),
        Value::Array(_) => Some(JsonType::Array),
        Value::Object(_) => Some(JsonType::Object),
    }
}

fn bad_key_char(c: char) -> bool {
    c.is_control() || matches!(c, '.' | '$' | '[' | ']' | '{' | '}')
}

type Rejection = (FaultReason, String);

struct Walk<'a> {
    limits: &'a JsonLimits,
    props: Vec<(String, JsonType)>,
}

impl Walk<'_> {
    fn object(&mut self, map: &Map<String, Value>, prefix: &str) -> Result<(), Rejection> {
        let mut folded: Vec<String> = Vec::new();
        for (name, value) in map {
            if name.chars().count() > self.limits.key_length {
                return Err((FaultReason::JsonKeyTooLong, name.clone()));
            }
            if name.is_empty() || name.chars().any(bad_key_char) {
                return Err((FaultReason::JsonKeyInvalidCharacters, name.clone()));
            }
            if name.contains(['-', '_']) {
                let f = fold(name);
                if folded.contains(&f) {
                    return Err((FaultReason::JsonContainsDashUnderscoreClash, name.clone()));
                }
                folded.push(f);
            }
            let path = if prefix.is_empty() {
                name.clone()
            } else {
                format!("{prefix}.{name}")
            };
            self.value(value, path)?;
        }
        Ok(())
    }

    fn value(&mut self, value: &Value, path: String) -> Result<(), Rejection> {
        match value {
            Value::String(s) if s.chars().count() > self.limits.string_length => {
                return Err((FaultReason::JsonValueTooLong, path));
            }
            Value::Number(n) if n.as_f64().is_none_or(|f| f.abs() > self.limits.number_max) => {
                return Err((FaultReason::JsonNumberValueTooLarge, path));
            }
            Value::Object(map) => self.object(map, &path)?,
            Value::Array(items) => {
                let inner = format!("{path}[]");
                for item in items {
                    if item.is_array() {
                        return Err((FaultReason::JsonContainsNestedArray, path));
                    }
                    self.value(item, inner.clone())?;
                }
            }
            _ => {}
        }
        self.record(path, value)
    }

    /// Notes the path's type; one record giving one path two types is `InconsistentTypes`.
    fn record(&mut self, path: String, value: &Value) -> Result<(), Rejection> {
        let Some(t) = type_of(value) else {
            return Ok(());
        };
        match self.props.iter().find(|(p, _)| *p == path) {
            Some((_, existing)) if *existing != t => Err((FaultReason::InconsistentTypes, path)),
            Some(_) => Ok(()),
            None => {
                self.props.push((path, t));
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rec(key: &str, ident: &str, body: Value) -> RecordIn {
        RecordIn {
            key: Some(key.into()),
            contact_identifier: Some(ident.into()),
            json: Some(body),
        }
    }

    fn reasons(records: Vec<RecordIn>) -> Vec<Option<FaultReason>> {
        prepare(records, &JsonLimits::default())
            .into_iter()
            .map(|r| r.err().map(|f| f.reason))
            .collect()
    }

    #[test]
    fn each_stateless_rule_names_its_reason() {
        let long_key = "k".repeat(256);
        let got = reasons(vec![
            rec("a", "a@example.com", json!({"x": 1})),
            rec("a", "a@example.com", json!({"x": 1})),
            rec("", "a@example.com", json!({})),
            rec(&long_key, "a@example.com", json!({})),
            rec("b", "not an identifier", json!({})),
            rec("c", "12", json!("{not json")),
            rec("d", "12", json!("[1,2]")),
            rec("e", "account", json!({"m": [[1]]})),
            rec("f", "account", json!({"order-id": 1, "order_id": 2})),
            rec("g", "account", json!({"n": 1e16})),
            rec("h", "account", json!({"s": "x".repeat(4001)})),
            rec("i", "account", json!({"p": [{"q": 1}, {"q": "one"}]})),
            rec("j", "account", json!({"a.b": 1})),
            rec("k", "account", json!({"x".repeat(65): 1})),
            rec("l", "7", json!("{\"ok\": true}")),
        ]);
        use FaultReason::*;
        assert_eq!(
            got,
            vec![
                None,
                Some(DuplicateKey),
                Some(InvalidClientKey),
                Some(InvalidClientKey),
                Some(InvalidContactIdentifier),
                Some(InvalidJson),
                Some(InvalidJson),
                Some(JsonContainsNestedArray),
                Some(JsonContainsDashUnderscoreClash),
                Some(JsonNumberValueTooLarge),
                Some(JsonValueTooLong),
                Some(InconsistentTypes),
                Some(JsonKeyInvalidCharacters),
                Some(JsonKeyTooLong),
                None,
            ]
        );
    }

    #[test]
    fn collection_names_follow_the_strict_rule() {
        assert!(valid_collection_name("Orders_2024", false));
        assert!(valid_collection_name("_x", false));
        assert!(valid_collection_name(&"a".repeat(255), false));
        assert!(!valid_collection_name(&"a".repeat(256), false));
        assert!(!valid_collection_name("1orders", false));
        assert!(!valid_collection_name("my orders", false));
        assert!(!valid_collection_name("", false));
        assert!(!valid_collection_name("web-orders", false));
        assert!(valid_collection_name("web-orders", true));
        assert!(!valid_collection_name("-orders", true));
    }

    #[test]
    fn identifiers_are_account_ids_or_emails() {
        assert_eq!(parse_ident("ACCOUNT"), Some(Ident::Account));
        assert_eq!(parse_ident("42"), Some(Ident::Id(42)));
        assert_eq!(parse_ident("0"), None);
        assert_eq!(
            parse_ident("Ann@Example.org"),
            Some(Ident::Email("ann@example.org".into()))
        );
        assert_eq!(parse_ident("ann@localhost"), None);
    }

    #[test]
    fn props_list_each_path_once() {
        let out = prepare(
            vec![rec("a", "1", json!({"l": [{"q": 1}, {"q": 2}], "t": true}))],
            &JsonLimits::default(),
        );
        let props = &out[0].as_ref().unwrap().props;
        let paths: Vec<&str> = props.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(paths, ["l[].q", "l[]", "l", "t"]);
    }
}

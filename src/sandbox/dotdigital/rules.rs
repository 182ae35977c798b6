//! The per-record rules of a bulk insight import that need nothing but the record itself
//! (notes §11 item 7): key, identifier form, `json` being an object (the rules inside `json` are
//! found by `analyze.rs`), duplicate keys within the request; and the collection name rule.
//!
//! Runs outside the store lock. The rules that need the account's state (contacts, scope,
//! stored types) are in `commit.rs`.

use std::collections::HashSet;

use super::analyze::{Analyzed, Analyzer, JsonIn, Props};
use super::request::RecordIn;
use super::settings::JsonLimits;
use super::wire::{Fault, FaultReason};

/// How a record names its owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ident {
    Account,
    /// An email address (the record's `identifier`; compared without regard to case).
    Email,
    Id(u64),
}

/// A record that passed the stateless rules.
#[derive(Debug, Clone, PartialEq)]
pub struct Prepared {
    pub key: String,
    pub ident: Ident,
    pub identifier: String,
    /// The `json` object as compact text.
    pub text: String,
    /// Every property path with its type, each path once.
    pub props: Props,
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
        Some(Ident::Email)
    } else {
        None
    }
}

/// Applies the stateless rules to every record, in order; later duplicates of a key are faults.
pub fn prepare(records: Vec<RecordIn>, limits: &JsonLimits) -> Vec<Result<Prepared, Fault>> {
    let duplicate = duplicates(&records, limits);
    let mut analyzer = Analyzer::new(limits);
    records
        .into_iter()
        .zip(duplicate)
        .map(|(record, dup)| prepare_one(record, limits, dup, &mut analyzer))
        .collect()
}

fn valid_key(key: &str, limits: &JsonLimits) -> bool {
    !key.is_empty()
        && (key.len() <= limits.record_key_length
            || key.chars().count() <= limits.record_key_length)
}

/// Marks every record whose (valid) key an earlier record of the request already used.
fn duplicates(records: &[RecordIn], limits: &JsonLimits) -> Vec<bool> {
    let mut seen: HashSet<&str> = HashSet::with_capacity(records.len());
    records
        .iter()
        .map(|r| match r.key.as_deref() {
            Some(key) if valid_key(key, limits) => !seen.insert(key),
            _ => false,
        })
        .collect()
}

fn prepare_one(
    record: RecordIn,
    limits: &JsonLimits,
    duplicate: bool,
    analyzer: &mut Analyzer<'_>,
) -> Result<Prepared, Fault> {
    let key = record.key.unwrap_or_default();
    if !valid_key(&key, limits) {
        return Err(fault(Some(key), FaultReason::InvalidClientKey, None));
    }
    if duplicate {
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
    let analyzed: Option<Analyzed> = match record.json {
        JsonIn::Object(a) => Some(a),
        JsonIn::Text(text) => analyzer.analyze_text(&text),
        JsonIn::Missing | JsonIn::Other => None,
    };
    let Some(a) = analyzed else {
        return Err(fault(Some(key), FaultReason::InvalidJson, None));
    };
    if let Some((reason, detail)) = a.violation {
        return Err(fault(Some(key), reason, Some(&detail)));
    }
    Ok(Prepared {
        key,
        ident,
        identifier,
        text: a.text,
        props: a.props,
        shape: a.shape,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sandbox::dotdigital::request::parse_records;
    use serde_json::{Value, json};

    fn rec(key: &str, ident: &str, body: Value) -> RecordIn {
        let one = json!([{"key": key, "contactIdentifier": ident, "json": body}]);
        let bytes = serde_json::to_vec(&one).unwrap();
        parse_records(&bytes, &JsonLimits::default())
            .unwrap()
            .remove(0)
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
        assert_eq!(parse_ident("Ann@Example.org"), Some(Ident::Email));
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
        assert_eq!(paths, ["l", "l[]", "l[].q", "t"]);
    }
}

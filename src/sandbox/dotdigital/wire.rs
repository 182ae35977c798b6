//! Dotdigital v2 wire types, written from ../shared/providers/dotdigital.md (§4, §5, §7, §9) and
//! the vendor's OpenAPI documents (`ApiTransactionalData*`, `ApiAccount`, `ApiContactImport*`).
//!
//! Output is camelCase exactly as the spec names it. Input record properties are bound
//! case-insensitively (`key`/`Key`/`KEY`), as the vendor's own Magento client sends PascalCase.
//! Nothing here may be shared with `crate::providers`: the client and the emulator must be
//! written independently.

use std::fmt;

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Status of an insight data import (`ApiTransactionalDataImportStatuses`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ImportStatus {
    NotStarted,
    NotFinished,
    Finished,
    Failed,
}

impl ImportStatus {
    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Finished | Self::Failed)
    }
}

/// `ApiTransactionalDataImport`: the answer of the bulk POST and of the status call.
#[derive(Debug, Serialize)]
pub struct ImportOut<'a> {
    pub id: &'a str,
    pub status: ImportStatus,
}

/// `ApiTransactionalDataImportFaultReason`, every value of the generated spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum FaultReason {
    Unknown,
    InvalidClientKey,
    InvalidContactIdentifier,
    InvalidJson,
    DuplicateKey,
    ContactIdDoesNotExist,
    ContactEmailDoesNotExist,
    JsonKeyTooLong,
    JsonKeyInvalidCharacters,
    JsonValueTooLong,
    JsonValueIncompatibleWithSchema,
    JsonNumberValueTooLarge,
    JsonDoesNotMatchSchema,
    JsonContainsDashUnderscoreClash,
    MissingCollection,
    InconsistentTypes,
    TooManyDistinctKeyValuePairs,
    ContactPhoneNumberDoesNotExist,
    InvalidContactIdentifierType,
    KeyExistingForDifferentContact,
    ContactCustomIdentifierValueDoesNotExist,
    JsonContainsNestedArray,
    NotAvailableInThisVersion,
}

/// `ApiTransactionalDataImportReportFault`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fault {
    pub key: Option<String>,
    pub reason: FaultReason,
    pub detail: Option<String>,
}

/// `ApiTransactionalDataImportReport`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub total_items: u32,
    pub total_imported: u32,
    pub total_rejected: u32,
    pub faults: Vec<Fault>,
}

/// `ApiTransactionalData` as returned by reads: `json` is a string of serialized JSON.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordOut {
    pub key: String,
    pub contact_identifier: String,
    pub json: String,
}

/// `ApiTransactionalDataCollection`.
#[derive(Debug, Serialize)]
pub struct CollectionOut<'a> {
    pub id: u32,
    pub name: &'a str,
}

/// `ApiAccount` and `ApiAccountProperty`.
#[derive(Debug, Serialize)]
pub struct AccountOut {
    pub id: u32,
    pub properties: Vec<AccountProperty>,
}

#[derive(Debug, Serialize)]
pub struct AccountProperty {
    pub name: &'static str,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub value: String,
}

/// `ApiContactImportStatuses` (the subset the emulator produces).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ContactImportStatus {
    NotFinished,
    Finished,
}

/// `ApiContactImport`.
#[derive(Debug, Serialize)]
pub struct ContactImportOut<'a> {
    pub id: &'a str,
    pub status: ContactImportStatus,
}

/// `ApiContactImportReport`: every counter of the spec.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContactImportReport {
    pub new_contacts: u32,
    pub updated_contacts: u32,
    pub globally_suppressed: u32,
    pub invalid_entries: u32,
    pub duplicate_emails: u32,
    pub blocked: u32,
    pub unsubscribed: u32,
    pub hard_bounced: u32,
    pub soft_bounced: u32,
    pub isp_complaints: u32,
    pub mail_blocked: u32,
    pub domain_suppressed: u32,
    pub pending_double_optin: u32,
    pub failures: u32,
    pub suppressed_contacts: u32,
}

/// The v2 error body: one `message` string carrying an `ERROR_*` code.
#[derive(Debug, Serialize)]
pub struct ErrorBody<'a> {
    pub message: &'a str,
}

/// `ApiFileMedia`, the JSON form of a contact import (`data` is base64).
#[derive(Debug, Deserialize)]
pub struct FileMediaIn {
    #[serde(alias = "FileName", alias = "filename")]
    pub file_name: Option<String>,
    #[serde(alias = "Data")]
    pub data: Option<String>,
}

/// A scalar request property that Json.NET would bind to a .NET string: strings as they are,
/// numbers by their text. Anything else makes the request body invalid.
fn scalar_text(value: Value) -> Result<Option<String>, &'static str> {
    match value {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s)),
        Value::Number(n) => Ok(Some(n.to_string())),
        Value::Bool(b) => Ok(Some(b.to_string())),
        Value::Array(_) | Value::Object(_) => Err("expected a string"),
    }
}

/// One submitted `ApiTransactionalData` record. `json` is kept as sent (string or object) so
/// the processing rules can tell an unparsable string from a valid object.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RecordIn {
    pub key: Option<String>,
    #[serde(rename = "contactIdentifier")]
    pub contact_identifier: Option<String>,
    pub json: Option<Value>,
}

impl RecordIn {
    /// Deserializes with case-insensitive property names (see the module docs).
    pub fn deserialize_ci<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(RecordVisitor)
    }
}

struct RecordVisitor;

impl<'de> Visitor<'de> for RecordVisitor {
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
                Field::Json => out.json = Some(map.next_value()?),
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

/// The bulk request body: a JSON array of records.
#[derive(Debug, Default)]
pub struct RecordsIn(pub Vec<RecordIn>);

impl<'de> Deserialize<'de> for RecordsIn {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Ci(RecordIn);
        impl<'de> Deserialize<'de> for Ci {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                RecordIn::deserialize_ci(d).map(Ci)
            }
        }
        let items = Vec::<Ci>::deserialize(d)?;
        Ok(Self(items.into_iter().map(|c| c.0).collect()))
    }
}

/// A single-record request body (`POST .../transactional-data/{collection}` and the replace
/// call, which only needs `json`).
#[derive(Debug, Default)]
pub struct OneRecordIn(pub RecordIn);

impl<'de> Deserialize<'de> for OneRecordIn {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        RecordIn::deserialize_ci(d).map(Self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binds_property_names_case_insensitively() {
        let body = br#"[{"Key":"A","ContactIdentifier":12,"Json":"{}"},{"KEY":"B","json":{"x":1},"extra":[1]}]"#;
        let parsed: RecordsIn = serde_json::from_slice(body).unwrap();
        assert_eq!(parsed.0[0].key.as_deref(), Some("A"));
        assert_eq!(parsed.0[0].contact_identifier.as_deref(), Some("12"));
        assert_eq!(parsed.0[0].json, Some(Value::String("{}".into())));
        assert_eq!(parsed.0[1].key.as_deref(), Some("B"));
        assert_eq!(parsed.0[1].contact_identifier, None);
    }

    #[test]
    fn a_structured_key_is_a_data_error() {
        let err = serde_json::from_slice::<RecordsIn>(br#"[{"key":{"a":1}}]"#).unwrap_err();
        assert_eq!(err.classify(), serde_json::error::Category::Data);
    }
}

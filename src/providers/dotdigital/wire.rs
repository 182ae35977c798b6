//! Dotdigital v2 request and response types of the bulk insight data import, written from
//! ../shared/providers/dotdigital.md (§5 request, §7 status and report, §9 errors).
//!
//! Responses are parsed leniently about case (the vendor's own clients see both camelCase and
//! PascalCase, §2). Nothing here may come from `crate::sandbox`: the client and the emulator
//! are written independently so they cannot agree on a mistake.

use serde::Deserialize;

/// Writes one record of the bulk import body. Field order is the wire order the plan's size
/// model assumes: `{"key":…,"contactIdentifier":…,"json":…}`; `json` is the record's compact
/// JSON text, sent as a JSON object (the vendor's own example does so, §5), not as a string.
pub fn write_import_record(out: &mut Vec<u8>, key: &str, contact_identifier: &str, json: &[u8]) {
    use crate::source::map::body::write_json_str;
    out.extend_from_slice(br#"{"key":"#);
    write_json_str(out, key);
    out.extend_from_slice(br#","contactIdentifier":"#);
    write_json_str(out, contact_identifier);
    out.extend_from_slice(br#","json":"#);
    out.extend_from_slice(json);
    out.push(b'}');
}

/// `ApiTransactionalDataImport`: the answer of the bulk POST and of the status call.
#[derive(Debug, Clone, Deserialize)]
pub struct Import {
    #[serde(alias = "Id")]
    pub id: String,
    #[serde(alias = "Status")]
    pub status: String,
}

/// What an import's status means for the runner (§7.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImportState {
    /// `NotStarted`, `NotFinished`, or a value we do not know (`NotAvailableInThisVersion`):
    /// keep polling; the executor's polling timeout bounds an import that never ends.
    Pending(String),
    Finished,
    Failed,
}

impl ImportState {
    pub fn of(status: &str) -> Self {
        if status.eq_ignore_ascii_case("Finished") {
            Self::Finished
        } else if status.eq_ignore_ascii_case("Failed") {
            Self::Failed
        } else {
            Self::Pending(status.to_owned())
        }
    }
}

/// `ApiTransactionalDataImportReport`.
#[derive(Debug, Clone, Deserialize)]
pub struct Report {
    #[serde(rename = "totalItems", alias = "TotalItems", default)]
    pub total_items: u64,
    #[serde(rename = "totalImported", alias = "TotalImported", default)]
    pub total_imported: u64,
    #[serde(rename = "totalRejected", alias = "TotalRejected", default)]
    pub total_rejected: u64,
    /// Nullable in the spec.
    #[serde(alias = "Faults", default)]
    pub faults: Option<Vec<Fault>>,
}

/// `ApiTransactionalDataImportReportFault`: one rejected record.
#[derive(Debug, Clone, Deserialize)]
pub struct Fault {
    #[serde(alias = "Key", default)]
    pub key: Option<String>,
    #[serde(alias = "Reason", default)]
    pub reason: Option<String>,
    #[serde(alias = "Detail", default)]
    pub detail: Option<String>,
}

/// The v2 error body: `{"message": "... ERROR_CODE"}` (§9.1).
#[derive(Debug, Clone, Deserialize)]
pub struct ErrorBody {
    #[serde(alias = "Message", default)]
    pub message: String,
}

/// The vendor code of an error message: the last `ERROR_[A-Z0-9_]+` token (§9.1), if any.
pub fn error_code(message: &str) -> Option<&str> {
    let start = message.rfind("ERROR_")?;
    let rest = &message[start..];
    let end = rest
        .find(|c: char| !(c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'))
        .unwrap_or(rest.len());
    let code = &rest[..end];
    (code.len() > "ERROR_".len()).then_some(code)
}

/// What a fault reason means (§7.3), for `bulkspec report`.
pub fn describe_reason(reason: &str) -> &'static str {
    match reason {
        "InvalidClientKey" => "the record key is invalid (empty, too long or bad characters)",
        "InvalidContactIdentifier" => {
            "the contact identifier is not an email, a contact id or `account`, or does not fit the collection's scope"
        }
        "InvalidJson" => "the record is not valid JSON",
        "DuplicateKey" => "the same key appears more than once in the import",
        "ContactIdDoesNotExist" => "no contact has this id (the import never creates contacts)",
        "ContactEmailDoesNotExist" => {
            "no contact has this email address (the import never creates contacts)"
        }
        "JsonKeyTooLong" => "a property name is too long",
        "JsonKeyInvalidCharacters" => "a property name has forbidden characters",
        "JsonValueTooLong" => "a string value is too long",
        "JsonValueIncompatibleWithSchema" => {
            "a value's type differs from the type the collection has for that property"
        }
        "JsonNumberValueTooLarge" => "a number is out of range",
        "JsonDoesNotMatchSchema" => "the record does not match the collection's schema",
        "JsonContainsDashUnderscoreClash" => "two property names differ only by `-` and `_`",
        "MissingCollection" => "the collection does not exist",
        "InconsistentTypes" => "a property has different types within the import",
        "TooManyDistinctKeyValuePairs" => "the collection has too many distinct properties",
        "ContactPhoneNumberDoesNotExist" => "no contact has this phone number",
        "InvalidContactIdentifierType" => "this kind of contact identifier is not allowed",
        "KeyExistingForDifferentContact" => {
            "the key already belongs to another contact in this collection"
        }
        "ContactCustomIdentifierValueDoesNotExist" => "no contact has this custom identifier",
        "JsonContainsNestedArray" => "an array is directly inside an array",
        _ => "rejected by Dotdigital",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_codes_in_both_spellings() {
        assert_eq!(
            error_code("Error: ERROR_IMPORT_NOT_FOUND"),
            Some("ERROR_IMPORT_NOT_FOUND")
        );
        assert_eq!(
            error_code(
                "Collection name is not valid. ERROR_TRANSACTIONAL_DATA_INVALID_COLLECTION_NAME"
            ),
            Some("ERROR_TRANSACTIONAL_DATA_INVALID_COLLECTION_NAME")
        );
        assert_eq!(error_code("ERROR_A1 then ERROR_B2."), Some("ERROR_B2"));
        assert_eq!(
            error_code("Authorization has been denied for this request."),
            None
        );
        assert_eq!(error_code("ERROR_"), None);
    }

    #[test]
    fn responses_parse_in_either_case() {
        let a: Import = serde_json::from_str(r#"{"Id":"g","Status":"NotStarted"}"#).unwrap();
        assert_eq!(
            (a.id.as_str(), ImportState::of(&a.status)),
            ("g", ImportState::Pending("NotStarted".into()))
        );
        let r: Report = serde_json::from_str(r#"{"TotalItems":2,"TotalImported":1,"TotalRejected":1,"Faults":[{"Key":"k","Reason":"InvalidJson"}]}"#).unwrap();
        assert_eq!((r.total_items, r.total_rejected), (2, 1));
        let faults = r.faults.unwrap();
        assert_eq!(faults[0].key.as_deref(), Some("k"));
        let null: Report = serde_json::from_str(
            r#"{"totalItems":0,"totalImported":0,"totalRejected":0,"faults":null}"#,
        )
        .unwrap();
        assert!(null.faults.is_none());
    }

    #[test]
    fn statuses() {
        assert_eq!(ImportState::of("Finished"), ImportState::Finished);
        assert_eq!(ImportState::of("Failed"), ImportState::Failed);
        assert_eq!(
            ImportState::of("NotAvailableInThisVersion"),
            ImportState::Pending("NotAvailableInThisVersion".into())
        );
    }
}

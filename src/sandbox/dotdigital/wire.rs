//! Dotdigital v2 wire types, written from ../shared/providers/dotdigital.md (§4, §5, §7, §9) and
//! the vendor's OpenAPI documents (`ApiTransactionalData*`, `ApiAccount`, `ApiContactImport*`).
//!
//! Output is camelCase exactly as the spec names it. The bulk request body (records in) is parsed
//! by `request.rs`, which binds property names case-insensitively.
//! Nothing here may be shared with `crate::providers`: the client and the emulator must be
//! written independently.

use serde::{Deserialize, Serialize};

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
    #[serde(rename = "fileName", alias = "FileName", alias = "filename")]
    pub file_name: Option<String>,
    #[serde(alias = "Data")]
    pub data: Option<String>,
}

//! Staging validation of one record (§4.2, §11 item 9): required fields, configured types,
//! AlternateId type mismatch, user permissions, the account's email rule and prior consent
//! versions. Every failure counts as `ValidationFailed` and is kept as a retrievable exception.
//!
//! In non-strict mode unknown AlternateId, email, phone, consent types and group, tag and
//! custom-field names are registered in the account instead of refused. Nothing here applies
//! a record to profiles.

use serde::Deserialize;
use serde_json::{Map, Value};

use super::imports::{Action, Settings};
use super::store::{Account, User, compare_versions};
use super::wire::{ExceptionDefinition, ProfileRecord};

/// What staging needs to judge a record.
pub struct Checker<'a> {
    pub account: &'a mut Account,
    pub user: User,
    pub settings: &'a Settings,
    pub strict: bool,
    pub email_rule: regex::Regex,
}

/// Errors of one record: record-level, and per email entry (index, error).
#[derive(Debug, Default)]
pub struct Findings {
    pub record: Vec<ExceptionDefinition>,
    pub emails: Vec<(usize, ExceptionDefinition)>,
}

impl Findings {
    fn add(&mut self, code: &str, message: impl Into<String>) {
        self.record.push(ExceptionDefinition::new(code, message));
    }

    pub fn is_empty(&self) -> bool {
        self.record.is_empty() && self.emails.is_empty()
    }

    /// The exception record: the record as sent plus `SequenceNumber`, `Exceptions` (every
    /// error, element errors included) and `Exceptions` on each failing email entry.
    pub fn into_exception(self, raw: &Value, seq: u64) -> Value {
        let mut record = match raw {
            Value::Object(map) => map.clone(),
            other => Map::from_iter([("Record".to_owned(), other.clone())]),
        };
        let mut all = self.record;
        if let Some(Value::Array(emails)) = record.get_mut("Emails") {
            for (index, error) in &self.emails {
                if let Some(Value::Object(email)) = emails.get_mut(*index) {
                    let list = email
                        .entry("Exceptions")
                        .or_insert_with(|| Value::Array(Vec::new()));
                    if let Value::Array(list) = list {
                        list.push(serde_json::to_value(error).unwrap_or(Value::Null));
                    }
                }
            }
        }
        all.extend(self.emails.into_iter().map(|(_, e)| e));
        record.insert("SequenceNumber".into(), seq.into());
        record.insert(
            "Exceptions".into(),
            serde_json::to_value(all).unwrap_or(Value::Null),
        );
        Value::Object(record)
    }
}

impl Checker<'_> {
    /// Judges one staged record.
    pub fn check(&mut self, raw: &Value) -> Findings {
        let mut findings = Findings::default();
        let record = match ProfileRecord::deserialize(raw) {
            Ok(record) => record,
            Err(e) => {
                findings.add(
                    "InvalidRecord",
                    format!("The record could not be read: {e}"),
                );
                return findings;
            }
        };
        self.check_alternate_ids(&record, &mut findings);
        self.check_permissions(&record, &mut findings);
        match self.settings.action {
            Action::Delete => {
                let has_id = record.profile_id.is_some_and(|id| id != 0);
                if self.settings.match_value.is_none() && !has_id {
                    findings.add("ProfileIdRequired", "A Delete record needs a ProfileId.");
                }
            }
            Action::Add => self.check_content(&record, &mut findings),
        }
        findings
    }

    fn check_content(&mut self, record: &ProfileRecord, findings: &mut Findings) {
        if record
            .default_locale
            .as_ref()
            .is_some_and(|l| l.chars().count() > 15)
        {
            findings.add(
                "InvalidField",
                "DefaultLocale must be at most 15 characters.",
            );
        }
        if record
            .customer_type
            .as_ref()
            .is_some_and(|t| t.chars().count() > 100)
        {
            findings.add(
                "InvalidField",
                "CustomerType must be at most 100 characters.",
            );
        }
        self.check_emails(record, findings);
        self.check_phones(record, findings);
        self.check_consents(record, findings);
        let strict = self.strict;
        for group in &record.groups {
            known(
                strict,
                &mut self.account.groups,
                &group.group_name,
                "UnknownGroup",
                findings,
            );
        }
        for tag in &record.profile_tags {
            known(
                strict,
                &mut self.account.tags,
                &tag.tag_name,
                "UnknownTag",
                findings,
            );
        }
        for field in &record.custom_fields {
            known(
                strict,
                &mut self.account.custom_fields,
                &field.field_name,
                "UnknownCustomField",
                findings,
            );
        }
    }

    fn check_emails(&mut self, record: &ProfileRecord, findings: &mut Findings) {
        let mut push = |index: usize, code: &str, message: String| {
            findings
                .emails
                .push((index, ExceptionDefinition::new(code, message)));
        };
        for (index, email) in record.emails.iter().enumerate() {
            let address = email.email_address.as_deref().unwrap_or("");
            if address.is_empty() {
                push(
                    index,
                    "EmailAddressRequired",
                    "EmailAddress is required.".into(),
                );
            } else if address.chars().count() > 256 {
                push(
                    index,
                    "EmailAddressTooLong",
                    "EmailAddress must be at most 256 characters.".into(),
                );
            } else if !self.email_rule.is_match(address) {
                push(
                    index,
                    "EmailAddressInvalid",
                    format!("{address} does not match the account's email format."),
                );
            }
            if let Some(kind) = &email.email_address_type {
                let ok = kind.chars().count() <= 100
                    && register(self.strict, &mut self.account.email_types, kind);
                if !ok {
                    push(
                        index,
                        "UnknownEmailAddressType",
                        format!("EmailAddressType {kind:?} is not configured."),
                    );
                }
            }
        }
        if record
            .emails
            .iter()
            .filter(|e| e.is_default == Some(true))
            .count()
            > 1
        {
            findings.add(
                "MultipleDefaultEmails",
                "Only one email may be the default.",
            );
        }
    }

    fn check_phones(&mut self, record: &ProfileRecord, findings: &mut Findings) {
        for phone in &record.phone_numbers {
            if phone
                .phone_number
                .as_deref()
                .unwrap_or("")
                .trim()
                .is_empty()
            {
                findings.add("PhoneNumberRequired", "PhoneNumber is required.");
            }
            if let Some(kind) = &phone.phone_number_type {
                known(
                    self.strict,
                    &mut self.account.phone_types,
                    kind,
                    "UnknownPhoneNumberType",
                    findings,
                );
            }
        }
        if record
            .phone_numbers
            .iter()
            .filter(|p| p.is_default == Some(true))
            .count()
            > 1
        {
            findings.add(
                "MultipleDefaultPhones",
                "Only one phone number may be the default.",
            );
        }
    }

    fn check_consents(&mut self, record: &ProfileRecord, findings: &mut Findings) {
        for consent in &record.consents {
            let Some(kind) = consent.consent_type.as_deref().filter(|k| !k.is_empty()) else {
                findings.add("ConsentTypeRequired", "ConsentType is required.");
                continue;
            };
            let version = consent.consent_version.clone().unwrap_or(Value::Null);
            let types = &mut self.account.consent_types;
            let Some(versions) = types
                .iter_mut()
                .find(|(k, _)| k.eq_ignore_ascii_case(kind))
                .map(|(_, v)| v)
            else {
                if self.strict {
                    findings.add(
                        "UnknownConsentType",
                        format!("ConsentType {kind:?} is not configured."),
                    );
                } else {
                    types.insert(kind.to_owned(), version_list(&version));
                }
                continue;
            };
            let current = versions
                .iter()
                .map(|v| Value::String(v.clone()))
                .max_by(compare_versions);
            let older = current
                .as_ref()
                .is_some_and(|c| !version.is_null() && compare_versions(&version, c).is_lt());
            if older && !self.settings.allow_prior_consents {
                findings.add(
                    "OlderConsentVersion",
                    format!("Consent {kind:?} version {version} is older than the current one."),
                );
            } else if !older && !self.strict {
                versions.extend(version_list(&version));
                versions.dedup();
            }
        }
    }

    fn check_alternate_ids(&mut self, record: &ProfileRecord, findings: &mut Findings) {
        let mut seen: Vec<&str> = Vec::new();
        for alt in &record.alternate_ids {
            if alt.alternate_id.trim().is_empty() {
                findings.add("AlternateIdRequired", "AlternateId must not be empty.");
            }
            if seen
                .iter()
                .any(|t| t.eq_ignore_ascii_case(&alt.alternate_id_type))
            {
                findings.add(
                    "DuplicateAlternateIdType",
                    format!("More than one {} AlternateId.", alt.alternate_id_type),
                );
            }
            seen.push(&alt.alternate_id_type);
            known(
                self.strict,
                &mut self.account.alternate_id_types,
                &alt.alternate_id_type,
                "UnknownAlternateIdType",
                findings,
            );
        }
        if let Some(kind) = &self.settings.match_value
            && !record
                .alternate_ids
                .iter()
                .any(|a| a.alternate_id_type.eq_ignore_ascii_case(kind))
        {
            findings.add(
                "AlternateIdTypeMismatch",
                format!("The record has no AlternateId of type {kind}."),
            );
        }
    }

    fn check_permissions(&self, record: &ProfileRecord, findings: &mut Findings) {
        let user = &self.user;
        if !user.can_edit_profiles {
            findings.add(
                "PermissionDenied",
                format!("User {} may not change profiles.", user.id),
            );
        }
        let has_preferences = !record.profile_preferences.is_empty()
            || !record.consents.is_empty()
            || record
                .emails
                .iter()
                .any(|e| !e.email_preferences.is_empty())
            || record
                .phone_numbers
                .iter()
                .any(|p| !p.phone_preferences.is_empty());
        if has_preferences && !user.can_edit_preferences {
            findings.add(
                "PermissionDenied",
                format!("User {} may not change preferences.", user.id),
            );
        }
        let channels = [
            ("Email", !record.emails.is_empty()),
            ("Phone", !record.phone_numbers.is_empty()),
            ("Address", !record.addresses.is_empty()),
        ];
        for (channel, used) in channels {
            if used && !user.may_use_channel(channel) {
                findings.add(
                    "PermissionDenied",
                    format!("User {} may not change the {channel} channel.", user.id),
                );
            }
        }
    }
}

/// Whether `name` is configured; non-strict mode registers it. Case-insensitive.
fn register(strict: bool, list: &mut Vec<String>, name: &str) -> bool {
    if list.iter().any(|n| n.eq_ignore_ascii_case(name)) {
        return true;
    }
    if strict {
        return false;
    }
    list.push(name.to_owned());
    true
}

fn known(strict: bool, list: &mut Vec<String>, name: &str, code: &str, findings: &mut Findings) {
    if !register(strict, list, name) {
        findings.add(code, format!("{name:?} is not configured in the account."));
    }
}

fn version_list(version: &Value) -> Vec<String> {
    match version {
        Value::Null => Vec::new(),
        Value::String(s) => vec![s.clone()],
        other => vec![other.to_string()],
    }
}

//! Validation of an import definition body (§5, §11): every rule that fails adds one
//! `{field, value, constraint}` entry, so a 400 lists all problems at once (§10.2).
//!
//! Booleans may be sent as strings (`"true"`) as in Oracle's examples. Read-only and unknown
//! properties are ignored, as clients echo definitions back. This module builds the stored
//! definition; it does not store anything. The generic checks are here, the rules of each
//! property in `rules`.

mod rules;

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::{Map, Value};

use super::errors::failure;
use super::markup::Statement;
use super::store::Kind;
use super::time::parse_duration;
use super::wire::{Failure, ImportDefinition};

const UPDATE_RULES: &[&str] = &[
    "always",
    "ifNewIsNotNull",
    "ifExistingIsNull",
    "useFieldRule",
];
const IMPORT_RULES: &[&str] = &["createAndUpdate", "updateOnly", "createOnly"];
const SYNC_ACTIONS: &[&str] = &["add", "remove", "setStatus"];
const MEMBER_STATUSES: &[&str] = &[
    "bounced",
    "subscribed",
    "unsubscribed",
    "active",
    "complete",
    "pending",
    "errored",
    "yes",
    "no",
    "invalid",
    "permission",
];
const MAX_FIELDS: usize = 100;
const MAX_SYNC_ACTIONS: usize = 10;

/// What validation needs to know about the account.
pub struct Context<'a> {
    pub strict: bool,
    pub sync_triggered_default: bool,
    pub extra_contact_fields: &'a BTreeSet<String>,
    pub import_priorities: &'a [u64],
}

/// A valid definition and the contact fields it introduces (non-strict mode).
pub struct Validated {
    pub spec: ImportDefinition,
    pub new_contact_fields: Vec<String>,
}

/// Validates a create/update body for a definition of `kind`.
pub fn definition(body: &Value, kind: Kind, ctx: &Context<'_>) -> Result<Validated, Vec<Failure>> {
    let Some(obj) = body.as_object() else {
        return Err(vec![failure(
            "body",
            short(body),
            "There was a parsing error.",
        )]);
    };
    let mut v = Validator {
        obj,
        failures: Vec::new(),
    };
    let name = v.string("name", true).unwrap_or_default();
    if !(1..=100).contains(&name.chars().count()) && obj.contains_key("name") {
        v.fail(
            "name",
            &name,
            "Must be a string value, at least 1 character and at most 100 characters long.",
        );
    }
    let (fields, statements, new_contact_fields) = v.fields(kind, ctx);
    let identifier = v.string(
        "identifierFieldName",
        matches!(kind, Kind::Contact | Kind::Opportunity),
    );
    if let Some(id) = &identifier {
        v.identifier(id, kind, &statements, ctx);
    }
    let mut spec = ImportDefinition {
        name,
        fields,
        identifier_field_name: identifier,
        is_sync_triggered_on_import: v
            .boolean("isSyncTriggeredOnImport")
            .unwrap_or(ctx.sync_triggered_default),
        update_rule: Some(
            v.one_of("updateRule", UPDATE_RULES)
                .unwrap_or_else(|| "always".into()),
        ),
        update_rule_by_field: v.update_rule_by_field(&statements),
        import_rule: Some(
            v.one_of("importRule", IMPORT_RULES)
                .unwrap_or_else(|| "createAndUpdate".into()),
        ),
        is_updating_multiple_matched_records: v
            .boolean("isUpdatingMultipleMatchedRecords")
            .unwrap_or(false),
        null_identifier_field_name: v.boolean("nullIdentifierFieldName"),
        data_retention_duration: v
            .duration(
                "dataRetentionDuration",
                Duration::from_secs(3600),
                Some(Duration::from_secs(14 * 86_400)),
            )
            .unwrap_or_else(|| "P7D".into()),
        auto_delete_duration: v.duration("autoDeleteDuration", Duration::from_secs(3600), None),
        import_priority_uri: v.priority(ctx.import_priorities),
        external_system_id: v.integer("externalSystemId"),
        ..ImportDefinition::default()
    };
    match kind {
        Kind::Contact => {
            spec.sync_actions = v.sync_actions();
            v.read_only(&statements, spec.identifier_field_name.as_deref());
            v.email_update_rule(&spec, &statements);
        }
        Kind::Opportunity => {
            spec.is_identifier_field_case_sensitive = v.boolean("isIdentifierFieldCaseSensitive");
            v.opportunity_required(&statements);
            v.unsupported("syncActions");
        }
        Kind::Linkage => {
            v.linkage(&mut spec, &statements);
            v.unsupported("syncActions");
        }
    }
    if v.failures.is_empty() {
        Ok(Validated {
            spec,
            new_contact_fields,
        })
    } else {
        Err(v.failures)
    }
}

/// A value rendered for a failure entry, cut to a readable length.
fn short(value: &Value) -> String {
    let text = match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    text.chars().take(200).collect()
}

/// `fields` as sent, the parsed statement of each column, and contact fields to create.
type FieldsCheck = (Map<String, Value>, Vec<(String, Statement)>, Vec<String>);

struct Validator<'a> {
    obj: &'a Map<String, Value>,
    failures: Vec<Failure>,
}

impl Validator<'_> {
    fn fail(&mut self, field: &str, value: &str, constraint: &str) {
        self.failures.push(failure(field, value, constraint));
    }

    fn string(&mut self, name: &str, required: bool) -> Option<String> {
        match self.obj.get(name) {
            None | Some(Value::Null) => {
                if required {
                    self.fail(name, "", "Is required.");
                }
                None
            }
            Some(Value::String(s)) => Some(s.clone()),
            Some(other) => {
                self.fail(name, &short(other), "Must be a string value.");
                None
            }
        }
    }

    fn boolean(&mut self, name: &str) -> Option<bool> {
        match self.obj.get(name)? {
            Value::Bool(b) => Some(*b),
            Value::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
            Value::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
            Value::Null => None,
            other => {
                self.fail(name, &short(other), "Must be a boolean value.");
                None
            }
        }
    }

    fn integer(&mut self, name: &str) -> Option<i64> {
        match self.obj.get(name)? {
            Value::Number(n) if n.is_i64() => n.as_i64(),
            Value::String(s) if s.parse::<i64>().is_ok() => s.parse().ok(),
            Value::Null => None,
            other => {
                self.fail(name, &short(other), "Must be an integer value.");
                None
            }
        }
    }

    fn one_of(&mut self, name: &str, allowed: &[&str]) -> Option<String> {
        let value = self.string(name, false)?;
        if allowed.contains(&value.as_str()) {
            return Some(value);
        }
        self.fail(
            name,
            &value,
            &format!("Must be one of: {}.", allowed.join(", ")),
        );
        None
    }

    fn duration(&mut self, name: &str, min: Duration, max: Option<Duration>) -> Option<String> {
        let text = self.string(name, false)?;
        match parse_duration(&text) {
            Some(d) if d >= min && max.is_none_or(|m| d <= m) => Some(text),
            Some(_) if max.is_some() => {
                self.fail(name, &text, "Must be a duration between PT1H and P14D.");
                None
            }
            Some(_) => {
                self.fail(name, &text, "Must be a duration of at least PT1H.");
                None
            }
            None => {
                self.fail(name, &text, "Must be an ISO-8601 duration.");
                None
            }
        }
    }

    fn unsupported(&mut self, name: &str) {
        if let Some(value) = self.obj.get(name).filter(|v| !v.is_null()) {
            self.fail(
                name,
                &short(value),
                "Is not supported for this import type.",
            );
        }
    }

    /// `fields`: 1–100 statements valid for the import type.
    fn one_of_required(&mut self, name: &str, allowed: &[&str]) -> Option<String> {
        if self.obj.get(name).is_none_or(Value::is_null) {
            self.fail(name, "", "Is required.");
            return None;
        }
        self.one_of(name, allowed)
    }
}

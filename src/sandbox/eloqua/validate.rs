//! Validation of an import definition body (§5, §11): every rule that fails adds one
//! `{field, value, constraint}` entry, so a 400 lists all problems at once (§10.2).
//!
//! Booleans may be sent as strings (`"true"`) as in Oracle's examples. Read-only and unknown
//! properties are ignored, as clients echo definitions back. This module builds the stored
//! definition; it does not store anything.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::{Map, Value};

use super::errors::failure;
use super::fields::{contact_field_type, opportunity_field_exists};
use super::markup::{Statement, is_destination, parse};
use super::store::Kind;
use super::time::parse_duration;
use super::wire::{Failure, ImportDefinition, SyncAction};

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
    fn fields(&mut self, kind: Kind, ctx: &Context<'_>) -> FieldsCheck {
        let mut statements = Vec::new();
        let mut new_fields = Vec::new();
        let fields = match self.obj.get("fields") {
            Some(Value::Object(map)) => map.clone(),
            None | Some(Value::Null) => {
                self.fail("fields", "", "Is required.");
                return (Map::new(), statements, new_fields);
            }
            Some(other) => {
                self.fail(
                    "fields",
                    &short(other),
                    "Must be an object of column names to field statements.",
                );
                return (Map::new(), statements, new_fields);
            }
        };
        if fields.is_empty() || fields.len() > MAX_FIELDS {
            let count = fields.len().to_string();
            self.fail("fields", &count, "Must contain between 1 and 100 fields.");
        }
        for (column, value) in &fields {
            let key = format!("fields.{column}");
            let Some(text) = value.as_str() else {
                self.fail(
                    &key,
                    &short(value),
                    "Must be a field statement such as {{Contact.Field(C_EmailAddress)}}.",
                );
                continue;
            };
            match parse(text).filter(|s| fits(kind, s)) {
                Some(Statement::ContactField(name))
                    if contact_field_type(&name, ctx.extra_contact_fields).is_none() =>
                {
                    if ctx.strict {
                        self.fail(&key, text, "Must reference an existing contact field.");
                    } else {
                        new_fields.push(name.clone());
                        statements.push((column.clone(), Statement::ContactField(name)));
                    }
                }
                Some(Statement::OpportunityField(name))
                    if ctx.strict && !opportunity_field_exists(&name) =>
                {
                    self.fail(&key, text, "Must reference an existing opportunity field.");
                }
                Some(statement) => statements.push((column.clone(), statement)),
                None => self.fail(
                    &key,
                    text,
                    "Must be a valid field statement for this import type.",
                ),
            }
        }
        (fields, statements, new_fields)
    }

    fn identifier(
        &mut self,
        id: &str,
        kind: Kind,
        statements: &[(String, Statement)],
        ctx: &Context<'_>,
    ) {
        if !(1..=100).contains(&id.chars().count()) {
            self.fail(
                "identifierFieldName",
                id,
                "Must be at least 1 character and at most 100 characters long.",
            );
            return;
        }
        let Some((_, statement)) = statements.iter().find(|(c, _)| c == id) else {
            if !self
                .failures
                .iter()
                .any(|f| f.field == format!("fields.{id}"))
            {
                self.fail(
                    "identifierFieldName",
                    id,
                    "Must be one of the field names in fields.",
                );
            }
            return;
        };
        match (kind, statement) {
            (Kind::Contact, Statement::ContactField(name)) => {
                if let Some("date" | "boolean" | "largeText") =
                    contact_field_type(name, ctx.extra_contact_fields)
                {
                    self.fail(
                        "identifierFieldName",
                        id,
                        "Large Text, Date and Boolean fields cannot be identifiers.",
                    );
                }
            }
            (Kind::Opportunity, Statement::OpportunityId)
            | (Kind::Contact, Statement::ContactId)
            | (Kind::Linkage, _) => {}
            (Kind::Opportunity, _) => {
                self.fail(
                    "identifierFieldName",
                    id,
                    "Must name the field mapped to {{Opportunity.Id}}.",
                );
            }
            (Kind::Contact, _) => {}
        }
    }

    fn update_rule_by_field(
        &mut self,
        statements: &[(String, Statement)],
    ) -> Option<Map<String, Value>> {
        let map = match self.obj.get("updateRuleByField")? {
            Value::Object(map) => map.clone(),
            Value::Null => return None,
            other => {
                self.fail(
                    "updateRuleByField",
                    &short(other),
                    "Must be an object of field names to update rules.",
                );
                return None;
            }
        };
        for (column, rule) in &map {
            let key = format!("updateRuleByField.{column}");
            if !statements.iter().any(|(c, _)| c == column) {
                self.fail(&key, column, "Must be one of the field names in fields.");
            }
            if !rule.as_str().is_some_and(|r| UPDATE_RULES.contains(&r)) {
                self.fail(
                    &key,
                    &short(rule),
                    "Must be one of: always, ifNewIsNotNull, ifExistingIsNull, useFieldRule.",
                );
            }
        }
        Some(map)
    }

    fn priority(&mut self, priorities: &[u64]) -> Option<String> {
        let uri = self.string("importPriorityUri", false)?;
        let id = uri
            .trim_end_matches('/')
            .strip_prefix("/imports/priorities/")
            .and_then(|id| id.parse::<u64>().ok());
        if id.is_some_and(|id| priorities.contains(&id)) {
            return Some(uri);
        }
        self.fail(
            "importPriorityUri",
            &uri,
            "Must reference an existing /imports/priorities/{id}.",
        );
        None
    }

    fn sync_actions(&mut self) -> Option<Vec<SyncAction>> {
        let items = match self.obj.get("syncActions")? {
            Value::Array(items) => items.clone(),
            Value::Null => return None,
            other => {
                self.fail(
                    "syncActions",
                    &short(other),
                    "Must be an array of sync actions.",
                );
                return None;
            }
        };
        if items.len() > MAX_SYNC_ACTIONS {
            self.fail(
                "syncActions",
                &items.len().to_string(),
                "Must contain at most 10 sync actions.",
            );
        }
        let mut actions = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let key = format!("syncActions[{i}]");
            let action = item
                .get("action")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let destination = item
                .get("destination")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let status = item
                .get("status")
                .and_then(Value::as_str)
                .map(str::to_string);
            if !SYNC_ACTIONS.contains(&action) {
                self.fail(
                    &format!("{key}.action"),
                    action,
                    "Must be one of: add, remove, setStatus.",
                );
            }
            if !is_destination(destination) {
                self.fail(
                    &format!("{key}.destination"),
                    destination,
                    "Must be a destination statement such as {{ContactList[123]}}.",
                );
            }
            match status.as_deref() {
                Some(s) if !MEMBER_STATUSES.contains(&s) => {
                    self.fail(&format!("{key}.status"), s, "Must be a member status.");
                }
                None if action == "setStatus" => {
                    self.fail(&format!("{key}.status"), "", "Is required for setStatus.")
                }
                _ => {}
            }
            let update_all = item.get("updateAll").and_then(Value::as_bool);
            actions.push(SyncAction {
                action: action.into(),
                destination: destination.into(),
                status,
                update_all,
            });
        }
        Some(actions)
    }

    /// Updating the email address needs `isUpdatingMultipleMatchedRecords: false` (§5.1).
    fn email_update_rule(&mut self, spec: &ImportDefinition, statements: &[(String, Statement)]) {
        let writes_email = statements.iter().any(|(column, s)| {
            matches!(s, Statement::ContactField(n) if n.eq_ignore_ascii_case("C_EmailAddress"))
                && spec.identifier_field_name.as_deref() != Some(column.as_str())
        });
        if writes_email && spec.is_updating_multiple_matched_records {
            self.fail(
                "isUpdatingMultipleMatchedRecords",
                "true",
                "Must be false to update Contact.Field(C_EmailAddress).",
            );
        }
    }

    fn opportunity_required(&mut self, statements: &[(String, Statement)]) {
        let has = |want: &Statement| {
            statements.iter().any(|(_, s)| match (s, want) {
                (Statement::OpportunityField(a), Statement::OpportunityField(b)) => {
                    a.eq_ignore_ascii_case(b)
                }
                (a, b) => a == b,
            })
        };
        for (statement, text) in [
            (Statement::OpportunityId, "{{Opportunity.Id}}"),
            (
                Statement::OpportunityField("Name".into()),
                "{{Opportunity.Field(Name)}}",
            ),
            (
                Statement::OpportunityField("Stage".into()),
                "{{Opportunity.Field(Stage)}}",
            ),
            (
                Statement::OpportunityField("Amount".into()),
                "{{Opportunity.Field(Amount)}}",
            ),
        ] {
            if !has(&statement) {
                self.fail(
                    "fields",
                    text,
                    "Opportunity imports must map this statement.",
                );
            }
        }
    }

    fn linkage(&mut self, spec: &mut ImportDefinition, statements: &[(String, Statement)]) {
        let entity = self.one_of_required("linkOpportunitiesEntityType", &["Contact", "Account"]);
        let matched = self.string("linkOpportunitiesMatchFieldName", true);
        let source = self.string("linkOpportunitiesSourceField", true);
        let statement_of = |column: &str| {
            statements
                .iter()
                .find(|(c, _)| c == column)
                .map(|(_, s)| s.clone())
        };
        if let Some(column) = &matched
            && statement_of(column) != Some(Statement::OpportunityId)
        {
            self.fail(
                "linkOpportunitiesMatchFieldName",
                column,
                "Must be a field name in fields mapped to {{Opportunity.Id}}.",
            );
        }
        if let (Some(column), Some(entity)) = (&source, &entity) {
            let ok = matches!(
                (entity.as_str(), statement_of(column)),
                (
                    "Contact",
                    Some(Statement::LinkedContactId | Statement::LinkedContactField(_))
                ) | (
                    "Account",
                    Some(Statement::LinkedAccountId | Statement::LinkedAccountField(_))
                )
            );
            if !ok {
                self.fail(
                    "linkOpportunitiesSourceField",
                    column,
                    &format!("Must be a field name in fields mapped to an {{{{Opportunity.{entity}...}}}} statement."),
                );
            }
        }
        spec.link_opportunities_entity_type = entity;
        spec.link_opportunities_match_field_name = matched;
        spec.link_opportunities_source_field = source;
        spec.link_opportunities_multiple_source_matches =
            self.boolean("linkOpportunitiesMultipleSourceMatches");
        spec.link_opportunities_case_sensitive_match_field =
            self.boolean("linkOpportunitiesCaseSensitiveMatchField");
        spec.link_opportunities_case_sensitive_source_field =
            self.boolean("linkOpportunitiesCaseSensitiveSourceField");
    }

    fn one_of_required(&mut self, name: &str, allowed: &[&str]) -> Option<String> {
        if self.obj.get(name).is_none_or(Value::is_null) {
            self.fail(name, "", "Is required.");
            return None;
        }
        self.one_of(name, allowed)
    }
}

/// Whether a statement belongs in a definition of this type.
fn fits(kind: Kind, statement: &Statement) -> bool {
    match kind {
        Kind::Contact => matches!(statement, Statement::ContactId | Statement::ContactField(_)),
        Kind::Opportunity => matches!(
            statement,
            Statement::OpportunityId | Statement::OpportunityField(_)
        ),
        Kind::Linkage => matches!(
            statement,
            Statement::OpportunityId
                | Statement::LinkedContactId
                | Statement::LinkedContactField(_)
                | Statement::LinkedAccountId
                | Statement::LinkedAccountField(_)
        ),
    }
}

//! The property rules of import definitions: `fields` statements per import type, the
//! identifier, update rules, import priority, sync actions, the email-update constraint, the
//! opportunity import's required statements and the linkage properties (§5, §11).

use serde_json::{Map, Value};

use super::{
    Context, FieldsCheck, MAX_FIELDS, MAX_SYNC_ACTIONS, MEMBER_STATUSES, SYNC_ACTIONS,
    UPDATE_RULES, Validator, short,
};
use crate::sandbox::eloqua::fields::{
    contact_field_read_only, contact_field_type, opportunity_field_exists,
};
use crate::sandbox::eloqua::markup::{Statement, is_destination, parse};
use crate::sandbox::eloqua::store::Kind;
use crate::sandbox::eloqua::wire::{ImportDefinition, SyncAction};

impl Validator<'_> {
    /// Read-only contact fields (`C_DateCreated`, `ContactIDExt`, ...) can match records but
    /// cannot be written, so they may only be the identifier [I].
    pub(super) fn read_only(
        &mut self,
        statements: &[(String, Statement)],
        identifier: Option<&str>,
    ) {
        for (column, statement) in statements {
            if let Statement::ContactField(name) = statement
                && contact_field_read_only(name)
                && identifier != Some(column.as_str())
            {
                let key = format!("fields.{column}");
                self.fail(
                    &key,
                    name,
                    "Read-only fields can only be used as the identifier.",
                );
            }
        }
    }

    pub(super) fn fields(&mut self, kind: Kind, ctx: &Context<'_>) -> FieldsCheck {
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

    pub(super) fn identifier(
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

    pub(super) fn update_rule_by_field(
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

    pub(super) fn priority(&mut self, priorities: &[u64]) -> Option<String> {
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

    pub(super) fn sync_actions(&mut self) -> Option<Vec<SyncAction>> {
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
    pub(super) fn email_update_rule(
        &mut self,
        spec: &ImportDefinition,
        statements: &[(String, Statement)],
    ) {
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

    pub(super) fn opportunity_required(&mut self, statements: &[(String, Statement)]) {
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

    pub(super) fn linkage(
        &mut self,
        spec: &mut ImportDefinition,
        statements: &[(String, Statement)],
    ) {
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

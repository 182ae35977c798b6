//! Contact import rows (§13.20): upsert by `identifierFieldName`, honouring `updateRule` (and
//! `updateRuleByField`), `importRule` and `isUpdatingMultipleMatchedRecords`; then the
//! definition's `syncActions` on every contact the row touched.
//!
//! Rejects: ELQ-00059 empty, ELQ-00061 missing identifier (or no email for a new contact),
//! ELQ-00002 invalid email, ELQ-00011/ELQ-00026 duplicate email/identifier within the sync,
//! ELQ-00034 unmatched row under `updateOnly`, and the sandbox contact cap.

use std::collections::{BTreeMap, HashSet};

use super::{Outcome, Row, SANDBOX_LIMIT, rows, valid_email};
use crate::sandbox::eloqua::markup::{Statement, parse};
use crate::sandbox::eloqua::store::{StagedBatch, Store};
use crate::sandbox::eloqua::wire::{ImportDefinition, SyncAction};

const EMAIL: &str = "C_EmailAddress";

/// The definition, digested once per sync.
struct Plan<'a> {
    mapping: Vec<(String, Statement)>,
    id_col: String,
    id_statement: Option<Statement>,
    email_col: Option<String>,
    spec: &'a ImportDefinition,
}

impl Plan<'_> {
    fn id_is_email(&self) -> bool {
        matches!(&self.id_statement, Some(Statement::ContactField(f)) if f.eq_ignore_ascii_case(EMAIL))
    }

    /// The update rule of a column.
    fn rule(&self, column: &str) -> &str {
        let rule = self.spec.update_rule.as_deref().unwrap_or("always");
        if rule != "useFieldRule" {
            return rule;
        }
        self.spec
            .update_rule_by_field
            .as_ref()
            .and_then(|m| m.get(column))
            .and_then(|v| v.as_str())
            .unwrap_or("always")
    }
}

pub fn apply(store: &mut Store, spec: &ImportDefinition, input: &[StagedBatch]) -> Outcome {
    let mapping: Vec<(String, Statement)> = spec
        .fields
        .iter()
        .filter_map(|(c, v)| Some((c.clone(), parse(v.as_str()?)?)))
        .collect();
    let id_col = spec.identifier_field_name.clone().unwrap_or_default();
    let plan = Plan {
        id_statement: mapping
            .iter()
            .find(|(c, _)| *c == id_col)
            .map(|(_, s)| s.clone()),
        email_col: mapping
            .iter()
            .find(|(_, s)| matches!(s, Statement::ContactField(f) if f.eq_ignore_ascii_case(EMAIL)))
            .map(|(c, _)| c.clone()),
        mapping,
        id_col,
        spec,
    };
    let import_rule = spec.import_rule.as_deref().unwrap_or("createAndUpdate");
    let mut out = Outcome::default();
    let mut seen = HashSet::new();
    for row in rows(input) {
        out.total += 1;
        if row.is_empty() {
            out.reject(&row, "ELQ-00059", &[]);
            continue;
        }
        let Some(id_value) = row.get(&plan.id_col) else {
            out.reject(&row, "ELQ-00061", &[&plan.id_col]);
            continue;
        };
        if let Some(col) = &plan.email_col
            && row.get(col).is_some_and(|e| !valid_email(e))
        {
            out.reject(&row, "ELQ-00002", &[col]);
            continue;
        }
        if !seen.insert(id_value.to_lowercase()) {
            let code = if plan.id_is_email() {
                "ELQ-00011"
            } else {
                "ELQ-00026"
            };
            out.reject(&row, code, &[&plan.id_col]);
            continue;
        }
        let matches = find(store, plan.id_statement.as_ref(), id_value);
        if matches.is_empty() {
            if import_rule == "updateOnly" {
                out.reject(&row, "ELQ-00034", &[&plan.id_col]);
            } else if let Err((code, column)) = create(store, &plan, &row) {
                out.reject(&row, code, &[&column]);
            } else {
                out.created += 1;
            }
            continue;
        }
        if import_rule == "createOnly" {
            continue;
        }
        let targets = if spec.is_updating_multiple_matched_records {
            matches
        } else {
            matches[..1].to_vec()
        };
        for id in targets {
            update(store, &plan, &row, id);
        }
        out.updated += 1;
    }
    out
}

/// Contacts matching the identifier value, lowest id first.
fn find(store: &Store, statement: Option<&Statement>, value: &str) -> Vec<u64> {
    match statement {
        Some(Statement::ContactField(f)) if f.eq_ignore_ascii_case(EMAIL) => {
            store.contact_by_email(value).into_iter().collect()
        }
        Some(Statement::ContactField(f)) => store
            .contacts
            .values()
            .filter(|c| {
                c.fields
                    .get(f)
                    .is_some_and(|v| v.eq_ignore_ascii_case(value))
            })
            .map(|c| c.id)
            .collect(),
        Some(Statement::ContactId) => value
            .parse::<u64>()
            .ok()
            .filter(|id| store.contacts.contains_key(id))
            .into_iter()
            .collect(),
        _ => Vec::new(),
    }
}

/// Creates a contact from a row; `Err((code, column))` when it cannot be created.
fn create(store: &mut Store, plan: &Plan<'_>, row: &Row<'_>) -> Result<(), (&'static str, String)> {
    let email_col = plan.email_col.clone().unwrap_or_else(|| EMAIL.to_string());
    let Some(email) = plan.email_col.as_deref().and_then(|c| row.get(c)) else {
        return Err(("ELQ-00061", email_col));
    };
    if store.contact_by_email(email).is_some() {
        return Err(("ELQ-00011", email_col));
    }
    if store.contacts.len() >= store.settings.contact_limit {
        return Err((SANDBOX_LIMIT, email_col));
    }
    let mut fields = BTreeMap::new();
    for (column, statement) in &plan.mapping {
        if let (Statement::ContactField(f), Some(v)) = (statement, row.get(column))
            && !f.eq_ignore_ascii_case(EMAIL)
        {
            fields.insert(f.clone(), v.to_string());
        }
    }
    let id = store.add_contact(email, fields, None);
    apply_sync_actions(store, plan.spec.sync_actions.as_deref(), id);
    Ok(())
}

/// Writes a row onto an existing contact, column by column, under each column's update rule.
fn update(store: &mut Store, plan: &Plan<'_>, row: &Row<'_>, id: u64) {
    for (column, statement) in &plan.mapping {
        let Statement::ContactField(field) = statement else {
            continue;
        };
        if !row.has_column(column) || *column == plan.id_col {
            continue;
        }
        let new = row.get(column);
        if field.eq_ignore_ascii_case(EMAIL) {
            // Changing the address: only to a valid one no other contact holds.
            if let Some(email) =
                new.filter(|e| store.contact_by_email(e).is_none_or(|other| other == id))
            {
                store.set_email(id, email);
            }
            continue;
        }
        let Some(contact) = store.contacts.get_mut(&id) else {
            return;
        };
        let existing_empty = contact.fields.get(field).is_none_or(String::is_empty);
        let write = match plan.rule(column) {
            "ifNewIsNotNull" => new.is_some(),
            "ifExistingIsNull" => existing_empty,
            _ => true,
        };
        if write {
            match new {
                Some(v) => contact.fields.insert(field.clone(), v.to_string()),
                None => contact.fields.remove(field),
            };
        }
    }
    apply_sync_actions(store, plan.spec.sync_actions.as_deref(), id);
}

/// `add`/`remove` list membership, `setStatus` on a group or the global subscription.
fn apply_sync_actions(store: &mut Store, actions: Option<&[SyncAction]>, contact: u64) {
    for action in actions.unwrap_or_default() {
        let members = store
            .memberships
            .entry(action.destination.clone())
            .or_default();
        match action.action.as_str() {
            "add" => {
                members.insert(
                    contact,
                    action.status.clone().unwrap_or_else(|| "member".into()),
                );
            }
            "remove" => {
                members.remove(&contact);
            }
            _ => {
                members.insert(contact, action.status.clone().unwrap_or_default());
            }
        }
    }
}

//! Opportunity-contact linkage rows (§13.17–19): find the opportunity by the match column and the
//! contacts (or the account's contacts) by the source column, then link them. Re-linking an
//! existing pair is not an error.
//!
//! Rejects: ELQ-00059 empty row, ELQ-00061 missing match/source value, ELQ-00026 repeated
//! identical row, ELQ-00002 invalid email, ELQ-00084 unknown opportunity, ELQ-00085 no contact.
//! Non-strict mode creates unknown opportunities, and unknown contacts when the source column is
//! the email address (the only field a new contact can be created from).

use std::collections::{HashMap, HashSet};

use super::{Outcome, SANDBOX_LIMIT, rows, valid_email};
use crate::sandbox::eloqua::markup::{Statement, parse};
use crate::sandbox::eloqua::store::{Opportunity, StagedBatch, Store};
use crate::sandbox::eloqua::wire::ImportDefinition;

/// How the source column finds contacts.
struct Source {
    statement: Option<Statement>,
    case_sensitive: bool,
}

pub fn apply(
    store: &mut Store,
    spec: &ImportDefinition,
    input: &[StagedBatch],
    strict: bool,
) -> Outcome {
    let mut out = Outcome::default();
    let match_col = spec
        .link_opportunities_match_field_name
        .clone()
        .unwrap_or_default();
    let source_col = spec
        .link_opportunities_source_field
        .clone()
        .unwrap_or_default();
    let source = Source {
        statement: spec
            .fields
            .get(&source_col)
            .and_then(|v| v.as_str())
            .and_then(parse),
        case_sensitive: spec
            .link_opportunities_case_sensitive_source_field
            .unwrap_or(false),
    };
    let multiple = spec
        .link_opportunities_multiple_source_matches
        .unwrap_or(false);
    let match_case_sensitive = spec
        .link_opportunities_case_sensitive_match_field
        .unwrap_or(false);
    let mut opp_index: HashMap<String, String> = store
        .opportunities
        .keys()
        .map(|k| (k.to_lowercase(), k.clone()))
        .collect();
    let mut seen = HashSet::new();
    for row in rows(input) {
        out.total += 1;
        if row.is_empty() {
            out.reject(&row, "ELQ-00059", &[]);
            continue;
        }
        let (Some(opp_value), Some(source_value)) = (row.get(&match_col), row.get(&source_col))
        else {
            let missing: Vec<&str> = [&match_col, &source_col]
                .into_iter()
                .filter(|c| row.get(c).is_none())
                .map(String::as_str)
                .collect();
            out.reject(&row, "ELQ-00061", &missing);
            continue;
        };
        if !seen.insert(row.identity()) {
            out.reject(&row, "ELQ-00026", &[&match_col, &source_col]);
            continue;
        }
        if is_email_source(&source) && !valid_email(source_value) {
            out.reject(&row, "ELQ-00002", &[&source_col]);
            continue;
        }
        let opportunity = if match_case_sensitive {
            store
                .opportunities
                .contains_key(opp_value)
                .then(|| opp_value.to_string())
        } else {
            opp_index.get(&opp_value.to_lowercase()).cloned()
        };
        if opportunity.is_none() && strict {
            out.reject(&row, "ELQ-00084", &[&match_col]);
            continue;
        }
        let mut contacts = find_contacts(store, &source, source_value);
        if contacts.is_empty() {
            match create_contact(store, &source, source_value, strict) {
                Ok(Some(id)) => contacts.push(id),
                Ok(None) => {
                    out.reject(&row, "ELQ-00085", &[&source_col]);
                    continue;
                }
                Err(code) => {
                    out.reject(&row, code, &[&source_col]);
                    continue;
                }
            }
        }
        if !multiple {
            contacts.truncate(1);
        }
        let opp_id = opportunity.unwrap_or_else(|| {
            opp_index.insert(opp_value.to_lowercase(), opp_value.to_string());
            opp_value.to_string()
        });
        link(store, &opp_id, &contacts, &mut out);
    }
    out
}

fn is_email_source(source: &Source) -> bool {
    matches!(&source.statement, Some(Statement::LinkedContactField(f)) if f.eq_ignore_ascii_case("C_EmailAddress"))
}

fn link(store: &mut Store, opp_id: &str, contacts: &[u64], out: &mut Outcome) {
    let opp = store
        .opportunities
        .entry(opp_id.to_string())
        .or_insert_with(|| Opportunity {
            id: opp_id.to_string(),
            name: opp_id.to_string(),
            ..Opportunity::default()
        });
    let mut any_new = false;
    for id in contacts {
        any_new |= opp.contacts.insert(*id);
    }
    if any_new {
        out.created += 1;
    } else {
        out.updated += 1;
    }
}

fn same(a: &str, b: &str, case_sensitive: bool) -> bool {
    if case_sensitive {
        a == b
    } else {
        a.eq_ignore_ascii_case(b)
    }
}

/// Contacts the source value designates, lowest id first.
fn find_contacts(store: &Store, source: &Source, value: &str) -> Vec<u64> {
    let cs = source.case_sensitive;
    match &source.statement {
        Some(Statement::LinkedContactField(f)) if f.eq_ignore_ascii_case("C_EmailAddress") => store
            .contact_by_email(value)
            .filter(|id| {
                store
                    .contacts
                    .get(id)
                    .is_some_and(|c| same(&c.email, value, cs))
            })
            .into_iter()
            .collect(),
        Some(Statement::LinkedContactField(f)) => store
            .contacts
            .values()
            .filter(|c| c.fields.get(f).is_some_and(|v| same(v, value, cs)))
            .map(|c| c.id)
            .collect(),
        Some(Statement::LinkedContactId) => value
            .parse::<u64>()
            .ok()
            .filter(|id| store.contacts.contains_key(id))
            .into_iter()
            .collect(),
        Some(Statement::LinkedAccountId) => {
            let account = value.parse::<u64>().ok();
            store
                .contacts
                .values()
                .filter(|c| c.account_id.is_some() && c.account_id == account)
                .map(|c| c.id)
                .collect()
        }
        Some(Statement::LinkedAccountField(f)) => {
            let accounts: HashSet<u64> = store
                .accounts
                .values()
                .filter(|a| {
                    let by_name =
                        f.eq_ignore_ascii_case("M_CompanyName") && same(&a.name, value, cs);
                    by_name || a.fields.get(f).is_some_and(|v| same(v, value, cs))
                })
                .map(|a| a.id)
                .collect();
            store
                .contacts
                .values()
                .filter(|c| c.account_id.is_some_and(|a| accounts.contains(&a)))
                .map(|c| c.id)
                .collect()
        }
        _ => Vec::new(),
    }
}

/// Creates the contact an unknown email designates (non-strict mode only). `Ok(None)` when no
/// contact can be created, `Err(code)` when the sandbox contact cap refuses it.
fn create_contact(
    store: &mut Store,
    source: &Source,
    value: &str,
    strict: bool,
) -> Result<Option<u64>, &'static str> {
    if strict || !is_email_source(source) {
        return Ok(None);
    }
    if store.contacts.len() >= store.settings.contact_limit {
        return Err(SANDBOX_LIMIT);
    }
    Ok(Some(store.add_contact(value, Default::default(), None)))
}

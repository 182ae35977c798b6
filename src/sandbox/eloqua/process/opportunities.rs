//! Opportunity import rows (§4.2): upsert by the column mapped to `{{Opportunity.Id}}`.
//!
//! Rejects: ELQ-00059 empty, ELQ-00061 missing id (or name for a new opportunity), ELQ-00026
//! duplicate id within the sync, ELQ-00039 invalid stage (strict mode: stages outside the
//! configured list), ELQ-00032 non-numeric amount, ELQ-00034 unmatched under `updateOnly`.

use std::collections::{HashMap, HashSet};

use super::{Outcome, rows};
use crate::sandbox::eloqua::markup::{Statement, parse};
use crate::sandbox::eloqua::store::{Opportunity, StagedBatch, Store};
use crate::sandbox::eloqua::wire::ImportDefinition;

pub fn apply(
    store: &mut Store,
    spec: &ImportDefinition,
    input: &[StagedBatch],
    strict: bool,
) -> Outcome {
    let mapping: Vec<(String, String)> = spec
        .fields
        .iter()
        .filter_map(|(c, v)| match parse(v.as_str()?)? {
            Statement::OpportunityField(f) => Some((c.clone(), f)),
            _ => None,
        })
        .collect();
    let column_of = |field: &str| {
        mapping
            .iter()
            .find(|(_, f)| f.eq_ignore_ascii_case(field))
            .map(|(c, _)| c.clone())
    };
    let (name_col, stage_col, amount_col) = (
        column_of("Name").unwrap_or_default(),
        column_of("Stage").unwrap_or_default(),
        column_of("Amount").unwrap_or_default(),
    );
    let id_col = spec.identifier_field_name.clone().unwrap_or_default();
    let case_sensitive = spec.is_identifier_field_case_sensitive.unwrap_or(false);
    let import_rule = spec.import_rule.as_deref().unwrap_or("createAndUpdate");
    let update_rule = spec.update_rule.as_deref().unwrap_or("always");
    let mut index: HashMap<String, String> = store
        .opportunities
        .keys()
        .map(|k| (k.to_lowercase(), k.clone()))
        .collect();
    let mut seen = HashSet::new();
    let mut out = Outcome::default();
    for row in rows(input) {
        out.total += 1;
        if row.is_empty() {
            out.reject(&row, "ELQ-00059", &[]);
            continue;
        }
        let Some(id) = row.get(&id_col) else {
            out.reject(&row, "ELQ-00061", &[&id_col]);
            continue;
        };
        if !seen.insert(if case_sensitive {
            id.to_string()
        } else {
            id.to_lowercase()
        }) {
            out.reject(&row, "ELQ-00026", &[&id_col]);
            continue;
        }
        if strict
            && row.get(&stage_col).is_some_and(|s| {
                !store
                    .settings
                    .stages
                    .iter()
                    .any(|k| k.eq_ignore_ascii_case(s))
            })
        {
            out.reject(&row, "ELQ-00039", &[&stage_col]);
            continue;
        }
        if row
            .get(&amount_col)
            .is_some_and(|a| a.trim().parse::<f64>().is_err())
        {
            out.reject(&row, "ELQ-00032", &[&amount_col]);
            continue;
        }
        let existing = if case_sensitive {
            store.opportunities.contains_key(id).then(|| id.to_string())
        } else {
            index.get(&id.to_lowercase()).cloned()
        };
        let (key, is_new) = match existing {
            Some(_) if import_rule == "createOnly" => continue,
            Some(key) => (key, false),
            None if import_rule == "updateOnly" => {
                out.reject(&row, "ELQ-00034", &[&id_col]);
                continue;
            }
            None => {
                let Some(name) = row.get(&name_col) else {
                    out.reject(&row, "ELQ-00061", &[&name_col]);
                    continue;
                };
                let opp = Opportunity {
                    id: id.to_string(),
                    name: name.to_string(),
                    ..Opportunity::default()
                };
                store.opportunities.insert(id.to_string(), opp);
                index.insert(id.to_lowercase(), id.to_string());
                (id.to_string(), true)
            }
        };
        let Some(opp) = store.opportunities.get_mut(&key) else {
            continue;
        };
        for (column, field) in &mapping {
            if !row.has_column(column) {
                continue;
            }
            let new = row.get(column);
            let existing_empty = opp.fields.get(field).is_none_or(String::is_empty);
            let write = match update_rule {
                "ifNewIsNotNull" => new.is_some(),
                "ifExistingIsNull" => existing_empty,
                _ => true,
            };
            match (write, new, field.eq_ignore_ascii_case("Name")) {
                (true, Some(v), true) => opp.name = v.to_string(),
                (true, Some(v), false) => {
                    opp.fields.insert(field.clone(), v.to_string());
                }
                (true, None, false) => {
                    opp.fields.remove(field);
                }
                _ => {}
            }
        }
        if is_new {
            out.created += 1;
        } else {
            out.updated += 1;
        }
    }
    out
}

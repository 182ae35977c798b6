//! Opportunity import rows (§4.2): upsert by the column mapped to `{{Opportunity.Id}}`.
//!
//! Rejects: ELQ-00059 empty, ELQ-00061 missing id (or name for a new opportunity), ELQ-00026
//! duplicate id within the sync, ELQ-00039 invalid stage (strict mode: stages outside the
//! configured list), ELQ-00032 non-numeric amount, ELQ-00034 unmatched under `updateOnly`.

use std::collections::{HashMap, HashSet};

use super::{Outcome, Row, rows};
use crate::sandbox::eloqua::markup::{Statement, parse};
use crate::sandbox::eloqua::store::{Opportunity, StagedBatch, Store};
use crate::sandbox::eloqua::wire::ImportDefinition;

/// The definition, digested once per sync.
struct Plan<'a> {
    /// (column, opportunity field)
    mapping: Vec<(String, String)>,
    id_col: String,
    name_col: String,
    stage_col: String,
    amount_col: String,
    case_sensitive: bool,
    spec: &'a ImportDefinition,
}

impl<'a> Plan<'a> {
    fn new(spec: &'a ImportDefinition) -> Self {
        let mapping: Vec<(String, String)> = spec
            .fields
            .iter()
            .filter_map(|(c, v)| match parse(v.as_str()?)? {
                Statement::OpportunityField(f) => Some((c.clone(), f)),
                _ => None,
            })
            .collect();
        let column_of = |field: &str| {
            let found = mapping.iter().find(|(_, f)| f.eq_ignore_ascii_case(field));
            found.map(|(c, _)| c.clone()).unwrap_or_default()
        };
        Plan {
            id_col: spec.identifier_field_name.clone().unwrap_or_default(),
            name_col: column_of("Name"),
            stage_col: column_of("Stage"),
            amount_col: column_of("Amount"),
            case_sensitive: spec.is_identifier_field_case_sensitive.unwrap_or(false),
            mapping,
            spec,
        }
    }

    /// Checks of the row's values; `Err((code, column))` rejects it.
    fn check<'r>(
        &'r self,
        row: &Row<'_>,
        store: &Store,
        strict: bool,
    ) -> Result<(), (&'static str, &'r str)> {
        let known_stage = |s: &str| {
            store
                .settings
                .stages
                .iter()
                .any(|k| k.eq_ignore_ascii_case(s))
        };
        if strict && row.get(&self.stage_col).is_some_and(|s| !known_stage(s)) {
            return Err(("ELQ-00039", &self.stage_col));
        }
        if row
            .get(&self.amount_col)
            .is_some_and(|a| a.trim().parse::<f64>().is_err())
        {
            return Err(("ELQ-00032", &self.amount_col));
        }
        Ok(())
    }

    /// Writes the row's columns under the update rule.
    fn write(&self, opp: &mut Opportunity, row: &Row<'_>) {
        let rule = self.spec.update_rule.as_deref().unwrap_or("always");
        for (column, field) in &self.mapping {
            if !row.has_column(column) {
                continue;
            }
            let new = row.get(column);
            let write = match rule {
                "ifNewIsNotNull" => new.is_some(),
                "ifExistingIsNull" => opp.fields.get(field).is_none_or(String::is_empty),
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
    }
}

pub fn apply(
    store: &mut Store,
    spec: &ImportDefinition,
    input: &[StagedBatch],
    strict: bool,
) -> Outcome {
    let plan = Plan::new(spec);
    let import_rule = spec.import_rule.as_deref().unwrap_or("createAndUpdate");
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
        let Some(id) = row.get(&plan.id_col) else {
            out.reject(&row, "ELQ-00061", &[&plan.id_col]);
            continue;
        };
        let folded = if plan.case_sensitive {
            id.to_string()
        } else {
            id.to_lowercase()
        };
        if !seen.insert(folded.clone()) {
            out.reject(&row, "ELQ-00026", &[&plan.id_col]);
            continue;
        }
        if let Err((code, column)) = plan.check(&row, store, strict) {
            out.reject(&row, code, &[column]);
            continue;
        }
        let existing = if plan.case_sensitive {
            store.opportunities.contains_key(id).then(|| id.to_string())
        } else {
            index.get(&folded).cloned()
        };
        let key = match existing {
            Some(_) if import_rule == "createOnly" => continue,
            Some(key) => {
                out.updated += 1;
                key
            }
            None if import_rule == "updateOnly" => {
                out.reject(&row, "ELQ-00034", &[&plan.id_col]);
                continue;
            }
            None if row.get(&plan.name_col).is_none() => {
                out.reject(&row, "ELQ-00061", &[&plan.name_col]);
                continue;
            }
            None => {
                let opp = Opportunity {
                    id: id.to_string(),
                    name: id.to_string(),
                    ..Opportunity::default()
                };
                store.opportunities.insert(id.to_string(), opp);
                index.insert(id.to_lowercase(), id.to_string());
                out.created += 1;
                id.to_string()
            }
        };
        if let Some(opp) = store.opportunities.get_mut(&key) {
            plan.write(opp, &row);
        }
    }
    out
}

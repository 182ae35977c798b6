//! Applying a parsed batch to the instance's data when it finishes (marketo.md §14.11-14):
//! program members upsert the lead by email and the membership with one-way status
//! progression; leads dedupe on the lookup field (update-only for `id`), join the static list.
//! Produces the counters, the message and the failures/warnings files.
//!
//! The parsed rows are consumed: a row that creates a lead becomes that lead's storage.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::sandbox::marketo::fields::{FieldDef, Scope};
use crate::sandbox::marketo::parse::{Format, Parsed, RowCheck, reason_file};
use crate::sandbox::marketo::record::{Fields, Name, Row};
use crate::sandbox::marketo::store::{DEFAULT_PARTITION, Member, Program, Store};

/// What an import asks for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Job {
    ProgramMembers {
        program_id: u64,
        status: String,
    },
    Leads {
        lookup_field: String,
        list_id: Option<u64>,
        partition: String,
    },
}

/// The result of a finished batch.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    pub processed: u32,
    pub failed: u32,
    pub warned: u32,
    pub message: String,
    pub failures: String,
    pub warnings: String,
}

pub const FAILURE_COLUMN: &str = "Import Failure Reason";
pub const WARNING_COLUMN: &str = "Import Warning Reason";

/// The columns of the batch, shared by every row.
struct Columns {
    defs: Vec<FieldDef>,
    names: Arc<[Name]>,
    /// Every column is a lead field other than `id`: a row can become a lead as it is.
    direct: bool,
}

impl Columns {
    fn position(&self, name: &str) -> Option<usize> {
        self.defs.iter().position(|c| c.name == name)
    }

    /// Non-empty values of the columns of one scope, `id` excluded (never written).
    fn scoped<'r>(
        &'r self,
        row: &'r Row,
        scope: Scope,
    ) -> impl Iterator<Item = (&'r Name, &'r str)> + Clone {
        self.defs
            .iter()
            .zip(self.names.iter())
            .zip(row.iter())
            .filter(move |((c, _), v)| c.scope == scope && c.name != "id" && !v.is_empty())
            .map(|((_, n), v)| (n, v))
    }

    /// The lead fields of a row, moving the row when it holds nothing else.
    fn lead_fields(&self, row: Row) -> Fields {
        if self.direct {
            Fields::from_row(self.names.clone(), row)
        } else {
            Fields::from_pairs(self.scoped(&row, Scope::Lead))
        }
    }
}

/// Rows in file order, as they end up.
#[derive(Default)]
struct Report {
    processed: u32,
    failures: Vec<(Row, String)>,
    warnings: Vec<(Row, &'static str)>,
}

impl Report {
    /// Sorts a row by its parse-time check: failed rows are recorded and `None` returned;
    /// otherwise the row and, for a warned row, a copy for the warnings file.
    fn screen(&mut self, row: Row, check: RowCheck) -> Option<(Row, Option<(Row, &'static str)>)> {
        match check {
            RowCheck::Failure(reason) => {
                self.failures.push((row, reason));
                None
            }
            RowCheck::Warning(w) => {
                let copy = row.clone();
                Some((row, Some((copy, w))))
            }
            RowCheck::Ok => Some((row, None)),
        }
    }

    fn imported(&mut self, warning: Option<(Row, &'static str)>) {
        self.processed += 1;
        if let Some(w) = warning {
            self.warnings.push(w);
        }
    }
}

pub fn apply(store: &mut Store, job: &Job, parsed: Parsed, format: Format) -> Outcome {
    let Parsed {
        header,
        columns,
        names,
        rows,
    } = parsed;
    store.reserve_leads(rows.len());
    let direct = columns
        .iter()
        .all(|c| c.scope == Scope::Lead && c.name != "id");
    let cols = Columns {
        defs: columns,
        names,
        direct,
    };
    let mut report = Report::default();
    match job {
        Job::ProgramMembers { program_id, status } => {
            apply_members(store, *program_id, status, &cols, rows, &mut report)
        }
        Job::Leads {
            lookup_field,
            list_id,
            partition,
        } => apply_leads(
            store,
            lookup_field,
            *list_id,
            partition,
            &cols,
            rows,
            &mut report,
        ),
    }
    let failed = report.failures.len() as u32;
    let warned = report.warnings.len() as u32;
    let failures = report.failures.iter().map(|(r, s)| (r, s.as_str()));
    let warnings = report.warnings.iter().map(|(r, s)| (r, *s));
    Outcome {
        processed: report.processed,
        failed,
        warned,
        message: message(report.processed, failed, warned),
        failures: reason_file(format, &header, FAILURE_COLUMN, failures),
        warnings: reason_file(format, &header, WARNING_COLUMN, warnings),
    }
}

/// The documented message templates (§7.1).
pub fn message(processed: u32, failed: u32, warned: u32) -> String {
    let base = format!("{processed} records imported ({processed} members)");
    let warn = match warned {
        0 => String::new(),
        1 => ", 1 warning.".to_owned(),
        n => format!(", {n} warnings."),
    };
    if failed > 0 {
        format!("Import completed with errors, {base}, {failed} failed{warn}")
    } else {
        format!("Import succeeded, {base}{warn}")
    }
}

fn apply_members(
    store: &mut Store,
    program_id: u64,
    status: &str,
    cols: &Columns,
    rows: Vec<(Row, RowCheck)>,
    report: &mut Report,
) {
    let email_col = cols.position("email");
    let mut program = store
        .programs
        .remove(&program_id)
        .unwrap_or_else(|| Program {
            id: program_id,
            statuses: vec![status.to_owned()],
            auto_created: true,
            members: BTreeMap::new(),
        });
    let new_rank = program.rank(status);
    let status = Name::from(status);
    let partition = Name::from(DEFAULT_PARTITION);
    for (row, check) in rows {
        let Some((row, warning)) = report.screen(row, check) else {
            continue;
        };
        let member_fields = Fields::from_pairs(cols.scoped(&row, Scope::ProgramMember));
        let existing = email_col
            .and_then(|i| row.get(i))
            .and_then(|e| store.first_lead_by_email(e.trim()));
        let lead_id = match existing {
            Some(id) => {
                store.update_lead(id, cols.scoped(&row, Scope::Lead));
                id
            }
            None => store.create_lead(&partition, cols.lead_fields(row)),
        };
        let member = program.members.entry(lead_id).or_insert_with(|| Member {
            status: status.clone(),
            fields: Fields::default(),
        });
        // One-way progression: a member already further along keeps its status.
        if member.status != status
            && program
                .statuses
                .iter()
                .position(|s| s.eq_ignore_ascii_case(member.status.as_str()))
                <= new_rank
        {
            member.status = status.clone();
        }
        if let Some(merged) = member.fields.merged(member_fields.iter()) {
            member.fields = merged;
        }
        report.imported(warning);
    }
    store.programs.insert(program_id, program);
}

fn apply_leads(
    store: &mut Store,
    lookup: &str,
    list_id: Option<u64>,
    partition: &str,
    cols: &Columns,
    rows: Vec<(Row, RowCheck)>,
    report: &mut Report,
) {
    let col = cols.position(lookup);
    let partition = Name::from(partition);
    // Index of the lookup field over existing leads (email has a permanent index).
    let mut index: HashMap<String, Vec<u64>> = HashMap::new();
    if lookup != "email" && lookup != "id" {
        for lead in store.leads_sorted() {
            if let Some(v) = lead.fields.get(lookup) {
                index.entry(v.to_owned()).or_default().push(lead.id);
            }
        }
    }
    let mut listed = Vec::new();
    for (row, check) in rows {
        let Some((row, warning)) = report.screen(row, check) else {
            continue;
        };
        let key = col.and_then(|i| row.get(i)).unwrap_or("").trim().to_owned();
        let matches: Vec<u64> = match lookup {
            "id" => key
                .parse::<u64>()
                .ok()
                .filter(|id| store.leads.contains_key(id))
                .into_iter()
                .collect(),
            _ if key.is_empty() => vec![],
            "email" => store.leads_by_email(&key),
            _ => index.get(&key).cloned().unwrap_or_default(),
        };
        let id = match matches.as_slice() {
            [] if lookup == "id" => {
                report.failures.push((row, "Lead not found".into()));
                continue;
            }
            [] => {
                let id = store.create_lead(&partition, cols.lead_fields(row));
                if lookup != "email" && !key.is_empty() {
                    index.entry(key).or_default().push(id);
                }
                id
            }
            [one] => {
                store.update_lead(*one, cols.scoped(&row, Scope::Lead));
                *one
            }
            _ => {
                report
                    .failures
                    .push((row, "Multiple leads match the lookup criteria".into()));
                continue;
            }
        };
        listed.push(id);
        report.imported(warning);
    }
    if let Some(list) = list_id.and_then(|l| store.lists.get_mut(&l)) {
        list.leads.extend(listed);
    }
}

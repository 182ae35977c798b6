//! Applying a parsed batch to the instance's data when it finishes (marketo.md §14.11-14):
//! program members upsert the lead by email and the membership with one-way status
//! progression; leads dedupe on the lookup field (update-only for `id`), join the static list.
//! Produces the counters, the message and the failures/warnings files.

use std::collections::{BTreeMap, HashMap};

use csv::StringRecord;
use serde::{Deserialize, Serialize};

use crate::sandbox::marketo::fields::Scope;
use crate::sandbox::marketo::parse::{Format, Parsed, RowCheck, reason_file};
use crate::sandbox::marketo::store::{Member, Name, Program, Store};

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

/// Verdict of one row after meeting the data.
enum Verdict<'a> {
    Imported(Option<&'a str>),
    Failed(String),
}

pub fn apply(store: &mut Store, job: &Job, parsed: &Parsed, format: Format) -> Outcome {
    let verdicts: Vec<Verdict> = match job {
        Job::ProgramMembers { program_id, status } => {
            apply_members(store, *program_id, status, parsed)
        }
        Job::Leads {
            lookup_field,
            list_id,
            partition,
        } => apply_leads(store, lookup_field, *list_id, partition, parsed),
    };
    summarize(parsed, &verdicts, format)
}

fn summarize(parsed: &Parsed, verdicts: &[Verdict], format: Format) -> Outcome {
    let mut failures: Vec<(&StringRecord, &str)> = Vec::new();
    let mut warnings: Vec<(&StringRecord, &str)> = Vec::new();
    for ((row, _), verdict) in parsed.rows.iter().zip(verdicts) {
        match verdict {
            Verdict::Imported(None) => {}
            Verdict::Imported(Some(w)) => warnings.push((row, w)),
            Verdict::Failed(reason) => failures.push((row, reason.as_str())),
        }
    }
    let failed = failures.len() as u32;
    let warned = warnings.len() as u32;
    let processed = parsed.rows.len() as u32 - failed;
    Outcome {
        processed,
        failed,
        warned,
        message: message(processed, failed, warned),
        failures: reason_file(format, &parsed.header, FAILURE_COLUMN, failures.into_iter()),
        warnings: reason_file(format, &parsed.header, WARNING_COLUMN, warnings.into_iter()),
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

/// Values of the columns of one scope, skipping `id` (never written) and empty cells.
fn scoped<'r>(
    parsed: &'r Parsed,
    row: &'r StringRecord,
    scope: Scope,
) -> impl Iterator<Item = (&'r Name, &'r str)> {
    parsed
        .columns
        .iter()
        .zip(&parsed.names)
        .zip(row.iter())
        .filter(move |((c, _), v)| c.scope == scope && c.name != "id" && !v.is_empty())
        .map(|((_, n), v)| (n, v))
}

fn apply_members<'a>(
    store: &mut Store,
    program_id: u64,
    status: &str,
    parsed: &'a Parsed,
) -> Vec<Verdict<'a>> {
    let email_col = parsed.column("email");
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
    let mut verdicts = Vec::with_capacity(parsed.rows.len());
    for (row, check) in &parsed.rows {
        let warning = match check {
            RowCheck::Failure(reason) => {
                verdicts.push(Verdict::Failed(reason.clone()));
                continue;
            }
            RowCheck::Warning(w) => Some(*w),
            RowCheck::Ok => None,
        };
        let email = email_col.and_then(|i| row.get(i)).unwrap_or("").trim();
        let lead_id = match store.leads_by_email(email).first() {
            Some(id) => {
                let id = *id;
                store.update_lead(id, scoped(parsed, row, Scope::Lead));
                id
            }
            None => {
                let fields =
                    scoped(parsed, row, Scope::Lead).map(|(k, v)| (k.clone(), v.to_owned()));
                store.create_lead(
                    crate::sandbox::marketo::store::DEFAULT_PARTITION,
                    fields.collect(),
                )
            }
        };
        let member = program.members.entry(lead_id).or_insert_with(|| Member {
            status: status.clone(),
            fields: BTreeMap::new(),
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
        for (k, v) in scoped(parsed, row, Scope::ProgramMember) {
            member.fields.insert(k.clone(), v.to_owned());
        }
        verdicts.push(Verdict::Imported(warning));
    }
    store.programs.insert(program_id, program);
    verdicts
}

fn apply_leads<'a>(
    store: &mut Store,
    lookup: &str,
    list_id: Option<u64>,
    partition: &str,
    parsed: &'a Parsed,
) -> Vec<Verdict<'a>> {
    let col = parsed.column(lookup);
    // Index of the lookup field over existing leads (email has a permanent index).
    let mut index: HashMap<String, Vec<u64>> = HashMap::new();
    if lookup != "email" && lookup != "id" {
        for lead in store.leads.values() {
            if let Some(v) = lead.fields.get(lookup).filter(|v| !v.is_empty()) {
                index.entry(v.clone()).or_default().push(lead.id);
            }
        }
    }
    let mut verdicts = Vec::with_capacity(parsed.rows.len());
    let mut listed = Vec::new();
    for (row, check) in &parsed.rows {
        let warning = match check {
            RowCheck::Failure(reason) => {
                verdicts.push(Verdict::Failed(reason.clone()));
                continue;
            }
            RowCheck::Warning(w) => Some(*w),
            RowCheck::Ok => None,
        };
        let key = col.and_then(|i| row.get(i)).unwrap_or("").trim();
        let matches: Vec<u64> = match lookup {
            "id" => key
                .parse::<u64>()
                .ok()
                .filter(|id| store.leads.contains_key(id))
                .into_iter()
                .collect(),
            _ if key.is_empty() => vec![],
            "email" => store.leads_by_email(key).to_vec(),
            _ => index.get(key).cloned().unwrap_or_default(),
        };
        let id = match matches.as_slice() {
            [] if lookup == "id" => {
                verdicts.push(Verdict::Failed("Lead not found".into()));
                continue;
            }
            [] => {
                let fields =
                    scoped(parsed, row, Scope::Lead).map(|(k, v)| (k.clone(), v.to_owned()));
                let id = store.create_lead(partition, fields.collect());
                if lookup != "email" && !key.is_empty() {
                    index.entry(key.to_owned()).or_default().push(id);
                }
                id
            }
            [one] => {
                store.update_lead(*one, scoped(parsed, row, Scope::Lead));
                *one
            }
            _ => {
                verdicts.push(Verdict::Failed(
                    "Multiple leads match the lookup criteria".into(),
                ));
                continue;
            }
        };
        listed.push(id);
        verdicts.push(Verdict::Imported(warning));
    }
    if let Some(list) = list_id.and_then(|l| store.lists.get_mut(&l)) {
        list.leads.extend(listed);
    }
    verdicts
}

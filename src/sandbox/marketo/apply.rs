//! Applying a parsed batch to the instance's data when it finishes (marketo.md §14.11-14):
//! program members upsert the lead by email and the membership with one-way status
//! progression; leads dedupe on the lookup field (update-only for `id`), join the static list.
//! Produces the counters, the message and the failures/warnings files.
//!
//! A row that creates a lead is copied out of the parsed table as that lead's storage.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::sandbox::marketo::fields::{FieldDef, Scope};
use crate::sandbox::marketo::parse::{Format, Parsed, RowCheck, reason_file};
use crate::sandbox::marketo::record::{Fields, Name, SharedRows};
use crate::sandbox::marketo::store::{DEFAULT_PARTITION, EmailMatch, Member, Program, Store};
use crate::sandbox::marketo::table::{RowRef, Table};

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
    /// Some column is a program-member field.
    member_fields: bool,
    /// The batch's rows, which leads created from them point at.
    rows: Arc<SharedRows>,
}

impl Columns {
    fn position(&self, name: &str) -> Option<usize> {
        self.defs.iter().position(|c| c.name == name)
    }

    /// Non-empty values of the columns of one scope, `id` excluded (never written).
    fn scoped<'r>(
        &'r self,
        row: RowRef<'r>,
        scope: Scope,
    ) -> impl Iterator<Item = (&'r Name, &'r str)> + Clone {
        self.defs
            .iter()
            .zip(self.names.iter())
            .zip(row.iter())
            .filter(move |((c, _), v)| c.scope == scope && c.name != "id" && !v.is_empty())
            .map(|((_, n), v)| (n, v))
    }

    /// Writes a row's lead fields to an existing lead. A lead created from an identical row of
    /// the same columns is left alone without a field-by-field comparison.
    fn update(&self, store: &mut Store, id: u64, row: RowRef<'_>) {
        let unchanged = self.direct
            && store
                .leads
                .get(&id)
                .is_some_and(|l| l.fields.is_row(&self.names, row));
        if !unchanged {
            store.update_lead(id, self.scoped(row, Scope::Lead));
        }
    }

    /// The lead fields of a row: the row as it is (shared, not copied) when it holds nothing
    /// else.
    fn lead_fields(&self, row: RowRef<'_>) -> Fields {
        if self.direct {
            Fields::shared(&self.rows, row.index())
        } else {
            Fields::from_pairs(self.scoped(row, Scope::Lead))
        }
    }
}

/// Rows (by index in the file) in file order, as they end up.
#[derive(Default)]
struct Report {
    processed: u32,
    failures: Vec<(usize, String)>,
    warnings: Vec<(usize, &'static str)>,
}

impl Report {
    /// Sorts a row by its parse-time check: a failed row is recorded and `None` returned;
    /// otherwise `Some` with the row's warning, if any.
    fn screen(&mut self, row: usize, check: RowCheck) -> Option<Option<&'static str>> {
        match check {
            RowCheck::Failure(reason) => {
                self.failures.push((row, reason));
                None
            }
            RowCheck::Warning(w) => Some(Some(w)),
            RowCheck::Ok => Some(None),
        }
    }

    fn imported(&mut self, row: usize, warning: Option<&'static str>) {
        self.processed += 1;
        if let Some(w) = warning {
            self.warnings.push((row, w));
        }
    }
}

/// Every row with its verdict, in file order, taking the verdicts out of `flagged`.
fn verdicts(
    rows: &Table,
    flagged: Vec<(usize, RowCheck)>,
) -> impl Iterator<Item = (RowRef<'_>, RowCheck)> {
    let mut flagged = flagged.into_iter().peekable();
    (0..rows.len()).map(move |i| {
        let check = match flagged.next_if(|(at, _)| *at == i) {
            Some((_, check)) => check,
            None => RowCheck::Ok,
        };
        (rows.row(i), check)
    })
}

pub fn apply(store: &mut Store, job: &Job, parsed: Parsed, format: Format) -> Outcome {
    let Parsed {
        header,
        columns,
        names,
        rows,
        flagged,
    } = parsed;
    let direct = columns
        .iter()
        .all(|c| c.scope == Scope::Lead && c.name != "id");
    let names = store.intern(&names);
    let shared = Arc::new(SharedRows {
        names: names.clone(),
        table: rows,
    });
    let member_fields = columns.iter().any(|c| c.scope == Scope::ProgramMember);
    let cols = Columns {
        defs: columns,
        names,
        direct,
        member_fields,
        rows: shared.clone(),
    };
    let rows = &shared.table;
    let mut report = Report::default();
    match job {
        Job::ProgramMembers { program_id, status } => {
            let target = (*program_id, status.as_str());
            apply_members(store, target, &cols, rows, flagged, &mut report)
        }
        Job::Leads {
            lookup_field,
            list_id,
            partition,
        } => {
            let target = (lookup_field.as_str(), *list_id, partition.as_str());
            apply_leads(store, target, &cols, rows, flagged, &mut report)
        }
    }
    let failed = report.failures.len() as u32;
    let warned = report.warnings.len() as u32;
    let failures = report
        .failures
        .iter()
        .map(|(i, s)| (rows.row(*i), s.as_str()));
    let warnings = report.warnings.iter().map(|(i, s)| (rows.row(*i), *s));
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

/// Each row's email looked up, for every row before any row is applied (in one batch: see
/// `Store::match_emails`). Empty without an email column.
fn match_emails(store: &Store, rows: &Table, email_col: Option<usize>) -> Vec<Option<EmailMatch>> {
    let Some(col) = email_col else {
        return Vec::new();
    };
    let emails: Vec<&str> = (0..rows.len())
        .map(|i| rows.row(i).get(col).unwrap_or(""))
        .collect();
    store.match_emails(&emails)
}

fn apply_members(
    store: &mut Store,
    (program_id, status): (u64, &str),
    cols: &Columns,
    rows: &Table,
    flagged: Vec<(usize, RowCheck)>,
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
    let emails = match_emails(store, rows, email_col);
    // The fields of the leads the file creates are made before the loop: each counts a
    // reference to the file's rows, an atomic operation that in the loop waited on the loop's
    // outstanding cache misses.
    let mut fresh: Vec<Option<Fields>> = emails
        .iter()
        .enumerate()
        .map(|(i, m)| {
            m.is_some_and(|m| m.lead.is_none())
                .then(|| cols.lead_fields(rows.row(i)))
        })
        .collect();
    store.reserve_leads(fresh.iter().flatten().count());
    // A program without members gets them all at once (see `members_of`).
    let mut joining: Option<Vec<(u64, Member)>> = program
        .members
        .is_empty()
        .then(|| Vec::with_capacity(rows.len()));
    // Leads are found by the row's own email, so no update below changes an email's key (as
    // `Store::creating` requires).
    store.creating(&emails, |store, new| {
        for (row, check) in verdicts(rows, flagged) {
            let Some(warning) = report.screen(row.index(), check) else {
                continue;
            };
            let member_fields = if cols.member_fields {
                Fields::from_pairs(cols.scoped(row, Scope::ProgramMember))
            } else {
                Fields::default()
            };
            // A row without a known lead may still find one an earlier row of the file created.
            let lead_id = match emails.get(row.index()).copied().flatten() {
                Some(email) => {
                    let fields = || {
                        let made = fresh.get_mut(row.index()).and_then(Option::take);
                        made.unwrap_or_else(|| cols.lead_fields(row))
                    };
                    let (id, created) =
                        store.find_or_create(row.index(), &email, new, &partition, fields);
                    if !created {
                        cols.update(store, id, row);
                    }
                    id
                }
                // Screened out above (program members need an email); kept for safety.
                None => store.create_lead(&partition, cols.lead_fields(row)),
            };
            match &mut joining {
                Some(list) => list.push((lead_id, new_member(status, &member_fields))),
                None => join(&mut program, lead_id, (status, new_rank), &member_fields),
            }
            report.imported(row.index(), warning);
        }
    });
    if let Some(list) = joining {
        program.members = members_of(list);
    }
    store.programs.insert(program_id, program);
}

/// Makes the lead a member of a program that has members, or moves its membership on (one
/// way: a member already further along keeps its status) and merges the fields.
fn join(program: &mut Program, lead: u64, (status, rank): (Name, Option<usize>), fields: &Fields) {
    let member = program.members.entry(lead).or_insert_with(|| Member {
        status,
        fields: Fields::default(),
    });
    if member.status != status
        && program
            .statuses
            .iter()
            .position(|s| s.eq_ignore_ascii_case(member.status.as_str()))
            <= rank
    {
        member.status = status;
    }
    if let Some(merged) = member.fields.merged(fields.iter()) {
        member.fields = merged;
    }
}

/// A membership as a first import makes it.
fn new_member(status: Name, fields: &Fields) -> Member {
    let mut member = Member {
        status,
        fields: Fields::default(),
    };
    if let Some(merged) = member.fields.merged(fields.iter()) {
        member.fields = merged;
    }
    member
}

/// The memberships of a program that had none, from (lead, membership) in file order: built
/// as one B-tree from the sorted list, not one insertion per row. A lead listed twice keeps
/// its first membership with the later rows' fields merged over it, as row-by-row insertion
/// would.
fn members_of(mut list: Vec<(u64, Member)>) -> BTreeMap<u64, Member> {
    list.sort_by_key(|(id, _)| *id);
    let mut folded: Vec<(u64, Member)> = Vec::with_capacity(list.len());
    for (id, member) in list {
        match folded.last_mut() {
            Some((last, kept)) if *last == id => {
                if let Some(merged) = kept.fields.merged(member.fields.iter()) {
                    kept.fields = merged;
                }
            }
            _ => folded.push((id, member)),
        }
    }
    folded.into_iter().collect()
}

fn apply_leads(
    store: &mut Store,
    (lookup, list_id, partition): (&str, Option<u64>, &str),
    cols: &Columns,
    rows: &Table,
    flagged: Vec<(usize, RowCheck)>,
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
    for (row, check) in verdicts(rows, flagged) {
        let Some(warning) = report.screen(row.index(), check) else {
            continue;
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
            "email" => store.leads_by_email(key),
            _ => index.get(key).cloned().unwrap_or_default(),
        };
        let id = match matches.as_slice() {
            [] if lookup == "id" => {
                report.failures.push((row.index(), "Lead not found".into()));
                continue;
            }
            [] => {
                let id = store.create_lead(&partition, cols.lead_fields(row));
                if lookup != "email" && !key.is_empty() {
                    index.entry(key.to_owned()).or_default().push(id);
                }
                id
            }
            [one] => {
                cols.update(store, *one, row);
                *one
            }
            _ => {
                let reason = "Multiple leads match the lookup criteria".into();
                report.failures.push((row.index(), reason));
                continue;
            }
        };
        listed.push(id);
        report.imported(row.index(), warning);
    }
    if let Some(list) = list_id.and_then(|l| store.lists.get_mut(&l)) {
        list.leads.extend(listed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lead_listed_twice_joins_once_with_its_rows_fields_merged() {
        let (city, tier) = (Name::from("city"), Name::from("tier"));
        let status = Name::from("Registered");
        let fields = |pairs: &[(&Name, &str)]| Fields::from_pairs(pairs.iter().copied());
        let list = vec![
            (
                5,
                new_member(status, &fields(&[(&city, "Oslo"), (&tier, "A")])),
            ),
            (3, new_member(status, &fields(&[]))),
            (5, new_member(status, &fields(&[(&tier, "B")]))),
        ];
        let members = members_of(list);
        assert_eq!(members.keys().copied().collect::<Vec<_>>(), [3, 5]);
        let five = members[&5].fields.to_map();
        assert_eq!(five.get("city").map(String::as_str), Some("Oslo"));
        assert_eq!(five.get("tier").map(String::as_str), Some("B"));
    }

    #[test]
    fn rows_sharing_a_new_email_make_one_lead_and_the_index_learns_it() {
        let mut store = Store::default();
        let known = store.create_lead(
            &Name::from(DEFAULT_PARTITION),
            Fields::from_pairs([(&Name::from("email"), "known@x.org")].into_iter()),
        );
        let file = "email,firstName\n\
                    ,NoEmail\n\
                    new@x.org,First\n\
                    known@x.org,Known\n\
                    NEW@x.org,Again\n\
                    other@x.org,Other\n";
        let parsed = crate::sandbox::marketo::parse::parse(
            file.as_bytes(),
            Format::Csv,
            crate::sandbox::marketo::parse::FileKind::ProgramMembers,
            &[],
        )
        .unwrap();
        let job = Job::ProgramMembers {
            program_id: 7,
            status: "Registered".into(),
        };
        let outcome = apply(&mut store, &job, parsed, Format::Csv);
        assert_eq!((outcome.processed, outcome.failed), (4, 1), "{outcome:?}");
        let new = store.leads_by_email("new@x.org");
        let other = store.leads_by_email("Other@X.org");
        assert_eq!(new.len(), 1, "one lead for both rows");
        assert_eq!(
            (new[0], other[0]),
            (known + 1, known + 2),
            "ids in file order"
        );
        assert_eq!(store.leads_by_email("known@x.org"), [known]);
        let members: Vec<u64> = store.programs[&7].members.keys().copied().collect();
        assert_eq!(members, [known, known + 1, known + 2]);
        let first = store.leads.get(&new[0]).unwrap().fields.to_map();
        assert_eq!(first.get("firstName").map(String::as_str), Some("Again"));
    }
}

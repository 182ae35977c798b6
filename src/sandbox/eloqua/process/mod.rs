//! Applying a sync's rows to the data model, and the sync's outcome: terminal status, logs
//! (§8.3, §13.21) and rejects (§8.4, §13.22).
//!
//! One file per import type (`linkage`, `contacts`, `opportunities`); this file holds what they
//! share: row access, reject construction and the log lines. Nothing here does I/O.

mod contacts;
mod linkage;
mod opportunities;

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::store::{Kind, StagedBatch, Store, SyncStatus};
use super::time::{Nanos, format_timestamp};
use super::wire::{ImportDefinition, SyncLog, SyncReject};

/// One staged row with its batch's column names.
pub struct Row<'a> {
    /// 1-based position of the row within the sync (Oracle's example reads as 1-based).
    pub index: u64,
    columns: &'a [String],
    values: &'a [Option<String>],
}

impl<'a> Row<'a> {
    /// The non-empty value of a column.
    pub fn get(&self, column: &str) -> Option<&'a str> {
        let at = self.columns.iter().position(|c| c == column)?;
        self.values.get(at)?.as_deref()
    }

    /// Whether the batch has this column at all (absent columns are never written).
    pub fn has_column(&self, column: &str) -> bool {
        self.columns.iter().any(|c| c == column)
    }

    pub fn is_empty(&self) -> bool {
        self.values.iter().all(Option::is_none)
    }

    /// The row's values, for a reject's `fieldValues`.
    pub fn field_values(&self) -> Map<String, Value> {
        self.columns
            .iter()
            .zip(self.values.iter().chain(std::iter::repeat(&None)))
            .map(|(c, v)| {
                (
                    c.clone(),
                    v.as_ref().map_or(Value::Null, |s| Value::String(s.clone())),
                )
            })
            .collect()
    }

    /// A key identifying identical rows.
    ///
    /// A 128-bit digest rather than the values themselves, so finding repeated rows in a large
    /// sync allocates nothing per row.
    pub fn identity(&self) -> u128 {
        let mut hasher = xxhash_rust::xxh3::Xxh3::new();
        let mut field = |bytes: &[u8]| {
            // Length-prefixed, so no two different rows feed the same byte stream.
            hasher.update(&(bytes.len() as u64).to_le_bytes());
            hasher.update(bytes);
        };
        let values = self.values.iter().chain(std::iter::repeat(&None));
        for (column, value) in self.columns.iter().zip(values) {
            field(column.as_bytes());
            match value {
                Some(v) => field(v.as_bytes()),
                None => field(&[0xff, 0xfe]),
            }
        }
        hasher.digest128()
    }
}

/// Iterates the rows of a sync's input in upload order.
pub fn rows(input: &[StagedBatch]) -> impl Iterator<Item = Row<'_>> {
    input
        .iter()
        .flat_map(|b| {
            b.rows
                .iter()
                .map(move |r| (b.columns.as_slice(), r.as_slice()))
        })
        .zip(1..)
        .map(|((columns, values), index)| Row {
            index,
            columns,
            values,
        })
}

/// Counts and rejects of one sync.
#[derive(Debug, Default)]
pub struct Outcome {
    pub total: u64,
    pub created: u64,
    pub updated: u64,
    pub rejects: Vec<SyncReject>,
}

impl Outcome {
    pub fn reject(&mut self, row: &Row<'_>, code: &str, invalid: &[&str]) {
        self.rejects.push(SyncReject {
            record_index: row.index,
            status_code: code.to_string(),
            message: message(code).to_string(),
            invalid_fields: invalid.iter().map(|s| (*s).to_string()).collect(),
            field_values: row.field_values(),
        });
    }
}

/// Eloqua's message for a reject code (§8.5).
pub fn message(code: &str) -> &'static str {
    match code {
        "ELQ-00002" => "Invalid email address.",
        "ELQ-00011" => "Duplicate email address.",
        "ELQ-00026" => "Duplicate identifier.",
        "ELQ-00032" => "Malformed record.",
        "ELQ-00034" => "Unmatched record.",
        "ELQ-00039" => "Invalid opportunity stage.",
        "ELQ-00059" => "Empty record.",
        "ELQ-00061" => "Rejected record: missing required fields.",
        "ELQ-00084" => "Opportunity does not exist.",
        "ELQ-00085" => "Contact does not exist.",
        SANDBOX_LIMIT => "Sandbox Limit Exceeded.",
        _ => "Rejected record.",
    }
}

/// Code of rows refused by the sandbox contact cap. Oracle documents the limit (§9) but no ELQ
/// code for it, so the emulator uses a code no client can mistake for a documented one [I].
pub const SANDBOX_LIMIT: &str = "SANDBOX-LIMIT";

/// Whether text is an email address Eloqua would accept (one `@`, a dotted domain, no spaces).
pub fn valid_email(text: &str) -> bool {
    let Some((local, domain)) = text.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
        && text.len() <= 254
        && !text.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// Finishes sync `id`: applies its rows, writes logs and rejects, sets the terminal status.
/// A sync that is not in progress (already finished, or reset away) is left alone.
pub fn run(store: &mut Store, id: u64, now: Nanos, strict: bool) {
    let Some(sync) = store.syncs.get_mut(&id).filter(|s| s.status.in_progress()) else {
        return;
    };
    let input = std::mem::take(&mut sync.input);
    let spec = sync.spec.clone();
    let kind = sync.kind;
    let forced_failure = sync.forced_failure;
    let total: u64 = input
        .iter()
        .map(|b| u64::try_from(b.rows.len()).unwrap_or(0))
        .sum();
    let outcome = if forced_failure {
        Outcome {
            total,
            ..Outcome::default()
        }
    } else {
        apply(store, kind, &spec, &input, strict)
    };
    let status = match (forced_failure, outcome.rejects.len()) {
        (true, _) => SyncStatus::Error,
        (false, 0) => SyncStatus::Success,
        (false, r) if u64::try_from(r).unwrap_or(0) >= outcome.total => SyncStatus::Error,
        _ => SyncStatus::Warning,
    };
    let errored = store.settings.errored_spelling;
    let Some(sync) = store.syncs.get_mut(&id) else {
        return;
    };
    sync.logs = logs(
        id,
        kind,
        &outcome,
        status.wire(errored),
        forced_failure,
        now,
    );
    sync.rejects = outcome.rejects;
    sync.status = status;
    sync.started_at = sync.started_at.or(Some(now));
    sync.ended_at = Some(now);
}

fn apply(
    store: &mut Store,
    kind: Kind,
    spec: &ImportDefinition,
    input: &[StagedBatch],
    strict: bool,
) -> Outcome {
    match kind {
        Kind::Linkage => linkage::apply(store, spec, input, strict),
        Kind::Contact => contacts::apply(store, spec, input),
        Kind::Opportunity => opportunities::apply(store, spec, input, strict),
    }
}

/// The log lines: total processed, created/updated, one line per reject code, total rejected and
/// the final ELQ-00101 line. Per-code counts add up to ELQ-00060, which equals the rejects.
fn logs(
    id: u64,
    kind: Kind,
    outcome: &Outcome,
    status: &str,
    failed: bool,
    now: Nanos,
) -> Vec<SyncLog> {
    let sync_uri = format!("/syncs/{id}");
    let at = format_timestamp(now);
    let line = |severity: &str, code: &str, message: String, count: u64| SyncLog {
        sync_uri: sync_uri.clone(),
        severity: severity.to_string(),
        status_code: code.to_string(),
        message,
        count,
        created_at: at.clone(),
    };
    let mut out = vec![line(
        "information",
        "ELQ-00001",
        "Total records processed.".into(),
        outcome.total,
    )];
    if failed {
        out.push(line(
            "error",
            "ELQ-00101",
            format!("Sync processed for sync {id}, resulting in Error status."),
            0,
        ));
        return out;
    }
    let (created_code, created, updated) = match kind {
        Kind::Contact => ("ELQ-00004", "Contacts created.", "Contacts updated."),
        Kind::Opportunity => ("ELQ-00049", "Total new records.", "Opportunities updated."),
        Kind::Linkage => (
            "ELQ-00049",
            "Total new records.",
            "Existing opportunity contact links confirmed.",
        ),
    };
    out.push(line(
        "information",
        created_code,
        created.into(),
        outcome.created,
    ));
    out.push(line(
        "information",
        "ELQ-00022",
        updated.into(),
        outcome.updated,
    ));
    let mut per_code: BTreeMap<&str, u64> = BTreeMap::new();
    for reject in &outcome.rejects {
        *per_code.entry(reject.status_code.as_str()).or_default() += 1;
    }
    for (code, count) in &per_code {
        out.push(line("warning", code, message(code).into(), *count));
    }
    let rejected = u64::try_from(outcome.rejects.len()).unwrap_or(0);
    let severity = if rejected > 0 {
        "warning"
    } else {
        "information"
    };
    out.push(line(
        severity,
        "ELQ-00060",
        "Total rejected records.".into(),
        rejected,
    ));
    let final_severity = match status {
        "success" => "information",
        "warning" => "warning",
        _ => "error",
    };
    let status_word = capitalize(status);
    out.push(line(
        final_severity,
        "ELQ-00101",
        format!("Sync processed for sync {id}, resulting in {status_word} status."),
        outcome.total,
    ));
    out
}

fn capitalize(word: &str) -> String {
    let mut chars = word.chars();
    chars
        .next()
        .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_checked() {
        assert!(valid_email("ana@example.org"));
        for bad in [
            "",
            "ana",
            "ana@",
            "@example.org",
            "ana@example",
            "a b@example.org",
            "a@b@example.org",
            "a@x..org",
        ] {
            assert!(!valid_email(bad), "{bad}");
        }
    }
}

//! Guards and destructive effects: what a job's apply can remove or deactivate, and the
//! thresholds (`guard.*`) that stop a plan removing more than intended.

use super::diff::DiffResult;
use crate::spec::types::{Mode, Spec};

/// Human descriptions of what an apply would remove or deactivate.
pub fn destructive_effects(spec: &Spec, diff: &DiffResult) -> Vec<String> {
    let mut out = Vec::new();
    if spec.mode == Mode::Delete && diff.delete > 0 {
        out.push(format!(
            "delete {} records remotely (ImportAction Delete); there is no undo",
            diff.delete
        ));
    }
    if spec.mode == Mode::Mirror && !diff.removed.is_empty() {
        out.push(format!(
            "delete {} records that left the source",
            diff.removed.len()
        ));
    }
    let r = &spec.refresh;
    for (on, flag, what) in [
        (
            r.alternate_ids,
            "RefreshAlternateIds",
            "AlternateIds absent from the import are deactivated",
        ),
        (
            r.contacts,
            "RefreshContacts",
            "emails, phones and addresses absent from the import are deactivated with their preferences",
        ),
        (
            r.custom_fields,
            "RefreshCustomFields",
            "custom fields absent from the import are deleted",
        ),
        (
            r.groups,
            "RefreshGroups",
            "groups absent from the import are deactivated",
        ),
        (
            r.tags,
            "RefreshTags",
            "tags absent from the import are deleted",
        ),
    ] {
        if on && diff.add + diff.change > 0 {
            out.push(format!("{flag}: {what}"));
        }
    }
    out
}

/// The first guard the plan violates, if any. `recorded` is the number of records in the
/// state before this plan.
pub fn violation(spec: &Spec, diff: &DiffResult, recorded: u64) -> Option<String> {
    let g = &spec.guard;
    let removing = match spec.mode {
        Mode::Upsert => 0,
        Mode::Mirror => diff.removed.len() as u64,
        Mode::Delete => diff.delete,
    };
    if let Some(max) = g.max_remove
        && removing > max
    {
        return Some(format!(
            "guard.max_remove: {removing} records would be removed, {} more than the limit of {max}",
            removing - max
        ));
    }
    if let Some(max) = g.max_remove_percent
        && recorded > 0
    {
        let pct = removing as f64 * 100.0 / recorded as f64;
        if pct > max {
            return Some(format!(
                "guard.max_remove_percent: {removing} of {recorded} records ({pct:.1}%) would be removed, above the limit of {max}%"
            ));
        }
    }
    if let Some(max) = g.max_source_drop_percent
        && recorded > 0
    {
        let valid = diff.add + diff.change + diff.unchanged + diff.delete;
        if valid < recorded {
            let pct = (recorded - valid) as f64 * 100.0 / recorded as f64;
            if pct > max {
                return Some(format!(
                    "guard.max_source_drop_percent: the source has {valid} valid records, {pct:.1}% fewer than the {recorded} applied last time (limit {max}%); is the export truncated?"
                ));
            }
        }
    }
    None
}

//! The plan for people on a terminal: per job the record counts, configuration changes,
//! remote steps, some keys (never values unless `--show-values`), warnings and guards.

use std::fmt::Write as _;

use super::style::{Tone, paint};
use crate::plan::model::{JobPlan, Plan};

/// Keys listed per class.
const KEYS_SHOWN: usize = 10;

pub fn render(plan: &Plan, failed: usize, color: bool) -> String {
    let mut out = String::new();
    for job in &plan.jobs {
        render_job(&mut out, job, color);
    }
    for o in &plan.orphaned {
        let _ = writeln!(
            out,
            "{} job `{o}` is in the state but has no spec: it is left alone (`bulkspec state rm {o}` forgets it)\n",
            paint("orphaned:", Tone::Warn, color)
        );
    }
    let s = &plan.summary;
    let _ = writeln!(
        out,
        "{} {} job(s): {} to add, {} to change, {} unchanged, {} to remove, {} invalid{}",
        paint("Plan:", Tone::Bold, color),
        s.jobs,
        paint(&s.add.to_string(), Tone::Add, color),
        paint(&s.change.to_string(), Tone::Change, color),
        s.unchanged,
        paint(&s.remove.to_string(), Tone::Remove, color),
        s.invalid,
        if s.destructive {
            paint(" (destructive)", Tone::Remove, color)
        } else {
            String::new()
        },
    );
    if failed > 0 {
        let _ = writeln!(
            out,
            "{} {failed} job(s) could not be planned (errors above); this plan leaves them out.",
            paint("Incomplete:", Tone::Remove, color)
        );
    } else if !s.changes {
        let _ = writeln!(out, "No changes. The targets match the sources.");
    }
    out
}

fn render_job(out: &mut String, j: &JobPlan, color: bool) {
    let _ = writeln!(
        out,
        "{}  {} {} via `{}` (mode {})",
        paint(&j.job, Tone::Bold, color),
        j.provider,
        j.object,
        j.connection,
        j.mode
    );
    let r = &j.records;
    let _ = writeln!(
        out,
        "  records: {} add, {} change, {} unchanged, {} remove, {} invalid",
        paint(&format!("+{}", r.add), Tone::Add, color),
        paint(&format!("~{}", r.change), Tone::Change, color),
        r.unchanged,
        paint(&format!("-{}", r.remove), Tone::Remove, color),
        r.invalid
    );
    if !j.config_changes.is_empty() {
        let _ = writeln!(out, "  config changes since the last apply:");
        for c in &j.config_changes {
            let mark = if c.destructive {
                paint(" (destructive)", Tone::Remove, color)
            } else {
                String::new()
            };
            let _ = writeln!(out, "    {}: {} -> {}{mark}", c.path, c.before, c.after);
        }
    }
    if !j.steps.is_empty() {
        let _ = writeln!(
            out,
            "  steps ({} API calls{}):",
            j.api_calls,
            if j.steps.iter().any(|s| s.estimated) {
                ", some estimated"
            } else {
                ""
            }
        );
        for s in &j.steps {
            let mut line = format!(
                "    {:<18} {}{} request(s)",
                s.kind,
                if s.estimated { "~" } else { "" },
                s.requests
            );
            if s.bytes > 0 {
                let _ = write!(line, ", {}", bytesize::ByteSize(s.bytes).display().si());
            }
            let _ = writeln!(out, "{line}  {}", paint(&s.description, Tone::Dim, color));
        }
    }
    keys(out, "add", &j.keys.add, r.add, Tone::Add, color);
    keys(out, "change", &j.keys.change, r.change, Tone::Change, color);
    keys(out, "remove", &j.keys.remove, r.remove, Tone::Remove, color);
    for inv in j.invalid.iter().take(KEYS_SHOWN) {
        let key = inv
            .key
            .as_deref()
            .map(|k| format!(" `{k}`"))
            .unwrap_or_default();
        let _ = writeln!(out, "  invalid: line {}{key}: {}", inv.line, inv.reason);
    }
    if r.invalid as usize > KEYS_SHOWN.min(j.invalid.len()) {
        let _ = writeln!(
            out,
            "  invalid: ... {} more (see --format json)",
            r.invalid as usize - KEYS_SHOWN.min(j.invalid.len())
        );
    }
    for v in &j.values {
        let _ = writeln!(out, "  value: {v}");
    }
    for e in &j.destructive_effects {
        let _ = writeln!(out, "  {} {e}", paint("destructive:", Tone::Remove, color));
    }
    for w in &j.warnings {
        let _ = writeln!(out, "  {} {w}", paint("warning:", Tone::Warn, color));
    }
    if let Some(g) = &j.guard_violation {
        let _ = writeln!(
            out,
            "  {} {g}",
            paint("stopped by guard:", Tone::Remove, color)
        );
    }
    out.push('\n');
}

fn keys(out: &mut String, what: &str, keys: &[String], total: u64, tone: Tone, color: bool) {
    if keys.is_empty() {
        return;
    }
    let shown: Vec<&str> = keys.iter().take(KEYS_SHOWN).map(String::as_str).collect();
    let more = total.saturating_sub(shown.len() as u64);
    let tail = if more > 0 {
        format!(" and {more} more")
    } else {
        String::new()
    };
    let _ = writeln!(
        out,
        "  {}: {}{tail}",
        paint(&format!("keys to {what}"), tone, color),
        shown.join(", ")
    );
}

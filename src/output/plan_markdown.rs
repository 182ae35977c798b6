//! The plan as a pull-request comment: a summary table, then one collapsible section per job.
//! Kept under GitHub's comment limit by summarising: key lists go first, then job details.

use std::fmt::Write as _;

use crate::plan::model::{JobPlan, Plan};

/// GitHub refuses comments above 65,536 characters; stay well below.
pub const MAX_CHARS: usize = 60_000;

pub fn render(plan: &Plan, failed: &[String]) -> String {
    for detail in [Detail::Full, Detail::NoKeys, Detail::SummaryOnly] {
        let text = render_with(plan, failed, detail);
        if text.chars().count() <= MAX_CHARS {
            return text;
        }
    }
    // Even the summary table is too long (thousands of jobs): cut it.
    let mut text: String = render_with(plan, failed, Detail::SummaryOnly)
        .chars()
        .take(MAX_CHARS - 200)
        .collect();
    text.push_str("\n\n_The plan is too large for a comment; see the saved plan artifact._\n");
    text
}

#[derive(Clone, Copy, PartialEq)]
enum Detail {
    Full,
    NoKeys,
    SummaryOnly,
}

fn render_with(plan: &Plan, failed: &[String], detail: Detail) -> String {
    let mut out = String::new();
    let s = &plan.summary;
    let _ = writeln!(out, "### bulkspec plan\n");
    if !failed.is_empty() {
        let _ = writeln!(
            out,
            ":x: **{} job(s) could not be planned**; this plan leaves them out:\n",
            failed.len()
        );
        for e in failed.iter().take(20) {
            let _ = writeln!(out, "- `{}`", e.replace('`', "'"));
        }
        out.push('\n');
    }
    let _ = writeln!(
        out,
        "**{}** job(s): **{}** to add, **{}** to change, {} unchanged, **{}** to remove, {} invalid{}\n",
        s.jobs,
        s.add,
        s.change,
        s.unchanged,
        s.remove,
        s.invalid,
        if s.destructive {
            " — :warning: **destructive**"
        } else {
            ""
        }
    );
    let _ = writeln!(
        out,
        "| job | target | mode | add | change | unchanged | remove | invalid | API calls | |"
    );
    let _ = writeln!(out, "|---|---|---|--:|--:|--:|--:|--:|--:|---|");
    for j in &plan.jobs {
        let r = &j.records;
        let flag = match (&j.guard_violation, j.destructive) {
            (Some(_), _) => ":no_entry: guard",
            (None, true) => ":warning: destructive",
            _ => "",
        };
        let _ = writeln!(
            out,
            "| `{}` | {} {} | {} | {} | {} | {} | {} | {} | {} | {flag} |",
            j.job,
            j.provider,
            j.object,
            j.mode,
            r.add,
            r.change,
            r.unchanged,
            r.remove,
            r.invalid,
            j.api_calls
        );
    }
    out.push('\n');
    if detail != Detail::SummaryOnly {
        for j in &plan.jobs {
            job_section(&mut out, j, detail);
        }
    } else {
        let _ = writeln!(
            out,
            "_Details left out to keep this comment short; see the saved plan artifact._\n"
        );
    }
    for o in &plan.orphaned {
        let _ = writeln!(
            out,
            "- :grey_question: `{o}` is in the state but has no spec: left alone."
        );
    }
    if !s.changes && failed.is_empty() {
        let _ = writeln!(out, "No changes. The targets match the sources.");
    }
    out
}

fn job_section(out: &mut String, j: &JobPlan, detail: Detail) {
    let r = &j.records;
    let _ = writeln!(
        out,
        "<details><summary><b>{}</b>: +{} ~{} -{} ({} {})</summary>\n",
        j.job, r.add, r.change, r.remove, j.provider, j.object
    );
    if let Some(g) = &j.guard_violation {
        let _ = writeln!(out, ":no_entry: **Stopped by guard:** {g}\n");
    }
    for e in &j.destructive_effects {
        let _ = writeln!(out, ":warning: **Destructive:** {e}\n");
    }
    if !j.config_changes.is_empty() {
        let _ = writeln!(
            out,
            "**Config changes since the last apply**\n\n| path | before | after | |\n|---|---|---|---|"
        );
        for c in &j.config_changes {
            let _ = writeln!(
                out,
                "| `{}` | `{}` | `{}` | {} |",
                c.path,
                c.before,
                c.after,
                if c.destructive { "destructive" } else { "" }
            );
        }
        out.push('\n');
    }
    if !j.steps.is_empty() {
        let _ = writeln!(
            out,
            "**Steps**\n\n| step | requests | bytes | |\n|---|--:|--:|---|"
        );
        for s in &j.steps {
            let _ = writeln!(
                out,
                "| {} | {}{} | {} | {} |",
                s.kind,
                if s.estimated { "~" } else { "" },
                s.requests,
                if s.bytes > 0 {
                    bytesize::ByteSize(s.bytes).display().si().to_string()
                } else {
                    String::new()
                },
                s.description
            );
        }
        out.push('\n');
    }
    if detail == Detail::Full {
        for (what, keys) in [
            ("add", &j.keys.add),
            ("change", &j.keys.change),
            ("remove", &j.keys.remove),
        ] {
            if !keys.is_empty() {
                let list: Vec<String> = keys
                    .iter()
                    .map(|k| format!("`{}`", k.replace('`', "'")))
                    .collect();
                let _ = writeln!(
                    out,
                    "**Keys to {what}**{}: {}\n",
                    if j.keys.truncated {
                        " (first ones)"
                    } else {
                        ""
                    },
                    list.join(", ")
                );
            }
        }
        if !j.invalid.is_empty() {
            let _ = writeln!(
                out,
                "**Invalid rows** (first {})\n\n| line | key | reason |\n|--:|---|---|",
                j.invalid.len().min(20)
            );
            for i in j.invalid.iter().take(20) {
                let _ = writeln!(
                    out,
                    "| {} | {} | {} |",
                    i.line,
                    i.key
                        .as_deref()
                        .map(|k| format!("`{k}`"))
                        .unwrap_or_default(),
                    i.reason.replace('|', "\\|")
                );
            }
            out.push('\n');
        }
    }
    for w in &j.warnings {
        let _ = writeln!(out, "- {w}");
    }
    let _ = writeln!(out, "\n</details>\n");
}

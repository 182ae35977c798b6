//! Output: the only place that prints. Commands hand their results here with the chosen
//! format (human, JSON, Markdown) and color setting.

pub mod apply_progress;
pub mod diagnostics;
pub mod plan_human;
pub mod plan_markdown;
pub mod progress;
pub mod state_view;
pub mod style;
pub mod yaml;

use std::io::{IsTerminal, Write};

/// Output format chosen with `--format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Format {
    #[default]
    Human,
    Json,
    Markdown,
}

/// When to color output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ColorChoice {
    #[default]
    Auto,
    Always,
    Never,
}

/// Where and how results are printed.
#[derive(Debug, Clone)]
pub struct Output {
    pub format: Format,
    pub color: bool,
    pub quiet: bool,
}

impl Output {
    pub fn new(format: Format, color: ColorChoice, quiet: bool) -> Self {
        let color = match color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                    && std::io::stderr().is_terminal()
            }
        };
        Self {
            format,
            color,
            quiet,
        }
    }

    /// Prints a result to stdout.
    pub fn stdout(&self, text: &str) {
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(text.as_bytes());
        let _ = out.flush();
    }

    /// Prints a JSON document to stdout.
    pub fn json(&self, value: &serde_json::Value) {
        let text = serde_json::to_string_pretty(value).unwrap_or_default();
        self.stdout(&format!("{text}\n"));
    }

    /// Prints a message for people to stderr (suppressed by `-q`).
    pub fn info(&self, text: &str) {
        if !self.quiet {
            let _ = writeln!(std::io::stderr().lock(), "{text}");
        }
    }

    /// Prints an error for people to stderr (never suppressed).
    pub fn error(&self, text: &str) {
        let _ = write!(std::io::stderr().lock(), "{text}");
    }

    /// Asks a yes/no question on the terminal; `None` when there is no terminal to ask on.
    pub fn confirm(&self, question: &str) -> Option<bool> {
        if !std::io::stdin().is_terminal() || !std::io::stderr().is_terminal() {
            return None;
        }
        let _ = write!(
            std::io::stderr().lock(),
            "{question} Only `yes` is accepted: "
        );
        let _ = std::io::stderr().flush();
        let mut answer = String::new();
        std::io::stdin().read_line(&mut answer).ok()?;
        Some(answer.trim() == "yes")
    }

    /// Prints what an apply did, per job.
    pub fn apply_results(&self, results: &[crate::apply::JobResult], plan: &crate::plan::Plan) {
        match self.format {
            Format::Json => {
                let jobs: Vec<serde_json::Value> = results
                    .iter()
                    .map(|r| {
                        serde_json::json!({
                            "job": r.job, "sent": r.sent, "accepted": r.accepted, "rejected": r.rejects.len(),
                            "removed": r.removed, "invalid": r.invalid, "data_requests": r.data_requests,
                            "resumed": r.resumed, "serial": r.serial,
                        })
                    })
                    .collect();
                self.json(&serde_json::json!({"format_version": 1, "plan": plan, "applied": jobs}));
            }
            _ => {
                let mut text = String::new();
                for r in results {
                    let rejected = r.rejects.len();
                    text.push_str(&format!(
                        "{}: sent {}, accepted {}, rejected {rejected}, removed {}{}{}\n",
                        r.job,
                        r.sent,
                        r.accepted,
                        r.removed,
                        if r.resumed { " (resumed)" } else { "" },
                        if rejected > 0 {
                            format!(" -> `bulkspec report {}` lists the rejected rows", r.job)
                        } else {
                            String::new()
                        }
                    ));
                }
                self.error(&text);
            }
        }
    }

    /// Prints a plan in the chosen format. `failed` are the errors of the jobs that could not
    /// be planned (printed on stderr already): the plan must not read as complete without
    /// them, least of all in a pull-request comment.
    pub fn plan(&self, plan: &crate::plan::Plan, failed: &[String]) {
        match self.format {
            Format::Json => match serde_json::to_value(plan) {
                Ok(v) => self.json(&v),
                Err(e) => self.error(&format!("error: cannot serialize the plan: {e}\n")),
            },
            Format::Markdown => self.stdout(&plan_markdown::render(plan, failed)),
            Format::Human => self.stdout(&plan_human::render(plan, failed.len(), self.color)),
        }
    }

    /// Prints diagnostics that do not stop a command (warnings) for people, on stderr, so
    /// they never mix with a JSON or Markdown result on stdout.
    pub fn warnings(&self, diags: &crate::spec::Diagnostics) {
        if !diags.is_empty() && !self.quiet {
            let mut text = String::new();
            for d in diags.iter() {
                text.push_str(&diagnostics::human(d, self.color));
            }
            self.error(&text);
        }
        if std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true") {
            self.error(&diagnostics::github(diags));
        }
    }

    /// Prints the diagnostics of a run in the chosen format; under GitHub Actions also as
    /// workflow commands, so they show as annotations on the pull request.
    pub fn diagnostics(&self, diags: &crate::spec::Diagnostics, files: usize) {
        match self.format {
            Format::Json => self.json(&diagnostics::json_doc(diags, files)),
            Format::Human | Format::Markdown => {
                if !diags.is_empty() || !self.quiet {
                    self.error(&diagnostics::human_all(diags, files, self.color));
                }
            }
        }
        if std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true") {
            self.stdout(&diagnostics::github(diags));
        }
    }
}

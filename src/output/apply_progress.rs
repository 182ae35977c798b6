//! Apply's progress for people. On a terminal: one bar per job with the rows uploaded, chunk
//! n of m, how long the remote job has been polled, and an ETA; notes printed above the bars.
//! Otherwise (CI logs, pipes): one plain line per event. `-q` silences both. All on stderr.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::apply::events::{ChunkLabel, Event, PlainLine};
use crate::plan::Plan;

/// What the plan counted for a job's uploads.
#[derive(Debug, Clone, Copy, Default)]
struct Totals {
    chunks: usize,
    records: u64,
    removal_chunks: usize,
}

enum Mode {
    Quiet,
    Plain,
    Bars(MultiProgress),
}

/// Renders apply's events.
pub struct ApplyProgress {
    mode: Mode,
    totals: HashMap<String, Totals>,
    bars: Mutex<HashMap<String, ProgressBar>>,
}

impl ApplyProgress {
    pub fn new(plan: &Plan, quiet: bool) -> Self {
        let mode = if quiet {
            Mode::Quiet
        } else if std::io::stderr().is_terminal() {
            Mode::Bars(MultiProgress::with_draw_target(ProgressDrawTarget::stderr()))
        } else {
            Mode::Plain
        };
        Self {
            mode,
            totals: plan
                .jobs
                .iter()
                .map(|j| (j.job.clone(), totals(j)))
                .collect(),
            bars: Mutex::new(HashMap::new()),
        }
    }

    /// Renders one event.
    pub fn event(&self, event: &Event<'_>) {
        match &self.mode {
            Mode::Quiet => {}
            Mode::Plain => eprintln!(
                "{}",
                PlainLine {
                    event,
                    of: self.chunks_of(event),
                }
            ),
            Mode::Bars(multi) => self.draw(multi, event),
        }
    }

    /// Clears the bars (before the results are printed).
    pub fn finish(&self) {
        let mut bars = self.bars.lock().unwrap_or_else(|e| e.into_inner());
        for (_, bar) in bars.drain() {
            bar.finish_and_clear();
        }
    }

    fn chunks_of(&self, event: &Event<'_>) -> Option<usize> {
        let (job, removal) = match *event {
            Event::Uploading { job, removal, .. } | Event::Uploaded { job, removal, .. } => {
                (job, removal)
            }
            _ => return None,
        };
        let t = self.totals.get(job)?;
        let n = if removal { t.removal_chunks } else { t.chunks };
        (n > 0).then_some(n)
    }

    fn draw(&self, multi: &MultiProgress, event: &Event<'_>) {
        let job = match *event {
            Event::Note(text) => {
                let _ = multi.println(text);
                return;
            }
            Event::Uploading { job, .. }
            | Event::Uploaded { job, .. }
            | Event::Polling { job, .. }
            | Event::Finished { job, .. } => job,
        };
        let mut bars = self.bars.lock().unwrap_or_else(|e| e.into_inner());
        let bar = bars
            .entry(job.to_owned())
            .or_insert_with(|| multi.add(new_bar(job, self.totals.get(job).copied())));
        let of = self.chunks_of(event);
        match *event {
            Event::Uploading { chunk, .. } => bar.set_message(chunk_text(chunk, of, "uploading")),
            Event::Uploaded {
                chunk,
                records,
                removal,
                ..
            } => {
                if !removal {
                    bar.inc(records as u64);
                }
                bar.set_message(chunk_text(chunk, of, "uploaded"));
            }
            Event::Polling {
                remote,
                status,
                since,
                ..
            } => bar.set_message(format!(
                "remote job {remote} {status}, polling for {}",
                humantime::format_duration(Duration::from_secs(since.as_secs()))
            )),
            Event::Finished {
                remote, rejected, ..
            } => bar.set_message(format!("remote job {remote} finished, {rejected} rejected")),
            Event::Note(_) => {}
        }
    }
}

fn totals(job: &crate::plan::model::JobPlan) -> Totals {
    let mut uploads = job.steps.iter().filter(|s| s.kind == "upload");
    let first = uploads.next();
    let removal = uploads.next();
    Totals {
        chunks: first.map_or(0, |s| s.requests as usize),
        records: first.map_or(0, |s| s.records),
        removal_chunks: removal.map_or(0, |s| s.requests as usize),
    }
}

fn new_bar(job: &str, totals: Option<Totals>) -> ProgressBar {
    let bar = ProgressBar::new(totals.map_or(0, |t| t.records));
    let style = ProgressStyle::with_template(
        "{prefix:16} [{bar:30}] {human_pos}/{human_len} rows  {msg}  {elapsed} (ETA {eta})",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar())
    .progress_chars("=> ");
    bar.set_style(style);
    bar.set_prefix(job.to_owned());
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

fn chunk_text(chunk: usize, of: Option<usize>, doing: &str) -> String {
    format!("{} {doing}", ChunkLabel { chunk, of })
}

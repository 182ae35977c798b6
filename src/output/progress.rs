//! A progress bar while reading large sources, on a terminal only (plain output otherwise).

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressStyle};

/// Progress of reading sources, one bar per job.
pub struct SourceProgress {
    enabled: bool,
    bar: Option<(String, ProgressBar)>,
}

impl SourceProgress {
    pub fn new(quiet: bool) -> Self {
        Self {
            enabled: !quiet && std::io::stderr().is_terminal(),
            bar: None,
        }
    }

    /// Reports `read` of `total` bytes of `job`'s source.
    pub fn update(&mut self, job: &str, read: u64, total: Option<u64>) {
        if !self.enabled {
            return;
        }
        if self.bar.as_ref().is_none_or(|(j, _)| j != job) {
            self.finish();
            let bar = ProgressBar::new(total.unwrap_or(0));
            let style = ProgressStyle::with_template(
                "{msg:20} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} ETA {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
            bar.set_style(style);
            bar.set_message(job.to_owned());
            self.bar = Some((job.to_owned(), bar));
        }
        if let Some((_, bar)) = &self.bar {
            bar.set_position(read);
        }
    }

    pub fn finish(&mut self) {
        if let Some((_, bar)) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

//! What apply reports while it runs, as typed events: the step executor says what happened
//! (a chunk uploading, a remote job polled), `output` decides how it looks (a progress bar on a
//! terminal, plain lines otherwise). Nothing here prints.

use std::fmt;
use std::time::Duration;

/// One thing that happened during an apply.
#[derive(Debug, Clone, Copy)]
pub enum Event<'a> {
    /// A note for people (resuming, waiting on a full queue, a stale journal...).
    Note(&'a str),
    /// A chunk's upload starts. `chunk` counts from 0; `removal` marks the uploads that
    /// delete records that left the source (mirror mode), which the plan counts apart.
    Uploading {
        job: &'a str,
        chunk: usize,
        records: usize,
        bytes: usize,
        removal: bool,
    },
    /// A chunk's records are on the remote side (uploaded now, or by an earlier run).
    Uploaded {
        job: &'a str,
        chunk: usize,
        records: usize,
        removal: bool,
        resumed: bool,
    },
    /// A remote job was polled and is still running.
    Polling {
        job: &'a str,
        remote: &'a str,
        status: &'a str,
        since: Duration,
    },
    /// A remote job finished.
    Finished {
        job: &'a str,
        remote: &'a str,
        rejected: usize,
    },
}

/// Where apply's events go.
pub struct Events {
    sink: Box<dyn Fn(&Event<'_>) + Send + Sync>,
}

impl Events {
    pub fn new(sink: impl Fn(&Event<'_>) + Send + Sync + 'static) -> Self {
        Self {
            sink: Box::new(sink),
        }
    }

    /// Events that go nowhere (tests, library callers that do not report).
    pub fn silent() -> Self {
        Self::new(|_| {})
    }

    pub fn emit(&self, event: Event<'_>) {
        (self.sink)(&event);
    }

    /// A note for people.
    pub fn line(&self, text: &str) {
        self.emit(Event::Note(text));
    }
}

/// `chunk 3 of 7` (or `chunk 3` when the plan's count is unknown); `chunk` counts from 0.
pub struct ChunkLabel {
    pub chunk: usize,
    pub of: Option<usize>,
}

impl fmt::Display for ChunkLabel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "chunk {}", self.chunk + 1)?;
        match self.of {
            Some(n) => write!(f, " of {n}"),
            None => Ok(()),
        }
    }
}

/// The plain one-line text of an event (logs, CI, no terminal). `of` is the number of chunks
/// the plan counted for the job, when known.
pub struct PlainLine<'e, 'a> {
    pub event: &'e Event<'a>,
    pub of: Option<usize>,
}

impl fmt::Display for PlainLine<'_, '_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let of = |f: &mut fmt::Formatter<'_>, chunk: usize| {
            write!(f, "{}", ChunkLabel { chunk, of: self.of })
        };
        match *self.event {
            Event::Note(text) => f.write_str(text),
            Event::Uploading {
                job,
                chunk,
                records,
                bytes,
                removal,
            } => {
                write!(f, "{job}: uploading ")?;
                if removal {
                    f.write_str("removal ")?;
                }
                of(f, chunk)?;
                write!(
                    f,
                    " ({records} records, {})",
                    bytesize::ByteSize(bytes as u64).display().si()
                )
            }
            Event::Uploaded {
                job,
                chunk,
                resumed,
                ..
            } => {
                write!(f, "{job}: ")?;
                of(f, chunk)?;
                f.write_str(if resumed {
                    " was uploaded by an earlier run; resuming it"
                } else {
                    " uploaded"
                })
            }
            Event::Polling {
                job,
                remote,
                status,
                since,
            } => write!(
                f,
                "{job}: remote job {remote} is {status} (polling for {})",
                humantime::format_duration(Duration::from_secs(since.as_secs()))
            ),
            Event::Finished {
                job,
                remote,
                rejected,
            } => write!(
                f,
                "{job}: remote job {remote} finished; {rejected} row(s) rejected"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_lines_count_chunks_when_the_plan_knows_them() {
        let e = Event::Uploading {
            job: "members",
            chunk: 2,
            records: 150,
            bytes: 9_900_000,
            removal: false,
        };
        assert_eq!(
            PlainLine {
                event: &e,
                of: Some(7)
            }
            .to_string(),
            "members: uploading chunk 3 of 7 (150 records, 9.9 MB)"
        );
        assert_eq!(
            PlainLine {
                event: &e,
                of: None
            }
            .to_string(),
            "members: uploading chunk 3 (150 records, 9.9 MB)"
        );
        let p = Event::Polling {
            job: "members",
            remote: "1040",
            status: "Importing",
            since: Duration::from_millis(4_200),
        };
        assert_eq!(
            PlainLine {
                event: &p,
                of: None
            }
            .to_string(),
            "members: remote job 1040 is Importing (polling for 4s)"
        );
    }
}

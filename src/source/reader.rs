//! [`SourceReader`]: the one entry point of the readers. It opens a source as its
//! [`ReadOptions`] say, resolves the job's columns once, and streams rows.
//!
//! It must not interpret values or map records.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use super::delimited::Delimited;
use super::jsonl::Jsonl;
use super::resolve::{self, HeaderInfo};
use super::{ColumnRef, Format, ReadOptions, Row, SourceError, open};

/// A streaming reader over one source file.
pub struct SourceReader {
    opts: ReadOptions,
    parser: Parser,
    read: Arc<AtomicU64>,
    size: Option<u64>,
}

enum Parser {
    Delimited(Box<Delimited>),
    Jsonl(Box<Jsonl>),
}

/// How far the reading has got, for a progress bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Bytes read from the file so far (compressed bytes for gzip), buffers included.
    pub read: u64,
    /// The file's size, when known.
    pub total: Option<u64>,
}

impl SourceReader {
    /// Opens the file and reads its header (delimited) or first row (JSON Lines), so that an
    /// empty, garbled or wrongly encoded file fails here rather than in the middle of a plan.
    pub fn open(opts: &ReadOptions) -> Result<Self, SourceError> {
        let opened = open::open(opts)?;
        let read = Arc::clone(&opened.read);
        let size = opened.size;
        let parser = match opts.format {
            Format::Jsonl => Parser::Jsonl(Box::new(Jsonl::open(opened)?)),
            Format::Csv | Format::Tsv | Format::Ssv => {
                Parser::Delimited(Box::new(Delimited::open(opened, opts)?))
            }
        };
        Ok(SourceReader {
            opts: opts.clone(),
            parser,
            read,
            size,
        })
    }

    /// The file being read.
    pub fn path(&self) -> &Path {
        &self.opts.path
    }

    /// The options it was opened with.
    pub fn options(&self) -> &ReadOptions {
        &self.opts
    }

    /// The column names: the header of a delimited file (or the spec's `column_names`), the
    /// top-level keys of the first row of a JSON Lines file.
    pub fn headers(&self) -> &[String] {
        match &self.parser {
            Parser::Delimited(d) => d.headers(),
            Parser::Jsonl(j) => j.headers(),
        }
    }

    /// Resolves the columns a job uses, once per job. For a delimited file, every name missing
    /// from the header is reported in one error, with a did-you-mean and a hint when the header
    /// looks like the wrong delimiter or like data. For JSON Lines, names are keys or dotted
    /// paths and are not checked here (rows may differ; an absent key is a missing value).
    pub fn resolve(&self, names: &[&str]) -> Result<Vec<ColumnRef>, SourceError> {
        match &self.parser {
            Parser::Delimited(d) => {
                let info = HeaderInfo {
                    path: &self.opts.path,
                    headers: d.headers(),
                    header_line: d.header_line(),
                    delimiter: self.opts.effective_delimiter(),
                    from_file: self.opts.has_header,
                };
                resolve::delimited(&info, names)
            }
            Parser::Jsonl(_) => resolve::jsonl(&self.opts.path, names),
        }
    }

    /// The next row, or `None` at the end of the file. Row errors ([`SourceError::RaggedRow`],
    /// [`SourceError::InvalidJson`], [`SourceError::NotAnObject`]) leave the reader usable;
    /// after any other error it is finished and returns `Ok(None)`.
    pub fn next_row(&mut self) -> Result<Option<Row<'_>>, SourceError> {
        match &mut self.parser {
            Parser::Delimited(d) => d.next_row(),
            Parser::Jsonl(j) => j.next_row(),
        }
    }

    /// Bytes read so far and the file size.
    pub fn progress(&self) -> Progress {
        Progress {
            read: self.read.load(Ordering::Relaxed),
            total: self.size,
        }
    }
}

impl SourceError {
    /// Whether the error concerns one row only, so that reading can go on past it.
    pub fn is_row_error(&self) -> bool {
        matches!(
            self,
            SourceError::RaggedRow { .. }
                | SourceError::InvalidJson { .. }
                | SourceError::NotAnObject { .. }
        )
    }
}

// The plan may read sources on a blocking thread: keep the reader `Send` (checked at compile time).
const _: fn() = || {
    fn send<T: Send>() {}
    send::<SourceReader>();
};

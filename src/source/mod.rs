//! Source readers: stream rows out of CSV, TSV, SSV and JSON Lines files.
//!
//! This module holds the reading half of the `source` stage: opening a file (optionally gzip,
//! optionally in another encoding), checking its header against the columns a job uses, and
//! handing out one row at a time with the physical line it starts on. It never holds the whole
//! file in memory and never allocates per delimited row (the field buffer is reused).
//!
//! It must not interpret values (numbers, emails, ...), map records or hash them for the diff:
//! that is the mapping module's job. Every error names the file, the physical line and what to do.
//!
//! Layers, bottom to top: file (byte counter for progress) -> gzip -> `text` (BOM, UTF-8
//! validation or decoding, line-aware errors) -> `delimited` or `jsonl` parser.

mod delimited;
mod digest;
mod error;
mod jsonl;
mod open;
mod reader;
mod resolve;
mod row;
mod text;

use std::path::PathBuf;

pub use digest::file_digest;
pub use error::{MissingColumn, SourceError};
pub use reader::{Progress, SourceReader};
pub use row::{ColumnRef, Field, Row};

/// The file formats a source can have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Comma-separated values.
    Csv,
    /// Tab-separated values.
    Tsv,
    /// Semicolon-separated values (common in locales where the comma is the decimal mark).
    Ssv,
    /// JSON Lines: one JSON object per line.
    Jsonl,
}

impl Format {
    /// The delimiter a delimited format uses unless the spec overrides it.
    pub fn default_delimiter(self) -> u8 {
        match self {
            Format::Csv | Format::Jsonl => b',',
            Format::Tsv => b'\t',
            Format::Ssv => b';',
        }
    }
}

/// How to read one source file. The lead's spec layer maps the spec's `source:` section onto it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadOptions {
    /// The file to read.
    pub path: PathBuf,
    /// Its format.
    pub format: Format,
    /// `Some(true)`/`Some(false)` forces gzip on or off; `None` detects it by the `.gz`
    /// extension or the gzip magic bytes.
    pub gzip: Option<bool>,
    /// Overrides the format's delimiter (delimited formats only).
    pub delimiter: Option<u8>,
    /// Overrides the quote character (default `"`; delimited formats only).
    pub quote: Option<u8>,
    /// A WHATWG encoding label (`windows-1252`, `latin1`, `utf-16le`, ...). `None` means UTF-8,
    /// with or without BOM (a UTF-16 BOM is honoured too).
    pub encoding: Option<String>,
    /// Whether the first record of a delimited file is a header.
    pub has_header: bool,
    /// Column names for a delimited file without a header (required when `has_header` is false).
    pub column_names: Option<Vec<String>>,
}

impl ReadOptions {
    /// Options with the defaults of the spec: header present, UTF-8, gzip detected.
    pub fn new(path: impl Into<PathBuf>, format: Format) -> Self {
        ReadOptions {
            path: path.into(),
            format,
            gzip: None,
            delimiter: None,
            quote: None,
            encoding: None,
            has_header: true,
            column_names: None,
        }
    }

    /// The delimiter in effect.
    pub fn effective_delimiter(&self) -> u8 {
        self.delimiter
            .unwrap_or_else(|| self.format.default_delimiter())
    }
}

pub mod map;
pub mod options;

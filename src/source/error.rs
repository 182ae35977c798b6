//! The errors of the source readers. Each names the file, the physical line (1-based) where it is
//! known, and says what the user can do about it. No other module of `source` formats messages
//! for users.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use super::text::TextError;

/// Everything that can go wrong while opening or reading a source file.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("{}: cannot open the source file: {source}", path.display())]
    Open {
        path: PathBuf,
        source: std::io::Error,
    },

    #[error("{}: {what} {byte:?} cannot be used: it must be a single ASCII character other than \
             a line break, and the delimiter and the quote must differ", path.display())]
    BadOption {
        path: PathBuf,
        what: &'static str,
        byte: char,
    },

    #[error("{}: cannot read the file to compute its digest: {source}", path.display())]
    Digest {
        path: PathBuf,
        source: std::io::Error,
    },

    #[error("{}:{line}: read error: {source}", path.display())]
    Io {
        path: PathBuf,
        line: u64,
        source: std::io::Error,
    },

    #[error(
        "{}: unknown encoding {label:?}; use a WHATWG label such as utf-8, windows-1252, \
         iso-8859-1, iso-8859-15, shift_jis or utf-16le",
        path.display()
    )]
    UnknownEncoding { path: PathBuf, label: String },

    #[error("{}: `gzip: true` is set but the file does not start with the gzip magic bytes; \
             remove `gzip: true` or point the source at the .gz file", path.display())]
    NotGzip { path: PathBuf },

    #[error(
        "{}:{line}: the gzip data is corrupt or truncated (after {offset} decompressed bytes): \
         {source}; the file is damaged: export or download it again",
        path.display()
    )]
    Gzip {
        path: PathBuf,
        line: u64,
        offset: u64,
        source: std::io::Error,
    },

    #[error("{}: the file is empty (no header, no rows); check the export that wrote it", path.display())]
    EmptyFile { path: PathBuf },

    #[error(
        "{}: `has_header: false` needs `column_names:` to name the columns of the file",
        path.display()
    )]
    MissingHeader { path: PathBuf },

    #[error(
        "{}:{line}: byte offset {offset} is not valid UTF-8; if the file is in another encoding, \
         set `encoding:` in the source (e.g. windows-1252 or iso-8859-1)",
        path.display()
    )]
    InvalidUtf8 {
        path: PathBuf,
        line: u64,
        offset: u64,
    },

    #[error(
        "{}:{line}: byte offset {offset} is not valid {encoding}; check the `encoding:` of the source",
        path.display()
    )]
    Malformed {
        path: PathBuf,
        line: u64,
        offset: u64,
        encoding: &'static str,
    },

    #[error(
        "{}:{line}: a quoted field opens on this line and is never closed: the file is truncated \
         or has a stray quote character",
        path.display()
    )]
    UnterminatedQuote { path: PathBuf, line: u64 },

    #[error(
        "{}:{line}: expected {expected} fields (as in the header), found {found}; check the \
         delimiter and quoting of this line",
        path.display()
    )]
    RaggedRow {
        path: PathBuf,
        line: u64,
        expected: usize,
        found: usize,
    },

    #[error("{}:{line}:{column}: invalid JSON: {message}", path.display())]
    InvalidJson {
        path: PathBuf,
        line: u64,
        column: u64,
        message: String,
    },

    #[error(
        "{}:{line}: a JSON Lines row must be an object, found {found}",
        path.display()
    )]
    NotAnObject {
        path: PathBuf,
        line: u64,
        found: &'static str,
    },

    #[error("{}: {}. {context}", path.display(), MissingList(missing))]
    MissingColumns {
        path: PathBuf,
        missing: Vec<MissingColumn>,
        /// What the columns of the file are, and a hint (wrong delimiter, header that is data).
        context: String,
    },

    #[error("{}: the column {name:?} appears {count} times in the header; rename one", path.display())]
    AmbiguousColumn {
        path: PathBuf,
        name: String,
        count: usize,
    },

    #[error("{}: an empty column name cannot be read", path.display())]
    EmptyColumnName { path: PathBuf },
}

/// One column the job uses that the file does not have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingColumn {
    /// The name the job asked for.
    pub name: String,
    /// The closest header name, if one is close enough to be a likely typo.
    pub suggestion: Option<String>,
}

/// Formats the missing columns of [`SourceError::MissingColumns`] and its context.
struct MissingList<'a>(&'a [MissingColumn]);

impl fmt::Display for MissingList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let noun = if self.0.len() == 1 {
            "column"
        } else {
            "columns"
        };
        write!(f, "the header has no {noun} ")?;
        for (i, m) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{:?}", m.name)?;
            if let Some(s) = &m.suggestion {
                write!(f, " (did you mean {s:?}?)")?;
            }
        }
        Ok(())
    }
}

impl SourceError {
    /// The physical line the error is on, when there is one.
    pub fn line(&self) -> Option<u64> {
        match self {
            SourceError::Io { line, .. }
            | SourceError::Gzip { line, .. }
            | SourceError::InvalidUtf8 { line, .. }
            | SourceError::Malformed { line, .. }
            | SourceError::UnterminatedQuote { line, .. }
            | SourceError::RaggedRow { line, .. }
            | SourceError::InvalidJson { line, .. }
            | SourceError::NotAnObject { line, .. } => Some(*line),
            _ => None,
        }
    }
}

/// Turns an I/O error coming up through the text layer into a [`SourceError`].
/// `line` is the parser's current line, used when the error carries no position.
pub(crate) fn classify(path: &Path, gzip: bool, err: io::Error, line: u64) -> SourceError {
    let path = path.to_path_buf();
    if !err.get_ref().is_some_and(|e| e.is::<TextError>()) {
        return SourceError::Io {
            path,
            line,
            source: err,
        };
    }
    let text = match err.into_inner() {
        Some(inner) => inner.downcast::<TextError>(),
        None => {
            let source = io::Error::other("read error");
            return SourceError::Io { path, line, source };
        }
    };
    match text.map(|b| *b) {
        Ok(TextError::InvalidUtf8 { offset, line }) => {
            SourceError::InvalidUtf8 { path, line, offset }
        }
        Ok(TextError::Malformed {
            offset,
            line,
            encoding,
        }) => SourceError::Malformed {
            path,
            line,
            offset,
            encoding,
        },
        Ok(TextError::Inner {
            offset,
            line,
            source,
        }) => {
            let corrupt = matches!(
                source.kind(),
                io::ErrorKind::InvalidInput
                    | io::ErrorKind::InvalidData
                    | io::ErrorKind::UnexpectedEof
            );
            if gzip && corrupt {
                SourceError::Gzip {
                    path,
                    line,
                    offset,
                    source,
                }
            } else {
                SourceError::Io { path, line, source }
            }
        }
        Err(other) => SourceError::Io {
            path,
            line,
            source: io::Error::other(other),
        },
    }
}

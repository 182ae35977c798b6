//! From a spec's `source:` section to the reader's options: the path relative to the spec
//! file, the format from the extension when not given, one-character delimiters.

use std::path::Path;

use super::{Format, ReadOptions};
use crate::spec::types::{self, Source};

/// Why a `source:` section cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum OptionsError {
    #[error(
        "cannot tell the format of `{0}` from its extension; set source.format (csv, tsv, ssv or jsonl)"
    )]
    UnknownFormat(String),
    #[error("source.{field} must be one ASCII character, not `{value}`")]
    NotOneByte { field: &'static str, value: String },
}

/// The reader options of a spec file's source.
pub fn read_options(spec_file: &Path, source: &Source) -> Result<ReadOptions, OptionsError> {
    let dir = spec_file.parent().unwrap_or(Path::new("."));
    let path = dir.join(&source.path);
    let format = match source.format {
        Some(f) => convert(f),
        None => from_extension(&source.path)
            .ok_or_else(|| OptionsError::UnknownFormat(source.path.clone()))?,
    };
    let mut opts = ReadOptions::new(path, format);
    opts.gzip = source.gzip;
    opts.delimiter = one_byte("delimiter", source.delimiter.as_deref())?;
    opts.quote = one_byte("quote", source.quote.as_deref())?;
    opts.encoding = source.encoding.clone();
    opts.has_header = source.header;
    opts.column_names = source.columns.clone();
    Ok(opts)
}

fn convert(f: types::Format) -> Format {
    match f {
        types::Format::Csv => Format::Csv,
        types::Format::Tsv => Format::Tsv,
        types::Format::Ssv => Format::Ssv,
        types::Format::Jsonl => Format::Jsonl,
    }
}

fn from_extension(path: &str) -> Option<Format> {
    let p = path
        .strip_suffix(".gz")
        .unwrap_or(path)
        .to_ascii_lowercase();
    let ext = p.rsplit('.').next()?;
    Some(match ext {
        "csv" => Format::Csv,
        "tsv" | "tab" => Format::Tsv,
        "ssv" => Format::Ssv,
        "jsonl" | "ndjson" => Format::Jsonl,
        _ => return None,
    })
}

fn one_byte(field: &'static str, value: Option<&str>) -> Result<Option<u8>, OptionsError> {
    match value {
        None => Ok(None),
        Some(v) if v.len() == 1 && v.is_ascii() => Ok(v.bytes().next()),
        Some("\\t") => Ok(Some(b'\t')),
        Some(v) => Err(OptionsError::NotOneByte {
            field,
            value: v.to_owned(),
        }),
    }
}

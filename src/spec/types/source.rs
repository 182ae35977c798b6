//! The `source:` section: which file the rows come from and how to read it.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// File format of the source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// Comma-separated values.
    Csv,
    /// Tab-separated values.
    Tsv,
    /// Semicolon-separated values.
    Ssv,
    /// One JSON object per line.
    Jsonl,
}

/// Where the rows come from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Source {
    /// Path of the file, relative to the spec file.
    pub path: String,
    /// File format; by default taken from the extension (.csv, .tsv, .ssv, .jsonl, with an
    /// optional .gz).
    #[serde(default)]
    pub format: Option<Format>,
    /// Whether the file is gzip-compressed; by default taken from the `.gz` extension.
    #[serde(default)]
    pub gzip: Option<bool>,
    /// Field delimiter (one character), overriding the format's.
    #[serde(default)]
    #[schemars(length(min = 1, max = 1))]
    pub delimiter: Option<String>,
    /// Quote character (one character); `"` by default.
    #[serde(default)]
    #[schemars(length(min = 1, max = 1))]
    pub quote: Option<String>,
    /// Text encoding (a WHATWG label such as `utf-8`, `windows-1252`, `iso-8859-1`); UTF-8
    /// with or without a byte-order mark by default.
    #[serde(default)]
    pub encoding: Option<String>,
    /// Whether the first row holds the column names (delimited formats).
    #[serde(default = "yes")]
    pub header: bool,
    /// Column names, required when `header` is false.
    #[serde(default)]
    pub columns: Option<Vec<String>>,
}

fn yes() -> bool {
    true
}

//! The column resolver: turns the column names a job uses into [`ColumnRef`]s once per job, and
//! explains every name the header lacks (did-you-mean, wrong delimiter, header that is data).
//!
//! It must not read rows.

use std::path::Path;

use super::{ColumnRef, MissingColumn, SourceError};

/// What resolving a delimited file's columns needs to know about the file.
pub(crate) struct HeaderInfo<'a> {
    pub(crate) path: &'a Path,
    pub(crate) headers: &'a [String],
    pub(crate) header_line: u64,
    pub(crate) delimiter: u8,
    /// Whether the names come from the file (false: from the spec's `column_names`).
    pub(crate) from_file: bool,
}

/// Resolves column names against a delimited header; reports all missing names at once.
pub(crate) fn delimited(
    info: &HeaderInfo<'_>,
    names: &[&str],
) -> Result<Vec<ColumnRef>, SourceError> {
    let mut refs = Vec::with_capacity(names.len());
    let mut missing = Vec::new();
    // With the wrong delimiter the one "column" is the whole header: no name is a near miss.
    let wrong_delimiter = delimiter_hint(info).is_some();
    for name in names {
        if name.is_empty() {
            return Err(SourceError::EmptyColumnName {
                path: info.path.to_path_buf(),
            });
        }
        let mut found = info.headers.iter().enumerate().filter(|(_, h)| h == name);
        match (found.next(), found.count()) {
            (Some((index, _)), 0) => refs.push(ColumnRef::index(name, index)),
            (Some(_), more) => {
                return Err(SourceError::AmbiguousColumn {
                    path: info.path.to_path_buf(),
                    name: name.to_string(),
                    count: more + 1,
                });
            }
            (None, _) => missing.push(MissingColumn {
                name: name.to_string(),
                suggestion: suggest(name, info.headers).filter(|_| !wrong_delimiter),
            }),
        }
    }
    if missing.is_empty() {
        return Ok(refs);
    }
    Err(SourceError::MissingColumns {
        path: info.path.to_path_buf(),
        missing,
        context: context(info),
    })
}

/// JSON Lines has no header and rows may have different keys, so a key absent from a row reads
/// as a missing value of that row (reported by the mapping), not as an error here.
pub(crate) fn jsonl(path: &Path, names: &[&str]) -> Result<Vec<ColumnRef>, SourceError> {
    names
        .iter()
        .map(|name| {
            if name.is_empty() || name.split('.').any(str::is_empty) {
                Err(SourceError::EmptyColumnName {
                    path: path.to_path_buf(),
                })
            } else {
                Ok(ColumnRef::key(name))
            }
        })
        .collect()
}

/// The header name most like `name`, if it is close enough to be a typo.
fn suggest(name: &str, headers: &[String]) -> Option<String> {
    let wanted = name.trim().to_lowercase();
    let mut best: Option<(f64, &String)> = None;
    for header in headers {
        let have = header.trim().to_lowercase();
        let score = if have == wanted {
            1.0
        } else {
            strsim::jaro_winkler(&wanted, &have)
        };
        if score >= 0.85 && best.is_none_or(|(s, _)| score > s) {
            best = Some((score, header));
        }
    }
    best.map(|(_, h)| h.clone())
}

/// The file's columns, then a hint when the header looks wrong.
fn context(info: &HeaderInfo<'_>) -> String {
    const SHOWN: usize = 12;
    let shown: Vec<String> = info
        .headers
        .iter()
        .take(SHOWN)
        .map(|h| format!("{h:?}"))
        .collect();
    let mut text = if info.from_file {
        format!(
            "The header (line {}) has: {}",
            info.header_line,
            shown.join(", ")
        )
    } else {
        format!(
            "The columns named by `column_names` are: {}",
            shown.join(", ")
        )
    };
    if info.headers.len() > SHOWN {
        text.push_str(&format!(" and {} more", info.headers.len() - SHOWN));
    }
    text.push('.');
    if let Some(hint) = delimiter_hint(info) {
        text.push(' ');
        text.push_str(&hint);
    } else if info.from_file
        && let Some(data) = info.headers.iter().find(|h| looks_like_data(h))
    {
        text.push_str(&format!(
            " The first line looks like data ({data:?}), not a header: if the file has no \
             header, set `has_header: false` and `column_names:`."
        ));
    }
    text
}

/// A single header column that contains another delimiter means the delimiter is wrong.
fn delimiter_hint(info: &HeaderInfo<'_>) -> Option<String> {
    let [only] = info.headers else {
        return None;
    };
    let (found, format) = [(b',', "csv"), (b';', "ssv"), (b'\t', "tsv"), (b'|', "")]
        .into_iter()
        .filter(|(d, _)| *d != info.delimiter)
        .find(|(d, _)| only.as_bytes().contains(d))?;
    let shown = (found as char).escape_default().to_string();
    let using = (info.delimiter as char).escape_default().to_string();
    let fix = if format.is_empty() {
        format!("set `delimiter: \"{shown}\"`")
    } else {
        format!("set `format: {format}` (or `delimiter: \"{shown}\"`)")
    };
    Some(format!(
        "The header is one column containing '{shown}' while the delimiter is '{using}': \
         the file looks {}-separated; {fix}.",
        match found {
            b',' => "comma",
            b';' => "semicolon",
            b'\t' => "tab",
            _ => "pipe",
        }
    ))
}

/// An email address or a number is a value, not a column name.
fn looks_like_data(header: &str) -> bool {
    let h = header.trim();
    (h.contains('@') && h.contains('.')) || (!h.is_empty() && h.parse::<f64>().is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    fn info<'a>(headers: &'a [String], delimiter: u8) -> HeaderInfo<'a> {
        HeaderInfo {
            path: Path::new("m.csv"),
            headers,
            header_line: 1,
            delimiter,
            from_file: true,
        }
    }

    #[test]
    fn suggestions_catch_typos_case_and_spaces_only() {
        let h = headers(&["email", "leadScore", " crmId"]);
        assert_eq!(suggest("emial", &h).as_deref(), Some("email"));
        assert_eq!(suggest("LEADSCORE", &h).as_deref(), Some("leadScore"));
        assert_eq!(suggest("crmId", &h).as_deref(), Some(" crmId"));
        assert_eq!(suggest("phone", &h), None);
    }

    #[test]
    fn resolves_to_indexes_in_the_asked_order() {
        let h = headers(&["a", "b", "c"]);
        let refs = delimited(&info(&h, b','), &["c", "a"]).unwrap();
        assert_eq!(
            refs,
            vec![ColumnRef::index("c", 2), ColumnRef::index("a", 0)]
        );
    }

    #[test]
    fn a_single_tab_column_hints_tsv() {
        let h = headers(&["email\tscore"]);
        let hint = delimiter_hint(&info(&h, b',')).unwrap();
        assert!(
            hint.contains("tab-separated") && hint.contains("format: tsv"),
            "{hint}"
        );
        // A single column without another delimiter is just a one-column file.
        let h = headers(&["email"]);
        assert_eq!(delimiter_hint(&info(&h, b',')), None);
    }

    #[test]
    fn values_are_recognised_as_data() {
        assert!(looks_like_data("a@b.org"));
        assert!(looks_like_data("42.5"));
        assert!(!looks_like_data("email"));
        assert!(!looks_like_data("@handle"));
    }

    #[test]
    fn jsonl_paths_must_not_have_empty_segments() {
        assert!(jsonl(Path::new("m.jsonl"), &["a.b", "c"]).is_ok());
        assert!(jsonl(Path::new("m.jsonl"), &["a..b"]).is_err());
        assert!(jsonl(Path::new("m.jsonl"), &[""]).is_err());
    }
}

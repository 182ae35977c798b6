//! Exact byte sizes of a record on the wire, computed from its values without serializing
//! the record: the plan chunks uploads by these sizes, and apply sends the same bytes.

/// How a provider sends records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wire {
    /// A delimited file with a header line (Marketo).
    Delimited { delimiter: u8 },
    /// A JSON array of objects (Eloqua, MyPreferences).
    Json,
    /// A JSON array of `{"key", "contactIdentifier", "json": record}` (Dotdigital).
    JsonKeyed,
}

/// Length of a string written as a CSV field (quoted when it must be; see `body`).
pub fn csv_len(s: &str, delimiter: u8) -> u64 {
    let bytes = s.as_bytes();
    if !super::body::csv_needs_quotes(s, delimiter) {
        return bytes.len() as u64;
    }
    let quotes = bytes.iter().filter(|&&b| b == b'"').count();
    (bytes.len() + quotes + 2) as u64
}

/// Length of a string written as a JSON string literal (serde_json's escaping).
pub fn json_str_len(s: &str) -> u64 {
    let mut n = 2u64;
    for &b in s.as_bytes() {
        n += match b {
            b'"' | b'\\' | b'\n' | b'\r' | b'\t' | 0x08 | 0x0c => 2,
            0..=0x1f => 6,
            _ => 1,
        };
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_lengths_match_serde() {
        for s in [
            "",
            "plain",
            "quo\"te",
            "back\\slash",
            "new\nline",
            "ctl\u{1}x",
            "é ü 日本",
        ] {
            assert_eq!(
                json_str_len(s),
                serde_json::to_string(s).unwrap().len() as u64,
                "{s:?}"
            );
        }
    }

    #[test]
    fn csv_lengths_match_the_csv_writer() {
        for s in ["plain", "a,b", "quo\"te", "new\nline", "semi;colon"] {
            let mut w = csv::WriterBuilder::new()
                .quote_style(csv::QuoteStyle::Necessary)
                .from_writer(vec![]);
            w.write_record([s]).unwrap();
            let out = w.into_inner().unwrap();
            assert_eq!(csv_len(s, b','), (out.len() - 1) as u64, "{s:?}");
        }
    }
}

//! The delimited files Marketo exchanges (marketo.md §6.1, §8): the upload body written from a
//! chunk's records, and the failures/warnings files read back into rejects.
//!
//! The upload must be byte for byte what the plan predicted (`source::map::wire::csv_len` per
//! field, one delimiter between fields, `\n` per row, a header line, no BOM): a field is quoted
//! exactly when `csv_len` counts quotes. This module does no I/O.

use crate::providers::{ChunkRecord, ProviderError, RejectAt, RemoteReject};
use crate::source::map::RecordBody;
// One field, quoted exactly when `csv_len` counts quotes (one rule, in `source::map::body`).
use crate::source::map::body::write_csv_field as write_field;

/// The upload body: a header of the column names, then one line per record. Records come as
/// lines written by the mapper in the columns' order; a record given as JSON (a caller other
/// than apply's feed) is looked up column by column.
pub fn encode(columns: &[(String, String)], delimiter: u8, records: &[ChunkRecord]) -> Vec<u8> {
    let mut out =
        Vec::with_capacity(records.iter().map(|r| r.record.len() + 1).sum::<usize>() + 256);
    write_line(
        &mut out,
        columns.iter().map(|(name, _)| name.as_str()),
        delimiter,
    );
    for r in records {
        match &r.record {
            RecordBody::Line(line) => out.extend_from_slice(line),
            RecordBody::Json(_) => write_json_record(&mut out, columns, delimiter, r),
        }
        out.push(b'\n');
    }
    out
}

fn write_json_record(
    out: &mut Vec<u8>,
    columns: &[(String, String)],
    delimiter: u8,
    r: &ChunkRecord,
) {
    let value = r.record.to_value().unwrap_or_default();
    for (i, (_, pointer)) in columns.iter().enumerate() {
        if i > 0 {
            out.push(delimiter);
        }
        match value.pointer(pointer) {
            Some(serde_json::Value::String(s)) => write_field(out, s, delimiter),
            // Non-string values go as their JSON text, as the plan's size model counts them.
            Some(other) => write_field(out, &other.to_string(), delimiter),
            // An empty field keeps the row aligned with the header.
            None => {}
        }
    }
}

fn write_line<'a>(out: &mut Vec<u8>, fields: impl Iterator<Item = &'a str>, delimiter: u8) {
    for (i, f) in fields.enumerate() {
        if i > 0 {
            out.push(delimiter);
        }
        write_field(out, f, delimiter);
    }
    out.push(b'\n');
}

/// The rows of a failures file as rejects keyed by the match column's value, with the
/// `Import Failure Reason` column (or the last column) as the reason.
pub fn failures(
    body: &[u8],
    delimiter: u8,
    match_column: &str,
) -> Result<Vec<RemoteReject>, ProviderError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Vec::new());
    }
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .from_reader(body);
    let bad = |e: csv::Error| ProviderError::Permanent {
        message: format!("Marketo failures file is not readable: {e}"),
    };
    let header = reader.headers().map_err(bad)?.clone();
    let key_at = header
        .iter()
        .position(|h| h == match_column)
        .or_else(|| {
            header
                .iter()
                .position(|h| h.eq_ignore_ascii_case(match_column))
        })
        .ok_or_else(|| ProviderError::Permanent {
            message: format!(
                "Marketo failures file has no `{match_column}` column to tell the rejected rows by"
            ),
        })?;
    let reason_at = header
        .iter()
        .position(|h| squash(h) == "importfailurereason")
        .unwrap_or_else(|| header.len().saturating_sub(1));
    let mut out = Vec::new();
    for row in reader.records() {
        let row = row.map_err(bad)?;
        out.push(RemoteReject {
            at: RejectAt::Key(row.get(key_at).unwrap_or_default().to_owned()),
            // Marketo's failure rows carry a reason text only, no code.
            code: String::new(),
            reason: row.get(reason_at).unwrap_or_default().to_owned(),
        });
    }
    Ok(out)
}

/// Rows of a warnings file (for the log: warned rows were imported).
pub fn count_rows(body: &[u8], delimiter: u8) -> usize {
    if body.iter().all(u8::is_ascii_whitespace) {
        return 0;
    }
    csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .from_reader(body)
        .records()
        .count()
}

/// Lower case without spaces: `Import Failure Reason` and `ImportFailureReason` both occur.
fn squash(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::map::wire::csv_len;
    use serde_json::json;

    fn rec(v: serde_json::Value) -> ChunkRecord {
        ChunkRecord {
            key: String::new(),
            key_hash: 0,
            content_hash: 0,
            line: 1,
            contact: None,
            record: v.into(),
        }
    }

    fn cols(names: &[&str]) -> Vec<(String, String)> {
        names
            .iter()
            .map(|n| ((*n).to_owned(), format!("/{n}")))
            .collect()
    }

    #[test]
    fn quotes_only_where_needed_and_matches_csv_len() {
        let columns = cols(&["email", "note", "score"]);
        let values = [
            "plain",
            "a,b",
            "quo\"te",
            "new\nline",
            " lead",
            "trail ",
            "semi;colon",
            "tab\tx",
            "é日本",
            "",
        ];
        for delimiter in [b',', b'\t', b';'] {
            let records: Vec<ChunkRecord> = values
                .iter()
                .map(|v| rec(json!({"email": "a@b.co", "note": v, "score": 7})))
                .collect();
            let body = encode(&columns, delimiter, &records);
            let header: u64 = columns
                .iter()
                .map(|(n, _)| csv_len(n, delimiter))
                .sum::<u64>()
                + columns.len() as u64;
            let rows: u64 = values
                .iter()
                .map(|v| csv_len("a@b.co", delimiter) + csv_len(v, delimiter) + 1 + 2 + 1)
                .sum();
            assert_eq!(body.len() as u64, header + rows, "delimiter {delimiter}");
            // What the csv crate reads back is what was sent.
            let mut rd = csv::ReaderBuilder::new()
                .delimiter(delimiter)
                .from_reader(body.as_slice());
            let back: Vec<String> = rd.records().map(|r| r.unwrap()[1].to_owned()).collect();
            assert_eq!(back, values);
        }
    }

    #[test]
    fn exact_bytes_of_a_small_file() {
        let columns = cols(&["email", "firstName", "leadScore"]);
        let records = vec![
            rec(json!({"email": "ann@example.org", "firstName": "Ann, Jr.", "leadScore": 12})),
            rec(json!({"email": "bo@example.org", "firstName": "Bo \"B\"", "leadScore": null})),
        ];
        let body = encode(&columns, b',', &records);
        assert_eq!(
            String::from_utf8(body).unwrap(),
            "email,firstName,leadScore\nann@example.org,\"Ann, Jr.\",12\nbo@example.org,\"Bo \"\"B\"\"\",null\n"
        );
    }

    #[test]
    fn failures_map_to_the_match_column_and_reason() {
        let body = b"email;firstName;leadScore;Import Failure Reason\nbo@example.org;Bo;x;Invalid data type in field Lead Score\n\"c;d@example.org\";C;y;Bad\n";
        let r = failures(body, b';', "email").unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].at, RejectAt::Key("bo@example.org".into()));
        assert_eq!(r[0].reason, "Invalid data type in field Lead Score");
        assert_eq!(r[1].at, RejectAt::Key("c;d@example.org".into()));
        assert!(failures(b"", b',', "email").unwrap().is_empty());
        let compact = failures(
            b"Email,ImportFailureReason,x\na@b.co,why,1\n",
            b',',
            "email",
        )
        .unwrap();
        assert_eq!(
            (compact[0].at.clone(), compact[0].reason.as_str()),
            (RejectAt::Key("a@b.co".into()), "why")
        );
        assert!(matches!(
            failures(b"id,Import Failure Reason\n1,x\n", b',', "email"),
            Err(ProviderError::Permanent { .. })
        ));
    }

    #[test]
    fn counts_warning_rows() {
        assert_eq!(
            count_rows(
                b"email,Import Warning Reason\na,Invalid email address\nb,Invalid email address\n",
                b','
            ),
            2
        );
        assert_eq!(count_rows(b"", b','), 0);
    }
}

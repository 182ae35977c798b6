//! Parsing an uploaded import file (marketo.md §6, §8, §14.13, §14.16): the delimited text is
//! read once, its header mapped to known fields, and every row checked. Whole-file problems
//! (ragged rows, bad UTF-8, unknown or duplicate columns) make the batch fail; row problems
//! become failure or warning rows. Row outcomes that depend on the stored leads (lookups) are
//! decided later, when the batch is applied.
//!
//! This is the hot path of the upload benchmark: one pass, no allocation per row (the rows go
//! into one `Table`; only rows that are not clean carry a verdict).

use std::collections::HashMap;
use std::sync::Arc;

use csv::StringRecord;
use serde::{Deserialize, Serialize};

use crate::sandbox::marketo::fields::{self, Check, FieldDef, Scope};
use crate::sandbox::marketo::parallel::both;
use crate::sandbox::marketo::record::Name;
use crate::sandbox::marketo::split;
use crate::sandbox::marketo::table::{RowRef, Table};

/// The `format` parameter (case-insensitive on the wire).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Csv,
    Tsv,
    Ssv,
}

impl Format {
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "csv" => Some(Format::Csv),
            "tsv" => Some(Format::Tsv),
            "ssv" => Some(Format::Ssv),
            _ => None,
        }
    }

    pub fn delimiter(self) -> u8 {
        match self {
            Format::Csv => b',',
            Format::Tsv => b'\t',
            Format::Ssv => b';',
        }
    }
}

/// Which import the file belongs to: program members need `email` on every row and may carry
/// program-member fields; leads may not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    ProgramMembers,
    Leads,
}

/// The verdict on one row before it meets the stored data.
#[derive(Debug, Clone, PartialEq)]
pub enum RowCheck {
    Ok,
    Warning(&'static str),
    Failure(String),
}

/// A parsed file: the original header, the field of each column, the rows and their checks.
#[derive(Debug, Clone)]
pub struct Parsed {
    pub header: StringRecord,
    pub columns: Vec<FieldDef>,
    /// The canonical name of each column, shared by every record it is written to.
    pub names: Arc<[Name]>,
    pub rows: Table,
    /// The rows that are not clean, in file order: (row index, verdict). Every other row is
    /// `RowCheck::Ok`.
    pub flagged: Vec<(usize, RowCheck)>,
}

/// Parses and checks a whole file. `Err` is the message of a whole-batch failure.
pub fn parse(
    file: &[u8],
    format: Format,
    kind: FileKind,
    custom: &[FieldDef],
) -> Result<Parsed, String> {
    if let Some(text) = split::simple_text(file)
        && let Some(parsed) = parse_simple(text, format, kind, custom)?
    {
        return Ok(parsed);
    }
    parse_general(file, format, kind, custom)
}

/// The fast path (see `split`). `None` when the file needs the general parser after all.
/// A large file is read as two halves on two threads, split at a line break.
fn parse_simple(
    text: &str,
    format: Format,
    kind: FileKind,
    custom: &[FieldDef],
) -> Result<Option<Parsed>, String> {
    let delimiter = char::from(format.delimiter());
    let Some((first, body)) = split::header(text) else {
        return Ok(None);
    };
    let header = StringRecord::from(first.split(delimiter).collect::<Vec<_>>());
    // The first part's table is sized for the whole file: the second is appended to it.
    let read = |part: &str, room: usize| simple_rows(part, room, &header, delimiter, kind, custom);
    let (a, b) = split::halves(body, PARALLEL_FROM);
    if b.is_empty() {
        return Ok(read(a, a.len())?.map(|rows| rows.finish(header)));
    }
    let (a, b) = both(|| read(a, body.len()), || read(b, b.len()));
    match (a?, b?) {
        (Some(mut a), Some(b)) => {
            a.append(b)?;
            Ok(Some(a.finish(header)))
        }
        _ => Ok(None),
    }
}

/// Files from this size are read on two threads.
const PARALLEL_FROM: usize = 1 << 20;

/// The rows of part of a simple text, in a table with `room` bytes; `None` when a line has the
/// wrong number of fields.
fn simple_rows(
    text: &str,
    room: usize,
    header: &StringRecord,
    delimiter: char,
    kind: FileKind,
    custom: &[FieldDef],
) -> Result<Option<Rows>, String> {
    let mut rows = Rows::new(header, kind, custom, room)?;
    let mut values = Vec::with_capacity(header.len());
    let mut quoted = Vec::with_capacity(header.len());
    for line in split::records(text) {
        if line.contains('"') {
            // Quoted fields: read as the csv parser would, or the file goes to it.
            if split::quoted_fields(line, delimiter as u8, &mut quoted).is_none()
                || quoted.len() != header.len()
            {
                return Ok(None);
            }
            rows.add(quoted.iter().map(|v| v.as_ref()))?;
            continue;
        }
        values.clear();
        let mut start = 0;
        for end in memchr::memchr_iter(delimiter as u8, line.as_bytes()) {
            values.push(line.get(start..end).unwrap_or_default());
            start = end + 1;
        }
        values.push(line.get(start..).unwrap_or_default());
        if values.len() != header.len() {
            return Ok(None);
        }
        rows.add(values.iter().copied())?;
    }
    Ok(Some(rows))
}

/// The general path: any delimited text the csv crate reads, quotes included.
fn parse_general(
    file: &[u8],
    format: Format,
    kind: FileKind,
    custom: &[FieldDef],
) -> Result<Parsed, String> {
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(format.delimiter())
        .has_headers(true)
        .flexible(false)
        .from_reader(file);
    let header = reader.headers().map_err(describe)?.clone();
    let mut rows = Rows::new(&header, kind, custom, file.len())?;
    let mut record = StringRecord::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => rows.add(record.iter())?,
            Err(e) => return Err(describe(e)),
        }
    }
    Ok(rows.finish(header))
}

/// The rows of a file as they are read, checked one by one.
struct Rows {
    columns: Vec<FieldDef>,
    kind: FileKind,
    email: Option<usize>,
    table: Table,
    flagged: Vec<(usize, RowCheck)>,
}

impl Rows {
    /// Checks the header; `bytes` (the file's size) sizes the table.
    fn new(
        header: &StringRecord,
        kind: FileKind,
        custom: &[FieldDef],
        bytes: usize,
    ) -> Result<Self, String> {
        if header.is_empty() || (header.len() == 1 && header.get(0).is_some_and(str::is_empty)) {
            return Err("Import failed: the file has no header row".into());
        }
        let columns = map_header(header, kind, custom)?;
        Ok(Rows {
            email: columns.iter().position(|c| c.name == "email"),
            columns,
            kind,
            table: Table::with_capacity(header.len(), bytes),
            flagged: Vec::new(),
        })
    }

    fn add<'a>(&mut self, values: impl Iterator<Item = &'a str> + Clone) -> Result<(), String> {
        let check = check_row(values.clone(), &self.columns, self.kind, self.email);
        if check != RowCheck::Ok {
            self.flagged.push((self.table.len(), check));
        }
        self.table
            .push(values)
            .map_err(|_| "Import failed: the file is too large".to_owned())
    }

    /// Appends the rows read from the next part of the file.
    fn append(&mut self, next: Rows) -> Result<(), String> {
        let offset = self.table.len();
        self.table
            .append(next.table)
            .map_err(|_| "Import failed: the file is too large".to_owned())?;
        let flagged = next.flagged.into_iter().map(|(i, c)| (i + offset, c));
        self.flagged.extend(flagged);
        Ok(())
    }

    fn finish(self, header: StringRecord) -> Parsed {
        let names = self
            .columns
            .iter()
            .map(|c| Name::from(c.name.as_str()))
            .collect();
        Parsed {
            header,
            columns: self.columns,
            names,
            rows: self.table,
            flagged: self.flagged,
        }
    }
}

/// Maps each header name (case-insensitive) to a known field; unknown or repeated names fail.
fn map_header(
    header: &StringRecord,
    kind: FileKind,
    custom: &[FieldDef],
) -> Result<Vec<FieldDef>, String> {
    let mut known: HashMap<String, FieldDef> = fields::standard_fields()
        .into_iter()
        .chain(custom.iter().cloned())
        .filter(|f| kind == FileKind::ProgramMembers || f.scope == Scope::Lead)
        .map(|f| (f.name.to_ascii_lowercase(), f))
        .collect();
    let mut columns = Vec::with_capacity(header.len());
    for name in header.iter() {
        let key = name.trim().to_ascii_lowercase();
        match known.remove(&key) {
            Some(f) => columns.push(f),
            None if columns
                .iter()
                .any(|c: &FieldDef| c.name.eq_ignore_ascii_case(name.trim())) =>
            {
                return Err(format!(
                    "Import failed: duplicate column '{name}' in the header"
                ));
            }
            None => return Err(format!("Import failed: field '{name}' not found")),
        }
    }
    Ok(columns)
}

/// First failure wins; otherwise the first warning.
fn check_row<'a>(
    values: impl Iterator<Item = &'a str> + Clone,
    columns: &[FieldDef],
    kind: FileKind,
    email: Option<usize>,
) -> RowCheck {
    if kind == FileKind::ProgramMembers
        && email
            .and_then(|i| values.clone().nth(i))
            .is_none_or(|e| e.trim().is_empty())
    {
        return RowCheck::Failure("Email address is required".into());
    }
    let mut verdict = RowCheck::Ok;
    for (value, field) in values.zip(columns) {
        if value.is_empty() {
            continue;
        }
        match fields::check_value(field, value) {
            Check::Ok => {}
            Check::Warning(w) => {
                if verdict == RowCheck::Ok {
                    verdict = RowCheck::Warning(w);
                }
            }
            Check::Failure(f) => return RowCheck::Failure(f),
        }
    }
    verdict
}

fn describe(e: csv::Error) -> String {
    let line = e.position().map(|p| p.line()).unwrap_or(0);
    match e.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => {
            format!("Import failed: line {line} has {len} fields, the header has {expected_len}")
        }
        csv::ErrorKind::Utf8 { .. } => format!("Import failed: line {line} is not valid UTF-8"),
        _ => format!("Import failed: unreadable file ({e})"),
    }
}

/// Writes the original header plus a reason column, then each row with its reason, in the
/// upload's delimiter.
pub fn reason_file<'a>(
    format: Format,
    header: &StringRecord,
    reason_column: &str,
    rows: impl Iterator<Item = (RowRef<'a>, &'a str)>,
) -> String {
    let mut out = Vec::new();
    {
        let mut w = csv::WriterBuilder::new()
            .delimiter(format.delimiter())
            .from_writer(&mut out);
        let mut head: Vec<&str> = header.iter().collect();
        head.push(reason_column);
        // Writing into a Vec cannot fail.
        let _ = w.write_record(&head);
        let mut any = false;
        for (row, reason) in rows {
            any = true;
            let _ = w.write_record(row.iter().chain(std::iter::once(reason)));
        }
        let _ = w.flush();
        if !any {
            return String::new();
        }
    }
    String::from_utf8(out).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_rows_and_header() {
        let file = b"email,firstName,leadScore\nann@example.org,Ann,5\n,Bo,1\nbo@x.org,Bo,many\nbad-email,Cy,2\n";
        let p = parse(file, Format::Csv, FileKind::ProgramMembers, &[]).unwrap();
        let mut checks = vec![RowCheck::Ok; p.rows.len()];
        for (i, check) in &p.flagged {
            checks[*i] = check.clone();
        }
        assert_eq!(
            checks,
            vec![
                RowCheck::Ok,
                RowCheck::Failure("Email address is required".into()),
                RowCheck::Failure("Invalid data type in field Lead Score".into()),
                RowCheck::Warning("Invalid email address"),
            ]
        );
        let err = parse(b"email,nope\na@b.co,1\n", Format::Csv, FileKind::Leads, &[]).unwrap_err();
        assert!(err.contains("'nope'"), "{err}");
        let err = parse(
            b"email,firstName\na@b.co\n",
            Format::Csv,
            FileKind::Leads,
            &[],
        )
        .unwrap_err();
        assert!(err.contains("line 2"), "{err}");
    }

    #[test]
    fn reason_file_keeps_delimiter() {
        let p = parse(
            b"email;firstName\na@b.co;A;\n",
            Format::Ssv,
            FileKind::Leads,
            &[],
        );
        assert!(p.is_err());
        let p = parse(
            b"email;firstName\na@b.co;A\n",
            Format::Ssv,
            FileKind::Leads,
            &[],
        )
        .unwrap();
        let text = reason_file(
            Format::Ssv,
            &p.header,
            "Import Failure Reason",
            (0..p.rows.len()).map(|i| (p.rows.row(i), "x")),
        );
        assert_eq!(text, "email;firstName;Import Failure Reason\na@b.co;A;x\n");
    }

    type View = (Vec<String>, Vec<Vec<String>>, Vec<(usize, RowCheck)>);

    fn view(p: &Parsed) -> View {
        let header = p.header.iter().map(str::to_owned).collect();
        let rows = (0..p.rows.len())
            .map(|i| p.rows.row(i).iter().map(str::to_owned).collect())
            .collect();
        (header, rows, p.flagged.clone())
    }

    #[test]
    fn the_fast_path_reads_what_the_general_parser_reads() {
        let files: [&[u8]; 7] = [
            b"email,firstName,leadScore\nann@example.org,Ann,5\n\n,Bo,1\nbo@x.org,Bo,many\nbad,Cy,2",
            b"\n\nemail,firstName\na@b.co,\n,\n",
            b"email\na@b.co\n",
            b"email,firstName\n",
            b"email,firstName\na@b.co\n",
            b"email,nope\na@b.co,1\n",
            b"",
        ];
        for file in files {
            let fast = parse(file, Format::Csv, FileKind::ProgramMembers, &[]);
            let general = parse_general(file, Format::Csv, FileKind::ProgramMembers, &[]);
            match (&fast, &general) {
                (Ok(f), Ok(g)) => assert_eq!(view(f), view(g), "{file:?}"),
                (Err(f), Err(g)) => assert_eq!(f, g, "{file:?}"),
                _ => panic!("{file:?}: {fast:?} vs {general:?}"),
            }
        }
        let text = "email;firstName\na@b.co;A\n";
        let simple = parse_simple(text, Format::Ssv, FileKind::Leads, &[]).unwrap();
        assert_eq!(
            simple.map(|p| p.rows.len()),
            Some(1),
            "taken for a simple file"
        );
    }
}

//! The fast path of file parsing, for the usual upload: valid UTF-8 with no carriage return and
//! no byte-order mark, whose quoted fields (if any) hold no line break. Such a file's records
//! are exactly its non-empty lines and its fields the text between delimiters (or between the
//! quotes of a quoted field, doubled quotes undoubled), as the general (csv) parser reads them,
//! so it is split with memchr-backed searches, several times faster. A line quoted any other
//! way sends the whole file to the general parser.
//!
//! Only the recognition and the splitting live here; `parse` checks the rows and falls back to
//! the general parser for any other file, or when a line has the wrong number of fields (the
//! general parser words that error).

use std::borrow::Cow;

/// The text of `file` if the fast path can read it.
pub fn simple_text(file: &[u8]) -> Option<&str> {
    if file.starts_with(b"\xEF\xBB\xBF") || memchr::memchr(b'\r', file).is_some() {
        return None;
    }
    simdutf8::basic::from_utf8(file).ok()
}

/// The records of a simple text: its lines, without the empty ones (which the general parser
/// skips too).
pub fn records(text: &str) -> impl Iterator<Item = &str> {
    text.split('\n').filter(|line| !line.is_empty())
}

/// The fields of a line holding a quote, as the csv parser reads them, when every quoted field
/// runs from a delimiter (or the line's start) to a delimiter (or its end) with its inner quotes
/// doubled, and no unquoted field holds a quote. `None` for any other line (a quoted field
/// that goes on past the line's end among them).
pub fn quoted_fields<'a>(line: &'a str, delimiter: u8, out: &mut Vec<Cow<'a, str>>) -> Option<()> {
    let b = line.as_bytes();
    out.clear();
    let mut i = 0;
    loop {
        if b.get(i) == Some(&b'"') {
            let (field, end) = quoted(line, i + 1)?;
            out.push(field);
            match b.get(end) {
                None => return Some(()),
                Some(&c) if c == delimiter => i = end + 1,
                Some(_) => return None,
            }
        } else {
            let rest = b.get(i..)?;
            let end = memchr::memchr(delimiter, rest).map_or(b.len(), |p| i + p);
            if memchr::memchr(b'"', b.get(i..end)?).is_some() {
                return None;
            }
            out.push(Cow::Borrowed(line.get(i..end)?));
            if end == b.len() {
                return Some(());
            }
            i = end + 1;
        }
    }
}

/// The quoted field whose text starts at `start` (after its opening quote): its value, and
/// where its closing quote ends.
fn quoted(line: &str, start: usize) -> Option<(Cow<'_, str>, usize)> {
    let b = line.as_bytes();
    let mut owned: Option<String> = None;
    let (mut at, mut piece) = (start, start);
    loop {
        let q = at + memchr::memchr(b'"', b.get(at..)?)?;
        if b.get(q + 1) == Some(&b'"') {
            // A doubled quote stands for one.
            owned
                .get_or_insert_with(String::new)
                .push_str(line.get(piece..=q)?);
            at = q + 2;
            piece = at;
            continue;
        }
        let value = match owned {
            Some(mut o) => {
                o.push_str(line.get(piece..q)?);
                Cow::Owned(o)
            }
            None => Cow::Borrowed(line.get(start..q)?),
        };
        return Some((value, q + 1));
    }
}

/// The first record of a simple text and the text after it.
pub fn header(text: &str) -> Option<(&str, &str)> {
    let mut rest = text;
    loop {
        let (line, tail) = rest.split_once('\n').unwrap_or((rest, ""));
        if !line.is_empty() {
            return Some((line, tail));
        }
        if tail.is_empty() {
            return None;
        }
        rest = tail;
    }
}

/// The text in two parts split after a line break near the middle, when it is at least
/// `min` bytes long; otherwise the whole text and an empty part.
pub fn halves(text: &str, min: usize) -> (&str, &str) {
    if text.len() < min {
        return (text, "");
    }
    let mid = text.len() / 2;
    match memchr::memchr(b'\n', text.as_bytes().get(mid..).unwrap_or_default()) {
        Some(at) => text.split_at(mid + at + 1),
        None => (text, ""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_lines_split_as_the_csv_parser_reads_them() {
        let mut out = Vec::new();
        let line = r#"a@b.co,"Acme, Inc.","say ""hi""",,"""",x"#;
        assert!(quoted_fields(line, b',', &mut out).is_some());
        let mut csv = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(line.as_bytes());
        let record = csv.records().next().unwrap().unwrap();
        assert_eq!(out, record.iter().collect::<Vec<_>>());
        assert!(quoted_fields(r#"a,"b"c,d"#, b',', &mut out).is_none());
        assert!(quoted_fields(r#"a,b"c,d"#, b',', &mut out).is_none());
        assert!(quoted_fields(r#"a,"open"#, b',', &mut out).is_none());
        assert!(quoted_fields(r#""x";"y";"#, b';', &mut out).is_some());
        assert_eq!(out, ["x", "y", ""]);
    }

    #[test]
    fn only_quote_free_utf8_without_carriage_returns_is_simple() {
        assert_eq!(simple_text(b"a,b\n1,2\n"), Some("a,b\n1,2\n"));
        assert!(simple_text(b"a,b\r\n1,2\r\n").is_none());
        assert!(simple_text(b"a,b\n\"1\",2\n").is_some());
        assert!(simple_text(b"\xEF\xBB\xBFa,b\n").is_none());
        assert!(simple_text(b"a,b\n\xff,2\n").is_none());
        let lines: Vec<&str> = records("a,b\n\n1,2\n3,4").collect();
        assert_eq!(lines, ["a,b", "1,2", "3,4"]);
        assert_eq!(header("\n\na,b\n1,2\n"), Some(("a,b", "1,2\n")));
        assert_eq!(header("\n\n"), None);
        assert_eq!(halves("1,2\n3,4\n5,6\n", 4), ("1,2\n3,4\n", "5,6\n"));
        assert_eq!(halves("1,2\n3,4\n", 100), ("1,2\n3,4\n", ""));
    }
}

//! The fast path of file parsing, for the usual upload: valid UTF-8 with no quote character, no
//! carriage return and no byte-order mark. Such a file's records are exactly its non-empty
//! lines and its fields the text between delimiters, as the general (csv) parser reads them,
//! so it is split with memchr-backed searches, several times faster.
//!
//! Only the recognition and the splitting live here; `parse` checks the rows and falls back to
//! the general parser for any other file, or when a line has the wrong number of fields (the
//! general parser words that error).

/// The text of `file` if the fast path can read it.
pub fn simple_text(file: &[u8]) -> Option<&str> {
    if file.starts_with(b"\xEF\xBB\xBF") || memchr::memchr2(b'"', b'\r', file).is_some() {
        return None;
    }
    simdutf8::basic::from_utf8(file).ok()
}

/// The records of a simple text: its lines, without the empty ones (which the general parser
/// skips too).
pub fn records(text: &str) -> impl Iterator<Item = &str> {
    text.split('\n').filter(|line| !line.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_quote_free_utf8_without_carriage_returns_is_simple() {
        assert_eq!(simple_text(b"a,b\n1,2\n"), Some("a,b\n1,2\n"));
        assert!(simple_text(b"a,b\r\n1,2\r\n").is_none());
        assert!(simple_text(b"a,b\n\"1\",2\n").is_none());
        assert!(simple_text(b"\xEF\xBB\xBFa,b\n").is_none());
        assert!(simple_text(b"a,b\n\xff,2\n").is_none());
        let lines: Vec<&str> = records("a,b\n\n1,2\n3,4").collect();
        assert_eq!(lines, ["a,b", "1,2", "3,4"]);
    }
}

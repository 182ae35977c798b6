//! The delimited parser (CSV, TSV, SSV): `csv_core` driven directly over reused buffers, so no
//! row allocates, the physical start line of every record is known, and a quote left open at the
//! end of the file (a truncated file) is detected, which the `csv` crate silently accepts.
//!
//! It must not know about columns the job uses (see `resolve`) nor about values.

use std::io::{BufRead, BufReader};

use csv_core::{ReadRecordResult, Reader, ReaderBuilder};

use super::open::{Ctx, Opened};
use super::text::TextReader;
use super::{ReadOptions, Row, SourceError};

pub(crate) struct Delimited {
    ctx: Ctx,
    input: BufReader<TextReader>,
    core: Reader,
    /// Unescaped bytes of the current record's fields, back to back.
    fields: Vec<u8>,
    /// End offset in `fields` of each field of the current record.
    ends: Vec<usize>,
    /// Number of fields of the current record.
    len: usize,
    /// Physical line where the current record starts.
    line: u64,
    headers: Vec<String>,
    header_line: u64,
    /// The first record of a file without header was read by `open` and is still to be returned.
    pending: bool,
    /// The end of the input was reached and `end_with_newline` has run.
    eof_probed: bool,
    done: bool,
}

impl Delimited {
    pub(crate) fn open(opened: Opened, opts: &ReadOptions) -> Result<Self, SourceError> {
        let (delimiter, quote) = (opts.effective_delimiter(), opts.quote.unwrap_or(b'"'));
        check_option(opts, "delimiter", delimiter, quote)?;
        check_option(opts, "quote", quote, delimiter)?;
        let core = ReaderBuilder::new()
            .delimiter(delimiter)
            .quote(quote)
            .build();
        let mut this = Delimited {
            ctx: opened.ctx,
            input: opened.text,
            core,
            fields: vec![0; 1024],
            ends: vec![0; 64],
            len: 0,
            line: 1,
            headers: Vec::new(),
            header_line: 1,
            pending: false,
            eof_probed: false,
            done: false,
        };
        if !this.read_record()? {
            return Err(SourceError::EmptyFile {
                path: this.ctx.path.clone(),
            });
        }
        if opts.has_header {
            this.header_line = this.line;
            this.headers = this.current_strings();
        } else {
            let Some(names) = &opts.column_names else {
                return Err(SourceError::MissingHeader {
                    path: this.ctx.path.clone(),
                });
            };
            this.headers = names.clone();
            this.pending = true;
        }
        Ok(this)
    }

    pub(crate) fn headers(&self) -> &[String] {
        &self.headers
    }

    pub(crate) fn header_line(&self) -> u64 {
        self.header_line
    }

    /// The next row. A [`SourceError::RaggedRow`] leaves the reader usable (the record was
    /// consumed); after any other error the reader is finished.
    pub(crate) fn next_row(&mut self) -> Result<Option<Row<'_>>, SourceError> {
        if self.pending {
            self.pending = false;
        } else if !self.read_record()? {
            return Ok(None);
        }
        if self.len != self.headers.len() {
            return Err(SourceError::RaggedRow {
                path: self.ctx.path.clone(),
                line: self.line,
                expected: self.headers.len(),
                found: self.len,
            });
        }
        Ok(Some(Row::delimited(
            self.line,
            &self.fields,
            &self.ends[..self.len],
        )))
    }

    fn current_strings(&self) -> Vec<String> {
        let row = Row::delimited(self.line, &self.fields, &self.ends[..self.len]);
        row.fields()
            .map(|f| String::from_utf8_lossy(f).into_owned())
            .collect()
    }

    /// Reads the next record into the buffers; false at the end of the file.
    fn read_record(&mut self) -> Result<bool, SourceError> {
        if self.done {
            return Ok(false);
        }
        let result = self.read_record_inner();
        if result.is_err() {
            self.done = true;
        }
        result
    }

    fn read_record_inner(&mut self) -> Result<bool, SourceError> {
        self.skip_blank_lines()?;
        self.line = self.core.line();
        let (mut outlen, mut endlen) = (0, 0);
        loop {
            let input = match self.input.fill_buf() {
                Ok(input) => input,
                Err(e) => return Err(self.ctx.read_error(e, self.core.line())),
            };
            if input.is_empty() && !self.eof_probed {
                self.eof_probed = true;
                if self.end_with_newline(&mut outlen, &mut endlen)? {
                    return Ok(true);
                }
                continue;
            }
            let (res, nin, nout, nend) =
                self.core
                    .read_record(input, &mut self.fields[outlen..], &mut self.ends[endlen..]);
            self.input.consume(nin);
            outlen += nout;
            endlen += nend;
            match res {
                ReadRecordResult::InputEmpty => {}
                ReadRecordResult::OutputFull => {
                    let grown = self.fields.len() * 2;
                    self.fields.resize(grown, 0);
                }
                ReadRecordResult::OutputEndsFull => {
                    let grown = self.ends.len() * 2;
                    self.ends.resize(grown, 0);
                }
                ReadRecordResult::Record => {
                    self.len = endlen;
                    return Ok(true);
                }
                ReadRecordResult::End => {
                    self.done = true;
                    return Ok(false);
                }
            }
        }
    }

    /// Consumes the line terminators before a record, so that the record's start line is the
    /// line of its first byte (csv_core skips blank lines too, but counts them only later, and
    /// consumes the `\n` of a CRLF only with the next record).
    fn skip_blank_lines(&mut self) -> Result<(), SourceError> {
        loop {
            let buf = match self.input.fill_buf() {
                Ok(buf) => buf,
                Err(e) => return Err(self.ctx.read_error(e, self.core.line())),
            };
            let skip = buf
                .iter()
                .take_while(|b| **b == b'\n' || **b == b'\r')
                .count();
            if skip == 0 {
                return Ok(());
            }
            let newlines = buf[..skip].iter().filter(|b| **b == b'\n').count() as u64;
            let all = skip == buf.len();
            self.input.consume(skip);
            self.core.set_line(self.core.line() + newlines);
            if !all {
                return Ok(());
            }
        }
    }

    /// At the end of the input, feeds the parser one `\n`. csv_core accepts a quote left open
    /// at the end of the file without a word, and has no query for its state (its `Clone` does
    /// not copy the DFA, so a probe on a copy is no option). A newline tells the cases apart: it
    /// ends a record in progress (as the end of the file would), is skipped as a blank line
    /// between records (no output), and is field content inside an open quote (one byte out).
    /// Returns true when it ended a record.
    fn end_with_newline(
        &mut self,
        outlen: &mut usize,
        endlen: &mut usize,
    ) -> Result<bool, SourceError> {
        if self.fields.len() == *outlen {
            self.fields.push(0);
        }
        if self.ends.len() == *endlen {
            self.ends.push(0);
        }
        let (res, _, nout, nend) = self.core.read_record(
            b"\n",
            &mut self.fields[*outlen..],
            &mut self.ends[*endlen..],
        );
        *outlen += nout;
        *endlen += nend;
        match res {
            ReadRecordResult::Record => {
                self.len = *endlen;
                Ok(true)
            }
            _ if nout > 0 => Err(self.unterminated(*outlen, *endlen)),
            _ => Ok(false),
        }
    }

    /// The error for a quote still open at the end of the file, on the line where it opened:
    /// the record's start line plus the newlines inside the fields before the open one.
    fn unterminated(&self, outlen: usize, endlen: usize) -> SourceError {
        let open_field_start = if endlen == 0 {
            0
        } else {
            self.ends[endlen - 1]
        };
        let before = &self.fields[..open_field_start.min(outlen)];
        let newlines = memchr::memchr_iter(b'\n', before).count() as u64;
        SourceError::UnterminatedQuote {
            path: self.ctx.path.clone(),
            line: self.line + newlines,
        }
    }
}

/// The text is UTF-8 by now, so delimiter and quote must be ASCII (a byte >= 0x80 would cut
/// characters in half); a line break cannot be either, and they cannot be the same.
fn check_option(
    opts: &ReadOptions,
    what: &'static str,
    byte: u8,
    other: u8,
) -> Result<(), SourceError> {
    if byte.is_ascii() && byte != b'\n' && byte != b'\r' && byte != other {
        return Ok(());
    }
    Err(SourceError::BadOption {
        path: opts.path.clone(),
        what,
        byte: char::from(byte),
    })
}

#[cfg(test)]
mod tests {
    use super::super::{Format, ReadOptions, SourceError, SourceReader};

    #[test]
    fn non_ascii_or_clashing_delimiter_and_quote_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.csv");
        std::fs::write(&path, "a§b\n1§2\n").unwrap();
        let mut opts = ReadOptions::new(path, Format::Csv);
        opts.delimiter = Some(0xA7);
        let e = SourceReader::open(&opts).err().unwrap();
        assert!(
            matches!(
                e,
                SourceError::BadOption {
                    what: "delimiter",
                    ..
                }
            ),
            "{e}"
        );
        opts.delimiter = Some(b'"');
        assert!(SourceReader::open(&opts).is_err());
        opts.delimiter = None;
        opts.quote = Some(b'\n');
        let e = SourceReader::open(&opts).err().unwrap();
        assert!(
            matches!(e, SourceError::BadOption { what: "quote", .. }),
            "{e}"
        );
    }

    #[test]
    fn long_fields_and_many_columns_grow_the_buffers() {
        let dir = tempfile::tempdir().unwrap();
        let header: Vec<String> = (0..200).map(|i| format!("c{i}")).collect();
        let long = "y".repeat(10_000);
        let mut row: Vec<String> = (0..200).map(|i| i.to_string()).collect();
        row[199] = format!("\"{long}\n{long}\"");
        let path = dir.path().join("wide.csv");
        std::fs::write(&path, format!("{}\n{}\n", header.join(","), row.join(","))).unwrap();
        let mut reader = SourceReader::open(&ReadOptions::new(path, Format::Csv)).unwrap();
        let cols = reader.resolve(&["c0", "c199"]).unwrap();
        let row = reader.next_row().unwrap().unwrap();
        assert_eq!(row.get(&cols[0]).and_then(|f| f.as_str()), Some("0"));
        let last = row.get(&cols[1]).and_then(|f| f.as_str()).unwrap();
        assert_eq!(last.len(), 20_001);
        assert!(reader.next_row().unwrap().is_none());
    }
}

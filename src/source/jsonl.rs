//! The JSON Lines parser: one JSON object per line, blank lines skipped. The line buffer is
//! reused; the parsed object necessarily allocates (serde_json builds a `Map` per row).
//!
//! It must not know about columns the job uses nor about values.

use std::io::{BufRead, BufReader};

use serde_json::{Map, Value};

use super::open::{Ctx, Opened};
use super::text::TextReader;
use super::{Row, SourceError};

pub(crate) struct Jsonl {
    ctx: Ctx,
    input: BufReader<TextReader>,
    /// The current line as read, newline included.
    buf: Vec<u8>,
    /// The trimmed JSON text inside `buf`.
    span: (usize, usize),
    object: Map<String, Value>,
    /// Lines read so far; the current row is on this line.
    line: u64,
    headers: Vec<String>,
    /// The first row was read by `open` (for `headers`) and is still to be returned.
    pending: bool,
    /// Broken lines `open` passed over before the first object, returned first as row errors.
    skipped: std::collections::VecDeque<SourceError>,
    done: bool,
}

/// Broken lines `open` passes over looking for the first object: beyond that, the file is not
/// JSON Lines (or not this encoding) and is refused as a whole.
const MAX_LEADING_BROKEN: usize = 100;

impl Jsonl {
    pub(crate) fn open(opened: Opened) -> Result<Self, SourceError> {
        let mut this = Jsonl {
            ctx: opened.ctx,
            input: opened.text,
            buf: Vec::with_capacity(1024),
            span: (0, 0),
            object: Map::new(),
            line: 0,
            headers: Vec::new(),
            pending: true,
            skipped: std::collections::VecDeque::new(),
            done: false,
        };
        // A broken line is one invalid row wherever it is, the first line included: the
        // headers come from the first object instead.
        loop {
            match this.read_object() {
                Ok(true) => break,
                Ok(false) => {
                    return Err(this.skipped.pop_front().unwrap_or(SourceError::EmptyFile {
                        path: this.ctx.path.clone(),
                    }));
                }
                Err(e) if e.is_row_error() && this.skipped.len() < MAX_LEADING_BROKEN => {
                    this.skipped.push_back(e);
                }
                Err(e) => return Err(this.skipped.pop_front().unwrap_or(e)),
            }
        }
        this.headers = this.object.keys().cloned().collect();
        Ok(this)
    }

    /// The top-level keys of the first row (JSON Lines has no header; rows may differ).
    pub(crate) fn headers(&self) -> &[String] {
        &self.headers
    }

    /// The next row. [`SourceError::InvalidJson`] and [`SourceError::NotAnObject`] leave the
    /// reader usable (the line was consumed); after any other error the reader is finished.
    pub(crate) fn next_row(&mut self) -> Result<Option<Row<'_>>, SourceError> {
        if let Some(e) = self.skipped.pop_front() {
            return Err(e);
        }
        if self.pending {
            self.pending = false;
        } else if !self.read_object()? {
            return Ok(None);
        }
        let raw = &self.buf[self.span.0..self.span.1];
        Ok(Some(Row::json(self.line, &self.object, raw)))
    }

    /// Reads the next non-blank line and parses it; false at the end of the file.
    fn read_object(&mut self) -> Result<bool, SourceError> {
        if !self.read_line()? {
            return Ok(false);
        }
        let text = &self.buf[self.span.0..self.span.1];
        match serde_json::from_slice::<Value>(text) {
            Ok(Value::Object(object)) => {
                self.object = object;
                Ok(true)
            }
            Ok(other) => Err(SourceError::NotAnObject {
                path: self.ctx.path.clone(),
                line: self.line,
                found: kind(&other),
            }),
            Err(e) => Err(self.invalid_json(&e)),
        }
    }

    /// Reads lines until one is not blank; sets `span` to its trimmed text.
    fn read_line(&mut self) -> Result<bool, SourceError> {
        while !self.done {
            self.buf.clear();
            let n = match self.input.read_until(b'\n', &mut self.buf) {
                Ok(n) => n,
                Err(e) => {
                    self.done = true;
                    return Err(self.ctx.read_error(e, self.line + 1));
                }
            };
            if n == 0 {
                self.done = true;
                return Ok(false);
            }
            self.line += 1;
            let start = self.buf.iter().take_while(|b| is_space(**b)).count();
            let end = self.buf.len()
                - self.buf[start..]
                    .iter()
                    .rev()
                    .take_while(|b| is_space(**b))
                    .count();
            if start < end {
                self.span = (start, end);
                return Ok(true);
            }
        }
        Ok(false)
    }

    fn invalid_json(&self, e: &serde_json::Error) -> SourceError {
        let full = e.to_string();
        // serde_json appends " at line L column C"; the position is reported separately.
        let message = match full.rsplit_once(" at line ") {
            Some((msg, _)) => msg.to_string(),
            None => full,
        };
        let message = if e.is_eof() {
            format!("{message} (the line ends inside a JSON value: truncated line?)")
        } else {
            message
        };
        SourceError::InvalidJson {
            path: self.ctx.path.clone(),
            line: self.line,
            column: e.column() as u64 + self.span.0 as u64,
            message,
        }
    }
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

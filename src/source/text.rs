//! The text layer: turns the (decompressed) bytes of a source into UTF-8 for the parsers.
//!
//! UTF-8 input (the default) is validated chunk by chunk and passed through without decoding;
//! a UTF-8 BOM is dropped and a UTF-16 BOM switches to decoding UTF-16. Any other encoding is
//! decoded with `encoding_rs`. The layer counts the newlines it hands out and the input bytes it
//! consumes, so an invalid byte, or an error of the layer below (a garbled gzip stream), is
//! reported with its exact byte offset and physical line. Errors travel up through `io::Read` as
//! a [`TextError`] inside an `io::Error`; [`classify`] turns them into [`SourceError`]s.
//!
//! It must not parse records: it knows bytes and lines only.

use std::io::{self, BufRead, Read};
use std::path::Path;

use encoding_rs::{DecoderResult, Encoding, UTF_8};

use super::SourceError;

/// An error found by the text layer, with the position where it was found.
#[derive(Debug, thiserror::Error)]
pub(crate) enum TextError {
    #[error("invalid UTF-8 at byte {offset} (line {line})")]
    InvalidUtf8 { offset: u64, line: u64 },
    #[error("malformed {encoding} at byte {offset} (line {line})")]
    Malformed {
        offset: u64,
        line: u64,
        encoding: &'static str,
    },
    #[error("{source} (line {line})")]
    Inner {
        offset: u64,
        line: u64,
        source: io::Error,
    },
}

enum Mode {
    /// Not started: the BOM has not been looked at yet.
    Sniff(&'static Encoding),
    /// UTF-8 passed through after validation.
    Utf8,
    /// Any other encoding (or UTF-16 found by its BOM), decoded to UTF-8.
    Decode(encoding_rs::Decoder),
    /// The decoder saw the end of the input; nothing more to give.
    Finished,
}

/// A `Read` that yields valid UTF-8 whatever the source's encoding.
pub(crate) struct TextReader {
    inner: Box<dyn BufRead>,
    mode: Mode,
    /// Input bytes consumed so far (the offset in the decompressed file).
    consumed: u64,
    /// Newlines handed out so far.
    lines: u64,
    /// The start of a UTF-8 sequence cut by the end of the previous chunk.
    carry: [u8; 4],
    carry_len: usize,
}

impl TextReader {
    pub(crate) fn new(inner: Box<dyn BufRead>, encoding: &'static Encoding) -> Self {
        TextReader {
            inner,
            mode: Mode::Sniff(encoding),
            consumed: 0,
            lines: 0,
            carry: [0; 4],
            carry_len: 0,
        }
    }

    fn fail(&self, err: TextError) -> io::Error {
        io::Error::new(io::ErrorKind::InvalidData, err)
    }

    fn inner_error(&self, source: io::Error) -> io::Error {
        let line = self.lines + 1;
        self.fail(TextError::Inner {
            offset: self.consumed,
            line,
            source,
        })
    }

    /// Looks at the first bytes: drops a UTF-8 BOM, or picks a decoder.
    fn sniff(&mut self, encoding: &'static Encoding) -> io::Result<()> {
        let head = match self.inner.fill_buf() {
            Ok(head) => head,
            Err(e) => return Err(self.inner_error(e)),
        };
        let utf16_bom = head.starts_with(&[0xFF, 0xFE]) || head.starts_with(&[0xFE, 0xFF]);
        if encoding == UTF_8 && !utf16_bom {
            if head.starts_with(&[0xEF, 0xBB, 0xBF]) {
                self.inner.consume(3);
                self.consumed = 3;
            }
            self.mode = Mode::Utf8;
        } else {
            // encoding_rs sniffs the BOM itself (and a BOM wins over the label, as in WHATWG).
            self.mode = Mode::Decode(encoding.new_decoder());
        }
        Ok(())
    }

    fn count_lines(&mut self, out: &[u8]) {
        self.lines += memchr::memchr_iter(b'\n', out).count() as u64;
    }

    fn read_utf8(&mut self, out: &mut [u8]) -> io::Result<usize> {
        loop {
            let carried = self.carry_len;
            out[..carried].copy_from_slice(&self.carry[..carried]);
            let src = match self.inner.fill_buf() {
                Ok(src) => src,
                Err(e) => return Err(self.inner_error(e)),
            };
            if src.is_empty() {
                if carried > 0 {
                    // The file ends in the middle of a multi-byte sequence.
                    return Err(self.invalid_utf8(out, 0, self.consumed - carried as u64));
                }
                return Ok(0);
            }
            let n = src.len().min(out.len() - carried);
            out[carried..carried + n].copy_from_slice(&src[..n]);
            self.inner.consume(n);
            self.consumed += n as u64;
            let total = carried + n;
            let base = self.consumed - total as u64;
            self.carry_len = 0;
            match std::str::from_utf8(&out[..total]) {
                Ok(_) => {
                    self.count_lines(&out[..total]);
                    return Ok(total);
                }
                Err(e) if e.error_len().is_some() => {
                    let valid = e.valid_up_to();
                    return Err(self.invalid_utf8(out, valid, base + valid as u64));
                }
                Err(e) => {
                    // A sequence cut by the chunk end: keep it for the next read.
                    let valid = e.valid_up_to();
                    self.carry_len = total - valid;
                    self.carry[..self.carry_len].copy_from_slice(&out[valid..total]);
                    if valid > 0 {
                        self.count_lines(&out[..valid]);
                        return Ok(valid);
                    }
                }
            }
        }
    }

    fn invalid_utf8(&self, out: &[u8], valid: usize, offset: u64) -> io::Error {
        let line = self.lines + memchr::memchr_iter(b'\n', &out[..valid]).count() as u64 + 1;
        self.fail(TextError::InvalidUtf8 { offset, line })
    }

    fn read_decoded(&mut self, out: &mut [u8]) -> io::Result<usize> {
        loop {
            let Mode::Decode(decoder) = &mut self.mode else {
                return Ok(0);
            };
            let src = match self.inner.fill_buf() {
                Ok(src) => src,
                Err(e) => return Err(self.inner_error(e)),
            };
            let last = src.is_empty();
            let (result, read, written) =
                decoder.decode_to_utf8_without_replacement(src, out, last);
            let encoding = decoder.encoding().name();
            self.inner.consume(read);
            self.consumed += read as u64;
            match result {
                DecoderResult::Malformed(bad, extra) => {
                    let offset = self.consumed - u64::from(extra) - u64::from(bad);
                    let line =
                        self.lines + memchr::memchr_iter(b'\n', &out[..written]).count() as u64 + 1;
                    let err = TextError::Malformed {
                        offset,
                        line,
                        encoding,
                    };
                    return Err(self.fail(err));
                }
                DecoderResult::InputEmpty if last => self.mode = Mode::Finished,
                DecoderResult::InputEmpty if written == 0 => continue,
                DecoderResult::InputEmpty | DecoderResult::OutputFull => {}
            }
            self.count_lines(&out[..written]);
            if written == 0 && !matches!(self.mode, Mode::Finished) {
                // Only possible with an output buffer too small for one character.
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "read buffer too small",
                ));
            }
            return Ok(written);
        }
    }
}

impl Read for TextReader {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if out.len() < 8 {
            // The parsers always read through a large BufReader; a tiny buffer is a bug.
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "read buffer too small",
            ));
        }
        if let Mode::Sniff(encoding) = self.mode {
            self.sniff(encoding)?;
        }
        match self.mode {
            Mode::Utf8 => self.read_utf8(out),
            Mode::Decode(_) => self.read_decoded(out),
            Mode::Sniff(_) | Mode::Finished => Ok(0),
        }
    }
}

/// Turns an I/O error coming up through the text layer into a [`SourceError`].
/// `line` is the parser's current line, used when the error carries no position.
pub(crate) fn classify(path: &Path, gzip: bool, err: io::Error, line: u64) -> SourceError {
    let path = path.to_path_buf();
    if !err.get_ref().is_some_and(|e| e.is::<TextError>()) {
        return SourceError::Io {
            path,
            line,
            source: err,
        };
    }
    let text = match err.into_inner() {
        Some(inner) => inner.downcast::<TextError>(),
        None => {
            let source = io::Error::other("read error");
            return SourceError::Io { path, line, source };
        }
    };
    match text.map(|b| *b) {
        Ok(TextError::InvalidUtf8 { offset, line }) => {
            SourceError::InvalidUtf8 { path, line, offset }
        }
        Ok(TextError::Malformed {
            offset,
            line,
            encoding,
        }) => SourceError::Malformed {
            path,
            line,
            offset,
            encoding,
        },
        Ok(TextError::Inner {
            offset,
            line,
            source,
        }) => {
            let corrupt = matches!(
                source.kind(),
                io::ErrorKind::InvalidInput
                    | io::ErrorKind::InvalidData
                    | io::ErrorKind::UnexpectedEof
            );
            if gzip && corrupt {
                SourceError::Gzip {
                    path,
                    line,
                    offset,
                    source,
                }
            } else {
                SourceError::Io { path, line, source }
            }
        }
        Err(other) => SourceError::Io {
            path,
            line,
            source: io::Error::other(other),
        },
    }
}

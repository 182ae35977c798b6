//! The text layer: turns the (decompressed) bytes of a source into UTF-8 for the parsers.
//!
//! UTF-8 input (the default) is validated chunk by chunk and passed through without decoding;
//! a UTF-8 BOM is dropped and a UTF-16 BOM switches to decoding UTF-16. Any other encoding is
//! decoded with `encoding_rs`. The layer counts the newlines it hands out and the input bytes it
//! consumes, so an invalid byte, or an error of the layer below (a garbled gzip stream), is
//! reported with its exact byte offset and physical line. Errors travel up through `io::Read` as
//! a [`TextError`] inside an `io::Error`; `error::classify` turns them into `SourceError`s.
//!
//! It must not parse records: it knows bytes and lines only.

use std::io::{self, BufRead, Read};

use encoding_rs::{DecoderResult, Encoding, UTF_8};

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
    inner: Box<dyn BufRead + Send>,
    mode: Mode,
    /// Input bytes consumed so far (the offset in the decompressed file).
    consumed: u64,
    /// Newlines handed out so far.
    lines: u64,
    /// The start of a UTF-8 sequence cut by the end of the previous chunk.
    carry: [u8; 4],
    carry_len: usize,
    /// Output decoded for a caller's buffer that was too small, served first by the next read.
    spill: [u8; SPILL],
    spill_range: (usize, usize),
}

/// Reads into buffers shorter than this go through `spill` (a UTF-8 character needs 4 bytes).
const SPILL: usize = 16;

impl TextReader {
    pub(crate) fn new(inner: Box<dyn BufRead + Send>, encoding: &'static Encoding) -> Self {
        TextReader {
            inner,
            mode: Mode::Sniff(encoding),
            consumed: 0,
            lines: 0,
            carry: [0; 4],
            carry_len: 0,
            spill: [0; SPILL],
            spill_range: (0, 0),
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
            // A direct read: BufReader hands reads larger than its buffer straight to the file,
            // so the bytes are copied once, into the parser's buffer.
            let n = match self.inner.read(&mut out[carried..]) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(self.inner_error(e)),
            };
            if n == 0 {
                if carried > 0 {
                    // The file ends in the middle of a multi-byte sequence.
                    return Err(self.invalid_utf8(out, 0, self.consumed - carried as u64));
                }
                return Ok(0);
            }
            self.consumed += n as u64;
            let total = carried + n;
            let base = self.consumed - total as u64;
            self.carry_len = 0;
            // simdutf8 (same results as std, several times faster on text with accents).
            match simdutf8::compat::from_utf8(&out[..total]) {
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
                    let offset = self
                        .consumed
                        .saturating_sub(u64::from(extra) + u64::from(bad));
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

impl TextReader {
    fn read_text(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if let Mode::Sniff(encoding) = self.mode {
            self.sniff(encoding)?;
        }
        match self.mode {
            Mode::Utf8 => self.read_utf8(out),
            Mode::Decode(_) => self.read_decoded(out),
            Mode::Sniff(_) | Mode::Finished => Ok(0),
        }
    }

    /// Serves a small read from `spill`, refilling it first when it is empty.
    fn read_small(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.spill_range.0 == self.spill_range.1 {
            let mut spill = [0u8; SPILL];
            let n = self.read_text(&mut spill)?;
            self.spill = spill;
            self.spill_range = (0, n);
        }
        let (start, end) = self.spill_range;
        let n = out.len().min(end - start);
        out[..n].copy_from_slice(&self.spill[start..start + n]);
        self.spill_range.0 += n;
        Ok(n)
    }
}

impl Read for TextReader {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if out.len() < SPILL || self.spill_range.0 < self.spill_range.1 {
            // The parsers read through a large BufReader; small reads come from other callers.
            return self.read_small(out);
        }
        self.read_text(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SourceError;
    use std::io::{BufReader, Cursor};

    /// A text reader over `bytes` whose input arrives `chunk` bytes at a time.
    fn reader(bytes: &[u8], chunk: usize, label: &str) -> TextReader {
        let inner = BufReader::with_capacity(chunk, Cursor::new(bytes.to_vec()));
        let encoding = Encoding::for_label(label.as_bytes()).unwrap_or(UTF_8);
        TextReader::new(Box::new(inner), encoding)
    }

    fn read_all(mut r: TextReader) -> io::Result<String> {
        let mut out = String::new();
        r.read_to_string(&mut out)?;
        Ok(out)
    }

    fn text_error(err: io::Error) -> TextError {
        match err.into_inner().map(|e| e.downcast::<TextError>()) {
            Some(Ok(e)) => *e,
            other => panic!("not a text error: {other:?}"),
        }
    }

    #[test]
    fn utf8_cut_by_every_chunk_size_reads_whole() {
        let text = "añb€c😀d\n".repeat(5);
        for chunk in 1..9 {
            let got = read_all(reader(text.as_bytes(), chunk, "utf-8")).unwrap();
            assert_eq!(got, text, "chunk {chunk}");
        }
    }

    #[test]
    fn invalid_utf8_reports_offset_and_line() {
        let err = read_all(reader(b"ab\ncd\n\xe9f", 4, "utf-8")).unwrap_err();
        assert!(matches!(
            text_error(err),
            TextError::InvalidUtf8 { offset: 6, line: 3 }
        ));
    }

    #[test]
    fn a_sequence_cut_by_the_end_of_the_file_is_invalid() {
        let err = read_all(reader(b"ab\n\xe2\x82", 2, "utf-8")).unwrap_err();
        assert!(matches!(
            text_error(err),
            TextError::InvalidUtf8 { offset: 3, line: 2 }
        ));
    }

    #[test]
    fn the_utf8_bom_is_dropped_and_counted_in_offsets() {
        let err = read_all(reader(b"\xef\xbb\xbfa\xff", 64, "utf-8")).unwrap_err();
        assert!(matches!(
            text_error(err),
            TextError::InvalidUtf8 { offset: 4, line: 1 }
        ));
        assert_eq!(
            read_all(reader(b"\xef\xbb\xbfa", 64, "utf-8")).unwrap(),
            "a"
        );
    }

    #[test]
    fn windows_1252_decodes_in_small_chunks() {
        let got = read_all(reader(b"caf\xe9 \x80\n", 1, "windows-1252")).unwrap();
        assert_eq!(got, "café €\n");
    }

    #[test]
    fn malformed_shift_jis_reports_offset_and_line() {
        // 0x82 starts a two-byte sequence; 0x20 cannot follow it.
        let err = read_all(reader(b"ok\nx\x82 y", 64, "shift_jis")).unwrap_err();
        let TextError::Malformed {
            offset,
            line,
            encoding,
        } = text_error(err)
        else {
            panic!("expected Malformed");
        };
        assert_eq!((offset, line, encoding), (4, 2, "Shift_JIS"));
    }

    #[test]
    fn errors_below_carry_their_position() {
        struct Failing(usize);
        impl Read for Failing {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                if self.0 == 0 {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        "corrupt deflate",
                    ));
                }
                self.0 = 0;
                buf[..4].copy_from_slice(b"a\nb\n");
                Ok(4)
            }
        }
        let inner = BufReader::with_capacity(16, Failing(1));
        let err = read_all(TextReader::new(Box::new(inner), UTF_8)).unwrap_err();
        let e = crate::source::error::classify(std::path::Path::new("f.csv.gz"), true, err, 0);
        assert!(
            matches!(
                e,
                SourceError::Gzip {
                    line: 3,
                    offset: 4,
                    ..
                }
            ),
            "{e}"
        );
    }
}

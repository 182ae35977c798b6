//! Opening a source file: the encoding label, gzip detection and the stack of readers below the
//! parsers (file with a byte counter for progress, gzip decoder, text layer).
//!
//! It must not read more than the first few bytes: everything else is streamed by the parsers.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use encoding_rs::{Encoding, REPLACEMENT, UTF_8};
use flate2::bufread::MultiGzDecoder;

use super::text::TextReader;
use super::{ReadOptions, SourceError};

/// Buffer size of the parsers' reader; the layers below read in chunks of this size.
pub(crate) const CHUNK: usize = 64 * 1024;
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// What the parsers need to report errors: the file and whether it is gzip.
#[derive(Debug, Clone)]
pub(crate) struct Ctx {
    pub(crate) path: PathBuf,
    pub(crate) gzip: bool,
}

impl Ctx {
    /// Turns an error coming up through the readers into a [`SourceError`].
    pub(crate) fn read_error(&self, err: io::Error, line: u64) -> SourceError {
        super::error::classify(&self.path, self.gzip, err, line)
    }
}

/// An opened source: UTF-8 text to parse, plus what progress reporting needs.
pub(crate) struct Opened {
    pub(crate) text: BufReader<TextReader>,
    pub(crate) ctx: Ctx,
    /// Bytes read from the file so far (compressed bytes for gzip).
    pub(crate) read: Arc<AtomicU64>,
    /// The file's size, when the file system knows it.
    pub(crate) size: Option<u64>,
}

/// Counts the bytes read from the file, for a progress bar.
struct Counting<R> {
    inner: R,
    read: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// Looks up a WHATWG encoding label; `None` means UTF-8.
fn encoding(path: &Path, label: Option<&str>) -> Result<&'static Encoding, SourceError> {
    let Some(label) = label else {
        return Ok(UTF_8);
    };
    match Encoding::for_label(label.trim().as_bytes()) {
        // The "replacement" encoding decodes everything to U+FFFD: never what a user wants.
        Some(enc) if enc != REPLACEMENT => Ok(enc),
        _ => Err(SourceError::UnknownEncoding {
            path: path.to_path_buf(),
            label: label.to_string(),
        }),
    }
}

fn has_gz_extension(path: &Path) -> bool {
    path.extension()
        .is_some_and(|ext| ext.eq_ignore_ascii_case("gz"))
}

/// Opens the file and stacks the readers the options ask for.
pub(crate) fn open(opts: &ReadOptions) -> Result<Opened, SourceError> {
    let path = opts.path.clone();
    let encoding = encoding(&path, opts.encoding.as_deref())?;
    let file = File::open(&path).map_err(|source| SourceError::Open {
        path: path.clone(),
        source,
    })?;
    let size = file.metadata().ok().map(|m| m.len());
    let read = Arc::new(AtomicU64::new(0));
    let counting = Counting {
        inner: file,
        read: Arc::clone(&read),
    };
    // Smaller than CHUNK so that the text layer's large reads bypass this buffer (no extra copy).
    let mut raw = BufReader::with_capacity(CHUNK / 2, counting);
    let head = raw.fill_buf().map_err(|source| SourceError::Io {
        path: path.clone(),
        line: 1,
        source,
    })?;
    if head.is_empty() {
        return Err(SourceError::EmptyFile { path });
    }
    let magic = head.starts_with(&GZIP_MAGIC);
    let gzip = match opts.gzip {
        Some(true) => true,
        Some(false) => false,
        None => magic || has_gz_extension(&path),
    };
    if gzip && !magic {
        return Err(SourceError::NotGzip { path });
    }
    let inner: Box<dyn BufRead + Send> = if gzip {
        Box::new(BufReader::with_capacity(
            CHUNK / 2,
            MultiGzDecoder::new(raw),
        ))
    } else {
        Box::new(raw)
    };
    let text = BufReader::with_capacity(CHUNK, TextReader::new(inner, encoding));
    Ok(Opened {
        text,
        ctx: Ctx { path, gzip },
        read,
        size,
    })
}

//! The SHA-256 digest of a source file, streamed, so a saved plan can pin the exact file it was
//! made from. It hashes the bytes on disk (compressed bytes for gzip), nothing else.

use std::fmt::Write as _;
use std::fs::File;
use std::io::{ErrorKind, Read};
use std::path::Path;

use sha2::{Digest, Sha256};

use super::SourceError;

/// The lowercase hex SHA-256 of the file's bytes.
pub fn file_digest(path: &Path) -> Result<String, SourceError> {
    let mut file = File::open(path).map_err(|source| SourceError::Open {
        path: path.to_path_buf(),
        source,
    })?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(source) => {
                return Err(SourceError::Digest {
                    path: path.to_path_buf(),
                    source,
                });
            }
        };
        hasher.update(&buf[..n]);
    }
    let mut hex = String::with_capacity(64);
    for byte in hasher.finalize() {
        let _ = write!(hex, "{byte:02x}");
    }
    Ok(hex)
}

//! Errors of the sandbox server: start-up (bind, restore, seed file) and persistence.

use std::path::PathBuf;

use crate::sandbox::core::EmulatorError;

#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot use the sandbox data directory {path}: {source}")]
    DataDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write the sandbox state {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the sandbox state {path} is unreadable: {message}")]
    Corrupt { path: PathBuf, message: String },
    #[error("cannot read the seed file {path}: {source}")]
    SeedFile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid seed: {0}")]
    Seed(String),
    #[error(transparent)]
    Emulator(#[from] EmulatorError),
    #[error("waiting for Ctrl-C failed: {0}")]
    Signal(std::io::Error),
}

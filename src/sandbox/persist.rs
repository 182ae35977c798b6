//! Persistence of the emulators under `--data DIR`: one file per emulator, `{name}.json`,
//! holding its `snapshot()`.
//!
//! Files are written atomically (temporary file, fsync, rename, fsync of the directory), so a
//! SIGKILL at any moment leaves either the previous or the new snapshot, never a torn one. The
//! server writes an emulator's file after each mutating request to it (before the answer leaves)
//! and when the emulator marks itself dirty (a job finished in the background). Without a data
//! directory every call here is a no-op.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::sandbox::core::{Emulator, Shared};
use crate::sandbox::error::SandboxError;

const FORMAT: u64 = 1;

/// Writes and restores the emulators' snapshots.
pub struct Persister {
    dir: Option<PathBuf>,
    emulators: Vec<Arc<dyn Emulator>>,
    slots: BTreeMap<&'static str, Slot>,
}

/// Write ordering of one emulator. A snapshot gets its sequence number under `taking`; the
/// file is written under `written` (a plain mutex held inside the blocking task, so it holds
/// even if the awaiting task is aborted) and only when no newer snapshot was written already:
/// an older snapshot never replaces a newer one.
#[derive(Default)]
struct Slot {
    taking: tokio::sync::Mutex<u64>,
    written: Arc<std::sync::Mutex<u64>>,
}

impl Persister {
    pub fn new(dir: Option<PathBuf>, emulators: Vec<Arc<dyn Emulator>>) -> Self {
        let slots = emulators
            .iter()
            .map(|e| (e.name(), Slot::default()))
            .collect();
        Self {
            dir,
            emulators,
            slots,
        }
    }

    pub fn enabled(&self) -> bool {
        self.dir.is_some()
    }

    /// Creates the directory and restores every emulator that has a file in it.
    pub fn restore_all(&self) -> Result<(), SandboxError> {
        let Some(dir) = &self.dir else { return Ok(()) };
        std::fs::create_dir_all(dir).map_err(|source| SandboxError::DataDir {
            path: dir.clone(),
            source,
        })?;
        for emulator in &self.emulators {
            let path = file_of(dir, emulator.name());
            let text = match std::fs::read(&path) {
                Ok(t) => t,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(source) => return Err(SandboxError::DataDir { path, source }),
            };
            let corrupt = |message: String| SandboxError::Corrupt {
                path: path.clone(),
                message,
            };
            let mut doc: Value =
                serde_json::from_slice(&text).map_err(|e| corrupt(e.to_string()))?;
            if doc.get("format").and_then(Value::as_u64) != Some(FORMAT) {
                return Err(corrupt(format!("unknown format (expected {FORMAT})")));
            }
            let snapshot = doc
                .get_mut("snapshot")
                .map(Value::take)
                .unwrap_or(Value::Null);
            emulator.restore(snapshot)?;
        }
        Ok(())
    }

    /// Writes the snapshot of the emulator called `name`.
    pub async fn persist(&self, name: &str) -> Result<(), SandboxError> {
        let Some(dir) = &self.dir else { return Ok(()) };
        let Some(emulator) = self.emulators.iter().find(|e| e.name() == name) else {
            return Ok(());
        };
        let Some(slot) = self.slots.get(name) else {
            return Ok(());
        };
        let (seq, doc) = {
            let mut taken = slot.taking.lock().await;
            *taken += 1;
            let doc = json!({"format": FORMAT, "provider": name, "snapshot": emulator.snapshot()});
            (*taken, doc)
        };
        let path = file_of(dir, name);
        let target = path.clone();
        let written = slot.written.clone();
        let write = move || {
            let mut last = match written.lock() {
                Ok(l) => l,
                Err(poisoned) => poisoned.into_inner(),
            };
            if *last >= seq {
                return Ok(());
            }
            write_atomic(&target, &doc)?;
            *last = seq;
            Ok(())
        };
        tokio::task::spawn_blocking(write)
            .await
            .map_err(|e| SandboxError::Write {
                path: path.clone(),
                source: std::io::Error::other(e),
            })?
            .map_err(|source| SandboxError::Write { path, source })
    }

    /// Writes every emulator's snapshot (seed, reset, shutdown).
    pub async fn persist_all(&self) -> Result<(), SandboxError> {
        for emulator in &self.emulators {
            self.persist(emulator.name()).await?;
        }
        Ok(())
    }

    /// Writes the snapshots of emulators marked dirty outside requests, until the task is
    /// aborted.
    pub async fn run_background(self: Arc<Self>, shared: Arc<Shared>) {
        loop {
            shared.dirty_changed().await;
            for emulator in &self.emulators {
                if shared.take_dirty(emulator.name())
                    && let Err(e) = self.persist(emulator.name()).await
                {
                    tracing::error!("sandbox: {e}");
                }
            }
        }
    }
}

fn file_of(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!("{name}.json"))
}

/// Temporary file, fsync, rename over the target, fsync of the directory.
fn write_atomic(path: &Path, doc: &Value) -> std::io::Result<()> {
    use std::io::Write;
    let tmp = path.with_extension("json.tmp");
    let mut file = std::fs::File::create(&tmp)?;
    let mut writer = std::io::BufWriter::new(&mut file);
    serde_json::to_writer(&mut writer, doc).map_err(std::io::Error::other)?;
    writer.flush()?;
    drop(writer);
    file.sync_all()?;
    std::fs::rename(&tmp, path)?;
    if let Some(parent) = path.parent() {
        std::fs::File::open(parent)?.sync_all()?;
    }
    Ok(())
}

/// State of the persistence middleware of one provider's API routes.
#[derive(Clone)]
pub struct PersistLayerState {
    pub persister: Arc<Persister>,
    pub shared: Arc<Shared>,
    pub provider: &'static str,
}

/// After a mutating request (or any request that changed the emulator), writes its snapshot
/// before the answer is sent: an acknowledged change is on disk.
pub async fn after_request(
    State(st): State<PersistLayerState>,
    req: Request,
    next: Next,
) -> Response {
    let mutating = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    let resp = next.run(req).await;
    let dirty = st.shared.take_dirty(st.provider);
    if st.persister.enabled()
        && (mutating || dirty)
        && let Err(e) = st.persister.persist(st.provider).await
    {
        tracing::error!("sandbox: {e}");
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            "sandbox could not persist its state",
        )
            .into_response();
    }
    resp
}

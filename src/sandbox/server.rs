//! Starting and stopping the sandbox: `start` (any address, optional data directory and seed
//! file), `start_embedded` (127.0.0.1:0, used by plan/apply for `sandbox` connections) and
//! `run_until_ctrl_c` (the `bulkspec sandbox` command).
//!
//! It assembles the four emulators with the server layers (stats, faults, persistence) and the
//! control routes; it holds no provider logic and prints nothing (it logs with `tracing`).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::Router;
use axum::middleware::from_fn_with_state;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::sandbox::accept;
use crate::sandbox::control::{self, ControlState};
use crate::sandbox::core::{Emulator, SandboxConfig, Shared};
use crate::sandbox::dotdigital::Dotdigital;
use crate::sandbox::eloqua::Eloqua;
use crate::sandbox::error::SandboxError;
use crate::sandbox::faults::{self, FaultLayerState, Faults};
use crate::sandbox::marketo::Marketo;
use crate::sandbox::mypreferences::Mypreferences;
use crate::sandbox::persist::{self, PersistLayerState, Persister};
use crate::sandbox::stats::{self, Stats, StatsLayerState};

/// How to start a sandbox.
#[derive(Debug, Clone)]
pub struct SandboxOptions {
    /// Address to listen on; port 0 picks a free port.
    pub listen: SocketAddr,
    /// Directory holding one snapshot file per emulator; `None` keeps everything in memory.
    pub data_dir: Option<PathBuf>,
    pub config: SandboxConfig,
    /// A JSON seed (the body of `POST /_sandbox/seed`) applied after restoring the data.
    pub seed_file: Option<PathBuf>,
}

impl Default for SandboxOptions {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            data_dir: None,
            config: SandboxConfig::default(),
            seed_file: None,
        }
    }
}

/// A sandbox serving in the background of the current tokio runtime.
pub struct RunningSandbox {
    addr: SocketAddr,
    shutdown_tx: watch::Sender<bool>,
    server: Option<JoinHandle<()>>,
    background: JoinHandle<()>,
    persister: Arc<Persister>,
}

impl RunningSandbox {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://ADDR`, without a trailing slash.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting, lets open requests finish (a few seconds at most), writes every
    /// snapshot once more.
    pub async fn shutdown(mut self) -> Result<(), SandboxError> {
        let _ = self.shutdown_tx.send(true);
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
        self.background.abort();
        self.persister.persist_all().await
    }
}

impl Drop for RunningSandbox {
    fn drop(&mut self) {
        let _ = self.shutdown_tx.send(true);
        self.background.abort();
    }
}

/// Starts a sandbox with these options.
pub async fn start(opts: SandboxOptions) -> Result<RunningSandbox, SandboxError> {
    let shared = Shared::new(opts.config.clone());
    let emulators: Vec<Arc<dyn Emulator>> = vec![
        Marketo::new(shared.clone()),
        Eloqua::new(shared.clone()),
        Dotdigital::new(shared.clone()),
        Mypreferences::new(shared.clone()),
    ];
    let persister = Arc::new(Persister::new(opts.data_dir.clone(), emulators.clone()));
    persister.restore_all()?;
    let stats = Arc::new(Stats::default());
    let faults = Arc::new(Faults::default());
    let ctl = ControlState {
        shared: shared.clone(),
        emulators: emulators.clone(),
        stats: stats.clone(),
        faults: faults.clone(),
        persister: persister.clone(),
    };
    if let Some(path) = &opts.seed_file {
        let text = std::fs::read(path).map_err(|source| SandboxError::SeedFile {
            path: path.clone(),
            source,
        })?;
        let seed = serde_json::from_slice(&text).map_err(|e| SandboxError::Seed(e.to_string()))?;
        control::apply_seed(&ctl, &seed)?;
        persister.persist_all().await?;
    }
    let app = build_router(&ctl);
    let listener = TcpListener::bind(opts.listen)
        .await
        .map_err(|source| SandboxError::Bind {
            addr: opts.listen,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| SandboxError::Bind {
        addr: opts.listen,
        source,
    })?;
    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let server = tokio::spawn(accept::serve(
        listener,
        app,
        Arc::new(emulators),
        shutdown_rx,
    ));
    let background = tokio::spawn(persister.clone().run_background(shared));
    Ok(RunningSandbox {
        addr,
        shutdown_tx,
        server: Some(server),
        background,
        persister,
    })
}

/// The in-process sandbox of plan/apply: 127.0.0.1 on a free port, data kept under `data_dir`
/// (e.g. `.bulkspec/sandbox/`) so a later run finds what an earlier one imported.
pub async fn start_embedded(data_dir: &Path) -> Result<RunningSandbox, SandboxError> {
    start(SandboxOptions {
        data_dir: Some(data_dir.to_path_buf()),
        ..SandboxOptions::default()
    })
    .await
}

/// `bulkspec sandbox`: serves until Ctrl-C (or SIGTERM), then shuts down cleanly. Logs the
/// address with `tracing`; a caller that wants to print it uses `start` and `wait_for_ctrl_c`.
pub async fn run_until_ctrl_c(opts: SandboxOptions) -> Result<(), SandboxError> {
    let sandbox = start(opts).await?;
    tracing::info!("sandbox listening on {}", sandbox.base_url());
    wait_for_ctrl_c(sandbox).await
}

/// Keeps a started sandbox serving until Ctrl-C (or SIGTERM), then shuts it down.
pub async fn wait_for_ctrl_c(sandbox: RunningSandbox) -> Result<(), SandboxError> {
    wait_for_signal().await?;
    sandbox.shutdown().await
}

#[cfg(unix)]
pub async fn wait_for_signal() -> Result<(), SandboxError> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).map_err(SandboxError::Signal)?;
    tokio::select! {
        r = tokio::signal::ctrl_c() => r.map_err(SandboxError::Signal),
        _ = term.recv() => Ok(()),
    }
}

#[cfg(not(unix))]
pub async fn wait_for_signal() -> Result<(), SandboxError> {
    tokio::signal::ctrl_c().await.map_err(SandboxError::Signal)
}

/// Mounts each emulator's API routes (with stats, faults and persistence) under `/{name}`,
/// its inspection routes under `/_sandbox/{name}`, and the control routes.
fn build_router(ctl: &ControlState) -> Router {
    let mut app = Router::new();
    for emulator in &ctl.emulators {
        let name = emulator.name();
        let api = emulator
            .clone()
            .api_router()
            .layer(from_fn_with_state(
                PersistLayerState {
                    persister: ctl.persister.clone(),
                    shared: ctl.shared.clone(),
                    provider: name,
                },
                persist::after_request,
            ))
            .layer(from_fn_with_state(
                FaultLayerState {
                    shared: ctl.shared.clone(),
                    faults: ctl.faults.clone(),
                    emulator: emulator.clone(),
                },
                faults::inject,
            ))
            .layer(from_fn_with_state(
                StatsLayerState {
                    stats: ctl.stats.clone(),
                    provider: name,
                },
                stats::count,
            ));
        app = app.nest(&format!("/{name}"), api).nest(
            &format!("/_sandbox/{name}"),
            emulator.clone().inspect_router(),
        );
    }
    app.merge(control::router(ctl.clone()))
}

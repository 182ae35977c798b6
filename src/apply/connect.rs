//! Connecting a job to its API: the sandbox (embedded, or a running one named by `url:` or
//! BULKSPEC_SANDBOX_URL) or a real account whose credentials come from the environment
//! variables the project file names; one HTTP client per run, and per API connection one rate
//! limiter and one set of remote-job slots (the API's concurrency cap), shared by every job
//! that uses it, so jobs running at the same time stay under the API's limits together.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::Semaphore;

use super::feed::Prefeed;
use super::{ApplyError, Events, JobResult, Shared, apply_job};
use crate::providers::{
    ClientContext, Endpoint, Limiter, PollStatus, Provider as _, RemoteBatch, dotdigital, eloqua,
    marketo, mypreferences,
};
use crate::sandbox::RunningSandbox;
use crate::spec::project::Connection;
use crate::spec::types::Provider;
use crate::spec::workspace::{LoadedSpec, Workspace};
use crate::state::{LockGuard, StateStore};

/// One API connection's rate limiter and remote-job slots.
type ApiShare = (Arc<Limiter>, Arc<Semaphore>);

/// Everything jobs share during one apply.
pub struct Connections {
    http: reqwest::Client,
    /// Per `connection/provider`: its rate limiter and its remote-job slots.
    per_api: Mutex<HashMap<String, ApiShare>>,
    sandbox_url: Option<String>,
    /// The embedded sandbox, kept alive for the run.
    _sandbox: Option<RunningSandbox>,
}

/// Env var naming a running sandbox that `sandbox` connections use instead of the embedded one.
pub const SANDBOX_URL_ENV: &str = "BULKSPEC_SANDBOX_URL";

impl Connections {
    /// Prepares the run: the HTTP client and, when a job needs it, the sandbox.
    pub async fn new(ws: &Workspace, jobs: &[&LoadedSpec]) -> Result<Connections, String> {
        let http = reqwest::Client::builder()
            .user_agent(concat!("bulkspec/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(std::time::Duration::from_secs(30))
            .timeout(std::time::Duration::from_secs(300))
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        let needs_sandbox = jobs
            .iter()
            .any(|j| is_sandbox(ws, j.spec.target.connection()));
        let mut sandbox = None;
        let sandbox_url = if !needs_sandbox {
            None
        } else if let Some(url) = std::env::var(SANDBOX_URL_ENV)
            .ok()
            .filter(|u| !u.is_empty())
        {
            Some(url.trim_end_matches('/').to_owned())
        } else if let Some(Connection::Sandbox { url: Some(url) }) =
            ws.project.connections.get("sandbox")
        {
            Some(url.trim_end_matches('/').to_owned())
        } else {
            let running = crate::sandbox::start_embedded(&ws.root.join(".bulkspec/sandbox"))
                .await
                .map_err(|e| format!("cannot start the embedded sandbox: {e}"))?;
            let url = running.base_url();
            sandbox = Some(running);
            Some(url)
        };
        Ok(Connections {
            http,
            per_api: Mutex::new(HashMap::new()),
            sandbox_url,
            _sandbox: sandbox,
        })
    }

    /// Applies one job with the right provider client.
    pub async fn apply(
        &self,
        ws: &Workspace,
        loaded: &LoadedSpec,
        store: &mut Box<dyn StateStore>,
        lock: &LockGuard,
        events: &Events,
        prefeed: Option<Prefeed>,
    ) -> Result<JobResult, ApplyError> {
        let spec = &loaded.spec;
        let setup = |m: String| ApplyError::Setup {
            job: spec.job.clone(),
            message: m,
        };
        let name = spec.target.connection().to_owned();
        let provider = spec.target.provider();
        let endpoint = self.endpoint(ws, &name, provider).map_err(setup)?;
        let quota = match provider {
            Provider::Marketo => marketo::quota(),
            Provider::Eloqua => eloqua::quota(),
            Provider::Dotdigital => dotdigital::quota(),
            Provider::Mypreferences => mypreferences::quota(),
        };
        let (limiter, slots) = self
            .per_api
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(format!("{name}/{provider}"))
            .or_insert_with(|| {
                (
                    Arc::new(Limiter::direct(quota)),
                    Arc::new(Semaphore::new(provider.max_concurrency() as usize)),
                )
            })
            .clone();
        let shared = Shared { events, slots };
        let cx = ClientContext {
            endpoint,
            http: self.http.clone(),
            limiter,
        };
        let err = |e: crate::providers::ProviderError| ApplyError::Setup {
            job: spec.job.clone(),
            message: e.to_string(),
        };
        match provider {
            Provider::Marketo => {
                apply_job(
                    ws,
                    loaded,
                    Arc::new(marketo::MarketoProvider::new(spec, cx).map_err(err)?),
                    store,
                    lock,
                    &shared,
                    prefeed,
                )
                .await
            }
            Provider::Eloqua => {
                apply_job(
                    ws,
                    loaded,
                    Arc::new(eloqua::EloquaProvider::new(spec, cx).map_err(err)?),
                    store,
                    lock,
                    &shared,
                    prefeed,
                )
                .await
            }
            Provider::Dotdigital => {
                apply_job(
                    ws,
                    loaded,
                    Arc::new(dotdigital::DotdigitalProvider::new(spec, cx).map_err(err)?),
                    store,
                    lock,
                    &shared,
                    prefeed,
                )
                .await
            }
            Provider::Mypreferences => {
                apply_job(
                    ws,
                    loaded,
                    Arc::new(mypreferences::MypreferencesProvider::new(spec, cx).map_err(err)?),
                    store,
                    lock,
                    &shared,
                    prefeed,
                )
                .await
            }
        }
    }

    /// Polls one remote job once (for `bulkspec status`).
    pub async fn poll_once(
        &self,
        ws: &Workspace,
        loaded: &LoadedSpec,
        batch: &RemoteBatch,
        remote: &str,
    ) -> Result<PollStatus, String> {
        let spec = &loaded.spec;
        let provider = spec.target.provider();
        let endpoint = self.endpoint(ws, spec.target.connection(), provider)?;
        let limiter = Arc::new(Limiter::direct(governor::Quota::per_second(
            std::num::NonZeroU32::MIN.saturating_add(4),
        )));
        let cx = ClientContext {
            endpoint,
            http: self.http.clone(),
            limiter,
        };
        let r = match provider {
            Provider::Marketo => {
                marketo::MarketoProvider::new(spec, cx)
                    .map_err(|e| e.to_string())?
                    .poll(batch, remote)
                    .await
            }
            Provider::Eloqua => {
                eloqua::EloquaProvider::new(spec, cx)
                    .map_err(|e| e.to_string())?
                    .poll(batch, remote)
                    .await
            }
            Provider::Dotdigital => {
                dotdigital::DotdigitalProvider::new(spec, cx)
                    .map_err(|e| e.to_string())?
                    .poll(batch, remote)
                    .await
            }
            Provider::Mypreferences => {
                mypreferences::MypreferencesProvider::new(spec, cx)
                    .map_err(|e| e.to_string())?
                    .poll(batch, remote)
                    .await
            }
        };
        r.map_err(|e| e.to_string())
    }

    fn endpoint(&self, ws: &Workspace, name: &str, provider: Provider) -> Result<Endpoint, String> {
        endpoint(ws, name, provider, self.sandbox_url.as_deref())
    }
}

/// The endpoint of connection `name` for `provider`; `sandbox_url` is where the sandbox runs.
pub(super) fn endpoint(
    ws: &Workspace,
    name: &str,
    provider: Provider,
    sandbox_url: Option<&str>,
) -> Result<Endpoint, String> {
    if is_sandbox(ws, name) {
        let url = sandbox_url.ok_or("the sandbox is not running")?;
        return Ok(match provider {
            Provider::Marketo => marketo::sandbox_endpoint(url),
            Provider::Eloqua => eloqua::sandbox_endpoint(url),
            Provider::Dotdigital => dotdigital::sandbox_endpoint(url),
            Provider::Mypreferences => mypreferences::sandbox_endpoint(url),
        });
    }
    let conn = ws
        .project
        .connections
        .get(name)
        .ok_or_else(|| format!("connection `{name}` is not defined in bulkspec.yaml"))?;
    let env = |n: &str| std::env::var(n).ok().filter(|v| !v.is_empty());
    match provider {
        Provider::Marketo => marketo::endpoint(conn, &env),
        Provider::Eloqua => eloqua::endpoint(conn, &env),
        Provider::Dotdigital => dotdigital::endpoint(conn, &env),
        Provider::Mypreferences => mypreferences::endpoint(conn, &env),
    }
}

/// Whether connection `name` is the sandbox.
pub fn is_sandbox(ws: &Workspace, name: &str) -> bool {
    match ws.project.connections.get(name) {
        Some(Connection::Sandbox { .. }) => true,
        Some(_) => false,
        None => name == "sandbox",
    }
}

//! Prefeeds: each job's feed started while the plan is made and confirmed (see
//! `feed::Prefeed`), so encoding the records overlaps planning instead of following it. A
//! prefeed reads the state on its own connection and sends nothing; the apply uses it only when
//! it diffed against the state the apply then holds the lock on.

use std::collections::HashMap;
use std::sync::Arc;

use super::connect::endpoint;
use super::feed::{self, LoadState, Prefeed, StateVersion};
use super::{FeedSetup, feed_setup};
use crate::providers::{ClientContext, Limiter, dotdigital, eloqua, marketo, mypreferences};
use crate::spec::types::Provider;
use crate::spec::workspace::{self, LoadedSpec, Workspace};
use crate::state::{RecordHashes, StateConfig, StateStore, open_store};

/// Starts prefeeds for the first jobs of the workspace (in dependency order) that can have one
/// (a job whose source or connection cannot be set up gets none: its apply reports the
/// problem): as many as there are cores beside the one making the plan, at least one, so the
/// plan is not slowed down. Must run inside the apply's runtime.
pub fn start_all(ws: &Workspace) -> HashMap<String, Prefeed> {
    let Ok(config) = crate::plan::state_config(ws) else {
        return HashMap::new();
    };
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    workspace::order(&ws.specs)
        .into_iter()
        .take(cores.saturating_sub(1).max(1))
        .filter_map(|loaded| {
            let job = loaded.spec.job.clone();
            let load = loader(config.clone(), job.clone());
            prefeed(ws, loaded, load).ok().map(|p| (job, p))
        })
        .collect()
}

/// Reads a job's state version and hashes so that they agree: the version is read before and
/// after the hashes, and a commit in between (the serial moved) fails the load.
fn loader(config: Option<StateConfig>, job: String) -> LoadState {
    Box::new(move || {
        let Some(config) = config else {
            // No state yet: nothing was ever applied.
            return Ok(((None, 0), RecordHashes::default()));
        };
        let mut store = open_store(&config).map_err(|e| e.to_string())?;
        let before = version(store.as_mut(), &job)?;
        let hashes = match before {
            (None, _) => RecordHashes::default(),
            _ => store.load_hashes(&job).map_err(|e| e.to_string())?,
        };
        if version(store.as_mut(), &job)? != before {
            return Err("the state changed while it was read".into());
        }
        Ok((before, hashes))
    })
}

fn version(store: &mut dyn StateStore, job: &str) -> Result<StateVersion, String> {
    let summary = store.show(job).map_err(|e| e.to_string())?;
    Ok(summary.map_or((None, 0), |s| (Some(s.lineage), s.serial)))
}

/// Starts a prefeed of one job (see `feed::Prefeed`): its records are encoded while the plan
/// is made, by a provider client that only encodes (it is given no sandbox to talk to, and
/// sends nothing). Must run inside the apply's runtime.
fn prefeed(ws: &Workspace, loaded: &LoadedSpec, load: LoadState) -> Result<Prefeed, String> {
    let spec = &loaded.spec;
    let provider = spec.target.provider();
    let FeedSetup {
        read_opts,
        opts,
        kind,
    } = feed_setup(ws, loaded)?;
    // Encoded chunks held while the plan is made: about 256 MB.
    let buffer = (256 << 20) / opts.max_request_bytes.max(1 << 20) as usize;
    let cx = ClientContext {
        endpoint: endpoint(ws, spec.target.connection(), provider, Some(UNUSED_URL))?,
        http: reqwest::Client::new(),
        limiter: Arc::new(Limiter::direct(governor::Quota::per_second(
            std::num::NonZeroU32::MIN,
        ))),
    };
    let early = Early {
        spec: spec.clone(),
        context: ws.context.clone(),
        read_opts,
        opts,
        kind,
        load,
        buffer,
    };
    let err = |e: crate::providers::ProviderError| e.to_string();
    Ok(match provider {
        Provider::Marketo => early.start(marketo::MarketoProvider::new(spec, cx).map_err(err)?),
        Provider::Eloqua => early.start(eloqua::EloquaProvider::new(spec, cx).map_err(err)?),
        Provider::Dotdigital => {
            early.start(dotdigital::DotdigitalProvider::new(spec, cx).map_err(err)?)
        }
        Provider::Mypreferences => {
            early.start(mypreferences::MypreferencesProvider::new(spec, cx).map_err(err)?)
        }
    })
}

/// Where a prefeed's encoding-only client points: the discard port, never contacted.
const UNUSED_URL: &str = "http://127.0.0.1:9";

/// A prefeed's inputs, before its provider client is chosen.
struct Early {
    spec: crate::spec::types::Spec,
    context: crate::spec::render::RenderContext,
    read_opts: crate::source::ReadOptions,
    opts: crate::plan::diff::DiffOptions,
    kind: crate::providers::BatchKind,
    load: LoadState,
    buffer: usize,
}

impl Early {
    fn start<P: crate::providers::Provider + 'static>(self, provider: P) -> Prefeed {
        feed::start_early(
            self.spec,
            self.context,
            self.read_opts,
            self.opts,
            Arc::new(provider),
            self.kind,
            self.load,
            self.buffer,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apply::feed::Feed;
    use crate::plan::{PlanOptions, job::plan_job};

    fn loading(version: StateVersion) -> LoadState {
        Box::new(move || Ok((version, RecordHashes::default())))
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_prefeed_is_taken_only_for_the_state_it_diffed_and_holds_the_planned_records() {
        let ws = crate::apply::demo_workspace();
        let loaded = workspace::order(&ws.specs)[0];
        let plan = plan_job(&ws, loaded, None, &PlanOptions::default(), &mut |_, _| {}).unwrap();
        let steps = plan.steps.iter().filter(|s| s.kind == "upload");
        let planned: u64 = steps.map(|s| s.records).sum();
        assert!(planned > 0, "the demo job sends records");

        // The state it diffed against: its chunks are the plan's records.
        let p = prefeed(&ws, loaded, loading((None, 0))).unwrap();
        let mut rx = p.take_if(&(None, 0)).await.expect("same state: taken");
        let mut sent = 0;
        while let Some(msg) = rx.recv().await {
            match msg {
                Feed::Chunk(c) => sent += c.records.len() as u64,
                Feed::End { .. } => break,
                Feed::Failed(e) => panic!("{e}"),
            }
        }
        assert_eq!(sent, planned);

        // A state committed to since (another serial, or another lineage): dropped.
        let p = prefeed(&ws, loaded, loading((Some("a".into()), 3))).unwrap();
        assert!(p.take_if(&(Some("a".into()), 4)).await.is_none());
        let p = prefeed(&ws, loaded, loading((Some("a".into()), 3))).unwrap();
        assert!(p.take_if(&(Some("b".into()), 3)).await.is_none());
        // A state that could not be read: dropped too.
        let failing: LoadState = Box::new(|| Err("unreadable".into()));
        let p = prefeed(&ws, loaded, failing).unwrap();
        assert!(p.take_if(&(None, 0)).await.is_none());
    }
}

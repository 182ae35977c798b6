//! Which jobs of a run go when: in dependency order, independent jobs at the same time (at
//! most `parallelism`), a job only after every job it depends on in this run succeeded, and a
//! job whose dependency failed skipped. It knows nothing of what a job does.

use std::collections::HashMap;
use std::future::Future;

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;

use crate::spec::workspace::LoadedSpec;

/// How a job of the run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Waiting,
    Running,
    Succeeded,
    Failed,
}

/// Runs `jobs` (given in dependency order) with `run`, which says whether the job succeeded.
/// `skipped(job, dependency)` is called for a job not run because `dependency` failed.
pub async fn run_jobs<'a, F, Fut>(
    jobs: &[&'a LoadedSpec],
    parallelism: usize,
    run: F,
    skipped: impl Fn(&str, &str),
) where
    F: Fn(&'a LoadedSpec) -> Fut,
    Fut: Future<Output = bool>,
{
    let mut state: HashMap<&str, State> = jobs
        .iter()
        .map(|j| (j.spec.job.as_str(), State::Waiting))
        .collect();
    let mut running = FuturesUnordered::new();
    loop {
        while running.len() < parallelism.max(1) {
            let Some(next) = next_ready(jobs, &mut state, &skipped) else {
                break;
            };
            state.insert(next.spec.job.as_str(), State::Running);
            let fut = run(next);
            running.push(async move { (next.spec.job.as_str(), fut.await) });
        }
        let Some((job, ok)) = running.next().await else {
            // Nothing runs and nothing is ready: every job ended or was skipped.
            break;
        };
        state.insert(job, if ok { State::Succeeded } else { State::Failed });
    }
}

/// The first waiting job whose dependencies in this run all succeeded; jobs whose dependency
/// failed are marked failed (and reported) on the way.
fn next_ready<'a>(
    jobs: &[&'a LoadedSpec],
    state: &mut HashMap<&'a str, State>,
    skipped: &impl Fn(&str, &str),
) -> Option<&'a LoadedSpec> {
    for job in jobs {
        let name = job.spec.job.as_str();
        if state.get(name) != Some(&State::Waiting) {
            continue;
        }
        let deps: Vec<(&str, State)> = job
            .spec
            .depends_on
            .iter()
            .filter_map(|d| state.get(d.as_str()).map(|s| (d.as_str(), *s)))
            .collect();
        if let Some((dep, _)) = deps.iter().find(|(_, s)| *s == State::Failed) {
            skipped(name, dep);
            state.insert(name, State::Failed);
            continue;
        }
        if deps.iter().all(|(_, s)| *s == State::Succeeded) {
            return Some(job);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::time::Duration;

    use super::*;
    use crate::spec::workspace::order;

    /// The demo project's jobs: five; `crm-opportunity-links` and `order-history` after
    /// `crm-contacts`.
    fn demo() -> crate::spec::workspace::Workspace {
        crate::apply::demo_workspace()
    }

    /// Runs the demo jobs with `parallelism`; `fail` fails. Returns the (job, start|end) log
    /// and the most jobs seen running at once.
    async fn trace(
        parallelism: usize,
        fail: &str,
    ) -> (Vec<(String, &'static str)>, usize, Vec<String>) {
        let ws = demo();
        let jobs = order(&ws.specs);
        let log = Mutex::new(Vec::new());
        let now = Mutex::new((0usize, 0usize));
        let skipped = Mutex::new(Vec::new());
        let run = |j: &LoadedSpec| {
            let (log, now) = (&log, &now);
            let name = j.spec.job.clone();
            async move {
                log.lock().unwrap().push((name.clone(), "start"));
                {
                    let mut n = now.lock().unwrap();
                    n.0 += 1;
                    n.1 = n.1.max(n.0);
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
                now.lock().unwrap().0 -= 1;
                log.lock().unwrap().push((name.clone(), "end"));
                name != fail
            }
        };
        run_jobs(&jobs, parallelism, run, |job, dep| {
            skipped.lock().unwrap().push(format!("{job}<-{dep}"));
        })
        .await;
        let most = now.lock().unwrap().1;
        (
            log.into_inner().unwrap(),
            most,
            skipped.into_inner().unwrap(),
        )
    }

    fn at(log: &[(String, &str)], job: &str, what: &str) -> usize {
        log.iter()
            .position(|(j, w)| j == job && *w == what)
            .unwrap_or_else(|| panic!("{job} {what} not in {log:?}"))
    }

    #[tokio::test]
    async fn independent_jobs_overlap_and_dependents_wait() {
        let (log, most, skipped) = trace(4, "").await;
        assert_eq!(log.len(), 10, "{log:?}");
        assert!(most >= 2, "independent jobs ran one at a time: {log:?}");
        assert!(most <= 4);
        for dependent in ["crm-opportunity-links", "order-history"] {
            assert!(at(&log, "crm-contacts", "end") < at(&log, dependent, "start"));
        }
        assert!(skipped.is_empty());
    }

    #[tokio::test]
    async fn parallelism_one_runs_jobs_one_after_another() {
        let (log, most, _) = trace(1, "").await;
        assert_eq!(most, 1, "{log:?}");
        assert_eq!(log.len(), 10);
    }

    #[tokio::test]
    async fn a_failed_dependency_skips_its_dependents() {
        let (log, _, mut skipped) = trace(4, "crm-contacts").await;
        skipped.sort();
        assert_eq!(
            skipped,
            [
                "crm-opportunity-links<-crm-contacts",
                "order-history<-crm-contacts"
            ]
        );
        assert!(!log.iter().any(|(j, _)| j == "crm-opportunity-links"));
        assert_eq!(log.len(), 6, "the other jobs still ran: {log:?}");
    }
}

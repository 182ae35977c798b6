//! Retry and polling policies: exponential backoff with jitter (backon) where a server's
//! Retry-After wins when it asks for longer, and polls spaced by the spec's interval, growing by
//! its backoff factor up to its maximum, until its timeout.

use std::future::Future;
use std::time::{Duration, Instant};

use backon::BackoffBuilder;

use crate::providers::ProviderError;
use crate::spec::types::{Polling, Retry};

/// Runs `f` until it succeeds, fails permanently, or `policy.max_attempts` is spent.
/// `Retryable` errors are retried; every other error is returned at once.
pub async fn retry<T, F, Fut>(policy: &Retry, what: &str, mut f: F) -> Result<T, ProviderError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, ProviderError>>,
{
    let mut builder = backon::ExponentialBuilder::default()
        .with_min_delay(policy.initial_backoff.0)
        .with_max_delay(policy.max_backoff.0)
        .with_max_times(policy.max_attempts.saturating_sub(1) as usize);
    if policy.jitter {
        builder = builder.with_jitter();
    }
    let mut delays = builder.build();
    loop {
        match f().await {
            Err(ProviderError::Retryable {
                message,
                retry_after,
            }) => {
                let Some(delay) = delays.next() else {
                    return Err(ProviderError::Retryable {
                        message: format!(
                            "{what}: gave up after {} attempts: {message}",
                            policy.max_attempts
                        ),
                        retry_after,
                    });
                };
                let wait = retry_after
                    .map_or(delay, |r| r.max(delay))
                    .min(Duration::from_secs(3600));
                tracing::info!("{what}: {message}; retrying in {:?}", wait);
                tokio::time::sleep(wait).await;
            }
            other => return other,
        }
    }
}

/// The waits between polls of one remote job.
#[derive(Debug)]
pub struct PollSchedule {
    next: Duration,
    max: Duration,
    factor: f64,
    deadline: Instant,
    pub polls: u64,
    started: Instant,
    /// When the first poll is due: one interval after the remote job started.
    first: Option<Instant>,
}

impl PollSchedule {
    pub fn new(p: &Polling) -> Self {
        Self::since(p, Instant::now())
    }

    /// The schedule of a remote job that started at `started`: its first poll is one interval
    /// after that, so a job uploaded a while ago (others were uploading meanwhile) is polled
    /// at once instead of after one more interval; the timeout counts from `started` too.
    pub fn since(p: &Polling, started: Instant) -> Self {
        Self {
            next: p.interval.0,
            max: p.max_interval.0,
            factor: p.backoff,
            deadline: started + p.timeout.0,
            polls: 0,
            started,
            first: Some(started + p.interval.0),
        }
    }

    /// Waits until the next poll; `false` when the timeout has passed.
    pub async fn wait(&mut self) -> bool {
        let now = Instant::now();
        if now >= self.deadline {
            return false;
        }
        match self.first.take() {
            Some(at) => tokio::time::sleep_until(at.min(self.deadline).into()).await,
            None => tokio::time::sleep(self.next.min(self.deadline - now)).await,
        }
        self.next = Duration::from_secs_f64(
            (self.next.as_secs_f64() * self.factor).min(self.max.as_secs_f64()),
        );
        self.polls += 1;
        true
    }

    /// Time since polling started.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;
    use crate::spec::types::HumanDuration;

    fn fast() -> Retry {
        Retry {
            max_attempts: 3,
            initial_backoff: HumanDuration(Duration::from_millis(1)),
            max_backoff: HumanDuration(Duration::from_millis(5)),
            jitter: true,
        }
    }

    #[tokio::test]
    async fn retries_retryable_errors_then_gives_up() {
        let calls = AtomicU32::new(0);
        let r: Result<(), _> = retry(&fast(), "x", || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(ProviderError::Retryable {
                message: "503".into(),
                retry_after: None,
            })
        })
        .await;
        assert!(matches!(r, Err(ProviderError::Retryable { .. })));
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn permanent_errors_are_not_retried_and_success_stops() {
        let calls = AtomicU32::new(0);
        let r: Result<(), _> = retry(&fast(), "x", || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(ProviderError::Permanent {
                message: "401".into(),
            })
        })
        .await;
        assert!(matches!(r, Err(ProviderError::Permanent { .. })));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        let n = AtomicU32::new(0);
        let r = retry(&fast(), "x", || async {
            if n.fetch_add(1, Ordering::SeqCst) == 0 {
                Err(ProviderError::Retryable {
                    message: "x".into(),
                    retry_after: None,
                })
            } else {
                Ok(7)
            }
        })
        .await;
        assert_eq!(r, Ok(7));
    }

    #[tokio::test]
    async fn poll_schedule_grows_and_times_out() {
        let p = Polling {
            interval: HumanDuration(Duration::from_millis(2)),
            backoff: 2.0,
            max_interval: HumanDuration(Duration::from_millis(5)),
            timeout: HumanDuration(Duration::from_millis(30)),
        };
        let mut s = PollSchedule::new(&p);
        let mut n = 0;
        while s.wait().await {
            n += 1;
            assert!(n < 100);
        }
        assert!(n >= 4, "{n}");
    }
}

#[cfg(test)]
mod since_tests {
    use super::*;
    use crate::spec::types::HumanDuration;

    #[tokio::test]
    async fn a_job_started_long_ago_is_polled_at_once_then_by_interval() {
        let p = Polling {
            interval: HumanDuration(Duration::from_millis(200)),
            backoff: 1.0,
            max_interval: HumanDuration(Duration::from_millis(200)),
            timeout: HumanDuration(Duration::from_secs(60)),
        };
        let mut s = PollSchedule::since(&p, Instant::now() - Duration::from_millis(500));
        let t = Instant::now();
        assert!(s.wait().await);
        assert!(
            t.elapsed() < Duration::from_millis(100),
            "{:?}",
            t.elapsed()
        );
        assert!(s.wait().await);
        assert!(
            t.elapsed() >= Duration::from_millis(200),
            "{:?}",
            t.elapsed()
        );
        let mut fresh = PollSchedule::new(&p);
        let t = Instant::now();
        assert!(fresh.wait().await);
        assert!(
            t.elapsed() >= Duration::from_millis(200),
            "a new job waits one interval"
        );
    }
}

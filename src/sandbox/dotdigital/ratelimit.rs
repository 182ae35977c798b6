//! Call rate limiting (notes §8.1, §11 items 13-14): tiered per-minute windows (Low, Medium,
//! High, Unlimited) with `X-RateLimit-*` headers, or the legacy flat rolling-hour cap.
//!
//! Counting and the verdict only; the middleware in `guard.rs` turns a verdict into headers or
//! an error answer.

use std::collections::VecDeque;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::http::{HeaderMap, HeaderValue, Method};

use super::settings::{RateMode, RateSettings, ResetFormat};
use crate::sandbox::core::Shared;

const HOUR: Duration = Duration::from_secs(3600);
const MINUTE: Duration = Duration::from_secs(60);

/// The call rate tier of an endpoint [I tier assignment, §11 item 13].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tier {
    Low,
    Medium,
    High,
    Unlimited,
}

impl Tier {
    /// Bulk imports are Low, status and report polls High, account-info Unlimited, the rest
    /// Medium.
    pub fn of(method: &Method, path: &str) -> Self {
        let imports =
            path.contains("/transactional-data/import/") || path.contains("/contacts/import");
        if path.ends_with("/account-info") {
            Self::Unlimited
        } else if imports && method == Method::POST {
            Self::Low
        } else if imports && method == Method::GET {
            Self::High
        } else {
            Self::Medium
        }
    }

    fn index(self) -> Option<usize> {
        match self {
            Self::Low => Some(0),
            Self::Medium => Some(1),
            Self::High => Some(2),
            Self::Unlimited => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Low => "Low",
            Self::Medium => "Medium",
            Self::High => "High",
            Self::Unlimited => "Unlimited",
        }
    }
}

/// The rate figures of one answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counters {
    pub limit: u32,
    pub remaining: u32,
    pub reset_in: Duration,
    pub tier: Tier,
}

/// What the limiter decided for a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Allowed; tiered calls carry their counters.
    Allowed(Option<Counters>),
    /// Tiered limit hit: 429.
    TooManyRequests(Counters),
    /// Flat hourly cap hit: 400 `ERROR_APIUSAGE_EXCEEDED`.
    FlatCapped,
}

/// Call counters; not persisted (a restarted sandbox starts with fresh windows).
#[derive(Debug, Default)]
pub struct RateCounters {
    windows: [Option<(Instant, u32)>; 3],
    hour: VecDeque<Instant>,
}

impl RateCounters {
    /// Counts one call and decides whether it may proceed.
    pub fn check(
        &mut self,
        settings: &RateSettings,
        shared: &Shared,
        tier: Tier,
        now: Instant,
    ) -> Verdict {
        while self
            .hour
            .front()
            .is_some_and(|t| now.duration_since(*t) >= HOUR)
        {
            self.hour.pop_front();
        }
        if settings.mode == RateMode::Flat {
            let (limit, window) = shared.rate_limit(settings.flat_per_hour, HOUR);
            while self
                .hour
                .front()
                .is_some_and(|t| now.duration_since(*t) >= window)
            {
                self.hour.pop_front();
            }
            if self.hour.len() >= limit as usize {
                return Verdict::FlatCapped;
            }
            self.hour.push_back(now);
            return Verdict::Allowed(None);
        }
        self.hour.push_back(now);
        let Some(index) = tier.index() else {
            return Verdict::Allowed(None);
        };
        let default = [settings.low, settings.medium, settings.high][index];
        let (limit, window) = shared.rate_limit(default, MINUTE);
        let slot = &mut self.windows[index];
        let (start, count) = match *slot {
            Some((start, count)) if now.duration_since(start) < window => (start, count),
            _ => (now, 0),
        };
        let reset_in = window.saturating_sub(now.duration_since(start));
        if count >= limit {
            *slot = Some((start, count));
            return Verdict::TooManyRequests(Counters {
                limit,
                remaining: 0,
                reset_in,
                tier,
            });
        }
        *slot = Some((start, count + 1));
        Verdict::Allowed(Some(Counters {
            limit,
            remaining: limit - count - 1,
            reset_in,
            tier,
        }))
    }

    /// Calls counted over the last hour (`ApiCallsInLastHour`).
    pub fn calls_in_last_hour(&self, now: Instant) -> usize {
        self.hour
            .iter()
            .filter(|t| now.duration_since(**t) < HOUR)
            .count()
    }
}

/// Writes `X-RateLimit-Limit/Remaining/Reset`, and `X-RateLimit-Scope` when asked (on 429).
pub fn write_headers(headers: &mut HeaderMap, c: &Counters, format: ResetFormat, scope: bool) {
    let secs = c.reset_in.as_secs() + u64::from(c.reset_in.subsec_nanos() > 0);
    let reset = match format {
        ResetFormat::Seconds => secs,
        ResetFormat::Epoch => {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0)
                + secs
        }
    };
    headers.insert("x-ratelimit-limit", HeaderValue::from(c.limit));
    headers.insert("x-ratelimit-remaining", HeaderValue::from(c.remaining));
    headers.insert("x-ratelimit-reset", HeaderValue::from(reset));
    if scope {
        headers.insert("x-ratelimit-scope", HeaderValue::from_static(c.tier.name()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sandbox::core::SandboxConfig;

    #[test]
    fn tier_window_counts_down_then_refuses() {
        let shared = Shared::new(SandboxConfig::default());
        let settings = RateSettings {
            low: 2,
            ..RateSettings::default()
        };
        let mut counters = RateCounters::default();
        let now = Instant::now();
        let first = counters.check(&settings, &shared, Tier::Low, now);
        assert!(matches!(first, Verdict::Allowed(Some(c)) if c.remaining == 1 && c.limit == 2));
        assert!(
            matches!(counters.check(&settings, &shared, Tier::Low, now), Verdict::Allowed(Some(c)) if c.remaining == 0)
        );
        assert!(matches!(
            counters.check(&settings, &shared, Tier::Low, now),
            Verdict::TooManyRequests(_)
        ));
        // Other tiers have their own windows; the next minute starts afresh.
        assert!(matches!(
            counters.check(&settings, &shared, Tier::High, now),
            Verdict::Allowed(Some(_))
        ));
        let later = now + MINUTE;
        assert!(matches!(
            counters.check(&settings, &shared, Tier::Low, later),
            Verdict::Allowed(Some(_))
        ));
    }

    #[test]
    fn flat_scheme_caps_the_rolling_hour() {
        let shared = Shared::new(SandboxConfig::default());
        let settings = RateSettings {
            mode: RateMode::Flat,
            flat_per_hour: 1,
            ..RateSettings::default()
        };
        let mut counters = RateCounters::default();
        let now = Instant::now();
        assert_eq!(
            counters.check(&settings, &shared, Tier::Low, now),
            Verdict::Allowed(None)
        );
        assert_eq!(
            counters.check(&settings, &shared, Tier::Medium, now),
            Verdict::FlatCapped
        );
        assert_eq!(
            counters.check(&settings, &shared, Tier::Low, now + HOUR),
            Verdict::Allowed(None)
        );
    }
}

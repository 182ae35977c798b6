//! The gate in front of every Marketo call except identity (marketo.md §9, §14.4-5, §14.17):
//! bearer token (600/601/602), concurrency (615), daily quota (607) and the sliding-window rate
//! limit (606). Calls answered 601/602/604/605/608/611, or refused here, use no budget.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;

use crate::sandbox::marketo::Marketo;
use crate::sandbox::marketo::auth::{self, TokenCheck, millis};
use crate::sandbox::marketo::wire::{self, EnvelopeCode};

/// The vendor's rate limit: 100 calls per 20 s.
const RATE_CALLS: u32 = 100;
const RATE_WINDOW: Duration = Duration::from_secs(20);
/// Codes whose calls are not counted (the asterisked codes of the error table).
const NOT_COUNTED: &[&str] = &["601", "602", "604", "605", "608", "611"];
/// US Central standard time, for the daily quota reset at midnight.
const CENTRAL_OFFSET_MS: i64 = -6 * 3_600_000;

/// Counters behind the gate.
#[derive(Debug, Default)]
pub struct Limits {
    /// Times (ms) of the counted calls of the current window.
    window: Mutex<VecDeque<u64>>,
    in_flight: AtomicU32,
    /// (day number in US Central time, counted calls that day).
    daily: Mutex<(i64, u64)>,
}

impl Limits {
    pub fn clear(&self) {
        lock(&self.window).clear();
        *lock(&self.daily) = (0, 0);
    }

    /// Counts a call unless the window or the day is full; says which limit refused it.
    fn admit(&self, now: u64, calls: u32, window_ms: u64, quota: u64) -> Result<(), &'static str> {
        let day = (now as i64 + CENTRAL_OFFSET_MS).div_euclid(86_400_000);
        let mut daily = lock(&self.daily);
        if daily.0 != day {
            *daily = (day, 0);
        }
        if daily.1 >= quota {
            return Err("607");
        }
        let mut window = lock(&self.window);
        while window
            .front()
            .is_some_and(|t| t.saturating_add(window_ms) <= now)
        {
            window.pop_front();
        }
        if window.len() >= calls as usize {
            return Err("606");
        }
        window.push_back(now);
        daily.1 += 1;
        Ok(())
    }

    /// Gives back the budget of a call that turned out not to count.
    fn refund(&self, at: u64) {
        let mut window = lock(&self.window);
        if let Some(pos) = window.iter().rposition(|t| *t == at) {
            window.remove(pos);
        }
        let mut daily = lock(&self.daily);
        daily.1 = daily.1.saturating_sub(1);
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(poisoned) => poisoned.into_inner(),
    }
}

/// Decrements the in-flight counter when the call ends, however it ends.
struct InFlight<'a>(&'a AtomicU32);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The middleware: token, then concurrency, quota and rate.
pub async fn gate(State(m): State<Arc<Marketo>>, req: Request, next: Next) -> Response {
    let settings = m.settings();
    let token = auth::token_of(
        req.headers(),
        req.uri().query(),
        settings.access_token_param,
    );
    let checked = m.auth().check(&m.shared, token.as_deref());
    match checked {
        TokenCheck::Valid => {}
        TokenCheck::Missing if settings.missing_token_600 => return m.error("600"),
        TokenCheck::Missing | TokenCheck::Invalid => return m.error("601"),
        TokenCheck::Expired => return m.error("602"),
    }
    let in_flight = m.limits.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    let _guard = InFlight(&m.limits.in_flight);
    if in_flight > settings.max_concurrent {
        return m.error("615");
    }
    let now = millis(m.shared.now());
    let (calls, window) = m.shared.rate_limit(RATE_CALLS, RATE_WINDOW);
    match m
        .limits
        .admit(now, calls, window.as_millis() as u64, settings.daily_quota)
    {
        Ok(()) => {}
        Err("606") => {
            let text = format!(
                "Max rate limit '{calls}' exceeded with in '{}' secs",
                window.as_secs()
            );
            return wire::error(m.request_id(), "606", text);
        }
        Err(code) => return m.error(code),
    }
    let resp = next.run(req).await;
    if resp
        .extensions()
        .get::<EnvelopeCode>()
        .is_some_and(|c| NOT_COUNTED.contains(&c.0.as_str()))
    {
        m.limits.refund(now);
    }
    resp
}

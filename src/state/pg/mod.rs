//! The shared PostgreSQL backend (URL from the environment variable the project file names).
//!
//! Sync `postgres` client, tables prefixed `bulkspec_` (a team may share the database with other
//! tools; `?options=-c%20search_path%3DSCHEMA` in the URL puts them in a schema), migrations on
//! open, a bounded `lock_timeout` so no statement waits forever. Messages name the server as
//! `postgres://user@host:port/db`, never with the password. Queries live in the sibling files.
mod jobs;
mod journal;
mod lock;
mod records;
mod schema;
mod tls;

use std::str::FromStr;
use std::time::Duration;

use postgres::config::Host;
use postgres::error::SqlState;
use postgres::{Client, Config, NoTls};

use super::error::{Result, StateError};
use super::lock::LockGuard;
use super::store::StateStore;
use super::types::{JobSummary, JournalEntry, LockHolder, LockInfo, RecordRef, Reject};

/// How long a statement waits for a lock held by another session before failing.
pub const DEFAULT_LOCK_TIMEOUT: Duration = Duration::from_secs(10);

/// A PostgreSQL state.
pub struct PostgresStore {
    client: Client,
    config: Config,
    ctx: Ctx,
}

/// What error messages need to know about the server.
#[derive(Debug, Clone)]
pub(crate) struct Ctx {
    pub location: String,
    pub lock_timeout: Duration,
    /// How every session of this store is secured (from the URL's `sslmode`).
    pub tls: tls::Tls,
}

impl Ctx {
    /// Turns a driver error into a typed one naming the server (without password).
    pub fn err(&self, e: postgres::Error) -> StateError {
        let location = self.location.clone();
        match e.code() {
            Some(c) if *c == SqlState::LOCK_NOT_AVAILABLE || *c == SqlState::QUERY_CANCELED => {
                StateError::Busy {
                    location,
                    waited: self.lock_timeout,
                }
            }
            _ if e.is_closed() => StateError::Open {
                location,
                reason: describe(&e),
            },
            _ => StateError::Database {
                location,
                reason: describe(&e),
            },
        }
    }

    pub fn corrupt(&self, what: impl Into<String>) -> StateError {
        StateError::Corrupt {
            location: self.location.clone(),
            what: what.into(),
        }
    }
}

/// The driver's message with its causes ("error connecting to server: Connection refused").
fn describe(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

impl PostgresStore {
    /// Connects and migrates. `url` may hold a password; it is never repeated in errors.
    pub fn open(url: &str) -> Result<PostgresStore> {
        PostgresStore::open_with_timeout(url, DEFAULT_LOCK_TIMEOUT)
    }

    /// As [`PostgresStore::open`], waiting at most `lock_timeout` for other sessions' locks.
    pub fn open_with_timeout(url: &str, lock_timeout: Duration) -> Result<PostgresStore> {
        let (url, ssl_mode, tls) =
            tls::split(url).map_err(|reason| StateError::InvalidUrl { reason })?;
        let mut config = Config::from_str(&url).map_err(|e| StateError::InvalidUrl {
            reason: describe(&e),
        })?;
        config.ssl_mode(ssl_mode);
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(10));
        }
        config.application_name("bulkspec");
        let ctx = Ctx {
            location: redacted_location(&config),
            lock_timeout,
            tls,
        };
        let mut client = off_async(|| connect(&config, &ctx))?;
        off_async(|| schema::migrate(&mut client, &ctx))?;
        Ok(PostgresStore {
            client,
            config,
            ctx,
        })
    }
}

/// `postgres://user@host:port/db`, built from the parsed URL so no password can slip in.
pub(crate) fn redacted_location(config: &Config) -> String {
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let host = match h {
                Host::Tcp(name) => name.clone(),
                Host::Unix(path) => path.display().to_string(),
            };
            let port = config
                .get_ports()
                .get(i)
                .or(config.get_ports().first())
                .copied()
                .unwrap_or(5432);
            format!("{host}:{port}")
        })
        .collect();
    let user = config
        .get_user()
        .map(|u| format!("{u}@"))
        .unwrap_or_default();
    format!(
        "postgres://{user}{}/{}",
        hosts.join(","),
        config.get_dbname().unwrap_or("")
    )
}

/// One session with the settings every session needs (also used by the lock heartbeat).
pub(crate) fn connect(config: &Config, ctx: &Ctx) -> Result<Client> {
    let connected = match &ctx.tls {
        tls::Tls::Off => config.connect(NoTls),
        tls::Tls::On(tls) => config.connect(tls.clone()),
    };
    let mut client = connected.map_err(|e| {
        let mut reason = describe(&e);
        if reason.contains("certificate") {
            reason.push_str(" (give the server's CA certificate with sslrootcert=PATH in the URL, or encrypt without checking it with sslmode=require)");
        }
        StateError::Open {
            location: ctx.location.clone(),
            reason,
        }
    })?;
    let ms = ctx.lock_timeout.as_millis().max(1);
    client
        .batch_execute(&format!("SET lock_timeout = {ms}"))
        .map_err(|e| ctx.err(e))?;
    Ok(client)
}

/// Runs one call of the sync `postgres` client. That client drives its connection with a
/// runtime of its own and panics ("Cannot start a runtime from within a runtime") when called
/// from a thread that runs tokio tasks, which is where `apply` uses the store. There the call
/// is moved off the async worker with `block_in_place`, which also leaves the runtime context.
/// (A current-thread runtime cannot do that; no caller uses one.)
pub fn off_async<T>(f: impl FnOnce() -> T) -> T {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current() {
        Ok(h) if h.runtime_flavor() == RuntimeFlavor::MultiThread => tokio::task::block_in_place(f),
        _ => f(),
    }
}

impl PostgresStore {
    /// Whether this store's session to the server is encrypted (TLS), as the server sees it.
    pub fn session_encrypted(&mut self) -> Result<bool> {
        let ctx = &self.ctx;
        let client = &mut self.client;
        off_async(|| {
            let row = client
                .query_one(
                    "SELECT coalesce((SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()), false)",
                    &[],
                )
                .map_err(|e| ctx.err(e))?;
            row.try_get::<_, bool>(0).map_err(|e| ctx.err(e))
        })
    }
}

impl StateStore for PostgresStore {
    fn location(&self) -> &str {
        &self.ctx.location
    }

    fn list_jobs(&mut self) -> Result<Vec<JobSummary>> {
        off_async(|| jobs::list(&mut self.client, &self.ctx))
    }

    fn show(&mut self, job: &str) -> Result<Option<JobSummary>> {
        off_async(|| jobs::show(&mut self.client, &self.ctx, job))
    }

    fn rm(&mut self, job: &str) -> Result<bool> {
        off_async(|| jobs::rm(&mut self.client, &self.ctx, job))
    }

    fn applied_spec(&mut self, job: &str) -> Result<Option<String>> {
        off_async(|| jobs::applied_spec(&mut self.client, &self.ctx, job))
    }

    fn for_each_record(&mut self, job: &str, f: &mut dyn FnMut(u64, u64)) -> Result<()> {
        off_async(|| records::for_each(&mut self.client, &self.ctx, job, f))
    }

    fn keys_for(&mut self, job: &str, key_hashes: &[u64]) -> Result<Vec<(u64, String)>> {
        off_async(|| records::keys_for(&mut self.client, &self.ctx, job, key_hashes))
    }

    fn commit_records<'a>(
        &mut self,
        job: &str,
        upserts: &mut dyn Iterator<Item = RecordRef<'a>>,
        removes: &[u64],
    ) -> Result<u64> {
        off_async(|| records::commit(&mut self.client, &self.ctx, job, upserts, removes))
    }

    fn record_apply(&mut self, job: &str, spec_json: &str, rejects: &[Reject]) -> Result<u64> {
        off_async(|| journal::record_apply(&mut self.client, &self.ctx, job, spec_json, rejects))
    }

    fn rejects(&mut self, job: &str) -> Result<Vec<Reject>> {
        off_async(|| journal::rejects(&mut self.client, &self.ctx, job))
    }

    fn journal_put(&mut self, job: &str, entry: &JournalEntry) -> Result<()> {
        off_async(|| journal::put(&mut self.client, &self.ctx, job, entry))
    }

    fn journal(&mut self, job: &str) -> Result<Vec<JournalEntry>> {
        off_async(|| journal::list(&mut self.client, &self.ctx, job))
    }

    fn prune_journal(&mut self, job: &str, closing_step: &str, keep_runs: u32) -> Result<u64> {
        off_async(|| journal::prune(&mut self.client, &self.ctx, job, closing_step, keep_runs))
    }

    fn acquire_lock(
        &mut self,
        job: &str,
        holder: &LockHolder,
        lease: Duration,
    ) -> Result<LockGuard> {
        off_async(|| {
            lock::acquire(
                &mut self.client,
                &self.config,
                &self.ctx,
                job,
                holder,
                lease,
            )
        })
    }

    fn lock_info(&mut self, job: &str) -> Result<Option<LockInfo>> {
        off_async(|| lock::info(&mut self.client, &self.ctx, job))
    }

    fn unlock(&mut self, job: &str) -> Result<bool> {
        off_async(|| lock::unlock(&mut self.client, &self.ctx, job))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn location(url: &str) -> String {
        redacted_location(&Config::from_str(url).unwrap())
    }

    #[test]
    fn locations_never_show_the_password() {
        assert_eq!(
            location("postgres://al:pw@db.example:6543/state"),
            "postgres://al@db.example:6543/state"
        );
        assert_eq!(
            location("postgresql://al:pw@a,b:5433/s"),
            "postgres://al@a:5432,b:5433/s"
        );
        assert_eq!(
            location("host=db user=al password=pw dbname=s"),
            "postgres://al@db:5432/s"
        );
        assert_eq!(
            location("postgres://%2Frun%2Fpg/s"),
            "postgres:///run/pg:5432/s"
        );
    }
}

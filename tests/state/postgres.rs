//! The conformance suite on a real PostgreSQL, and PostgreSQL's own failure cases.
//!
//! The server comes from BULKSPEC_TEST_PG_URL (`eval "$(bash .ci/pg-start)"` makes one). Without
//! it these tests print a notice and pass, except under CI=true, where they fail. Each test
//! works in a schema of its own, so tests run in parallel and never see each other's tables.
use std::io::Write;
use std::time::{Duration, Instant};

use bulkspec::state::{
    PostgresStore, SCHEMA_VERSION, StateConfig, StateError, StateStore, open_store,
};

fn server_url() -> Option<String> {
    match std::env::var("BULKSPEC_TEST_PG_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!(
                "BULKSPEC_TEST_PG_URL is not set under CI: start a server with eval \"$(bash .ci/pg-start)\""
            )
        }
        _ => {
            // Once per run, and past the test harness's capture so that it is seen.
            static NOTICE: std::sync::Once = std::sync::Once::new();
            NOTICE.call_once(|| {
                let _ = writeln!(
                    std::io::stderr(),
                    "notice: BULKSPEC_TEST_PG_URL is not set: PostgreSQL state tests skipped (see .ci/pg-start)"
                );
            });
            None
        }
    }
}

/// A fresh schema on the test server; dropped at the end of the test.
struct Db {
    server: String,
    schema: String,
}

impl Db {
    fn new() -> Option<Db> {
        let server = server_url()?;
        let schema = format!("t_{:016x}", rand::random::<u64>());
        admin(&server)
            .batch_execute(&format!("CREATE SCHEMA {schema}"))
            .unwrap();
        Some(Db { server, schema })
    }

    /// The server URL with this test's schema first on the search path.
    fn url(&self) -> String {
        let sep = if self.server.contains('?') { '&' } else { '?' };
        format!(
            "{}{sep}options=-c%20search_path%3D{}",
            self.server, self.schema
        )
    }

    fn open(&self) -> Box<dyn StateStore> {
        open_store(&StateConfig::Postgres { url: self.url() }).unwrap()
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        let _ = admin(&self.server).batch_execute(&format!("DROP SCHEMA {} CASCADE", self.schema));
    }
}

fn admin(url: &str) -> postgres::Client {
    postgres::Client::connect(url, postgres::NoTls).unwrap()
}

crate::conformance_tests!(Db::new();
    migrations_idempotent, lineage_and_serial, records_round_trip, records_100k, journal_round_trip,
    journal_prunes_finished_runs,
    rejects_round_trip, list_and_rm, lock_contention, lease_expiry_takeover, heartbeat_keeps_lease,
    forced_unlock, concurrent_acquirers,
);

#[test]
fn postgres_newer_version_is_refused() {
    let Some(db) = Db::new() else { return };
    drop(db.open());
    let mut raw = admin(&db.url());
    raw.execute(
        "UPDATE bulkspec_schema_version SET version = $1",
        &[&(SCHEMA_VERSION + 1)],
    )
    .unwrap();
    let err = PostgresStore::open(&db.url()).err().unwrap();
    assert!(
        matches!(err, StateError::TooNew { found, .. } if found == SCHEMA_VERSION + 1),
        "{err}"
    );
    assert!(err.to_string().contains("upgrade bulkspec"), "{err}");
}

#[test]
fn postgres_busy_table_fails_after_a_bounded_wait() {
    let Some(db) = Db::new() else { return };
    drop(db.open());
    let mut other = admin(&db.url());
    let mut tx = other.transaction().unwrap();
    tx.batch_execute("LOCK TABLE bulkspec_jobs IN ACCESS EXCLUSIVE MODE")
        .unwrap();
    let started = Instant::now();
    let err = PostgresStore::open_with_timeout(&db.url(), Duration::from_millis(300))
        .and_then(|mut s| s.commit_records("job", &mut std::iter::empty(), &[]))
        .unwrap_err();
    assert!(matches!(err, StateError::Busy { .. }), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    tx.rollback().unwrap();
}

#[test]
fn postgres_errors_name_the_server_but_never_the_password() {
    // Nothing listens on port 1: connecting fails at once.
    let url = "postgres://alice:s3cr3t-pw@127.0.0.1:1/states";
    let err = PostgresStore::open(url).err().unwrap();
    let message = err.to_string();
    assert!(matches!(err, StateError::Open { .. }), "{message}");
    assert!(
        message.contains("postgres://alice@127.0.0.1:1/states"),
        "{message}"
    );
    assert!(
        !message.contains("s3cr3t") && !format!("{err:?}").contains("s3cr3t"),
        "{message}"
    );

    let err = PostgresStore::open("postgres://alice:s3cr3t-pw@127.0.0.1:notaport/db")
        .err()
        .unwrap();
    assert!(matches!(err, StateError::InvalidUrl { .. }), "{err}");
    assert!(!err.to_string().contains("s3cr3t"), "{err}");
}

#[test]
fn postgres_wrong_password_is_a_clear_error() {
    let Some(server) = server_url() else { return };
    let mut config: postgres::Config = server.parse().unwrap();
    config.password("wrong-password");
    let user = config.get_user().unwrap().to_string();
    let host = match &config.get_hosts()[0] {
        postgres::config::Host::Tcp(h) => h.clone(),
        other => panic!("unexpected host {other:?}"),
    };
    let url = format!(
        "postgres://{user}:wrong-password@{host}:{}/{}",
        config.get_ports()[0],
        config.get_dbname().unwrap()
    );
    let err = PostgresStore::open(&url).err().unwrap();
    let message = err.to_string();
    assert!(matches!(err, StateError::Open { .. }), "{message}");
    assert!(
        message.contains("password authentication failed") && !message.contains("wrong-password"),
        "{message}"
    );
}

/// The throwaway CA of the test server (`.ci/pg-start` makes one when openssl is there);
/// required under CI=true, like the server.
fn server_ca() -> Option<String> {
    match std::env::var("BULKSPEC_TEST_PG_CA") {
        Ok(ca) if !ca.is_empty() => Some(ca),
        _ if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("BULKSPEC_TEST_PG_CA is not set under CI: .ci/pg-start makes it with openssl")
        }
        _ => None,
    }
}

#[test]
fn postgres_sessions_are_encrypted_as_sslmode_says() {
    let Some(db) = Db::new() else { return };
    let Some(ca) = server_ca() else { return };
    let encrypted = |extra: &str| -> Result<bool, StateError> {
        let mut store = PostgresStore::open(&format!("{}&{extra}", db.url()))?;
        store.session_encrypted()
    };
    // libpq's default, prefer: TLS when the server offers it (this one does).
    assert!(encrypted("application_name=default").unwrap());
    assert!(!encrypted("sslmode=disable").unwrap());
    assert!(encrypted("sslmode=require").unwrap());
    let ca_param = format!("sslrootcert={}", ca.replace('/', "%2F"));
    assert!(encrypted(&format!("sslmode=verify-full&{ca_param}")).unwrap());
    // The server name is checked against the certificate (localhost and 127.0.0.1 only).
    let by_name = db.url().replace("127.0.0.1", "localhost");
    let mut store =
        PostgresStore::open(&format!("{by_name}&sslmode=verify-full&{ca_param}")).unwrap();
    assert!(store.session_encrypted().unwrap());
    // Without the CA, the test certificate is not trusted: a clear error, no session.
    let err = encrypted("sslmode=verify-full").unwrap_err();
    assert!(matches!(err, StateError::Open { .. }), "{err}");
    assert!(
        err.to_string().to_lowercase().contains("certificate"),
        "{err}"
    );
    let password = db
        .server
        .split(':')
        .nth(2)
        .and_then(|p| p.split('@').next())
        .unwrap();
    assert!(!err.to_string().contains(password), "no password: {err}");
    assert!(err.to_string().contains("sslrootcert"), "what to do: {err}");
    let err = encrypted("sslmode=verify-ca").unwrap_err();
    assert!(err.to_string().contains("verify-full"), "{err}");
}

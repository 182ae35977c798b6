//! Job locks at the CLI level (issue 6, point 4), on SQLite and on PostgreSQL: a second
//! concurrent `apply` of a job exits 4 at once naming the holder and its age; a lock whose
//! holder died (killed process, or expired lease) is taken over by the next apply; `state
//! unlock JOB` refuses without a terminal unless `--yes` is given.
//!
//! PostgreSQL comes from `BULKSPEC_TEST_PG_URL` (`eval "$(bash .ci/pg-start)"`); each test
//! works in a schema of its own. Without the variable the PostgreSQL tests print why they are
//! skipped, and fail when `CI` is set.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/procs.rs"]
mod procs;

use std::path::Path;
use std::time::{Duration, Instant};

use bulkspec::state::{LockHolder, PostgresStore, SqliteStore, StateStore};
use procs::{SandboxProc, Watched, all, command};

const JOB: &str = "lock-members";
const SPEC: &str = "specs/lock-members.yaml";

/// Where the state of one test lives.
enum Backend {
    Sqlite,
    /// A schema of its own on the test server, dropped at the end.
    Postgres {
        server: String,
        schema: String,
    },
}

impl Backend {
    /// The PostgreSQL backend, or `None` (with the reason printed) when no server is given.
    fn postgres() -> Option<Backend> {
        let server = match std::env::var("BULKSPEC_TEST_PG_URL") {
            Ok(url) if !url.is_empty() => url,
            _ => {
                assert!(
                    std::env::var_os("CI").is_none(),
                    "BULKSPEC_TEST_PG_URL is not set under CI: start a server with eval \"$(bash .ci/pg-start)\""
                );
                eprintln!(
                    "skipped: BULKSPEC_TEST_PG_URL is not set (eval \"$(bash .ci/pg-start)\" starts a server)"
                );
                return None;
            }
        };
        let schema = format!("locks_{:016x}", rand::random::<u64>());
        admin(&server)
            .batch_execute(&format!("CREATE SCHEMA {schema}"))
            .unwrap();
        Some(Backend::Postgres { server, schema })
    }

    /// The state section of the project file.
    fn project_state(&self) -> &'static str {
        match self {
            Backend::Sqlite => "state:\n  backend: sqlite\n  path: .bulkspec/state.db\n",
            Backend::Postgres { .. } => "state:\n  backend: postgres\n  url_env: BULKSPEC_PG_URL\n",
        }
    }

    /// The connection URL with this test's schema first on the search path.
    fn url(&self) -> String {
        match self {
            Backend::Sqlite => String::new(),
            Backend::Postgres { server, schema } => {
                let sep = if server.contains('?') { '&' } else { '?' };
                format!("{server}{sep}options=-c%20search_path%3D{schema}")
            }
        }
    }

    /// The state store, opened through the library as the CLI opens it.
    fn open(&self, dir: &Path) -> Box<dyn StateStore> {
        match self {
            Backend::Sqlite => {
                let path = dir.join(".bulkspec/state.db");
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                Box::new(SqliteStore::open(&path).unwrap())
            }
            Backend::Postgres { .. } => Box::new(PostgresStore::open(&self.url()).unwrap()),
        }
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        if let Backend::Postgres { server, schema } = self {
            let _ = admin(server).batch_execute(&format!("DROP SCHEMA {schema} CASCADE"));
        }
    }
}

fn admin(url: &str) -> postgres::Client {
    postgres::Client::connect(url, postgres::NoTls).unwrap()
}

/// A project with one small Marketo job, its state on `backend`, and a sandbox process whose
/// jobs take `processing` to finish (so an apply holds its lock at least that long).
struct Project {
    dir: tempfile::TempDir,
    sandbox: SandboxProc,
    backend: Backend,
}

impl Project {
    fn new(backend: Backend, processing: &str) -> Project {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("specs/data")).unwrap();
        std::fs::write(
            root.join("bulkspec.yaml"),
            format!("version: 1\nspecs: specs\n{}", backend.project_state()),
        )
        .unwrap();
        std::fs::write(root.join(SPEC), format!("version: 1\njob: {JOB}\ntarget:\n  provider: marketo\n  object: program_members\n  connection: sandbox\n  program_id: 1040\n  program_member_status: Registered\nsource:\n  path: data/members.csv\nkey: \"{{{{ row.email }}}}\"\nrecord:\n  email: \"{{{{ row.email }}}}\"\n  firstName: \"{{{{ row.first }}}}\"\npolling:\n  interval: 50ms\n  backoff: 1\n  max_interval: 100ms\n  timeout: 2m\n")).unwrap();
        let mut csv = String::from("email,first\n");
        for i in 0..30 {
            csv.push_str(&format!("m{i}@example.org,M{i}\n"));
        }
        std::fs::write(root.join("specs/data/members.csv"), csv).unwrap();
        let sandbox = SandboxProc::start(&["--processing-time", processing]);
        Project {
            dir,
            sandbox,
            backend,
        }
    }

    fn command(&self, args: &[&str]) -> std::process::Command {
        let mut cmd = command(self.dir.path(), Some(&self.sandbox), args);
        cmd.env("BULKSPEC_PG_URL", self.backend.url());
        cmd
    }

    fn run(&self, args: &[&str]) -> std::process::Output {
        let mut cmd = self.command(args);
        cmd.stdin(std::process::Stdio::null()).output().unwrap()
    }

    /// An apply in the background, once it holds the lock (it is uploading).
    fn apply_holding_the_lock(&self) -> Watched {
        let mut first = Watched::spawn(self.command(&["apply", "--auto-approve", SPEC]));
        assert!(
            first.wait_for("uploading chunk", Duration::from_secs(60)),
            "the first apply never started uploading: {:?}",
            first.seen
        );
        first
    }

    fn store(&self) -> Box<dyn StateStore> {
        self.backend.open(self.dir.path())
    }

    /// Leaves a lock held by a process of another machine, renewed no more.
    fn foreign_lock(&self, lease: Duration) -> LockHolder {
        let holder = LockHolder {
            host: "ci-runner-7".into(),
            pid: 4242,
            user: "deploy".into(),
            ci_run: Some("https://ci.example/run/99".into()),
        };
        let mut store = self.store();
        store.acquire_lock(JOB, &holder, lease).unwrap().abandon();
        holder
    }
}

fn concurrent_apply_exits_4_at_once(backend: Backend) {
    let p = Project::new(backend, "4s");
    let first = p.apply_holding_the_lock();
    let (pid, first_started) = (first.pid(), first.started);
    let started = Instant::now();
    let o = p.run(&["apply", "--auto-approve", SPEC]);
    let second = started.elapsed();
    let (status, lines) = first.wait(Duration::from_secs(120)).unwrap();
    let first_took = first_started.elapsed();
    assert!(status.success(), "the first apply failed: {lines:?}");
    assert_eq!(o.status.code(), Some(4), "{}", all(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    let me = LockHolder::current();
    assert!(
        err.contains(&format!("{}@{} (pid {pid})", me.user, me.host)),
        "names the holder: {err}"
    );
    assert!(err.contains(" ago)"), "gives the lock's age: {err}");
    assert!(
        second < Duration::from_secs(5) && second * 2 < first_took,
        "the second apply waited: {second:?} (the first ran {first_took:?})"
    );
    eprintln!("second apply exited 4 after {second:?}; the first ran {first_took:?}");
    let o = p.run(&["apply", "--auto-approve", SPEC]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "released after the first: {}",
        all(&o)
    );
}

fn killed_holder_is_taken_over(backend: Backend) {
    let p = Project::new(backend, "2s");
    let first = p.apply_holding_the_lock();
    let pid = first.pid();
    drop(first); // SIGKILL: no chance to release its lock
    let info = p
        .store()
        .lock_info(JOB)
        .unwrap()
        .expect("the killed apply left its lock");
    assert_eq!(info.holder.pid, pid);
    assert!(!info.expired, "the lease is still live: {info:?}");
    let started = Instant::now();
    let o = p.run(&["apply", "--auto-approve", SPEC]);
    assert_eq!(o.status.code(), Some(0), "{}", all(&o));
    assert!(
        started.elapsed() < info.lease,
        "taken over at once (dead pid on this host), not after the lease: {:?}",
        started.elapsed()
    );
    assert!(
        p.store().lock_info(JOB).unwrap().is_none(),
        "released at the end"
    );
}

fn expired_lease_is_taken_over(backend: Backend) {
    let p = Project::new(backend, "20ms");
    p.foreign_lock(Duration::from_millis(1500));
    let o = p.run(&["apply", "--auto-approve", SPEC]);
    assert_eq!(o.status.code(), Some(4), "{}", all(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("deploy@ci-runner-7 (pid 4242), CI run https://ci.example/run/99"),
        "{err}"
    );
    std::thread::sleep(Duration::from_millis(1700));
    let o = p.run(&["apply", "--auto-approve", SPEC]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "the expired lease is taken over: {}",
        all(&o)
    );
}

fn unlock_asks_for_confirmation(backend: Backend) {
    let p = Project::new(backend, "20ms");
    p.foreign_lock(Duration::from_secs(600));
    let o = p.run(&["state", "unlock", JOB]);
    assert_eq!(o.status.code(), Some(1), "{}", all(&o));
    assert!(all(&o).contains("--yes"), "{}", all(&o));
    assert!(p.store().lock_info(JOB).unwrap().is_some(), "still locked");
    let o = p.run(&["apply", "--auto-approve", SPEC]);
    assert_eq!(o.status.code(), Some(4), "{}", all(&o));
    let o = p.run(&["state", "unlock", JOB, "--yes"]);
    assert_eq!(o.status.code(), Some(0), "{}", all(&o));
    assert!(p.store().lock_info(JOB).unwrap().is_none(), "released");
    let o = p.run(&["apply", "--auto-approve", SPEC]);
    assert_eq!(o.status.code(), Some(0), "{}", all(&o));
}

#[test]
fn sqlite_concurrent_apply_exits_4_at_once_naming_the_holder() {
    concurrent_apply_exits_4_at_once(Backend::Sqlite);
}

#[test]
fn postgres_concurrent_apply_exits_4_at_once_naming_the_holder() {
    if let Some(b) = Backend::postgres() {
        concurrent_apply_exits_4_at_once(b);
    }
}

#[test]
fn sqlite_killed_holder_is_taken_over() {
    killed_holder_is_taken_over(Backend::Sqlite);
}

#[test]
fn postgres_killed_holder_is_taken_over() {
    if let Some(b) = Backend::postgres() {
        killed_holder_is_taken_over(b);
    }
}

#[test]
fn sqlite_expired_lease_is_taken_over() {
    expired_lease_is_taken_over(Backend::Sqlite);
}

#[test]
fn postgres_expired_lease_is_taken_over() {
    if let Some(b) = Backend::postgres() {
        expired_lease_is_taken_over(b);
    }
}

#[test]
fn sqlite_unlock_asks_for_confirmation() {
    unlock_asks_for_confirmation(Backend::Sqlite);
}

#[test]
fn postgres_unlock_asks_for_confirmation() {
    if let Some(b) = Backend::postgres() {
        unlock_asks_for_confirmation(b);
    }
}

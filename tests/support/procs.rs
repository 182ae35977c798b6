//! Test support for CLI-level tests: a `bulkspec sandbox` child process on a free port, the
//! `bulkspec` binary run to completion, and an `apply` running in the background whose
//! progress lines are watched so it can be SIGKILLed at a chosen moment. Included with `#[path]`.
//!
//! Nothing here decides what a test asserts; it only starts, watches and stops processes.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::OnceLock;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The `bulkspec` binary this test was built with, hard-linked (or copied) once into the
/// test's temp dir: the shared target dir's `debug/bulkspec` may be replaced by another build
/// while a long test runs.
pub fn bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let built = Path::new(env!("CARGO_BIN_EXE_bulkspec"));
        let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
        remove_stale_pins(tmp);
        let dir = tmp.join(format!("bin-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let pinned = dir.join("bulkspec");
        let _ = std::fs::remove_file(&pinned);
        if std::fs::hard_link(built, &pinned).is_err() {
            std::fs::copy(built, &pinned).unwrap();
        }
        pinned
    })
}

/// Removes the pinned binaries of test processes that are gone (each run pins one).
fn remove_stale_pins(tmp: &Path) {
    let Ok(entries) = std::fs::read_dir(tmp) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(pid) = name.strip_prefix("bin-") else {
            continue;
        };
        if !Path::new("/proc").join(pid).exists() {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

/// A `bulkspec sandbox` child process on a free port of 127.0.0.1; killed on drop.
pub struct SandboxProc {
    child: Child,
    pub url: String,
}

impl SandboxProc {
    /// Starts `bulkspec sandbox` with these extra arguments and waits for its URL.
    pub fn start(extra: &[&str]) -> SandboxProc {
        let mut child = Command::new(bin())
            .args(["sandbox", "--listen", "127.0.0.1:0"])
            .args(extra)
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let mut reader = BufReader::new(stderr);
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        // Keep draining stderr so the sandbox never blocks on a full pipe.
        std::thread::spawn(move || std::io::copy(&mut reader, &mut std::io::sink()));
        let url = line
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .expect("the sandbox prints its URL")
            .to_owned();
        SandboxProc { child, url }
    }

    /// GETs JSON from the sandbox (`Value::Null` when the answer is not JSON).
    pub fn get(&self, path: &str) -> Value {
        let url = format!("{}{path}", self.url);
        runtime().block_on(async {
            let resp = http().get(&url).send().await.unwrap();
            assert!(resp.status().is_success(), "{path}: {}", resp.status());
            resp.json::<Value>().await.unwrap_or(Value::Null)
        })
    }

    /// POSTs JSON to a control route, asserting a 2xx answer.
    pub fn post(&self, path: &str, body: &Value) -> Value {
        let url = format!("{}{path}", self.url);
        runtime().block_on(async {
            let resp = http().post(&url).json(body).send().await.unwrap();
            let status = resp.status();
            let body = resp.json::<Value>().await.unwrap_or(Value::Null);
            assert!(status.is_success(), "{path}: {status} {body}");
            body
        })
    }
}

impl Drop for SandboxProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap()
}

/// A `bulkspec` command in `dir`, pointed at `sandbox` when given, colours and CI hints off.
pub fn command(dir: &Path, sandbox: Option<&SandboxProc>, args: &[&str]) -> Command {
    let mut cmd = Command::new(bin());
    cmd.current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("GITHUB_ACTIONS")
        .args(args);
    match sandbox {
        Some(s) => cmd.env("BULKSPEC_SANDBOX_URL", &s.url),
        None => cmd.env_remove("BULKSPEC_SANDBOX_URL"),
    };
    cmd
}

/// Runs `bulkspec` to completion (stdin closed: no terminal).
pub fn run(dir: &Path, sandbox: Option<&SandboxProc>, args: &[&str]) -> Output {
    command(dir, sandbox, args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// Stdout then stderr of a finished command, for assertion messages.
pub fn all(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr)
}

/// A background `bulkspec` whose stderr lines arrive on a channel as they are written.
pub struct Watched {
    child: Child,
    lines: Receiver<String>,
    pub started: Instant,
    /// Every stderr line seen so far.
    pub seen: Vec<String>,
}

/// When to kill a watched process.
#[derive(Debug, Clone, Copy)]
pub enum Moment {
    /// This long after the start.
    After(Duration),
    /// This long after its `n`-th stderr line (1-based).
    AfterLine(usize, Duration),
}

/// How a watched process ended.
#[derive(Debug)]
pub enum Ended {
    /// SIGKILLed while it still ran.
    Killed,
    /// It exited by itself before the moment came.
    Exited(ExitStatus),
}

impl Watched {
    /// Spawns `bulkspec` with stderr piped into the line channel, stdout discarded.
    pub fn spawn(mut cmd: Command) -> Watched {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Watched {
            child,
            lines,
            started: Instant::now(),
            seen: Vec::new(),
        }
    }

    /// The child's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits until a stderr line contains `needle`; false when the process ended first or
    /// `limit` passed.
    pub fn wait_for(&mut self, needle: &str, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        loop {
            if self.seen.iter().any(|l| l.contains(needle)) {
                return true;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => self.seen.push(line),
                Err(_) => return false,
            }
        }
    }

    /// Waits for the moment (or the process's own exit), then SIGKILLs it if it still runs.
    pub fn kill_at(mut self, moment: Moment) -> (Ended, Vec<String>) {
        let deadline = match moment {
            Moment::After(d) => self.started + d,
            Moment::AfterLine(n, d) => match self.wait_for_line(n) {
                Some(at) => at + d,
                None => {
                    return (
                        Ended::Exited(self.child.wait().unwrap()),
                        std::mem::take(&mut self.seen),
                    );
                }
            },
        };
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                self.drain();
                return (Ended::Exited(status), std::mem::take(&mut self.seen));
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        let ended = match self.child.try_wait().unwrap() {
            Some(status) => Ended::Exited(status),
            None => {
                self.child.kill().unwrap();
                self.child.wait().unwrap();
                Ended::Killed
            }
        };
        self.drain();
        (ended, std::mem::take(&mut self.seen))
    }

    /// The instant the `n`-th stderr line arrived; `None` when the process ended before it.
    fn wait_for_line(&mut self, n: usize) -> Option<Instant> {
        while self.seen.len() < n {
            match self.lines.recv_timeout(Duration::from_secs(120)) {
                Ok(line) => self.seen.push(line),
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => return None,
            }
        }
        Some(Instant::now())
    }

    /// Waits for the exit and returns it with every stderr line; `Err` with the lines seen
    /// when the process still ran after `limit` (it is killed then: a hang).
    pub fn wait(mut self, limit: Duration) -> Result<(ExitStatus, Vec<String>), Vec<String>> {
        let deadline = self.started + limit;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                self.drain();
                return Ok((status, std::mem::take(&mut self.seen)));
            }
            if Instant::now() >= deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                self.drain();
                return Err(std::mem::take(&mut self.seen));
            }
            while let Ok(line) = self.lines.try_recv() {
                self.seen.push(line);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn drain(&mut self) {
        while let Ok(line) = self.lines.recv_timeout(Duration::from_millis(200)) {
            self.seen.push(line);
        }
    }
}

impl Drop for Watched {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

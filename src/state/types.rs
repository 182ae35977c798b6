//! Plain data that crosses the state store's interface: job summaries, records, journal
//! entries, rejects and lock holders. No database code lives here.
use std::collections::HashMap;
use std::fmt;
use std::hash::{BuildHasherDefault, Hasher};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A hasher that passes a `u64` through: record keys are already xxh3 hashes, so hashing
/// them again would only cost time when loading a million of them.
#[derive(Debug, Default, Clone, Copy)]
pub struct KeyHashHasher(u64);

impl Hasher for KeyHashHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        // Only reached if someone keys the map with something other than a u64: fold the
        // bytes in so the map stays correct, if slower.
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = v;
    }
}

/// key hash -> content hash of every record of a job, as loaded for a diff.
pub type RecordHashes = HashMap<u64, u64, BuildHasherDefault<KeyHashHasher>>;

/// One record to store: its key hash, content hash and key text (plans show removed keys).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordRef<'a> {
    pub key_hash: u64,
    pub content_hash: u64,
    pub key: &'a str,
}

/// The upserts in the tables' key order (signed, as stored), one per key hash: the last one
/// given wins, as if each had been written in turn. Sorted writes append to the index instead
/// of splitting pages all over it, several times faster for a million records.
pub(crate) fn sorted_unique<'a>(
    upserts: &mut dyn Iterator<Item = RecordRef<'a>>,
) -> Vec<RecordRef<'a>> {
    let mut sorted: Vec<RecordRef<'a>> = upserts.collect();
    // Stable: equal keys keep their order, so the last of them is the last given.
    sorted.sort_by_key(|r| to_db(r.key_hash));
    sorted.dedup_by(|later, kept| {
        let same = later.key_hash == kept.key_hash;
        if same {
            *kept = *later;
        }
        same
    });
    sorted
}

/// What `state list` and `state show` print about a job.
#[derive(Debug, Clone, PartialEq)]
pub struct JobSummary {
    pub job: String,
    /// Random id made when the job first appeared in this state; a new one after `rm`.
    pub lineage: String,
    /// Incremented by every commit to the job's state.
    pub serial: u64,
    pub records: u64,
    pub last_apply: Option<SystemTime>,
    pub lock: Option<LockInfo>,
}

/// Status of one journaled remote step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepStatus {
    Started,
    Done,
    Failed,
}

impl StepStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            StepStatus::Started => "started",
            StepStatus::Done => "done",
            StepStatus::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<StepStatus> {
        match s {
            "started" => Some(StepStatus::Started),
            "done" => Some(StepStatus::Done),
            "failed" => Some(StepStatus::Failed),
            _ => None,
        }
    }
}

/// One remote step of one apply run, written before and after the step runs.
/// Keyed by (job, run, step): writing it again updates it and keeps the first `started_at`.
#[derive(Debug, Clone, PartialEq)]
pub struct JournalEntry {
    /// The apply run's id.
    pub run: String,
    /// The step's id within the run (for example `upload/3`).
    pub step: String,
    /// What the step does (for example `upload`, `poll`, `fetch_rejects`).
    pub kind: String,
    pub status: StepStatus,
    /// The remote job's id: Marketo batchId, Eloqua sync URI, Dotdigital importId,
    /// MyPreferences access token.
    pub remote_id: Option<String>,
    /// When `remote_id` stops being usable (a token's expiry).
    pub expires_at: Option<SystemTime>,
    /// Anything else the provider needs to resume (JSON).
    pub details: serde_json::Value,
    pub started_at: SystemTime,
    pub updated_at: SystemTime,
}

/// A row the target rejected at the last apply (`bulkspec report JOB`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reject {
    /// Physical line in the source file where the record starts.
    pub line: u64,
    pub key: String,
    /// The API's error code.
    pub code: String,
    pub reason: String,
}

/// Who holds (or wants) a job's lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockHolder {
    pub host: String,
    pub pid: u32,
    pub user: String,
    /// The CI run's URL when running in GitHub Actions or GitLab CI.
    pub ci_run: Option<String>,
}

impl fmt::Display for LockHolder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{} (pid {})", self.user, self.host, self.pid)?;
        if let Some(url) = &self.ci_run {
            write!(f, ", CI run {url}")?;
        }
        Ok(())
    }
}

/// A job's lock as found in the state.
#[derive(Debug, Clone, PartialEq)]
pub struct LockInfo {
    pub holder: LockHolder,
    pub since: SystemTime,
    /// Time since `since`.
    pub age: Duration,
    /// Time since the last heartbeat.
    pub heartbeat_age: Duration,
    pub lease: Duration,
    /// The holder stopped renewing: the next acquirer takes the lock over.
    pub expired: bool,
}

/// Milliseconds since the Unix epoch, as stored in both backends.
pub(crate) fn to_ms(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_millis()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_millis()).unwrap_or(i64::MAX),
    }
}

/// The inverse of [`to_ms`].
pub(crate) fn from_ms(ms: i64) -> SystemTime {
    let d = Duration::from_millis(ms.unsigned_abs());
    if ms >= 0 {
        UNIX_EPOCH + d
    } else {
        UNIX_EPOCH - d
    }
}

/// Hashes are u64 but both databases store signed 64-bit integers: keep the bits.
pub(crate) fn to_db(h: u64) -> i64 {
    h as i64
}

/// The inverse of [`to_db`].
pub(crate) fn from_db(v: i64) -> u64 {
    v as u64
}

/// A random id telling a job's history apart from a job of the same name made after `rm`.
pub(crate) fn new_lineage() -> String {
    format!("{:032x}", rand::random::<u128>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_and_hashes_survive_the_database_encoding() {
        let t = UNIX_EPOCH + Duration::from_millis(1_700_000_000_123);
        assert_eq!(from_ms(to_ms(t)), t);
        assert_eq!(
            from_ms(to_ms(UNIX_EPOCH - Duration::from_secs(5))),
            UNIX_EPOCH - Duration::from_secs(5)
        );
        for h in [0, 1, u64::MAX, 1 << 63] {
            assert_eq!(from_db(to_db(h)), h);
        }
    }

    #[test]
    fn holder_display_names_user_host_pid_and_ci_run() {
        let mut h = LockHolder {
            host: "ci-7".into(),
            pid: 42,
            user: "runner".into(),
            ci_run: None,
        };
        assert_eq!(h.to_string(), "runner@ci-7 (pid 42)");
        h.ci_run = Some("https://example.com/r/1".into());
        assert_eq!(
            h.to_string(),
            "runner@ci-7 (pid 42), CI run https://example.com/r/1"
        );
    }
}

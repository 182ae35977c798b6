//! What this process knows of each open import's staging: how many records the import had
//! received after the last Stage that answered, and which chunk's Stage is in doubt (its
//! connection dropped or timed out, so it may have been staged).
//!
//! Stage is not idempotent (notes §8): sending a chunk again after it was staged would stage
//! its records twice, shift every later `SequenceNumber` and so misplace the rejects. Before
//! re-sending a chunk in doubt, the provider compares `TotalRecordsReceived` with this count.
//! Only in-memory: a batch resumed by another process starts with nothing known.

use std::collections::HashMap;
use std::sync::Mutex;

#[derive(Debug, Default, Clone, Copy)]
struct Entry {
    /// `TotalRecordsReceived` after the last answered Stage (`None`: unknown).
    received: Option<u64>,
    /// The chunk whose Stage got no answer, and the count before it.
    in_doubt: Option<(usize, u64)>,
}

/// Per import access token.
#[derive(Debug, Default)]
pub struct Ledger(Mutex<HashMap<String, Entry>>);

impl Ledger {
    fn with<R>(&self, token: &str, f: impl FnOnce(&mut Entry) -> R) -> R {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        f(map.entry(token.to_owned()).or_default())
    }

    /// A new import: nothing staged yet.
    pub fn opened(&self, token: &str) {
        self.with(token, |e| {
            *e = Entry {
                received: Some(0),
                in_doubt: None,
            }
        });
    }

    /// The count to compare with before sending `chunk` again, if its last Stage is in doubt.
    /// Uploading another chunk instead leaves the count unknown (the doubtful one may or may
    /// not be there), so later doubts cannot be settled.
    pub fn doubt_before(&self, token: &str, chunk: usize) -> Option<u64> {
        self.with(token, |e| match e.in_doubt {
            Some((c, before)) if c == chunk => Some(before),
            Some(_) => {
                *e = Entry::default();
                None
            }
            None => None,
        })
    }

    /// A Stage answered: the import now holds `received` records.
    pub fn staged(&self, token: &str, received: u64) {
        self.with(token, |e| {
            *e = Entry {
                received: Some(received),
                in_doubt: None,
            }
        });
    }

    /// A Stage of `chunk` got no answer.
    pub fn doubt(&self, token: &str, chunk: usize) {
        self.with(token, |e| {
            e.in_doubt = e.received.map(|before| (chunk, before))
        });
    }

    pub fn forget(&self, token: &str) {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(token);
    }
}

#[cfg(test)]
mod tests {
    use super::Ledger;

    #[test]
    fn doubts_are_settled_only_for_the_same_chunk_with_a_known_count() {
        let ledger = Ledger::default();
        ledger.opened("7");
        ledger.staged("7", 10);
        ledger.doubt("7", 1);
        assert_eq!(ledger.doubt_before("7", 1), Some(10));
        assert_eq!(
            ledger.doubt_before("7", 2),
            None,
            "another chunk: the count is now unknown"
        );
        ledger.doubt("7", 2);
        assert_eq!(ledger.doubt_before("7", 2), None);
        ledger.doubt("resumed", 0);
        assert_eq!(ledger.doubt_before("resumed", 0), None);
    }
}

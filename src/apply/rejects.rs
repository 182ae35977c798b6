//! Mapping the rows a remote job rejected back to the records that were sent, so the accepted
//! ones are committed and the rejected ones stay pending and are reported with their line.

use std::collections::HashMap;

use xxhash_rust::xxh3::xxh3_64;

use super::feed::SentRecord;
use crate::providers::{RejectAt, RemoteReject};
use crate::state::Reject;

/// Marks the rejected records of one remote job. Returns the rejects with source lines; sets
/// `rejected[i]` for each rejected record.
///
/// A reject that matches no sent record (a failures file names rows by a column the spec's
/// key is not made of) is reported with line 0, and then every record of the job is marked:
/// which one it meant is unknown, and committing it as accepted would lose it for good, while
/// keeping the job's records pending only sends them again (imports upsert).
pub fn map(records: &[SentRecord], remote: &[RemoteReject], rejected: &mut [bool]) -> Vec<Reject> {
    let mut by_hash: Option<HashMap<u64, usize>> = None;
    let mut out = Vec::with_capacity(remote.len());
    let mut unmatched = false;
    for r in remote {
        let idx = match &r.at {
            RejectAt::Index(i) => usize::try_from(*i).ok().filter(|i| *i < records.len()),
            RejectAt::Key(k) => {
                let map = by_hash.get_or_insert_with(|| {
                    records
                        .iter()
                        .enumerate()
                        .map(|(i, s)| (s.key_hash, i))
                        .collect()
                });
                map.get(&xxh3_64(k.as_bytes()))
                    .copied()
                    .or_else(|| records.iter().position(|s| s.key.eq_ignore_ascii_case(k)))
            }
        };
        match idx {
            Some(i) => {
                if let Some(flag) = rejected.get_mut(i) {
                    *flag = true;
                }
                let s = &records[i];
                out.push(Reject {
                    line: s.line,
                    key: s.key.to_string(),
                    code: r.code.clone(),
                    reason: r.reason.clone(),
                });
            }
            None => {
                let key = match &r.at {
                    RejectAt::Key(k) => k.clone(),
                    RejectAt::Index(i) => format!("#{i}"),
                };
                unmatched = true;
                out.push(Reject {
                    line: 0,
                    key,
                    code: r.code.clone(),
                    reason: format!(
                        "{} (the row could not be matched to a sent record, so the {} records of \
                         its remote job stay pending and the next apply sends them again)",
                        r.reason,
                        records.len()
                    ),
                });
            }
        }
    }
    if unmatched {
        rejected.iter_mut().for_each(|r| *r = true);
    }
    out
}

/// Every record of a remote job that failed as a whole.
pub fn all_failed(records: &[SentRecord], reason: &str, rejected: &mut [bool]) -> Vec<Reject> {
    rejected.iter_mut().for_each(|r| *r = true);
    records
        .iter()
        .map(|s| Reject {
            line: s.line,
            key: s.key.to_string(),
            code: "JOB_FAILED".into(),
            reason: reason.to_owned(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(key: &str, line: u64) -> SentRecord {
        SentRecord {
            key_hash: xxh3_64(key.as_bytes()),
            content_hash: 0,
            line,
            key: key.into(),
        }
    }

    #[test]
    fn maps_by_index_and_by_key() {
        let records = vec![rec("a@x.org", 2), rec("B@x.org", 3), rec("c@x.org", 5)];
        let remote = vec![
            RemoteReject {
                at: RejectAt::Index(2),
                code: "1004".into(),
                reason: "bad".into(),
            },
            RemoteReject {
                at: RejectAt::Key("b@x.org".into()),
                code: "1003".into(),
                reason: "worse".into(),
            },
            RemoteReject {
                at: RejectAt::Key("zz".into()),
                code: "9".into(),
                reason: "?".into(),
            },
        ];
        let mut rejected = vec![false; 3];
        let out = map(&records, &remote[..2], &mut rejected);
        assert_eq!(rejected, vec![false, true, true]);
        assert_eq!((out[0].line, out[0].key.as_str()), (5, "c@x.org"));
        assert_eq!((out[1].line, out[1].key.as_str()), (3, "B@x.org"));

        // A reject naming no sent record: none of the job's records counts as accepted.
        let mut rejected = vec![false; 3];
        let out = map(&records, &remote, &mut rejected);
        assert_eq!(rejected, vec![true, true, true]);
        assert_eq!(out.len(), 3, "the real rejects only are reported");
        assert_eq!((out[2].line, out[2].key.as_str()), (0, "zz"));
        assert!(out[2].reason.contains("stay pending"), "{}", out[2].reason);
    }
}

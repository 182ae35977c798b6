//! What a sync's status means for the executor (eloqua.md §8.2, §8.3).
//!
//! `pending`/`active` run, `success`/`warning` are done (rows may be rejected). `error` (or
//! `errored`, the prose spelling) is ambiguous: a sync fails as a whole, but one whose every
//! row was rejected ends in `error` too. The logs tell them apart: when the rejected count
//! (ELQ-00060) covers the processed count (ELQ-00001), every row is in the rejects and the sync
//! is reported `Done` so the executor reads them (nothing is marked applied, each row keeps its
//! reason); otherwise it `Failed` and nothing of it counts as applied. Pure functions, no I/O.

use super::wire::LogItem;
use crate::providers::{PollStatus, ProviderError};

/// Code of the "total records processed" log line.
const TOTAL: &str = "ELQ-00001";
/// Code of the "total rejected records" log line.
const REJECTED: &str = "ELQ-00060";

/// The poll result of a status; `None` for the failure status, which needs the logs (`judge`).
pub fn status(uri: &str, status: &str) -> Result<Option<PollStatus>, ProviderError> {
    match status.to_ascii_lowercase().as_str() {
        "pending" | "active" => Ok(Some(PollStatus::Running(status.to_string()))),
        "success" | "warning" => Ok(Some(PollStatus::Done)),
        "error" | "errored" => Ok(None),
        _ => Err(ProviderError::Permanent {
            message: format!("Eloqua sync {uri} has an unknown status `{status}`"),
        }),
    }
}

/// A sync that ended in `status` (the failure status), judged by its logs.
pub fn judge(uri: &str, status: &str, logs: &[LogItem]) -> PollStatus {
    let count = |code: &str| {
        logs.iter()
            .filter(|l| l.status_code.as_deref() == Some(code))
            .filter_map(|l| l.count)
            .max()
    };
    if let (Some(total), Some(rejected)) = (count(TOTAL), count(REJECTED))
        && total > 0
        && rejected >= total
    {
        return PollStatus::Done;
    }
    let errors: Vec<String> = logs
        .iter()
        .filter(|l| {
            l.severity
                .as_deref()
                .is_some_and(|s| s.eq_ignore_ascii_case("error"))
        })
        .map(|l| {
            format!(
                "{} {}",
                l.status_code.as_deref().unwrap_or(""),
                l.message.as_deref().unwrap_or("")
            )
            .trim()
            .to_string()
        })
        .collect();
    let why = if errors.is_empty() {
        "its logs give no error line".to_string()
    } else {
        errors.join("; ")
    };
    PollStatus::Failed(format!(
        "Eloqua sync {uri} ended with status `{status}`: {why}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log(severity: &str, code: &str, count: u64) -> LogItem {
        LogItem {
            severity: Some(severity.into()),
            status_code: Some(code.into()),
            message: Some("msg".into()),
            count: Some(count),
        }
    }

    #[test]
    fn statuses_map_to_poll_results() {
        assert_eq!(
            status("/syncs/1", "pending"),
            Ok(Some(PollStatus::Running("pending".into())))
        );
        assert_eq!(
            status("/syncs/1", "active"),
            Ok(Some(PollStatus::Running("active".into())))
        );
        assert_eq!(status("/syncs/1", "success"), Ok(Some(PollStatus::Done)));
        assert_eq!(status("/syncs/1", "Warning"), Ok(Some(PollStatus::Done)));
        assert_eq!(status("/syncs/1", "errored"), Ok(None));
        assert_eq!(status("/syncs/1", "error"), Ok(None));
        assert!(status("/syncs/1", "exploded").is_err());
    }

    #[test]
    fn an_error_sync_whose_rows_were_all_rejected_is_done() {
        let logs = [
            log("information", TOTAL, 3),
            log("warning", "ELQ-00085", 3),
            log("warning", REJECTED, 3),
        ];
        assert_eq!(judge("/syncs/1", "error", &logs), PollStatus::Done);
    }

    #[test]
    fn an_error_sync_that_failed_as_a_whole_failed() {
        let logs = [log("information", TOTAL, 3), log("error", "ELQ-00101", 0)];
        assert_eq!(
            judge("/syncs/1", "error", &logs),
            PollStatus::Failed(
                "Eloqua sync /syncs/1 ended with status `error`: ELQ-00101 msg".into()
            )
        );
        let partly = [log("information", TOTAL, 3), log("warning", REJECTED, 2)];
        assert!(matches!(
            judge("/syncs/1", "error", &partly),
            PollStatus::Failed(_)
        ));
        // An empty sync that "failed" is not mistaken for all-rejected.
        let empty = [
            log("information", TOTAL, 0),
            log("information", REJECTED, 0),
        ];
        assert!(matches!(
            judge("/syncs/1", "errored", &empty),
            PollStatus::Failed(_)
        ));
    }
}

//! The remote steps of a job's apply, predicted from the diff's chunks: which requests, how
//! many, how many bytes. Upload counts and bytes are exact; polls are estimates (they depend
//! on how fast the remote job runs) and say so.

use super::diff::{Chunk, DiffResult};
use super::model::Step;
use crate::spec::types::{Mode, Spec, Target};

fn step(kind: &str, requests: u64, description: impl Into<String>) -> Step {
    Step {
        kind: kind.into(),
        requests,
        bytes: 0,
        records: 0,
        description: description.into(),
        estimated: false,
    }
}

fn estimated(mut s: Step) -> Step {
    s.estimated = true;
    s
}

fn upload(kind: &str, chunks: &[Chunk], what: &str) -> Step {
    let records: u64 = chunks.iter().map(|c| c.records).sum();
    let bytes: u64 = chunks.iter().map(|c| c.bytes).sum();
    Step {
        kind: kind.into(),
        requests: chunks.len() as u64,
        bytes,
        records,
        description: format!("{what}: {records} records in {} request(s)", chunks.len()),
        estimated: false,
    }
}

/// Chunks of `removed` records of about `record_bytes` each, for removal imports.
fn removal_chunks(removed: u64, record_bytes: u64, max: u64) -> Vec<Chunk> {
    if removed == 0 {
        return Vec::new();
    }
    let per = (max / record_bytes.max(1)).max(1);
    let n = removed.div_ceil(per);
    (0..n)
        .map(|i| Chunk {
            records: per.min(removed - i * per),
            bytes: per.min(removed - i * per) * record_bytes + 2,
        })
        .collect()
}

/// The steps of one job; empty when nothing is sent.
pub fn predict(spec: &Spec, diff: &DiffResult, max_request_bytes: u64) -> Vec<Step> {
    let n = diff.chunks.len() as u64;
    let mirror_removes = if spec.mode == Mode::Mirror {
        diff.removed.len() as u64
    } else {
        0
    };
    if n == 0 && mirror_removes == 0 {
        return Vec::new();
    }
    match &spec.target {
        Target::ProgramMembers(t) => vec![
            step(
                "auth",
                1,
                "get an access token (identity, client credentials)",
            ),
            upload(
                "upload",
                &diff.chunks,
                &format!(
                    "import program members into program {} as `{}`",
                    t.program_id, t.program_member_status
                ),
            ),
            estimated(step(
                "poll",
                2 * n,
                "poll each batch's status until Complete or Failed",
            )),
            estimated(step(
                "fetch_results",
                2 * n,
                "download the failures and warnings files of each batch",
            )),
        ],
        Target::Leads(_) => vec![
            step(
                "auth",
                1,
                "get an access token (identity, client credentials)",
            ),
            upload("upload", &diff.chunks, "import leads"),
            estimated(step(
                "poll",
                2 * n,
                "poll each batch's status until Complete or Failed",
            )),
            estimated(step(
                "fetch_results",
                2 * n,
                "download the failures and warnings files of each batch",
            )),
        ],
        Target::OpportunityContacts(_) | Target::Contacts(_) => vec![
            step("discover", 1, "discover the instance's base URL (/id)"),
            step("create_definition", 1, "create the import definition"),
            upload("upload", &diff.chunks, "upload data to the definition"),
            step("start", 1, "start the sync"),
            estimated(step(
                "poll",
                2,
                "poll the sync until success, warning or error",
            )),
            estimated(step("fetch_results", 2, "read the sync's rejects and logs")),
            step("delete_definition", 1, "delete the import definition"),
        ],
        Target::TransactionalData(t) => vec![
            upload(
                "upload",
                &diff.chunks,
                &format!("import insight data into collection `{}`", t.collection),
            ),
            estimated(step(
                "poll",
                2 * n,
                "poll each import until Finished or Failed",
            )),
            step("fetch_results", n, "read each import's report (faults)"),
        ],
        Target::Profiles(_) => {
            let mut steps = Vec::new();
            if n > 0 {
                let action = if spec.mode == Mode::Delete {
                    "Delete"
                } else {
                    "Add"
                };
                steps.extend([
                    step("auth", 1, "get an access token"),
                    step(
                        "initiate",
                        1,
                        format!("initiate a bulk import (ImportAction {action})"),
                    ),
                    upload("upload", &diff.chunks, "stage profiles"),
                    step("start", 1, "execute the import"),
                    estimated(step("poll", 2, "poll the import until Completed or Failed")),
                    estimated(step("fetch_results", 1, "read the import's exceptions")),
                ]);
            }
            if mirror_removes > 0 {
                let chunks = removal_chunks(mirror_removes, 64, max_request_bytes);
                steps.extend([
                    step("initiate", 1, "initiate a bulk import (ImportAction Delete) for profiles that left the source"),
                    upload("upload", &chunks, "stage the profiles to delete"),
                    step("start", 1, "execute the delete import"),
                    estimated(step("poll", 2, "poll the delete import")),
                ]);
            }
            steps
        }
    }
}

#[cfg(test)]
mod tests {
    use super::removal_chunks;

    #[test]
    fn removal_chunks_cover_every_record() {
        let c = removal_chunks(1000, 64, 6400);
        assert_eq!(c.iter().map(|c| c.records).sum::<u64>(), 1000);
        assert!(c.iter().all(|c| c.records <= 100));
        assert!(removal_chunks(0, 64, 100).is_empty());
    }
}

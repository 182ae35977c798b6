//! The `Provider` the apply executor drives for Dotdigital insight data: every uploaded chunk
//! is its own bulk import (`Batching::PerChunk`), polled to `Finished` or `Failed`, and its
//! report's faults are the rejected records, by key (../shared/providers/dotdigital.md §5, §7).
//!
//! One remote call per method, no retry or polling loops, no state: the executor owns those.

use std::time::Duration;

use bytes::Bytes;

use super::client::Client;
use super::wire::{Fault, ImportState, Report, describe_reason, write_import_record};
use crate::providers::{
    BatchKind, Batching, ChunkRecord, ClientContext, PollStatus, Provider, ProviderError, RejectAt,
    RemoteBatch, RemoteReject,
};
use crate::spec::types::dotdigital::{Scope, collection_name_ok};
use crate::spec::types::{Spec, Target};

/// The contact identifier of every record of an account-scoped collection (§5).
const ACCOUNT: &str = "account";

/// A Dotdigital insight data import job: one collection, one scope.
#[derive(Debug)]
pub struct DotdigitalProvider {
    client: Client,
    collection: String,
    scope: Scope,
}

impl DotdigitalProvider {
    /// The provider of a `dotdigital` / `transactional_data` spec.
    pub fn new(spec: &Spec, cx: ClientContext) -> Result<Self, ProviderError> {
        let Target::TransactionalData(t) = &spec.target else {
            return Err(ProviderError::Permanent {
                message: format!(
                    "job `{}` is not a dotdigital transactional_data job",
                    spec.job
                ),
            });
        };
        // The name goes into the URL path unescaped: only validated names may get there.
        if !collection_name_ok(&t.collection, t.allow_dashes) {
            return Err(ProviderError::Permanent {
                message: format!(
                    "`{}` is not a valid Dotdigital collection name",
                    t.collection
                ),
            });
        }
        Ok(Self {
            client: Client::new(&cx)?,
            collection: t.collection.clone(),
            scope: t.scope,
        })
    }

    /// Overrides the per-call timeout (default: the 121 s the notes ask clients to allow).
    pub fn with_call_timeout(mut self, timeout: Duration) -> Self {
        self.client.set_timeout(timeout);
        self
    }

    /// The contact identifier a record is sent with.
    fn contact<'r>(&self, record: &'r ChunkRecord) -> Result<&'r str, ProviderError> {
        match (self.scope, record.contact.as_deref()) {
            (Scope::Account, Some(c)) if c != ACCOUNT => Err(ProviderError::Permanent {
                message: format!(
                    "record `{}`: an account-scoped collection takes contact identifier `account`, not `{c}`",
                    record.key
                ),
            }),
            (Scope::Account, _) => Ok(ACCOUNT),
            (Scope::Contact, Some(c)) if !c.is_empty() && c != ACCOUNT => Ok(c),
            (Scope::Contact, _) => Err(ProviderError::Permanent {
                message: format!(
                    "record `{}` has no contact identifier (a contact-scoped collection needs an email or a contact id)",
                    record.key
                ),
            }),
        }
    }
}

impl Provider for DotdigitalProvider {
    fn batching(&self) -> Batching {
        Batching::PerChunk
    }

    /// The compact JSON array `[{"key":…,"contactIdentifier":…,"json":{…}},…]`, exactly the
    /// bytes the plan's size model counts.
    fn encode(&self, kind: BatchKind, records: &[ChunkRecord]) -> Result<Bytes, ProviderError> {
        if kind == BatchKind::Delete {
            return Err(ProviderError::Permanent {
                message: "the Dotdigital bulk import cannot delete records".into(),
            });
        }
        let mut out = Vec::with_capacity(records.iter().map(|r| r.record.len() + 64).sum());
        out.push(b'[');
        for (i, r) in records.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            let json = r.record.json().ok_or_else(|| ProviderError::Permanent {
                message: format!("record `{}` is not JSON", r.key),
            })?;
            write_import_record(&mut out, &r.key, self.contact(r)?, json);
        }
        out.push(b']');
        Ok(Bytes::from(out))
    }

    /// Nothing to open: every upload starts its own import.
    async fn open_batch(&self, kind: BatchKind) -> Result<RemoteBatch, ProviderError> {
        Ok(RemoteBatch {
            id: String::new(),
            kind,
            expires_at: None,
            details: serde_json::json!({ "collection": self.collection }),
        })
    }

    /// Starts the bulk import of one chunk; its id is what `poll` and `rejects` take. The
    /// call is not idempotent (§9.2): a lost answer may hide an accepted import, which is
    /// harmless for data because records upsert by key.
    async fn upload(
        &self,
        _batch: &RemoteBatch,
        _chunk: usize,
        body: Bytes,
    ) -> Result<Option<String>, ProviderError> {
        let import = self.client.start_import(&self.collection, body).await?;
        if import.id.is_empty() {
            return Err(ProviderError::Permanent {
                message: "Dotdigital accepted the import but gave no import id".into(),
            });
        }
        Ok(Some(import.id))
    }

    async fn start(&self, _batch: &RemoteBatch) -> Result<String, ProviderError> {
        Err(ProviderError::Permanent {
            message: "Dotdigital imports start on upload; there is no separate start".into(),
        })
    }

    async fn poll(
        &self,
        _batch: &RemoteBatch,
        remote_id: &str,
    ) -> Result<PollStatus, ProviderError> {
        let import = self.client.import_status(remote_id).await?;
        Ok(match ImportState::of(&import.status) {
            ImportState::Pending(status) => PollStatus::Running(status),
            ImportState::Finished => PollStatus::Done,
            ImportState::Failed => PollStatus::Failed(format!(
                "Dotdigital import {remote_id} failed; none of its records were imported"
            )),
        })
    }

    /// The report's faults, one per rejected record, by record key. Records of unknown
    /// contacts are among them although the import answered 202 (§5).
    async fn rejects(
        &self,
        _batch: &RemoteBatch,
        remote_id: &str,
    ) -> Result<Vec<RemoteReject>, ProviderError> {
        let report = self.client.import_report(remote_id).await?;
        rejects_of(remote_id, report)
    }

    async fn close_batch(&self, _batch: &RemoteBatch) -> Result<(), ProviderError> {
        Ok(())
    }
}

/// The rejects of a report. A record missing from the faults would be taken as accepted, so a
/// report whose counters say more records were not imported than it lists is refused.
fn rejects_of(remote_id: &str, report: Report) -> Result<Vec<RemoteReject>, ProviderError> {
    let faults = report.faults.unwrap_or_default();
    let not_imported = report
        .total_rejected
        .max(report.total_items.saturating_sub(report.total_imported));
    if (faults.len() as u64) < not_imported {
        return Err(ProviderError::Permanent {
            message: format!(
                "Dotdigital import {remote_id}: the report counts {not_imported} records not imported but lists {} faults",
                faults.len()
            ),
        });
    }
    Ok(faults.into_iter().map(reject).collect())
}

/// One fault as a reject. A fault without a key (the vendor marks it nullable) cannot name
/// its record; it is kept, under an empty key, so the report still shows it.
fn reject(fault: Fault) -> RemoteReject {
    let code = fault.reason.unwrap_or_else(|| "Unknown".to_owned());
    let mut reason = describe_reason(&code).to_owned();
    if let Some(detail) = fault.detail.filter(|d| !d.trim().is_empty()) {
        reason = format!("{reason}: {detail}");
    }
    RemoteReject {
        at: RejectAt::Key(fault.key.unwrap_or_default()),
        code,
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(text: &str) -> Report {
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn faults_become_rejects_by_key() {
        let r = report(
            r#"{"totalItems":3,"totalImported":1,"totalRejected":2,"faults":[
                {"key":"ORD-2","reason":"ContactIdDoesNotExist","detail":null},
                {"key":"ORD-3","reason":"InvalidJson","detail":"line 1"}]}"#,
        );
        let rejects = rejects_of("id", r).unwrap();
        assert_eq!(rejects[0].at, RejectAt::Key("ORD-2".into()));
        assert_eq!(rejects[0].code, "ContactIdDoesNotExist");
        assert_eq!(rejects[1].reason, "the record is not valid JSON: line 1");
    }

    #[test]
    fn a_report_listing_fewer_faults_than_it_counts_is_refused() {
        let short = report(
            r#"{"totalItems":3,"totalImported":1,"totalRejected":2,"faults":[{"key":"a","reason":"InvalidJson"}]}"#,
        );
        assert!(matches!(
            rejects_of("id", short),
            Err(ProviderError::Permanent { .. })
        ));
        let uncounted =
            report(r#"{"totalItems":3,"totalImported":1,"totalRejected":0,"faults":null}"#);
        assert!(rejects_of("id", uncounted).is_err());
        let clean = report(r#"{"totalItems":3,"totalImported":3,"totalRejected":0,"faults":null}"#);
        assert_eq!(rejects_of("id", clean).unwrap(), vec![]);
    }
}

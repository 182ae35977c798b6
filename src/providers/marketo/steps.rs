//! `impl Provider` for Marketo's bulk imports (marketo.md §6-§8, §12): every chunk is its own
//! batch (upload = import, returning the batchId), polled until `Complete` or `Failed`, then
//! its failures file read back into rejects keyed by the match column. Warnings only go to the
//! log: warned rows were imported.
//!
//! No retry or polling loop lives here; the executor drives these steps.

use std::collections::HashMap;
use std::sync::Mutex;

use bytes::Bytes;

use super::client::Client;
use super::config::{Object, Settings};
use super::files;
use crate::providers::{
    BatchKind, Batching, ChunkRecord, ClientContext, PollStatus, Provider, ProviderError,
    RemoteBatch, RemoteReject,
};
use crate::spec::types::Spec;

/// Counters a finished batch reported, so `rejects` skips files known to be empty.
#[derive(Debug, Clone, Copy)]
struct Counts {
    failed: u64,
    warned: u64,
}

/// The Marketo client of one job (program members or leads).
#[derive(Debug)]
pub struct MarketoProvider {
    job: String,
    settings: Settings,
    client: Client,
    finished: Mutex<HashMap<String, Counts>>,
}

impl MarketoProvider {
    pub fn new(spec: &Spec, cx: ClientContext) -> Result<Self, ProviderError> {
        Ok(MarketoProvider {
            job: spec.job.clone(),
            settings: Settings::from_spec(spec)?,
            client: Client::new(&cx)?,
            finished: Mutex::new(HashMap::new()),
        })
    }

    /// Path of the import endpoint and its query parameters.
    fn import_request(&self) -> (String, Vec<(&'static str, String)>) {
        let mut query = vec![("format", self.settings.format_param().to_owned())];
        let path = match &self.settings.object {
            Object::ProgramMembers { program_id, status } => {
                query.push(("programMemberStatus", status.clone()));
                format!("/bulk/v1/program/{program_id}/members/import.json")
            }
            Object::Leads {
                lookup_field,
                list_id,
                partition,
            } => {
                query.push(("lookupField", lookup_field.clone()));
                if let Some(id) = list_id {
                    query.push(("listId", id.to_string()));
                }
                if let Some(p) = partition {
                    query.push(("partitionName", p.clone()));
                }
                "/bulk/v1/leads.json".to_owned()
            }
        };
        (path, query)
    }

    /// Path of a batch's status object or one of its files (`failures`, `warnings`).
    fn batch_path(&self, batch_id: u64, what: Option<&str>) -> String {
        match (&self.settings.object, what) {
            (Object::ProgramMembers { .. }, None) => {
                format!("/bulk/v1/program/members/import/{batch_id}/status.json")
            }
            (Object::ProgramMembers { .. }, Some(file)) => {
                format!("/bulk/v1/program/members/import/{batch_id}/{file}.json")
            }
            (Object::Leads { .. }, None) => format!("/bulk/v1/leads/batch/{batch_id}.json"),
            (Object::Leads { .. }, Some(file)) => {
                format!("/bulk/v1/leads/batch/{batch_id}/{file}.json")
            }
        }
    }

    fn counts(&self) -> std::sync::MutexGuard<'_, HashMap<String, Counts>> {
        match self.finished.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    fn file_name(&self, chunk: usize) -> String {
        format!("{}-{chunk}.{}", self.job, self.settings.format_param())
    }
}

/// A journaled batch id back to Marketo's integer.
fn batch_id(remote_id: &str) -> Result<u64, ProviderError> {
    remote_id.parse().map_err(|_| ProviderError::Permanent {
        message: format!("`{remote_id}` is not a Marketo batch id"),
    })
}

/// Marketo imports only insert or update.
fn upsert_only(kind: BatchKind) -> Result<(), ProviderError> {
    match kind {
        BatchKind::Upsert => Ok(()),
        BatchKind::Delete => Err(ProviderError::Permanent {
            message: "Marketo bulk imports only insert or update; they cannot delete".into(),
        }),
    }
}

impl Provider for MarketoProvider {
    fn batching(&self) -> Batching {
        Batching::PerChunk
    }

    fn encode(&self, kind: BatchKind, records: &[ChunkRecord]) -> Result<Bytes, ProviderError> {
        upsert_only(kind)?;
        Ok(Bytes::from(files::encode(
            &self.settings.columns,
            self.settings.delimiter(),
            records,
        )))
    }

    async fn open_batch(&self, kind: BatchKind) -> Result<RemoteBatch, ProviderError> {
        upsert_only(kind)?;
        let object = match self.settings.object {
            Object::ProgramMembers { .. } => "program_members",
            Object::Leads { .. } => "leads",
        };
        Ok(RemoteBatch {
            id: String::new(),
            kind,
            expires_at: None,
            details: serde_json::json!({ "object": object }),
        })
    }

    async fn upload(
        &self,
        batch: &RemoteBatch,
        chunk: usize,
        body: Bytes,
    ) -> Result<Option<String>, ProviderError> {
        upsert_only(batch.kind)?;
        let (path, query) = self.import_request();
        let created = self
            .client
            .import(&path, &query, body, &self.file_name(chunk))
            .await?;
        tracing::debug!(job = %self.job, chunk, batch_id = created.batch_id, status = %created.status, "Marketo import accepted");
        Ok(Some(created.batch_id.to_string()))
    }

    async fn start(&self, _batch: &RemoteBatch) -> Result<String, ProviderError> {
        Err(ProviderError::Permanent {
            message: "Marketo batches start when they are uploaded; there is nothing to start"
                .into(),
        })
    }

    async fn poll(
        &self,
        _batch: &RemoteBatch,
        remote_id: &str,
    ) -> Result<PollStatus, ProviderError> {
        let id = batch_id(remote_id)?;
        let b = self.client.batch(&self.batch_path(id, None)).await?;
        Ok(match b.status.as_str() {
            "Complete" => {
                let counts = Counts {
                    failed: b.num_of_rows_failed.unwrap_or(0),
                    warned: b.num_of_rows_with_warning.unwrap_or(0),
                };
                tracing::debug!(job = %self.job, batch_id = id, processed = ?b.num_of_leads_processed, failed = counts.failed, "Marketo batch complete");
                if b.num_of_rows_failed.is_some() && b.num_of_rows_with_warning.is_some() {
                    self.counts().insert(remote_id.to_owned(), counts);
                }
                PollStatus::Done
            }
            "Failed" => PollStatus::Failed(
                b.message
                    .unwrap_or_else(|| format!("Marketo batch {id} failed")),
            ),
            // Queued, Importing, or a status these notes do not know yet.
            other => PollStatus::Running(other.to_owned()),
        })
    }

    async fn rejects(
        &self,
        _batch: &RemoteBatch,
        remote_id: &str,
    ) -> Result<Vec<RemoteReject>, ProviderError> {
        let id = batch_id(remote_id)?;
        let known = self.counts().get(remote_id).copied();
        let delimiter = self.settings.delimiter();
        let rejects = match known {
            Some(c) if c.failed == 0 => Vec::new(),
            _ => {
                let body = self
                    .client
                    .file(&self.batch_path(id, Some("failures")))
                    .await?;
                files::failures(&body, delimiter, self.settings.match_column())?
            }
        };
        let warned = match known {
            Some(c) => c.warned as usize,
            None => files::count_rows(
                &self
                    .client
                    .file(&self.batch_path(id, Some("warnings")))
                    .await?,
                delimiter,
            ),
        };
        if warned > 0 {
            tracing::info!(job = %self.job, batch_id = id, warned, "Marketo imported rows with warnings (see the batch's warnings file)");
        }
        self.counts().remove(remote_id);
        Ok(rejects)
    }

    async fn close_batch(&self, _batch: &RemoteBatch) -> Result<(), ProviderError> {
        Ok(())
    }
}

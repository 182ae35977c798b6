//! `impl Provider` for Eloqua (`Batching::Single`): a batch is one import definition created by
//! `open_batch` (URI = batch id), filled by any number of `upload`s, synced once by `start`
//! (sync URI = remote id), read by `poll` and `rejects`, deleted by `close_batch`.
//!
//! Definitions are created with `isSyncTriggeredOnImport: false` (uploads only stage rows) and
//! `autoDeleteDuration` so a definition an interrupted run abandons cleans itself up. Rejects'
//! `recordIndex` is read as 1-based over the sync's rows in upload order (Oracle's example
//! reads that way; the notes leave it open, §12). `poll` reads the logs of a sync that ended in
//! `error` to tell "failed as a whole" from "every row rejected" (`outcome`).

use std::collections::HashSet;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use serde_json::{Value, json};

use super::client::{Client, relative};
use super::outcome;
use super::wire::{ContactDefinition, LinkageDefinition, SyncAction};
use crate::providers::{
    BatchKind, Batching, ChunkRecord, ClientContext, PollStatus, Provider, ProviderError, RejectAt,
    RemoteBatch, RemoteReject,
};
use crate::spec::types::eloqua::{
    Contacts, LinkEntityType, OpportunityContacts, SyncActionKind, UpdateRule,
};
use crate::spec::types::{Spec, Target};

/// `autoDeleteDuration` of every definition, and the matching `RemoteBatch::expires_at`.
const AUTO_DELETE: &str = "P1D";
const AUTO_DELETE_AFTER: Duration = Duration::from_secs(24 * 3600);
/// Page size of `/syncs` and `/syncs/{id}/rejects` (the API's maximum).
const PAGE: u64 = 1000;
/// Pages of `/syncs` read when looking for a sync an interrupted `start` may have created.
const MAX_SYNC_PAGES: u64 = 50;

/// The Eloqua client of one job.
pub struct EloquaProvider {
    client: Client,
    /// Where definitions are created: `/opportunities/contacts/imports` or `/contacts/imports`.
    collection: &'static str,
    definition: Value,
    /// Definitions this client created and has not asked to sync yet. `start` of any other
    /// definition (a retry after a lost answer, or a batch resumed from the journal by a new
    /// run) first looks for a sync the earlier attempt created, so the rows are never synced by
    /// one sync while a second, empty one "succeeds".
    unsynced: Mutex<HashSet<String>>,
}

impl std::fmt::Debug for EloquaProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EloquaProvider")
            .field("collection", &self.collection)
            .finish_non_exhaustive()
    }
}

impl EloquaProvider {
    pub fn new(spec: &Spec, cx: ClientContext) -> Result<Self, ProviderError> {
        let (collection, definition) = match &spec.target {
            Target::OpportunityContacts(t) => (
                "/opportunities/contacts/imports",
                serde_json::to_value(linkage(spec, t)),
            ),
            Target::Contacts(t) => ("/contacts/imports", serde_json::to_value(contacts(spec, t))),
            other => {
                let message = format!(
                    "job {} imports {} {}, not into Eloqua",
                    spec.job,
                    other.provider(),
                    other.object()
                );
                return Err(ProviderError::Permanent { message });
            }
        };
        let definition = definition.map_err(|e| ProviderError::Permanent {
            message: format!("cannot build the import definition: {e}"),
        })?;
        Ok(Self {
            client: Client::new(cx)?,
            collection,
            definition,
            unsynced: Mutex::new(HashSet::new()),
        })
    }

    /// The newest sync of `definition` on the instance, if any.
    async fn find_sync(&self, definition: &str) -> Result<Option<String>, ProviderError> {
        let mut found = None;
        for page in 0..MAX_SYNC_PAGES {
            let syncs = self.client.syncs(page * PAGE, PAGE).await?;
            let mut mine = syncs.items.iter().filter(|s| {
                s.synced_instance_uri
                    .as_deref()
                    .is_some_and(|u| u.eq_ignore_ascii_case(definition))
            });
            if let Some(last) = mine.next_back() {
                found = Some(last.uri.clone());
            }
            if !syncs.has_more() || syncs.items.is_empty() {
                break;
            }
        }
        Ok(found)
    }
}

fn linkage(spec: &Spec, t: &OpportunityContacts) -> LinkageDefinition {
    LinkageDefinition {
        name: t.name.clone().unwrap_or_else(|| spec.job.clone()),
        fields: t.fields.clone(),
        link_opportunities_entity_type: match t.link_entity_type {
            LinkEntityType::Contact => "Contact",
            LinkEntityType::Account => "Account",
        },
        link_opportunities_match_field_name: t.match_field_name.clone(),
        link_opportunities_source_field: t.source_field.clone(),
        link_opportunities_multiple_source_matches: t.multiple_source_matches,
        link_opportunities_case_sensitive_match_field: t.case_sensitive_match_field,
        link_opportunities_case_sensitive_source_field: t.case_sensitive_source_field,
        is_sync_triggered_on_import: false,
        data_retention_duration: t.data_retention_duration.clone(),
        auto_delete_duration: AUTO_DELETE,
    }
}

fn contacts(spec: &Spec, t: &Contacts) -> ContactDefinition {
    ContactDefinition {
        name: t.name.clone().unwrap_or_else(|| spec.job.clone()),
        fields: t.fields.clone(),
        identifier_field_name: spec.match_on.as_ref().and_then(|m| m.field.clone()),
        update_rule: match t.update_rule {
            UpdateRule::Always => "always",
            UpdateRule::IfNewIsNotNull => "ifNewIsNotNull",
            UpdateRule::IfExistingIsNull => "ifExistingIsNull",
            UpdateRule::UseFieldRule => "useFieldRule",
        },
        is_updating_multiple_matched_records: t.update_multiple_matches,
        sync_actions: t
            .sync_actions
            .iter()
            .map(|a| SyncAction {
                action: match a.action {
                    SyncActionKind::Add => "add",
                    SyncActionKind::Remove => "remove",
                    SyncActionKind::SetStatus => "setStatus",
                },
                destination: a.destination.clone(),
                status: a.status.clone(),
            })
            .collect(),
        is_sync_triggered_on_import: false,
        data_retention_duration: t.data_retention_duration.clone(),
        auto_delete_duration: AUTO_DELETE,
    }
}

fn no_delete() -> ProviderError {
    ProviderError::Permanent {
        message: "Eloqua imports cannot delete records; only upsert batches exist".into(),
    }
}

impl Provider for EloquaProvider {
    fn batching(&self) -> Batching {
        Batching::Single
    }

    /// A compact JSON array of the records: `[` + each record's JSON joined by `,` + `]`,
    /// the size the plan predicted (each record plus one separator, plus one for the brackets).
    fn encode(&self, kind: BatchKind, records: &[ChunkRecord]) -> Result<Bytes, ProviderError> {
        if kind == BatchKind::Delete {
            return Err(no_delete());
        }
        let mut out = Vec::with_capacity(records.len() * 64 + 2);
        out.push(b'[');
        for (i, r) in records.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            let json = r.record.json().ok_or_else(|| ProviderError::Permanent {
                message: format!("the record of line {} is not JSON", r.line),
            })?;
            out.extend_from_slice(json);
        }
        out.push(b']');
        Ok(Bytes::from(out))
    }

    async fn open_batch(&self, kind: BatchKind) -> Result<RemoteBatch, ProviderError> {
        if kind == BatchKind::Delete {
            return Err(no_delete());
        }
        let uri = self
            .client
            .create_definition(self.collection, &self.definition)
            .await?;
        self.unsynced
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(uri.clone());
        Ok(RemoteBatch {
            id: uri,
            kind,
            expires_at: SystemTime::now().checked_add(AUTO_DELETE_AFTER),
            details: json!({"collection": self.collection}),
        })
    }

    async fn upload(
        &self,
        batch: &RemoteBatch,
        _chunk: usize,
        body: Bytes,
    ) -> Result<Option<String>, ProviderError> {
        self.client.upload(&batch.id, body).await.map(|()| None)
    }

    async fn start(&self, batch: &RemoteBatch) -> Result<String, ProviderError> {
        let definition = relative(&batch.id)?;
        let fresh = self
            .unsynced
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(definition);
        if !fresh && let Some(uri) = self.find_sync(definition).await? {
            return Ok(uri);
        }
        Ok(self.client.create_sync(definition).await?.uri)
    }

    async fn poll(
        &self,
        _batch: &RemoteBatch,
        remote_id: &str,
    ) -> Result<PollStatus, ProviderError> {
        let sync = self.client.sync(remote_id).await?;
        match outcome::status(remote_id, &sync.status)? {
            Some(status) => Ok(status),
            None => {
                let logs = self.client.logs(remote_id, 0, PAGE).await?;
                Ok(outcome::judge(remote_id, &sync.status, &logs.items))
            }
        }
    }

    async fn rejects(
        &self,
        _batch: &RemoteBatch,
        remote_id: &str,
    ) -> Result<Vec<RemoteReject>, ProviderError> {
        let mut out = Vec::new();
        let mut offset = 0;
        loop {
            let page = self.client.rejects(remote_id, offset, PAGE).await?;
            for r in &page.items {
                let index = r
                    .record_index
                    .and_then(|i| i.checked_sub(1))
                    .ok_or_else(|| ProviderError::Permanent {
                        message: format!(
                            "a reject of Eloqua sync {remote_id} has no 1-based recordIndex: {:?}",
                            r.record_index
                        ),
                    })?;
                out.push(RemoteReject {
                    at: RejectAt::Index(index),
                    code: r.status_code.clone().unwrap_or_default(),
                    reason: r.message.clone().unwrap_or_default(),
                });
            }
            if !page.has_more() || page.items.is_empty() {
                return Ok(out);
            }
            offset += page.items.len() as u64;
        }
    }

    async fn close_batch(&self, batch: &RemoteBatch) -> Result<(), ProviderError> {
        self.client.delete_definition(&batch.id).await
    }
}

//! The MyPreferences step machine (`impl Provider`): one import per batch — Initiate
//! (`open_batch`), Stage per chunk (`upload`), Execute (`start`), Retrieve status (`poll`),
//! Retrieve exceptions (`rejects`). The import's access token is the batch id and the id to
//! poll.
//!
//! Where a status code alone cannot tell what happened, the import's status decides (one
//! extra Retrieve status call): a 409 on Stage is a full queue while this import is still
//! open (another import of the account is executing) and permanent once it was executed; a
//! 409 on Execute means an earlier Execute went through (a retried or resumed start); a 400
//! on Execute with every record rejected at staging leaves nothing to execute, which `poll`
//! reports as done. Retries, polling loops and journaling are the executor's.

use bytes::Bytes;
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::classify::Failure;
use super::client::Client;
use super::config::Settings;
use super::ledger::Ledger;
use super::rejects::{page_records, to_reject};
use super::wire::{self, ImportStatus, InitiateRequest};
use crate::providers::{
    BatchKind, Batching, ChunkRecord, ClientContext, PollStatus, Provider, ProviderError,
    RemoteBatch, RemoteReject,
};
use crate::spec::types::mypreferences::{MAX_UPLOAD_BYTES, Profiles};
use crate::spec::types::{Refresh, Spec, Target};

/// The client of one MyPreferences profiles job.
pub struct MypreferencesProvider {
    client: Client,
    /// Import `Name`.
    name: String,
    target: Profiles,
    /// The AlternateId type records match on (`MatchValue`); `None` matches on ProfileId.
    match_value: Option<String>,
    refresh: Refresh,
    ledger: Ledger,
}

fn permanent(message: impl Into<String>) -> ProviderError {
    ProviderError::Permanent {
        message: message.into(),
    }
}

impl MypreferencesProvider {
    /// A provider with the notes' default routes and collection names.
    pub fn new(spec: &Spec, cx: ClientContext) -> Result<Self, ProviderError> {
        Self::with_settings(spec, cx, Settings::default())
    }

    /// A provider with other routes or collection names (`Settings::from_env`).
    pub fn with_settings(
        spec: &Spec,
        cx: ClientContext,
        settings: Settings,
    ) -> Result<Self, ProviderError> {
        let Target::Profiles(target) = &spec.target else {
            return Err(permanent(format!(
                "job {}: the MyPreferences provider imports profiles only",
                spec.job
            )));
        };
        let name = target.name.clone().unwrap_or_else(|| spec.job.clone());
        // Notes §9 rule 1 and the ReasonCode limit: refused here rather than by a 400 later.
        if !(1..=100).contains(&name.chars().count()) {
            return Err(permanent("the import name must be 1 to 100 characters"));
        }
        if target.data_stage_duration > 10 {
            return Err(permanent(
                "data_stage_duration must be between 0 and 10 days",
            ));
        }
        if target
            .reason_code
            .as_ref()
            .is_some_and(|r| r.chars().count() > 256)
        {
            return Err(permanent("reason_code must be at most 256 characters"));
        }
        if spec.match_on.as_ref().is_some_and(|m| m.field.is_some()) {
            return Err(permanent(
                "MyPreferences matches by ProfileId or by match.alternate_id_type",
            ));
        }
        settings.check().map_err(permanent)?;
        Ok(Self {
            client: Client::new(cx, settings)?,
            name,
            target: target.clone(),
            match_value: spec
                .match_on
                .as_ref()
                .and_then(|m| m.alternate_id_type.clone()),
            refresh: spec.refresh.clone(),
            ledger: Ledger::default(),
        })
    }

    /// Bytes a Stage request adds to its records and the commas between them (29 with the
    /// default collection name: `{"UserProfilePreferences":[` and `]}`).
    pub fn stage_framing_bytes(&self) -> u64 {
        self.client.settings().stage_framing_bytes()
    }

    /// `TotalRecordsReceived` of an import: what a resumed apply compares with its own count
    /// before staging a chunk whose Stage got no answer (Stage is not idempotent).
    pub async fn records_received(&self, batch: &RemoteBatch) -> Result<u64, ProviderError> {
        Ok(self
            .client
            .status(token(batch)?)
            .await?
            .total_records_received)
    }

    fn initiate_request(&self, kind: BatchKind) -> InitiateRequest {
        let t = &self.target;
        // Refresh flags act on the data an Add brings; a Delete import carries none.
        let refresh = if kind == BatchKind::Upsert {
            self.refresh.clone()
        } else {
            Refresh::default()
        };
        InitiateRequest {
            name: self.name.clone(),
            import_action: action(kind),
            data_stage_duration: t.data_stage_duration,
            match_criteria: self.match_value.as_ref().map(|_| "AlternateIdType"),
            match_value: self.match_value.clone(),
            refresh_alternate_ids: refresh.alternate_ids,
            refresh_contacts: refresh.contacts,
            refresh_custom_fields: refresh.custom_fields,
            refresh_groups: refresh.groups,
            refresh_tags: refresh.tags,
            allow_prior_consents: t.allow_prior_consents,
            preserve_preferences: t.preserve_preferences,
            reason_code: t.reason_code.clone(),
        }
    }

    /// A 409 on Stage: a full queue while this import is open, else it was executed.
    async fn stage_conflict(&self, token: &str, failure: Failure) -> ProviderError {
        match self.client.status(token).await {
            Ok(s) if is_open(&s) => ProviderError::QueueFull {
                message: "MyPreferences: another import of this account is executing; staging waits for it".into(),
            },
            Ok(s) => permanent(format!("{} (the import is {})", failure.error, s.status)),
            Err(e) => e.into(),
        }
    }

    /// Settles a Stage in doubt: the import's new count when `body` is already staged.
    async fn already_staged(
        &self,
        token: &str,
        before: u64,
        body: &[u8],
    ) -> Result<Option<u64>, ProviderError> {
        let received = self.client.status(token).await?.total_records_received;
        let collection = &self.client.settings().stage_collection;
        let count = wire::count_staged(body, collection)
            .map_err(|e| permanent(format!("unreadable Stage body: {e}")))?;
        match received {
            r if r == before => Ok(None),
            r if r == before + count => Ok(Some(r)),
            r => Err(permanent(format!(
                "MyPreferences import {token} holds {r} records where {before} or {} were expected: \
                 cannot tell whether the last Stage went through",
                before + count
            ))),
        }
    }
}

fn action(kind: BatchKind) -> &'static str {
    match kind {
        BatchKind::Upsert => "Add",
        BatchKind::Delete => "Delete",
    }
}

fn token(batch: &RemoteBatch) -> Result<&str, ProviderError> {
    Some(batch.id.as_str())
        .filter(|t| !t.is_empty())
        .ok_or_else(|| permanent("the batch has no import access token"))
}

fn status_is(s: &ImportStatus, names: &[&str]) -> bool {
    names.iter().any(|n| s.status.eq_ignore_ascii_case(n))
}

/// Initiated or Staging: Stage and Execute are still allowed.
fn is_open(s: &ImportStatus) -> bool {
    status_is(s, &["Initiated", "Staging"])
}

/// Every staged record failed validation: Execute has nothing to do.
fn nothing_valid(s: &ImportStatus) -> bool {
    s.total_records_received > 0 && s.validation_successful == 0
}

impl Provider for MypreferencesProvider {
    fn batching(&self) -> Batching {
        Batching::Single
    }

    fn encode(&self, _kind: BatchKind, records: &[ChunkRecord]) -> Result<Bytes, ProviderError> {
        let collection = &self.client.settings().stage_collection;
        let texts = records
            .iter()
            .map(|r| {
                r.record
                    .json()
                    .ok_or_else(|| permanent(format!("the record of line {} is not JSON", r.line)))
            })
            .collect::<Result<Vec<&[u8]>, ProviderError>>()?;
        let body = wire::stage_body(collection, texts.into_iter())
            .map_err(|e| permanent(format!("cannot write the Stage body: {e}")))?;
        if body.len() as u64 > MAX_UPLOAD_BYTES {
            return Err(permanent(format!(
                "a Stage body of {} bytes exceeds MyPreferences' 28 MB ceiling; lower limits.max_request_bytes",
                body.len()
            )));
        }
        Ok(Bytes::from(body))
    }

    fn removal_record(&self, key: &str) -> Option<Value> {
        match &self.match_value {
            Some(kind) => {
                Some(json!({"AlternateIds": [{"AlternateIdType": kind, "AlternateId": key}]}))
            }
            None => key
                .trim()
                .parse::<u64>()
                .ok()
                .map(|id| json!({"ProfileId": id})),
        }
    }

    async fn open_batch(&self, kind: BatchKind) -> Result<RemoteBatch, ProviderError> {
        let status = self.client.initiate(&self.initiate_request(kind)).await?;
        if status.access_token.is_empty() {
            return Err(permanent(
                "MyPreferences Initiate answered without an AccessToken",
            ));
        }
        self.ledger.opened(&status.access_token);
        Ok(RemoteBatch {
            expires_at: status.expires.as_deref().and_then(wire::parse_expires),
            details: json!({"name": self.name, "action": action(kind), "expires": status.expires}),
            id: status.access_token,
            kind,
        })
    }

    async fn upload(
        &self,
        batch: &RemoteBatch,
        chunk: usize,
        body: Bytes,
    ) -> Result<Option<String>, ProviderError> {
        let token = token(batch)?;
        if let Some(before) = self.ledger.doubt_before(token, chunk)
            && let Some(received) = self.already_staged(token, before, &body).await?
        {
            self.ledger.staged(token, received);
            return Ok(None);
        }
        match self.client.stage(token, body).await {
            Ok(status) => {
                self.ledger.staged(token, status.total_records_received);
                Ok(None)
            }
            Err(f) if f.is(StatusCode::CONFLICT) => Err(self.stage_conflict(token, f).await),
            Err(f) => {
                if f.in_doubt() {
                    self.ledger.doubt(token, chunk);
                }
                Err(f.into())
            }
        }
    }

    async fn start(&self, batch: &RemoteBatch) -> Result<String, ProviderError> {
        let token = token(batch)?;
        let failure = match self.client.execute(token).await {
            Ok(_) => return Ok(token.to_owned()),
            Err(f) if f.is(StatusCode::CONFLICT) || f.is(StatusCode::BAD_REQUEST) => f,
            Err(f) => return Err(f.into()),
        };
        let status = self.client.status(token).await?;
        let went_through = failure.is(StatusCode::CONFLICT) && !is_open(&status);
        let nothing_to_do =
            failure.is(StatusCode::BAD_REQUEST) && is_open(&status) && nothing_valid(&status);
        if went_through || nothing_to_do {
            Ok(token.to_owned())
        } else {
            Err(failure.into())
        }
    }

    async fn poll(
        &self,
        _batch: &RemoteBatch,
        remote_id: &str,
    ) -> Result<PollStatus, ProviderError> {
        let s = self.client.status(remote_id).await?;
        let progress = || {
            format!(
                "{} ({} of {} processed)",
                s.status, s.processed, s.validation_successful
            )
        };
        if status_is(&s, &["Completed", "Complete"]) || (is_open(&s) && nothing_valid(&s)) {
            Ok(PollStatus::Done)
        } else if status_is(&s, &["Failed"]) {
            Ok(PollStatus::Failed(format!(
                "MyPreferences import {remote_id} failed: none of its {} valid records were applied",
                s.validation_successful
            )))
        } else if status_is(&s, &["Initiated", "Staging", "Queued", "Processing"]) {
            Ok(PollStatus::Running(progress()))
        } else {
            Err(permanent(format!(
                "MyPreferences import {remote_id} has an unknown status {:?}",
                s.status
            )))
        }
    }

    async fn rejects(
        &self,
        _batch: &RemoteBatch,
        remote_id: &str,
    ) -> Result<Vec<RemoteReject>, ProviderError> {
        let settings = self.client.settings();
        let limit = settings.exceptions_page_size.max(1);
        let mut rejects = std::collections::BTreeMap::new();
        let mut offset = 1u64;
        loop {
            let mut page = self.client.exceptions(remote_id, offset, limit).await?;
            let records = page_records(&mut page, &settings.exceptions_collection)?;
            let count = records.len() as u64;
            for record in records {
                let reject = to_reject(record)?;
                // Keyed by position, so overlapping pages cannot report a record twice.
                if let crate::providers::RejectAt::Index(i) = reject.at {
                    rejects.entry(i).or_insert(reject);
                }
            }
            if !page.has_more || count == 0 {
                return Ok(rejects.into_values().collect());
            }
            offset += count;
        }
    }

    async fn close_batch(&self, batch: &RemoteBatch) -> Result<(), ProviderError> {
        // The API has nothing to clean up: staged data is purged after DataStageDuration.
        self.ledger.forget(&batch.id);
        Ok(())
    }
}

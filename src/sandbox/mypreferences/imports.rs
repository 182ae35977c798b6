//! One bulk import: its validated settings (Initiate, §4.1), its state machine (§6), its
//! counters and the staged records and exceptions it holds, plus exception paging (§4.5).
//!
//! Pure data and rules: no locking, no HTTP, no clock reads (callers pass `now`).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::clock::format_iso;
use super::wire::{ExceptionsQuery, ImportStatus, InitiateRequest};

/// Import statuses, spelled as the status enum (`Completed`, not the prose's "Complete").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Status {
    Initiated,
    Staging,
    Queued,
    Processing,
    Completed,
    Failed,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Initiated => "Initiated",
            Status::Staging => "Staging",
            Status::Queued => "Queued",
            Status::Processing => "Processing",
            Status::Completed => "Completed",
            Status::Failed => "Failed",
        }
    }

    /// Whether Stage and Execute are still allowed.
    pub fn is_open(self) -> bool {
        matches!(self, Status::Initiated | Status::Staging)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Action {
    Add,
    Delete,
}

/// The refresh flags of §4.1.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refresh {
    pub alternate_ids: bool,
    pub contacts: bool,
    pub custom_fields: bool,
    pub groups: bool,
    pub tags: bool,
}

/// Validated Initiate settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    pub name: String,
    pub action: Action,
    pub data_stage_duration: i64,
    /// The AlternateIdType to match on (`MatchCriteria: "AlternateIdType"`), else `ProfileId`.
    pub match_value: Option<String>,
    pub refresh: Refresh,
    pub allow_prior_consents: bool,
    pub preserve_preferences: Option<bool>,
    pub reason_code: Option<String>,
}

/// Checks §9 rules 1–2 (except the account lookup of `MatchValue`); the error is the
/// `Message` of the 400.
pub fn validate_initiate(req: InitiateRequest) -> Result<Settings, String> {
    let name = req.name.unwrap_or_default();
    let name_len = name.chars().count();
    if !(1..=100).contains(&name_len) {
        return Err(format!(
            "Name is required and must be 1 to 100 characters (got {name_len})."
        ));
    }
    let data_stage_duration = req.data_stage_duration.unwrap_or(3);
    if !(0..=10).contains(&data_stage_duration) {
        return Err(format!(
            "DataStageDuration must be between 0 and 10 (got {data_stage_duration})."
        ));
    }
    let action = match req.import_action.as_deref() {
        None | Some("Add") => Action::Add,
        Some("Delete") => Action::Delete,
        Some(other) => {
            return Err(format!(
                "ImportAction must be Add or Delete (got {other:?})."
            ));
        }
    };
    let match_value = match (req.match_criteria.as_deref(), req.match_value) {
        (None, None) => None,
        (Some("AlternateIdType"), Some(value)) if !value.trim().is_empty() => Some(value),
        (Some("AlternateIdType"), _) => {
            return Err("MatchValue is required with MatchCriteria.".into());
        }
        (Some(other), _) => {
            return Err(format!(
                "MatchCriteria must be AlternateIdType (got {other:?})."
            ));
        }
        (None, Some(_)) => return Err("MatchValue requires MatchCriteria.".into()),
    };
    let reason_code = req.reason_code;
    if reason_code
        .as_ref()
        .is_some_and(|r| r.chars().count() > 256)
    {
        return Err("ReasonCode must be at most 256 characters.".into());
    }
    Ok(Settings {
        name,
        action,
        data_stage_duration,
        match_value,
        refresh: Refresh {
            alternate_ids: req.refresh_alternate_ids.unwrap_or(false),
            contacts: req.refresh_contacts.unwrap_or(false),
            custom_fields: req.refresh_custom_fields.unwrap_or(false),
            groups: req.refresh_groups.unwrap_or(false),
            tags: req.refresh_tags.unwrap_or(false),
        },
        allow_prior_consents: req.allow_prior_consents.unwrap_or(false),
        preserve_preferences: req.preserve_preferences,
        reason_code,
    })
}

/// The counters of `BulkImportStatus`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counters {
    pub total_records_received: u64,
    pub validation_successful: u64,
    pub validation_failed: u64,
    pub processed: u64,
    pub pending: u64,
    pub exceptions: u64,
    pub not_honored: u64,
}

/// A record that passed staging validation, kept as sent.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StagedRecord {
    pub seq: u64,
    pub raw: Value,
}

/// A retrievable exception: the record as sent plus `SequenceNumber` and `Exceptions`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExceptionRecord {
    pub seq: u64,
    pub record: Value,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Import {
    pub access_token: u64,
    pub client_id: String,
    pub user_id: String,
    pub settings: Settings,
    pub status: Status,
    pub created_at: u64,
    pub expires_at: u64,
    pub counters: Counters,
    pub staged: Vec<StagedRecord>,
    pub exceptions: Vec<ExceptionRecord>,
    /// Create date shared by every profile this import creates (set at Execute).
    pub create_date: Option<String>,
    /// Next staged record to apply while `Processing`.
    pub cursor: usize,
    /// Execution was chosen to fail (fault injection): nothing will be applied.
    pub doomed: bool,
}

impl Import {
    pub fn new(
        access_token: u64,
        client_id: &str,
        user_id: &str,
        settings: Settings,
        now: u64,
        lifetime: u64,
    ) -> Self {
        Self {
            access_token,
            client_id: client_id.to_owned(),
            user_id: user_id.to_owned(),
            settings,
            status: Status::Initiated,
            created_at: now,
            expires_at: now.saturating_add(lifetime),
            counters: Counters::default(),
            staged: Vec::new(),
            exceptions: Vec::new(),
            create_date: None,
            cursor: 0,
            doomed: false,
        }
    }

    pub fn is_expired(&self, now: u64) -> bool {
        now >= self.expires_at
    }

    /// Purges staged data not executed within `DataStageDuration` days and fails the import
    /// [I]. `DataStageDuration: 0` keeps the data until the token expires [I].
    pub fn settle(&mut self, now: u64) {
        let days = u64::try_from(self.settings.data_stage_duration).unwrap_or(0);
        if self.status.is_open() && days > 0 && now >= self.created_at.saturating_add(days * 86_400)
        {
            self.staged.clear();
            self.counters.pending = 0;
            self.status = Status::Failed;
        }
    }

    /// Inserts execution exceptions keeping the list ordered by `SequenceNumber`.
    pub fn add_exception(&mut self, exception: ExceptionRecord) {
        let at = self.exceptions.partition_point(|e| e.seq <= exception.seq);
        self.exceptions.insert(at, exception);
    }

    pub fn to_wire(&self) -> ImportStatus {
        let s = &self.settings;
        let c = &self.counters;
        ImportStatus {
            access_token: self.access_token,
            status: self.status.as_str(),
            expires: format_iso(self.expires_at),
            name: s.name.clone(),
            import_action: match s.action {
                Action::Add => "Add".to_owned(),
                Action::Delete => "Delete".to_owned(),
            },
            data_stage_duration: s.data_stage_duration,
            match_criteria: s.match_value.as_ref().map(|_| "AlternateIdType".to_owned()),
            match_value: s.match_value.clone(),
            refresh_alternate_ids: s.refresh.alternate_ids,
            refresh_contacts: s.refresh.contacts,
            refresh_custom_fields: s.refresh.custom_fields,
            refresh_groups: s.refresh.groups,
            refresh_tags: s.refresh.tags,
            allow_prior_consents: s.allow_prior_consents,
            preserve_preferences: s.preserve_preferences,
            reason_code: s.reason_code.clone(),
            total_records_received: c.total_records_received,
            validation_successful: c.validation_successful,
            validation_failed: c.validation_failed,
            processed: c.processed,
            pending: c.pending,
            exceptions: c.exceptions,
            not_honored: c.not_honored,
        }
    }

    /// One page of exceptions: `offset` is 1-based (the vendor's description; its example
    /// reads 0-based, so an offset below 1 is refused rather than guessed).
    pub fn exceptions_page(
        &self,
        query: &ExceptionsQuery,
        collection: &str,
    ) -> Result<Value, String> {
        let limit = query.limit.unwrap_or(1000);
        let offset = query.offset.unwrap_or(1);
        if limit < 1 {
            return Err(format!("limit must be at least 1 (got {limit})."));
        }
        if offset < 1 {
            return Err(format!(
                "offset is 1-based and must be at least 1 (got {offset})."
            ));
        }
        let start = usize::try_from(offset - 1)
            .unwrap_or(usize::MAX)
            .min(self.exceptions.len());
        let end = start
            .saturating_add(usize::try_from(limit).unwrap_or(usize::MAX))
            .min(self.exceptions.len());
        let items: Vec<Value> = self.exceptions[start..end]
            .iter()
            .map(|e| e.record.clone())
            .collect();
        let count = items.len();
        let mut page = Map::new();
        page.insert("Count".into(), count.into());
        page.insert("HasMore".into(), (end < self.exceptions.len()).into());
        page.insert("Limit".into(), limit.into());
        page.insert("Offset".into(), offset.into());
        // Vendor wording: "the number returned, capped by limit".
        page.insert("TotalResults".into(), count.into());
        page.insert(collection.to_owned(), Value::Array(items));
        Ok(Value::Object(page))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(name: &str) -> InitiateRequest {
        InitiateRequest {
            name: Some(name.to_owned()),
            ..Default::default()
        }
    }

    #[test]
    fn initiate_defaults_and_ranges() {
        let settings = validate_initiate(request("n")).unwrap();
        assert_eq!(settings.data_stage_duration, 3);
        assert_eq!(settings.action, Action::Add);
        assert!(validate_initiate(request("")).is_err());
        assert!(validate_initiate(request(&"x".repeat(101))).is_err());
        assert!(validate_initiate(request(&"é".repeat(100))).is_ok());
        let dsd = |d| InitiateRequest {
            data_stage_duration: Some(d),
            ..request("n")
        };
        assert!(validate_initiate(dsd(0)).is_ok());
        assert!(validate_initiate(dsd(10)).is_ok());
        assert!(validate_initiate(dsd(11)).is_err());
        assert!(validate_initiate(dsd(-1)).is_err());
    }

    #[test]
    fn purge_fails_open_imports_only_after_the_stage_duration() {
        let settings = validate_initiate(request("n")).unwrap();
        let mut import = Import::new(1, "c", "u", settings, 1000, 100 * 86_400);
        import.settle(1000 + 3 * 86_400 - 1);
        assert_eq!(import.status, Status::Initiated);
        import.settle(1000 + 3 * 86_400);
        assert_eq!(import.status, Status::Failed);
    }
}

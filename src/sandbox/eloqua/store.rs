//! Everything the Eloqua emulator holds: settings, the data model (contacts, accounts,
//! opportunities and their links, list memberships), import definitions with their staging areas,
//! syncs with their logs and rejects, OAuth tokens and the clock offset.
//!
//! The store is plain data (serializable as the emulator's snapshot) plus lookups that enforce
//! expiry; it knows nothing of HTTP beyond returning `ApiError` for missing or expired resources.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use super::errors::ApiError;
use super::rates::SyncRates;
use super::settings::{Settings, Token};
use super::time::{Nanos, parse_duration, to_nanos};
use super::wire::{ImportDefinition, SyncLog, SyncReject};

/// The three import definition types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Contact,
    Opportunity,
    Linkage,
}

impl Kind {
    /// Path of the definition collection, relative to the bulk base.
    pub fn path(self) -> &'static str {
        match self {
            Kind::Contact => "/contacts/imports",
            Kind::Opportunity => "/opportunities/imports",
            Kind::Linkage => "/opportunities/contacts/imports",
        }
    }

    pub fn uri(self, id: u64) -> String {
        format!("{}/{id}", self.path())
    }

    /// Parses a definition uri as returned by the API (case-insensitive, trailing `/` allowed).
    pub fn parse_uri(uri: &str) -> Option<(Kind, u64)> {
        let lower = uri.trim().trim_end_matches('/').to_ascii_lowercase();
        let (path, id) = lower.rsplit_once('/')?;
        let id: u64 = id.parse().ok()?;
        [Kind::Contact, Kind::Opportunity, Kind::Linkage]
            .into_iter()
            .find(|k| k.path() == path)
            .map(|k| (k, id))
    }
}

/// Rows of one upload, aligned on the batch's column names (stored once per batch, not per row).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct StagedBatch {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Option<String>>>,
    pub bytes: u64,
    /// When the batch was uploaded: unsynced rows expire `dataRetentionDuration` later.
    #[serde(default)]
    pub uploaded_at: Nanos,
}

/// An import definition with its staging area.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Definition {
    pub id: u64,
    pub kind: Kind,
    pub spec: ImportDefinition,
    pub created_at: Nanos,
    pub created_by: String,
    pub updated_at: Nanos,
    pub updated_by: String,
    pub staged: Vec<StagedBatch>,
    pub uploads_since_sync: u32,
}

impl Definition {
    pub fn uri(&self) -> String {
        self.kind.uri(self.id)
    }

    pub fn staged_bytes(&self) -> u64 {
        self.staged.iter().map(|b| b.bytes).sum()
    }
}

/// Sync status (§8.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SyncStatus {
    Pending,
    Active,
    Success,
    Warning,
    Error,
}

impl SyncStatus {
    pub fn in_progress(self) -> bool {
        matches!(self, SyncStatus::Pending | SyncStatus::Active)
    }

    /// The wire spelling; `errored` when the emulator is switched to the prose page's spelling.
    pub fn wire(self, errored_spelling: bool) -> &'static str {
        match self {
            SyncStatus::Pending => "pending",
            SyncStatus::Active => "active",
            SyncStatus::Success => "success",
            SyncStatus::Warning => "warning",
            SyncStatus::Error if errored_spelling => "errored",
            SyncStatus::Error => "error",
        }
    }
}

/// A sync of an import definition, with its input (consumed staged rows) and outcome.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SyncRecord {
    pub id: u64,
    pub definition_uri: String,
    pub callback_url: Option<String>,
    pub status: SyncStatus,
    pub created_at: Nanos,
    pub created_by: String,
    pub started_at: Option<Nanos>,
    pub ended_at: Option<Nanos>,
    /// The definition as it was when the sync was created.
    pub spec: ImportDefinition,
    pub kind: Kind,
    pub input: Vec<StagedBatch>,
    /// Set when a test asked the next sync to fail as a whole.
    pub forced_failure: bool,
    pub logs: Vec<SyncLog>,
    pub rejects: Vec<SyncReject>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Contact {
    pub id: u64,
    pub email: String,
    /// Other fields by internal name (`C_FirstName`, `ContactIDExt`, ...).
    pub fields: BTreeMap<String, String>,
    pub account_id: Option<u64>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Account {
    pub id: u64,
    pub name: String,
    pub fields: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Opportunity {
    pub id: String,
    pub name: String,
    pub fields: BTreeMap<String, String>,
    pub contacts: BTreeSet<u64>,
}

/// The emulator's whole state.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Store {
    pub settings: Settings,
    /// Seconds added to the wall clock (tests advance time instead of sleeping).
    pub clock_offset_secs: u64,
    pub next_definition_id: u64,
    pub next_sync_id: u64,
    pub next_contact_id: u64,
    pub next_account_id: u64,
    pub definitions: BTreeMap<String, Definition>,
    /// Uris of definitions removed by their `autoDeleteDuration` (answered with 410).
    pub expired: BTreeSet<String>,
    pub syncs: BTreeMap<u64, SyncRecord>,
    pub contacts: BTreeMap<u64, Contact>,
    pub accounts: BTreeMap<u64, Account>,
    pub opportunities: BTreeMap<String, Opportunity>,
    /// Destination statement (`{{ContactList[1]}}`) -> contact id -> member status.
    pub memberships: BTreeMap<String, BTreeMap<u64, String>>,
    /// Contact fields created on the fly (non-strict mode), by internal name.
    pub extra_contact_fields: BTreeSet<String>,
    pub tokens: BTreeMap<String, Token>,
    /// Start times of the last hour's syncs, for the soft sync-rate counters.
    pub sync_rates: SyncRates,
    #[serde(skip)]
    pub email_index: HashMap<String, u64>,
}

impl Store {
    /// The emulator's clock: the wall clock plus the test offset.
    pub fn now(&self, wall: SystemTime) -> Nanos {
        to_nanos(wall).saturating_add(self.clock_offset_secs.saturating_mul(1_000_000_000))
    }

    /// Rebuilds the lookup indexes after a restore.
    pub fn rebuild_indexes(&mut self) {
        self.email_index = self
            .contacts
            .values()
            .map(|c| (c.email.to_ascii_lowercase(), c.id))
            .collect();
    }

    /// Removes definitions whose `autoDeleteDuration` elapsed and staged data older than its
    /// `dataRetentionDuration`.
    pub fn expire(&mut self, now: Nanos) {
        let gone: Vec<String> = self
            .definitions
            .values()
            .filter(|d| elapsed(d.created_at, d.spec.auto_delete_duration.as_deref(), now))
            .map(Definition::uri)
            .collect();
        for uri in gone {
            self.definitions.remove(&uri);
            self.expired.insert(uri);
        }
        for def in self.definitions.values_mut() {
            let retention = Some(def.spec.data_retention_duration.as_str());
            def.staged
                .retain(|batch| !elapsed(batch.uploaded_at, retention, now));
        }
    }

    /// A definition by kind and id: 410 once expired, 404 when it never existed.
    pub fn definition_mut(
        &mut self,
        kind: Kind,
        id: u64,
        now: Nanos,
    ) -> Result<&mut Definition, ApiError> {
        self.expire(now);
        let uri = kind.uri(id);
        if self.expired.contains(&uri) {
            return Err(ApiError::Gone);
        }
        self.definitions.get_mut(&uri).ok_or(ApiError::NotFound)
    }

    /// A sync by id: 410 when its definition expired, 404 when it never existed.
    pub fn sync(&mut self, id: u64, now: Nanos) -> Result<&SyncRecord, ApiError> {
        self.expire(now);
        let sync = self.syncs.get(&id).ok_or(ApiError::NotFound)?;
        if self.expired.contains(&sync.definition_uri) {
            return Err(ApiError::Gone);
        }
        Ok(sync)
    }

    /// Total staged bytes across definitions (for the storage quota).
    pub fn staged_bytes(&self) -> u64 {
        self.definitions
            .values()
            .map(Definition::staged_bytes)
            .sum()
    }

    /// The contact with this email address (Eloqua's addresses are unique, case-insensitively).
    pub fn contact_by_email(&self, email: &str) -> Option<u64> {
        // Most addresses are already lower case: look them up without allocating.
        if !email.bytes().any(|b| b.is_ascii_uppercase()) {
            return self.email_index.get(email).copied();
        }
        self.email_index.get(&email.to_ascii_lowercase()).copied()
    }

    /// Creates a contact and returns its id.
    pub fn add_contact(
        &mut self,
        email: &str,
        fields: BTreeMap<String, String>,
        account_id: Option<u64>,
    ) -> u64 {
        self.next_contact_id += 1;
        let id = self.next_contact_id;
        self.email_index.insert(email.to_ascii_lowercase(), id);
        self.contacts.insert(
            id,
            Contact {
                id,
                email: email.to_string(),
                fields,
                account_id,
            },
        );
        id
    }

    /// Changes a contact's email address, keeping the index in step.
    pub fn set_email(&mut self, id: u64, email: &str) {
        if let Some(contact) = self.contacts.get_mut(&id) {
            self.email_index.remove(&contact.email.to_ascii_lowercase());
            contact.email = email.to_string();
            self.email_index.insert(email.to_ascii_lowercase(), id);
        }
    }

    /// The account with this name, created if asked to.
    pub fn account_by_name(&mut self, name: &str, create: bool) -> Option<u64> {
        let found = self
            .accounts
            .values()
            .find(|a| a.name.eq_ignore_ascii_case(name))
            .map(|a| a.id);
        if found.is_some() || !create {
            return found;
        }
        self.next_account_id += 1;
        let id = self.next_account_id;
        self.accounts.insert(
            id,
            Account {
                id,
                name: name.to_string(),
                fields: BTreeMap::new(),
            },
        );
        Some(id)
    }
}

/// Whether `duration` (ISO-8601) has elapsed since `since`.
fn elapsed(since: Nanos, duration: Option<&str>, now: Nanos) -> bool {
    match duration.and_then(parse_duration) {
        Some(d) => since.saturating_add(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)) <= now,
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn definition_uris_round_trip_case_insensitively() {
        assert_eq!(
            Kind::parse_uri("/opportunities/contacts/imports/12"),
            Some((Kind::Linkage, 12))
        );
        assert_eq!(
            Kind::parse_uri("/Contacts/Imports/3/"),
            Some((Kind::Contact, 3))
        );
        assert_eq!(Kind::parse_uri("/opportunities/imports/x"), None);
        assert_eq!(Kind::parse_uri("/syncs/3"), None);
    }
}

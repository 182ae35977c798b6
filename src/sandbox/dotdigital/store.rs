//! What the emulated Dotdigital account holds: contacts, address books, insight data
//! collections (records and the per-property type schema), imports and contact imports.
//!
//! Plain data with small lookup helpers; serializable as a whole for snapshots. No HTTP here and
//! no import rules (those are in `rules.rs` and `commit.rs`).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use serde::{Deserialize, Serialize};

use super::ratelimit::RateCounters;
use super::request::RecordIn;
use super::settings::Settings;
use super::wire::{ContactImportReport, ContactImportStatus, ImportStatus, Report};

/// A contact of the account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Contact {
    pub id: u64,
    pub email: String,
    #[serde(default)]
    pub data_fields: BTreeMap<String, String>,
}

/// An address book (list) that contact imports may target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AddressBook {
    pub id: u64,
    pub name: String,
    #[serde(default)]
    pub contacts: BTreeSet<u64>,
}

/// Contact or account scope of a collection (AccountInsight uses identifier `account`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    Contact,
    Account,
}

/// The JSON type recorded for one property path of a collection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JsonType {
    String,
    Number,
    Boolean,
    Object,
    Array,
}

/// Who a stored record belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Owner {
    Account,
    Contact(u64),
}

/// A stored record; `identifier` is the contact identifier as it was submitted, `json` the
/// object as compact JSON text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredRecord {
    pub owner: Owner,
    pub identifier: String,
    pub json: String,
}

/// An insight data collection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Collection {
    pub id: u32,
    pub name: String,
    pub scope: Scope,
    /// Key -> record. Unordered for fast imports; reads sort by key.
    pub records: HashMap<String, StoredRecord>,
    /// Property path (`products[].price`) -> the type it was first stored with.
    pub schema: HashMap<String, JsonType>,
    /// Path with `-` folded to `_` -> the path as first stored (dash/underscore clashes).
    pub folded: HashMap<String, String>,
    /// Record shapes (`Prepared::shape`) whose types already passed against `schema`; the
    /// schema only grows and never retypes a path, so a shape once valid stays valid.
    #[serde(skip)]
    pub valid_shapes: HashSet<u64>,
}

/// A bulk insight import.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Import {
    pub id: String,
    pub collection: String,
    pub status: ImportStatus,
    /// The submitted records until processing takes them.
    pub pending: Option<Vec<RecordIn>>,
    pub report: Option<Report>,
    /// Decided at creation by fault injection: the import ends `Failed`, storing nothing.
    pub fail: bool,
    pub polls: u32,
    /// Whether a task is driving this import; not persisted so a restored import restarts.
    #[serde(skip)]
    pub running: bool,
}

/// A bulk contact import.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContactImport {
    pub id: String,
    pub status: ContactImportStatus,
    pub report: ContactImportReport,
    /// The rejected rows as CSV: `Reason` then the uploaded columns.
    pub faults_csv: String,
}

/// Everything the emulator holds.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Store {
    pub settings: Settings,
    pub contacts: BTreeMap<u64, Contact>,
    /// Lower-cased email -> contact id.
    pub emails: HashMap<String, u64>,
    pub next_contact_id: u64,
    pub address_books: BTreeMap<u64, AddressBook>,
    pub collections: BTreeMap<String, Collection>,
    pub next_collection_id: u32,
    pub imports: HashMap<String, Import>,
    pub contact_imports: HashMap<String, ContactImport>,
    #[serde(skip)]
    pub rate: RateCounters,
}

impl Store {
    pub fn contact_by_email(&self, email: &str) -> Option<u64> {
        match email.bytes().any(|b| b.is_ascii_uppercase()) {
            true => self.emails.get(&email.to_ascii_lowercase()).copied(),
            false => self.emails.get(email).copied(),
        }
    }

    /// Adds a contact (or finds it by email). `id` is honoured when given and free.
    pub fn upsert_contact(&mut self, email: &str, id: Option<u64>) -> (u64, bool) {
        let folded = email.to_ascii_lowercase();
        if let Some(existing) = self.emails.get(&folded) {
            return (*existing, false);
        }
        let id = match id {
            Some(id) if !self.contacts.contains_key(&id) => id,
            _ => self.next_contact_id.max(1),
        };
        self.next_contact_id = self.next_contact_id.max(id + 1);
        self.contacts.insert(
            id,
            Contact {
                id,
                email: email.to_string(),
                data_fields: BTreeMap::new(),
            },
        );
        self.emails.insert(folded, id);
        (id, true)
    }

    /// Creates an empty collection.
    pub fn create_collection(&mut self, name: &str, scope: Scope) -> &mut Collection {
        self.next_collection_id = self.next_collection_id.max(1);
        let id = self.next_collection_id;
        self.collections.entry(name.to_string()).or_insert_with(|| {
            self.next_collection_id += 1;
            Collection {
                id,
                name: name.to_string(),
                scope,
                records: HashMap::new(),
                schema: HashMap::new(),
                folded: HashMap::new(),
                valid_shapes: HashSet::new(),
            }
        })
    }

    /// Imports not yet `Finished` or `Failed`.
    pub fn active_imports(&self) -> usize {
        self.imports
            .values()
            .filter(|i| !i.status.is_terminal())
            .count()
    }

    /// A collection's records sorted by key (what every read returns).
    pub fn sorted(records: &HashMap<String, StoredRecord>) -> Vec<(&String, &StoredRecord)> {
        let mut list: Vec<_> = records.iter().collect();
        list.sort_unstable_by(|a, b| a.0.cmp(b.0));
        list
    }

    /// The identifier a read returns for a record: the contact id, or `-1` for the account.
    pub fn read_identifier(owner: Owner) -> String {
        match owner {
            Owner::Account => "-1".to_string(),
            Owner::Contact(id) => id.to_string(),
        }
    }
}

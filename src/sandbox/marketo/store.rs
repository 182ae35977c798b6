//! What the emulated Marketo instance holds: leads (with an email index), programs with their
//! ordered statuses and members, static lists, partitions and custom fields. Pure data and its
//! invariants; no HTTP, no batches.

use std::borrow::Cow;
use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use std::hash::{BuildHasherDefault, Hasher};

use crate::sandbox::marketo::fields::FieldDef;
pub use crate::sandbox::marketo::record::{Fields, Name};

/// The partition every instance has.
pub const DEFAULT_PARTITION: &str = "Default";

/// The index key of an email: a 64-bit hash of its lower-cased text (lookups confirm the
/// match on the lead itself, so a collision costs nothing but a comparison).
fn email_key(email: &str) -> u64 {
    let email = email.trim();
    let lower: Cow<'_, str> = if email.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(email.to_ascii_lowercase())
    } else {
        Cow::Borrowed(email)
    };
    xxhash_rust::xxh3::xxh3_64(lower.as_bytes())
}

/// Hasher for integer keys (lead ids, email hashes): one multiply, no per-byte work.
#[derive(Default, Clone, Copy)]
pub struct IntHasher(u64);

impl Hasher for IntHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(*b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_u64(&mut self, n: u64) {
        let x = n.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        self.0 = x ^ (x >> 29);
    }
}

type IntBuild = BuildHasherDefault<IntHasher>;

/// A person. `fields` holds REST API names to values, `email` included.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Lead {
    pub id: u64,
    pub partition: Name,
    pub fields: Fields,
}

/// A program's membership of one lead.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Member {
    pub status: Name,
    /// Custom program-member fields imported with the membership.
    pub fields: Fields,
}

/// A program; `statuses` is in progression order (a member never moves back).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Program {
    pub id: u64,
    pub statuses: Vec<String>,
    /// Created by a lenient import rather than seeded: accepts new status names.
    pub auto_created: bool,
    pub members: BTreeMap<u64, Member>,
}

impl Program {
    /// Position of a status name (case-insensitive), for one-way progression.
    pub fn rank(&self, status: &str) -> Option<usize> {
        self.statuses
            .iter()
            .position(|s| s.eq_ignore_ascii_case(status))
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StaticList {
    pub id: u64,
    pub name: String,
    pub leads: BTreeSet<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Partition {
    pub name: String,
    /// `false`: the API user may not write to it (1008).
    pub writable: bool,
}

/// Lower-cased email -> lead ids, oldest first. The first id of each email sits in a table of
/// 16-byte entries (a lookup touches one cache line of a table a third of the size an inline
/// list would need); the rare further ids of a shared email are kept aside.
#[derive(Debug, Clone, Default)]
struct EmailIndex {
    first: HashMap<u64, u64, IntBuild>,
    more: HashMap<u64, Vec<u64>, IntBuild>,
}

impl EmailIndex {
    fn clear(&mut self) {
        self.first.clear();
        self.more.clear();
    }

    fn len(&self) -> usize {
        self.first.len()
    }

    fn reserve(&mut self, n: usize) {
        self.first.reserve(n);
    }

    /// The ids under `key`, oldest first.
    fn ids(&self, key: u64) -> impl Iterator<Item = u64> + '_ {
        let first = self.first.get(&key).copied();
        // The second table is only read when the first id is not the one looked for.
        let more = first
            .into_iter()
            .flat_map(move |_| self.more.get(&key).into_iter().flatten().copied());
        first.into_iter().chain(more)
    }

    fn push(&mut self, key: u64, id: u64) {
        match self.first.entry(key) {
            Entry::Vacant(slot) => {
                slot.insert(id);
            }
            Entry::Occupied(_) => self.more.entry(key).or_default().push(id),
        }
    }

    fn remove(&mut self, key: u64, id: u64) {
        if self.first.get(&key) == Some(&id) {
            // The next oldest id, if any, takes the first place.
            let next = self
                .more
                .get_mut(&key)
                .filter(|m| !m.is_empty())
                .map(|m| m.remove(0));
            match next {
                Some(next) => {
                    self.first.insert(key, next);
                }
                None => {
                    self.first.remove(&key);
                }
            }
        } else if let Some(more) = self.more.get_mut(&key) {
            more.retain(|i| *i != id);
        }
        if self.more.get(&key).is_some_and(Vec::is_empty) {
            self.more.remove(&key);
        }
    }
}

/// Leads by id. A B-tree: ids are given in creation order, and imports touch leads in roughly
/// that order, so neighbouring leads share tree nodes (a hash map scatters them and costs a
/// cache miss per lookup).
pub type LeadMap = BTreeMap<u64, Lead>;

/// The instance's data.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Store {
    pub leads: LeadMap,
    pub next_lead_id: u64,
    pub programs: BTreeMap<u64, Program>,
    pub lists: BTreeMap<u64, StaticList>,
    pub partitions: Vec<Partition>,
    pub custom_fields: Vec<FieldDef>,
    /// Lower-cased email -> lead ids, derived from `leads` (rebuilt on restore).
    #[serde(skip)]
    by_email: EmailIndex,
    /// One shared `Name` per field name and one shared list per column list, so records of
    /// different uploads share them and compare them by address.
    #[serde(skip)]
    names: HashSet<Name>,
    #[serde(skip)]
    columns: HashSet<Arc<[Name]>>,
}

impl Default for Store {
    fn default() -> Self {
        Self {
            leads: LeadMap::default(),
            next_lead_id: 1,
            programs: BTreeMap::new(),
            lists: BTreeMap::new(),
            partitions: vec![Partition {
                name: DEFAULT_PARTITION.into(),
                writable: true,
            }],
            custom_fields: Vec::new(),
            by_email: EmailIndex::default(),
            names: HashSet::new(),
            columns: HashSet::new(),
        }
    }
}

impl Store {
    /// Rebuilds derived indexes after deserializing.
    pub fn reindex(&mut self) {
        self.by_email.clear();
        let mut ids: Vec<u64> = self.leads.keys().copied().collect();
        ids.sort_unstable();
        for id in ids {
            let key = self
                .leads
                .get(&id)
                .and_then(|l| l.fields.get("email"))
                .map(email_key);
            if let Some(key) = key {
                self.by_email.push(key, id);
            }
        }
    }

    /// Makes room in the email index for an import of `n` rows (no rehash while importing).
    /// Rows matching existing leads need no room, so only the excess over the current size is
    /// reserved: re-importing known people does not double the table.
    pub fn reserve_leads(&mut self, n: usize) {
        self.by_email.reserve(n.saturating_sub(self.by_email.len()));
    }

    /// Lead ids with this email (case-insensitive), oldest first.
    pub fn leads_by_email(&self, email: &str) -> Vec<u64> {
        self.by_email
            .ids(email_key(email))
            .filter(|id| {
                let stored = self.leads.get(id).and_then(|l| l.fields.get("email"));
                stored.is_some_and(|e| e.trim().eq_ignore_ascii_case(email.trim()))
            })
            .collect()
    }

    /// The oldest lead with this email (case-insensitive), without allocating.
    pub fn first_lead_by_email(&self, email: &str) -> Option<u64> {
        self.by_email
            .ids(email_key(email))
            .find(|id| self.has_email(*id, email))
    }

    /// `first_lead_by_email` of many emails (empty ones have no lead). The index is read for
    /// all of them first, in a loop of independent lookups whose cache misses the processor
    /// overlaps; one at a time, each waits for its own miss and most of an import's time went
    /// there. The candidates are checked afterwards.
    pub fn first_leads_by_email(&self, emails: &[&str]) -> Vec<Option<u64>> {
        let keys: Vec<u64> = emails.iter().map(|e| email_key(e)).collect();
        let firsts: Vec<Option<u64>> = keys
            .iter()
            .map(|k| self.by_email.first.get(k).copied())
            .collect();
        emails
            .iter()
            .zip(firsts)
            .map(|(email, first)| match first {
                _ if email.trim().is_empty() => None,
                Some(id) if self.has_email(id, email) => Some(id),
                // Another email with the same key, or a later lead of a shared email.
                Some(_) => self.first_lead_by_email(email),
                None => None,
            })
            .collect()
    }

    fn has_email(&self, id: u64, email: &str) -> bool {
        let stored = self.leads.get(&id).and_then(|l| l.fields.get("email"));
        stored.is_some_and(|e| e.trim().eq_ignore_ascii_case(email.trim()))
    }

    /// The store's shared copy of this column list (and of each name in it).
    pub fn intern(&mut self, names: &[Name]) -> Arc<[Name]> {
        if let Some(shared) = self.columns.get(names) {
            return shared.clone();
        }
        let list: Arc<[Name]> = names
            .iter()
            .map(|n| match self.names.get(n.as_str()) {
                Some(shared) => shared.clone(),
                None => {
                    self.names.insert(n.clone());
                    n.clone()
                }
            })
            .collect();
        self.columns.insert(list.clone());
        list
    }

    /// Leads in id order (listings).
    pub fn leads_sorted(&self) -> Vec<&Lead> {
        let mut leads: Vec<&Lead> = self.leads.values().collect();
        leads.sort_unstable_by_key(|l| l.id);
        leads
    }

    /// Creates a lead and returns its id.
    pub fn create_lead(&mut self, partition: &Name, fields: Fields) -> u64 {
        let id = self.next_lead_id;
        self.next_lead_id += 1;
        self.insert_lead(Lead {
            id,
            partition: partition.clone(),
            fields,
        });
        id
    }

    /// Inserts (or replaces) a lead with its own id, keeping the email index right.
    pub fn insert_lead(&mut self, lead: Lead) {
        let id = lead.id;
        self.next_lead_id = self.next_lead_id.max(id + 1);
        let old = self.leads.get(&id).and_then(|l| l.fields.get("email"));
        if let Some(key) = old.map(email_key) {
            self.by_email.remove(key, id);
        }
        if let Some(key) = lead.fields.get("email").map(email_key) {
            self.by_email.push(key, id);
        }
        self.leads.insert(id, lead);
    }

    /// Sets non-empty values on a lead, keeping the email index right.
    pub fn update_lead<'a>(
        &mut self,
        id: u64,
        values: impl Iterator<Item = (&'a Name, &'a str)> + Clone,
    ) {
        let Some(lead) = self.leads.get_mut(&id) else {
            return;
        };
        let Some(merged) = lead.fields.merged(values) else {
            return;
        };
        // Index keys, not texts: an email that only changes case keeps its place.
        let old = lead.fields.get("email").map(email_key);
        let new = merged.get("email").map(email_key);
        lead.fields = merged;
        if old != new {
            if let Some(old) = old {
                self.by_email.remove(old, id);
            }
            if let Some(new) = new {
                self.by_email.push(new, id);
            }
        }
    }

    pub fn partition(&self, name: &str) -> Option<&Partition> {
        self.partitions
            .iter()
            .find(|p| p.name.eq_ignore_ascii_case(name))
    }
}

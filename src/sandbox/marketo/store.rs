//! What the emulated Marketo instance holds: leads (with an email index), programs with their
//! ordered statuses and members, static lists, partitions and custom fields. Pure data and its
//! invariants; no HTTP, no batches.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::sandbox::marketo::email_index::{EmailIndex, EmailKey, first_positions};
use crate::sandbox::marketo::fields::FieldDef;
pub use crate::sandbox::marketo::leads::LeadMap;
use crate::sandbox::marketo::parallel::both;
pub use crate::sandbox::marketo::record::{Fields, Name};

/// The partition every instance has.
pub const DEFAULT_PARTITION: &str = "Default";

/// An email looked up in the index: its key, and its oldest lead at the time.
#[derive(Debug, Clone, Copy)]
pub struct EmailMatch {
    key: EmailKey,
    pub lead: Option<u64>,
}

/// The leads one batch creates, by row: see [`Store::creating`].
pub struct NewLeads {
    /// For each row with an email no lead had: the first such row with the same email.
    first: Vec<u32>,
    /// For such a first row: the lead made for it, once made.
    made: Vec<Option<u64>>,
    /// The new leads' index entries.
    created: Vec<(EmailKey, u64)>,
}

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
    /// One shared list per column list, so records of different uploads share it and
    /// compare it by address.
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
            columns: HashSet::new(),
        }
    }
}

impl Store {
    /// Rebuilds derived indexes after deserializing.
    pub fn reindex(&mut self) {
        self.by_email.clear();
        // In id order, so a shared email's oldest lead comes first.
        let entries = self.leads.values().filter_map(|lead| {
            let key = lead.fields.get("email").map(EmailKey::of)?;
            Some((key, lead.id))
        });
        self.by_email.insert_new(entries);
    }

    /// Makes room for `n` new leads. Only the leads not found are counted: re-importing known
    /// people does not double the room.
    pub fn reserve_leads(&mut self, n: usize) {
        self.leads.reserve(n);
    }

    /// Lead ids with this email (case-insensitive), oldest first.
    pub fn leads_by_email(&self, email: &str) -> Vec<u64> {
        self.by_email.ids(EmailKey::of(email)).collect()
    }

    /// For each of many emails: its index key and the oldest lead that has it (`None` for an
    /// empty email). The keys of a large batch are worked out on two threads, and the index
    /// is read table by table (see `EmailIndex::first_many`).
    pub fn match_emails(&self, emails: &[&str]) -> Vec<Option<EmailMatch>> {
        let key = |e: &&str| match e.trim() {
            "" => None,
            e => Some(EmailKey::of(e)),
        };
        let keys: Vec<Option<EmailKey>> = if emails.len() < 20_000 {
            emails.iter().map(key).collect()
        } else {
            let (a, b) = emails.split_at(emails.len() / 2);
            let hash = |part: &[&str]| part.iter().map(key).collect::<Vec<_>>();
            let (mut keys, rest) = both(|| hash(a), || hash(b));
            keys.extend(rest);
            keys
        };
        let leads = self.by_email.first_many(&keys);
        keys.into_iter()
            .zip(leads)
            .map(|(key, lead)| key.map(|key| EmailMatch { key, lead }))
            .collect()
    }

    /// Runs `f` with the [`NewLeads`] of a batch whose rows' emails are `matches` (from
    /// `match_emails`), for `find_or_create`; then adds the leads it created to the email
    /// index all at once, table by table (`EmailIndex::insert_new`). Rows of one file that
    /// share a new email are paired up front (`first_positions`), so a row finds the lead an
    /// earlier row created without a probe into the whole index.
    ///
    /// Inside `f`, the index does not know the new leads yet: only `find_or_create` may look
    /// leads up by email, and no lead's email may change key.
    pub fn creating<R>(
        &mut self,
        matches: &[Option<EmailMatch>],
        f: impl FnOnce(&mut Store, &mut NewLeads) -> R,
    ) -> R {
        // The rows whose email no lead had, with their keys.
        let unmatched = (0u32..).zip(matches).filter_map(|(i, m)| match m {
            Some(m) if m.lead.is_none() => Some((m.key, i)),
            _ => None,
        });
        let mut new = NewLeads {
            first: first_positions(matches.len(), unmatched),
            made: vec![None; matches.len()],
            created: Vec::new(),
        };
        let result = f(self, &mut new);
        self.by_email.insert_new(new.created);
        result
    }

    /// The oldest lead with row `row`'s email `email` (one an earlier row of the batch created
    /// included), or a new lead with `fields`. `true` when the lead was created. `row` indexes
    /// the matches given to `creating`.
    pub fn find_or_create(
        &mut self,
        row: usize,
        email: &EmailMatch,
        new: &mut NewLeads,
        partition: &Name,
        fields: impl FnOnce() -> Fields,
    ) -> (u64, bool) {
        if let Some(id) = email.lead {
            return (id, false);
        }
        let first = match new.first.get(row) {
            Some(&f) if f != u32::MAX => f as usize,
            _ => row,
        };
        if let Some(Some(id)) = new.made.get(first) {
            return (*id, false);
        }
        let id = Self::new_id(&mut self.next_lead_id);
        if let Some(slot) = new.made.get_mut(first) {
            *slot = Some(id);
        }
        new.created.push((email.key, id));
        let lead = Lead {
            id,
            partition: *partition,
            fields: fields(),
        };
        self.leads.insert(id, lead);
        (id, true)
    }

    /// Hands out the next lead id (a field, not `self`: callers hold a borrow of the index).
    fn new_id(next: &mut u64) -> u64 {
        let id = *next;
        *next += 1;
        id
    }

    /// The store's shared copy of this column list.
    pub fn intern(&mut self, names: &[Name]) -> Arc<[Name]> {
        if let Some(shared) = self.columns.get(names) {
            return shared.clone();
        }
        let list: Arc<[Name]> = Arc::from(names);
        self.columns.insert(list.clone());
        list
    }

    /// Leads in id order (listings).
    pub fn leads_sorted(&self) -> Vec<&Lead> {
        self.leads.values().collect()
    }

    /// Creates a lead and returns its id.
    pub fn create_lead(&mut self, partition: &Name, fields: Fields) -> u64 {
        let id = Self::new_id(&mut self.next_lead_id);
        self.insert_lead(Lead {
            id,
            partition: *partition,
            fields,
        });
        id
    }

    /// Inserts (or replaces) a lead with its own id, keeping the email index right.
    pub fn insert_lead(&mut self, lead: Lead) {
        let id = lead.id;
        self.next_lead_id = self.next_lead_id.max(id + 1);
        let old = self.leads.get(&id).and_then(|l| l.fields.get("email"));
        if let Some(key) = old.map(EmailKey::of) {
            self.by_email.remove(key, id);
        }
        if let Some(key) = lead.fields.get("email").map(EmailKey::of) {
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
        let old = lead.fields.get("email").map(EmailKey::of);
        let new = merged.get("email").map(EmailKey::of);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_restored_store_finds_leads_by_email_oldest_first() {
        let mut store = Store::default();
        let email = Name::from("email");
        let partition = Name::from(DEFAULT_PARTITION);
        let lead = |e: &str| Fields::from_pairs([(&email, e)].into_iter());
        let a = store.create_lead(&partition, lead("shared@x.org"));
        let b = store.create_lead(&partition, lead("own@x.org"));
        let c = store.create_lead(&partition, lead("Shared@X.org"));
        let json = serde_json::to_string(&store).unwrap();
        let mut back: Store = serde_json::from_str(&json).unwrap();
        back.reindex();
        assert_eq!(back.leads_by_email("shared@x.org"), [a, c]);
        assert_eq!(back.leads_by_email("OWN@x.org"), [b]);
        assert!(back.leads_by_email("nobody@x.org").is_empty());
    }
}

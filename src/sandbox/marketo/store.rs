//! What the emulated Marketo instance holds: leads (with an email index), programs with their
//! ordered statuses and members, static lists, partitions and custom fields. Pure data and its
//! invariants; no HTTP, no batches.

use std::borrow::{Borrow, Cow};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use xxhash_rust::xxh3::Xxh3Builder;

use crate::sandbox::marketo::fields::FieldDef;

/// The partition every instance has.
pub const DEFAULT_PARTITION: &str = "Default";

/// A field or status name, shared by the many records that carry it: an import of 200,000 rows
/// allocates each column name once, not once per row.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Name(Arc<str>);

impl Name {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<&str> for Name {
    fn from(s: &str) -> Self {
        Name(Arc::from(s))
    }
}

impl Borrow<str> for Name {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl Serialize for Name {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Name {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Name(Arc::from(String::deserialize(d)?)))
    }
}

/// Lower-cases an email for the index, allocating only when it has upper-case letters.
fn email_key(email: &str) -> Cow<'_, str> {
    if email.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(email.to_ascii_lowercase())
    } else {
        Cow::Borrowed(email)
    }
}

/// A person. `fields` holds REST API names to values, `email` included.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Lead {
    pub id: u64,
    pub partition: String,
    pub fields: BTreeMap<Name, String>,
}

/// A program's membership of one lead.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Member {
    pub status: Name,
    /// Custom program-member fields imported with the membership.
    pub fields: BTreeMap<Name, String>,
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
    pub leads: BTreeMap<u64, Lead>,
    pub next_lead_id: u64,
    pub programs: BTreeMap<u64, Program>,
    pub lists: BTreeMap<u64, StaticList>,
    pub partitions: Vec<Partition>,
    pub custom_fields: Vec<FieldDef>,
    /// Lower-cased email -> lead ids, derived from `leads` (rebuilt on restore).
    #[serde(skip)]
    by_email: HashMap<String, Vec<u64>, Xxh3Builder>,
}

impl Default for Store {
    fn default() -> Self {
        Self {
            leads: BTreeMap::new(),
            next_lead_id: 1,
            programs: BTreeMap::new(),
            lists: BTreeMap::new(),
            partitions: vec![Partition {
                name: DEFAULT_PARTITION.into(),
                writable: true,
            }],
            custom_fields: Vec::new(),
            by_email: HashMap::default(),
        }
    }
}

impl Store {
    /// Rebuilds derived indexes after deserializing.
    pub fn reindex(&mut self) {
        self.by_email.clear();
        let pairs: Vec<(String, u64)> = self
            .leads
            .values()
            .filter_map(|l| {
                l.fields
                    .get("email")
                    .map(|e| (e.to_ascii_lowercase(), l.id))
            })
            .collect();
        for (email, id) in pairs {
            self.by_email.entry(email).or_default().push(id);
        }
    }

    /// Lead ids with this email (case-insensitive), oldest first.
    pub fn leads_by_email(&self, email: &str) -> &[u64] {
        self.by_email
            .get(&email.to_ascii_lowercase())
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// Creates a lead and returns its id.
    pub fn create_lead(&mut self, partition: &str, fields: BTreeMap<Name, String>) -> u64 {
        let id = self.next_lead_id;
        self.next_lead_id += 1;
        if let Some(email) = fields.get("email").filter(|e| !e.is_empty()) {
            self.by_email
                .entry(email.to_ascii_lowercase())
                .or_default()
                .push(id);
        }
        self.leads.insert(
            id,
            Lead {
                id,
                partition: partition.to_owned(),
                fields,
            },
        );
        id
    }

    /// Sets non-empty values on a lead, keeping the email index right.
    pub fn update_lead<'a>(&mut self, id: u64, values: impl Iterator<Item = (&'a Name, &'a str)>) {
        let Some(lead) = self.leads.get_mut(&id) else {
            return;
        };
        let mut email_change = None;
        for (name, value) in values {
            if value.is_empty() {
                continue;
            }
            match lead.fields.get_mut(name.as_str()) {
                Some(old) if old == value => continue,
                Some(old) => {
                    if name.as_str() == "email" {
                        email_change = Some((Some(old.clone()), value.to_owned()));
                    }
                    // Reuses the old value's buffer.
                    old.clear();
                    old.push_str(value);
                }
                None => {
                    if name.as_str() == "email" {
                        email_change = Some((None, value.to_owned()));
                    }
                    lead.fields.insert(name.clone(), value.to_owned());
                }
            }
        }
        if let Some((old, new)) = email_change {
            if let Some(ids) = old.and_then(|o| self.by_email.get_mut(email_key(&o).as_ref())) {
                ids.retain(|l| *l != id);
            }
            self.by_email
                .entry(email_key(&new).into_owned())
                .or_default()
                .push(id);
        }
    }

    pub fn partition(&self, name: &str) -> Option<&Partition> {
        self.partitions
            .iter()
            .find(|p| p.name.eq_ignore_ascii_case(name))
    }
}

/// The `marketo` part of a `/_sandbox/seed` body.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Seed {
    #[serde(default)]
    pub programs: Vec<SeedProgram>,
    #[serde(default)]
    pub leads: Vec<BTreeMap<String, serde_json::Value>>,
    #[serde(default)]
    pub lists: Vec<SeedList>,
    #[serde(default)]
    pub partitions: Vec<Partition>,
    #[serde(default)]
    pub fields: Vec<FieldDef>,
    #[serde(default)]
    pub clients: Vec<crate::sandbox::marketo::auth::Client>,
    /// Emulator policy (see `settings.rs`), merged into the current settings.
    #[serde(default)]
    pub settings: Option<serde_json::Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedProgram {
    pub id: u64,
    #[serde(default = "default_statuses")]
    pub statuses: Vec<String>,
}

fn default_statuses() -> Vec<String> {
    [
        "Not in Program",
        "On List",
        "Registered",
        "Attended",
        "No Show",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedList {
    pub id: u64,
    #[serde(default)]
    pub name: Option<String>,
}

impl Store {
    /// Applies the data part of a seed (programs, leads, lists, partitions, fields).
    pub fn seed(&mut self, seed: Seed) -> Result<(), String> {
        for p in seed.programs {
            if p.statuses.is_empty() {
                return Err(format!("program {} needs at least one status", p.id));
            }
            let program = self.programs.entry(p.id).or_insert_with(|| Program {
                id: p.id,
                statuses: vec![],
                auto_created: false,
                members: BTreeMap::new(),
            });
            program.statuses = p.statuses;
            program.auto_created = false;
        }
        for l in seed.lists {
            let name = l.name.unwrap_or_else(|| format!("List {}", l.id));
            self.lists.entry(l.id).or_insert(StaticList {
                id: l.id,
                name,
                leads: BTreeSet::new(),
            });
        }
        for p in seed.partitions {
            self.partitions
                .retain(|q| !q.name.eq_ignore_ascii_case(&p.name));
            self.partitions.push(p);
        }
        for f in seed.fields {
            self.custom_fields
                .retain(|g| !g.name.eq_ignore_ascii_case(&f.name));
            let display = if f.display_name.is_empty() {
                f.name.clone()
            } else {
                f.display_name.clone()
            };
            self.custom_fields.push(FieldDef {
                display_name: display,
                ..f
            });
        }
        for lead in seed.leads {
            self.seed_lead(lead)?;
        }
        Ok(())
    }

    /// A seeded lead: `id` optional, `partition` optional, every other key a field.
    fn seed_lead(&mut self, mut lead: BTreeMap<String, serde_json::Value>) -> Result<(), String> {
        let id = lead
            .remove("id")
            .map(|v| v.as_u64().ok_or("lead id must be a positive integer"));
        let partition = match lead.remove("partition") {
            Some(v) => v.as_str().ok_or("partition must be a string")?.to_owned(),
            None => DEFAULT_PARTITION.to_owned(),
        };
        let fields: BTreeMap<Name, String> = lead
            .into_iter()
            .map(|(k, v)| {
                (
                    Name::from(k.as_str()),
                    v.as_str()
                        .map(str::to_owned)
                        .unwrap_or_else(|| v.to_string()),
                )
            })
            .collect();
        match id.transpose()? {
            Some(id) => {
                self.next_lead_id = self.next_lead_id.max(id + 1);
                self.leads.insert(
                    id,
                    Lead {
                        id,
                        partition,
                        fields,
                    },
                );
                self.reindex();
            }
            None => {
                self.create_lead(&partition, fields);
            }
        }
        Ok(())
    }
}

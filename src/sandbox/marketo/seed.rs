//! The Marketo part of a `/_sandbox/seed` body: programs with their statuses, leads, static
//! lists, partitions, custom fields, API clients and emulator settings, and how the data parts
//! are applied to the store.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;

use crate::sandbox::marketo::fields::FieldDef;
use crate::sandbox::marketo::record::{Fields, Name};
use crate::sandbox::marketo::store::{
    DEFAULT_PARTITION, Lead, Partition, Program, StaticList, Store,
};

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
            Some(v) => Name::from(v.as_str().ok_or("partition must be a string")?),
            None => Name::from(DEFAULT_PARTITION),
        };
        let pairs: Vec<(Name, String)> = lead
            .into_iter()
            .map(|(k, v)| {
                let text = v
                    .as_str()
                    .map(str::to_owned)
                    .unwrap_or_else(|| v.to_string());
                (Name::from(k.as_str()), text)
            })
            .collect();
        let fields = Fields::from_pairs(pairs.iter().map(|(k, v)| (k, v.as_str())));
        match id.transpose()? {
            Some(id) => self.insert_lead(Lead {
                id,
                partition,
                fields,
            }),
            None => {
                self.create_lead(&partition, fields);
            }
        }
        Ok(())
    }
}

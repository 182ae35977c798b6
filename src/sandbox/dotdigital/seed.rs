//! The `dotdigital` part of a `/_sandbox/seed` body: what the account holds before a test
//! (contacts, collections, address books, API users) and the emulator policy switches.
//!
//! ```json
//! {"contacts": ["a@example.com", {"email": "b@example.com", "id": 42, "dataFields": {"FIRSTNAME": "B"}}],
//!  "collections": [{"name": "orders", "scope": "contact"}, {"name": "resorts", "scope": "account"}],
//!  "address_books": [{"id": 7, "name": "Newsletter"}],
//!  "api_users": [{"username": "apiuser-1@apiconnector.com", "password": "s3cret!", "disabled": false}],
//!  "allow_dashes": true, "max_active_imports": 5, "max_request_bytes": 52428800,
//!  "create_collections_on_import": false, "region": "r1", "polls_per_step": 1,
//!  "fail_next_imports": 1, "import_failure_rate": 0.0, "drop_next_accepted": 1,
//!  "rate": {"mode": "tiered", "low": 35, "medium": 150, "high": 500, "flat_per_hour": 2000, "reset": "seconds"},
//!  "limits": {"key_length": 64, "string_length": 4000, "number_max": 1e15, "distinct_properties": 2000}}
//! ```
//! Every key is optional; a top-level `"strict"` belongs to the server and is ignored here.
//! Unknown keys are refused so a typo does not silently seed nothing.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::rules::{is_email, valid_collection_name};
use super::settings::{ApiUser, JsonLimits, RateSettings};
use super::store::{AddressBook, Scope, Store};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedDoc {
    #[serde(default)]
    strict: Option<bool>,
    #[serde(default)]
    contacts: Vec<ContactSeed>,
    #[serde(default)]
    collections: Vec<CollectionSeed>,
    #[serde(default)]
    address_books: Vec<AddressBookSeed>,
    api_users: Option<Vec<ApiUser>>,
    allow_dashes: Option<bool>,
    max_active_imports: Option<usize>,
    max_request_bytes: Option<usize>,
    create_collections_on_import: Option<bool>,
    region: Option<String>,
    polls_per_step: Option<u32>,
    fail_next_imports: Option<u32>,
    import_failure_rate: Option<f64>,
    drop_next_accepted: Option<u32>,
    rate: Option<RateSettings>,
    limits: Option<JsonLimits>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum ContactSeed {
    Email(String),
    Full {
        email: String,
        id: Option<u64>,
        #[serde(default, alias = "data_fields")]
        #[serde(rename = "dataFields")]
        data_fields: BTreeMap<String, String>,
    },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CollectionSeed {
    name: String,
    #[serde(default = "contact_scope")]
    scope: Scope,
}

fn contact_scope() -> Scope {
    Scope::Contact
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AddressBookSeed {
    id: u64,
    name: String,
}

/// Applies a seed document to the store; on error nothing of the seed's entities is half-valid
/// (settings are applied first, then each entity is checked before it is added).
pub fn apply(store: &mut Store, seed: SeedDoc) -> Result<(), String> {
    let _ = seed.strict;
    apply_settings(store, &seed)?;
    for c in seed.contacts {
        let (email, id, fields) = match c {
            ContactSeed::Email(email) => (email, None, BTreeMap::new()),
            ContactSeed::Full {
                email,
                id,
                data_fields,
            } => (email, id, data_fields),
        };
        if !is_email(&email) {
            return Err(format!("contact {email:?} is not an email address"));
        }
        let (id, _) = store.upsert_contact(&email, id);
        if let Some(contact) = store.contacts.get_mut(&id) {
            contact.data_fields.extend(fields);
        }
    }
    let allow_dashes = store.settings.allow_dashes;
    for c in seed.collections {
        if !valid_collection_name(&c.name, allow_dashes) {
            return Err(format!("collection name {:?} is not valid", c.name));
        }
        match store.collections.get(&c.name) {
            Some(existing) if existing.scope != c.scope => {
                return Err(format!(
                    "collection {:?} already exists with another scope: names are unique across scopes",
                    c.name
                ));
            }
            Some(_) => {}
            None => {
                store.create_collection(&c.name, c.scope);
            }
        }
    }
    for b in seed.address_books {
        store.address_books.entry(b.id).or_insert(AddressBook {
            id: b.id,
            name: b.name,
            contacts: Default::default(),
        });
    }
    Ok(())
}

fn apply_settings(store: &mut Store, seed: &SeedDoc) -> Result<(), String> {
    let s = &mut store.settings;
    if let Some(users) = &seed.api_users {
        s.api_users = users.clone();
    }
    if let Some(region) = &seed.region {
        if !matches!(region.as_str(), "r1" | "r2" | "r3") {
            return Err(format!("region {region:?} is not r1, r2 or r3"));
        }
        s.region = Some(region.clone());
    }
    if let Some(rate) = seed.import_failure_rate {
        if !(0.0..=1.0).contains(&rate) {
            return Err("import_failure_rate must be between 0 and 1".into());
        }
        s.import_failure_rate = rate;
    }
    if let Some(n) = seed.polls_per_step {
        s.polls_per_step = (n > 0).then_some(n);
    }
    s.allow_dashes = seed.allow_dashes.unwrap_or(s.allow_dashes);
    s.max_active_imports = seed.max_active_imports.unwrap_or(s.max_active_imports);
    s.max_request_bytes = seed.max_request_bytes.unwrap_or(s.max_request_bytes);
    s.create_collections_on_import = seed
        .create_collections_on_import
        .unwrap_or(s.create_collections_on_import);
    s.fail_next_imports = seed.fail_next_imports.unwrap_or(s.fail_next_imports);
    s.drop_next_accepted = seed.drop_next_accepted.unwrap_or(s.drop_next_accepted);
    if let Some(rate) = &seed.rate {
        s.rate = rate.clone();
    }
    if let Some(limits) = &seed.limits {
        s.limits = limits.clone();
    }
    Ok(())
}

//! The Eloqua part of `/_sandbox/seed`: `{"contacts": ["a@example.com" | {"emailAddress": ...,
//! "account": ..., "firstName": ..., ...}], "accounts": [...], "opportunities": [{"id": "1",
//! "name": "Renewal", "contacts": ["a@example.com"]}], "settings": {...}}`. `"strict"` is the
//! server's. Seeding is additive: existing contacts (by email) and opportunities (by id) are
//! updated.
//!
//! This module only translates seed JSON into store entries; it does no HTTP.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::settings::Settings;
use super::store::{Opportunity, Store};

/// Friendly seed keys for standard contact fields.
const CONTACT_KEYS: &[(&str, &str)] = &[
    ("firstName", "C_FirstName"),
    ("lastName", "C_LastName"),
    ("company", "C_Company"),
    ("title", "C_Title"),
    ("businessPhone", "C_BusPhone"),
    ("mobilePhone", "C_MobilePhone"),
    ("address1", "C_Address1"),
    ("city", "C_City"),
    ("province", "C_State_Prov"),
    ("postalCode", "C_Zip_Postal"),
    ("country", "C_Country"),
];

/// Applies a seed to the store.
pub fn apply(store: &mut Store, seed: &Value) -> Result<(), String> {
    let obj = match seed {
        Value::Null => return Ok(()),
        Value::Object(obj) => obj,
        _ => return Err("the eloqua seed must be a JSON object".into()),
    };
    if let Some(unknown) = obj.keys().find(|k| {
        ![
            "settings",
            "accounts",
            "contacts",
            "opportunities",
            "strict",
        ]
        .contains(&k.as_str())
    }) {
        return Err(format!(
            "unknown seed key {unknown:?} (expected contacts, accounts, opportunities, settings)"
        ));
    }
    if let Some(settings) = obj.get("settings") {
        merge_settings(store, settings)?;
    }
    for account in list(obj, "accounts")? {
        let name = match account {
            Value::String(name) => name.clone(),
            Value::Object(a) => text(a.get("name")).ok_or("an account needs a name")?,
            _ => return Err("an account is a name or an object with a name".into()),
        };
        store.account_by_name(&name, true);
    }
    for contact in list(obj, "contacts")? {
        seed_contact(store, contact)?;
    }
    for opportunity in list(obj, "opportunities")? {
        seed_opportunity(store, opportunity)?;
    }
    Ok(())
}

/// Merges a partial settings object over the current settings (unknown keys are errors).
pub fn merge_settings(store: &mut Store, partial: &Value) -> Result<(), String> {
    let Value::Object(partial) = partial else {
        return Err("settings must be a JSON object".into());
    };
    let mut current = serde_json::to_value(&store.settings).map_err(|e| e.to_string())?;
    if let Value::Object(current) = &mut current {
        for (k, v) in partial {
            current.insert(Settings::current_name(k).to_owned(), v.clone());
        }
    }
    store.settings =
        serde_json::from_value::<Settings>(current).map_err(|e| format!("bad settings: {e}"))?;
    Ok(())
}

fn list<'a>(obj: &'a Map<String, Value>, key: &str) -> Result<&'a [Value], String> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Array(items)) => Ok(items),
        Some(_) => Err(format!("{key} must be an array")),
    }
}

/// A scalar as text (ids may be given as numbers).
fn text(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn seed_contact(store: &mut Store, contact: &Value) -> Result<(), String> {
    let (email, obj) = match contact {
        Value::String(email) => (email.clone(), Map::new()),
        Value::Object(obj) => {
            let email = text(obj.get("emailAddress").or_else(|| obj.get("email")))
                .ok_or("a contact needs an emailAddress")?;
            (email, obj.clone())
        }
        _ => return Err("a contact is an email address or an object with emailAddress".into()),
    };
    let mut fields = BTreeMap::new();
    let mut account = None;
    for (key, value) in &obj {
        match key.as_str() {
            "emailAddress" | "email" | "id" => {}
            "account" | "accountName" => account = text(Some(value)),
            "fields" => {
                for (k, v) in value
                    .as_object()
                    .ok_or("contact fields must be an object")?
                {
                    fields.insert(k.clone(), text(Some(v)).unwrap_or_default());
                }
            }
            other => {
                let internal = CONTACT_KEYS
                    .iter()
                    .find(|(k, _)| *k == other)
                    .map_or(other, |(_, f)| f);
                fields.insert(internal.to_string(), text(Some(value)).unwrap_or_default());
            }
        }
    }
    let account_id = account.and_then(|name| store.account_by_name(&name, true));
    match store.contact_by_email(&email) {
        Some(id) => {
            if let Some(existing) = store.contacts.get_mut(&id) {
                existing.fields.extend(fields);
                existing.account_id = account_id.or(existing.account_id);
            }
        }
        None => {
            store.add_contact(&email, fields, account_id);
        }
    }
    Ok(())
}

fn seed_opportunity(store: &mut Store, opportunity: &Value) -> Result<(), String> {
    let obj = opportunity
        .as_object()
        .ok_or("an opportunity is an object with an id")?;
    let id = text(obj.get("id")).ok_or("an opportunity needs an id")?;
    let mut opp = store
        .opportunities
        .remove(&id)
        .unwrap_or_else(|| Opportunity {
            id: id.clone(),
            name: id.clone(),
            ..Opportunity::default()
        });
    for (key, value) in obj {
        match key.as_str() {
            "id" => {}
            "name" => opp.name = text(Some(value)).unwrap_or_default(),
            "contacts" => {
                for email in value
                    .as_array()
                    .ok_or("opportunity contacts must be an array of emails")?
                {
                    let email = text(Some(email)).ok_or("opportunity contacts must be emails")?;
                    let contact = match store.contact_by_email(&email) {
                        Some(c) => c,
                        None => store.add_contact(&email, BTreeMap::new(), None),
                    };
                    opp.contacts.insert(contact);
                }
            }
            other => {
                let field = match other {
                    "stage" => "Stage",
                    "amount" => "Amount",
                    "closeDate" => "CloseDate",
                    "currency" => "Currency",
                    f => f,
                };
                opp.fields
                    .insert(field.to_string(), text(Some(value)).unwrap_or_default());
            }
        }
    }
    store.opportunities.insert(id, opp);
    Ok(())
}

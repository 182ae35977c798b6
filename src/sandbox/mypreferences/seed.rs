//! This emulator's part of `POST /_sandbox/seed`: account configuration and profiles. Every
//! key is optional; without `client_id` the default account (`sandbox`) is seeded:
//!
//! ```json
//! {"alternate_id_types": ["CRM"], "email_types": ["Personal"], "phone_types": ["Mobile"],
//!  "consent_types": {"Marketing": ["1", "2"]}, "groups": [], "tags": [], "custom_fields": [],
//!  "users": [{"id": "viewer", "can_import": false}], "email_regex": "^.+@example\\.org$",
//!  "strict": true, "profiles": [{"ProfileId": 7, "AlternateIds": [...], "Emails": [...]}],
//!  "accounts": [{"client_id": "ACME", ...same keys...}]}
//! ```
//!
//! Lists add to what the account has; a profile with a `ProfileId` replaces that profile, and
//! the AlternateId types seeded profiles use are added to the account's types.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use super::clock::format_iso;
use super::store::{Account, Profile, State, User};
use super::{Mypreferences, error};
use crate::sandbox::core::EmulatorError;

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct AccountSeed {
    client_id: Option<String>,
    strict: Option<bool>,
    alternate_id_types: Vec<String>,
    email_types: Vec<String>,
    phone_types: Vec<String>,
    consent_types: BTreeMap<String, Vec<String>>,
    groups: Vec<String>,
    tags: Vec<String>,
    custom_fields: Vec<String>,
    users: Vec<User>,
    email_regex: Option<String>,
    profiles: Vec<Profile>,
    accounts: Vec<AccountSeed>,
}

pub fn apply(
    emu: &Mypreferences,
    state: &mut State,
    seed: &Value,
    now: u64,
) -> Result<(), EmulatorError> {
    if seed.is_null() {
        return Ok(());
    }
    let seed: AccountSeed =
        serde_json::from_value(seed.clone()).map_err(|e| error(format!("bad seed: {e}")))?;
    apply_one(emu, state, seed, now)
}

fn apply_one(
    emu: &Mypreferences,
    state: &mut State,
    seed: AccountSeed,
    now: u64,
) -> Result<(), EmulatorError> {
    if let Some(strict) = seed.strict {
        emu.shared.set_strict(strict);
    }
    if let Some(rule) = &seed.email_regex {
        regex::Regex::new(rule).map_err(|e| error(format!("bad email_regex: {e}")))?;
    }
    let client_id = seed
        .client_id
        .clone()
        .unwrap_or_else(|| emu.config.default_client_id.clone());
    let config = &emu.config;
    let account = state
        .accounts
        .entry(client_id.clone())
        .or_insert_with(|| Account::new(&client_id, &config.default_user_id, &config.email_regex));
    add_names(&mut account.alternate_id_types, seed.alternate_id_types);
    add_names(&mut account.email_types, seed.email_types);
    add_names(&mut account.phone_types, seed.phone_types);
    add_names(&mut account.groups, seed.groups);
    add_names(&mut account.tags, seed.tags);
    add_names(&mut account.custom_fields, seed.custom_fields);
    for (kind, versions) in seed.consent_types {
        let known = account.consent_types.entry(kind).or_default();
        add_names(known, versions);
    }
    for user in seed.users {
        account
            .users
            .retain(|u| !u.id.eq_ignore_ascii_case(&user.id));
        account.users.push(user);
    }
    if let Some(rule) = seed.email_regex {
        account.email_regex = rule;
    }
    for mut profile in seed.profiles {
        if profile.profile_id == 0 {
            profile.profile_id = account.allocate_profile_id();
        }
        account.next_profile_id = account
            .next_profile_id
            .max(profile.profile_id.saturating_add(1));
        // The AlternateId types a seeded profile uses exist in its account.
        let kinds = profile
            .alternate_ids
            .iter()
            .map(|a| a.alternate_id_type.clone());
        add_names(&mut account.alternate_id_types, kinds.collect());
        if profile.create_date.is_empty() {
            profile.create_date = format_iso(now);
        }
        account.profiles.insert(profile.profile_id, profile);
    }
    for nested in seed.accounts {
        apply_one(emu, state, nested, now)?;
    }
    Ok(())
}

fn add_names(list: &mut Vec<String>, names: Vec<String>) {
    for name in names {
        if !list.iter().any(|n| n.eq_ignore_ascii_case(&name)) {
            list.push(name);
        }
    }
}

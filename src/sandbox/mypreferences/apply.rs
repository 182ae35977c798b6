//! Execution of one validated record against an account's profiles (§11 item 14): matching
//! by `ProfileId` or by AlternateId of the `MatchValue` type, creation, `Delete`, and the
//! execution-time outcomes `Exceptions` (e.g. an AlternateId value owned by another profile,
//! an unknown profile to delete) and `NotHonored` (a prior consent version when the profile
//! already holds a newer one). Merging and refresh semantics live in `refresh.rs`.

use std::collections::HashMap;

use super::imports::{Action, Settings};
use super::refresh::merge;
use super::store::{Account, Profile, compare_versions};
use super::wire::{ExceptionDefinition, ProfileRecord};

/// AlternateId owners by lower-cased (type, value), so matching stays linear in the import
/// size. Built once per processing step and kept up to date by `apply_record`.
#[derive(Debug, Default)]
pub struct AltIndex(HashMap<(String, String), u64>);

impl AltIndex {
    pub fn build(account: &Account) -> Self {
        let mut index = Self::default();
        account.profiles.values().for_each(|p| index.remember(p));
        index
    }

    fn key(kind: &str, value: &str) -> (String, String) {
        (kind.to_lowercase(), value.to_lowercase())
    }

    pub fn owner(&self, kind: &str, value: &str) -> Option<u64> {
        self.0.get(&Self::key(kind, value)).copied()
    }

    fn remember(&mut self, profile: &Profile) {
        for alt in &profile.alternate_ids {
            self.0.insert(
                Self::key(&alt.alternate_id_type, &alt.alternate_id),
                profile.profile_id,
            );
        }
    }

    fn forget(&mut self, profile: &Profile) {
        for alt in &profile.alternate_ids {
            self.0
                .remove(&Self::key(&alt.alternate_id_type, &alt.alternate_id));
        }
    }
}

/// Outcome of one record at execution.
#[derive(Debug, PartialEq)]
pub enum Outcome {
    Processed,
    Exception(ExceptionDefinition),
    NotHonored,
}

/// Applies one record; `create_date` is shared by every profile the import creates.
pub fn apply_record(
    account: &mut Account,
    index: &mut AltIndex,
    settings: &Settings,
    record: &ProfileRecord,
    create_date: &str,
) -> Outcome {
    let target = find_target(account, index, settings, record);
    match settings.action {
        Action::Delete => delete(account, index, target),
        Action::Add => add(account, index, settings, record, target, create_date),
    }
}

/// The profile a record matches, if any.
fn find_target(
    account: &Account,
    index: &AltIndex,
    settings: &Settings,
    record: &ProfileRecord,
) -> Option<u64> {
    match &settings.match_value {
        Some(kind) => {
            let alt = record
                .alternate_ids
                .iter()
                .find(|a| a.alternate_id_type.eq_ignore_ascii_case(kind))?;
            index.owner(kind, &alt.alternate_id)
        }
        None => record
            .profile_id
            .filter(|id| account.profiles.contains_key(id)),
    }
}

fn delete(account: &mut Account, index: &mut AltIndex, target: Option<u64>) -> Outcome {
    match target.and_then(|id| account.profiles.remove(&id)) {
        Some(profile) => {
            index.forget(&profile);
            Outcome::Processed
        }
        None => Outcome::Exception(ExceptionDefinition::new(
            "ProfileNotFound",
            "No profile matches this record.",
        )),
    }
}

fn add(
    account: &mut Account,
    index: &mut AltIndex,
    settings: &Settings,
    record: &ProfileRecord,
    target: Option<u64>,
    create_date: &str,
) -> Outcome {
    for alt in &record.alternate_ids {
        let owner = index.owner(&alt.alternate_id_type, &alt.alternate_id);
        if owner.is_some() && owner != target {
            let message = format!(
                "{} {} belongs to another profile.",
                alt.alternate_id_type, alt.alternate_id
            );
            return Outcome::Exception(ExceptionDefinition::new("AlternateIdNotUnique", message));
        }
    }
    let existing = target.and_then(|id| account.profiles.get(&id));
    if let Some(profile) = existing
        && settings.allow_prior_consents
        && holds_newer_consent(profile, record)
    {
        return Outcome::NotHonored;
    }
    let preserve = record
        .preserve_preferences
        .or(settings.preserve_preferences)
        .unwrap_or(true);
    let id = match target {
        Some(id) => id,
        None => {
            let id = account.allocate_profile_id();
            let profile = Profile {
                profile_id: id,
                is_active: true,
                create_date: create_date.to_owned(),
                ..Profile::default()
            };
            account.profiles.insert(id, profile);
            id
        }
    };
    if let Some(profile) = account.profiles.get_mut(&id) {
        index.forget(profile);
        merge(profile, record, settings.refresh, preserve);
        index.remember(profile);
    }
    Outcome::Processed
}

/// Whether the profile already holds a newer version of a consent the record brings.
fn holds_newer_consent(profile: &Profile, record: &ProfileRecord) -> bool {
    record.consents.iter().any(|consent| {
        let (Some(kind), Some(version)) = (&consent.consent_type, &consent.consent_version) else {
            return false;
        };
        profile.consents.iter().any(|c| {
            c.consent_type.eq_ignore_ascii_case(kind)
                && compare_versions(&c.consent_version, version).is_gt()
        })
    })
}

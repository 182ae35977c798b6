//! Merging one `Add` record into a stored profile, then the `Refresh*` flags (§4.1):
//!
//! | flag | elements absent from the record |
//! | --- | --- |
//! | `RefreshAlternateIds` | AlternateIds **deactivated** |
//! | `RefreshContacts` | emails, phones, addresses **deactivated**; their preferences archived when `PreservePreferences` is false (record value, else Initiate value, default true) |
//! | `RefreshCustomFields` | custom fields **deleted** |
//! | `RefreshGroups` | groups **deactivated** |
//! | `RefreshTags` | tags **deleted** |
//!
//! Elements present in the record are upserted and (re)activated. Without a flag, absent
//! elements are left as they are. Element identities: AlternateId by type (one value per
//! type), email by address (case-insensitive), phone by number, address by its fields, group,
//! tag and custom field by name (case-insensitive). Preferences given for an element replace
//! that element's preferences. Nothing here matches profiles or decides outcomes.

use serde_json::{Map, Value};

use super::imports::Refresh;
use super::store::{
    Profile, StoredAddress, StoredAlternateId, StoredConsent, StoredCustomField, StoredEmail,
    StoredGroup, StoredPhone, StoredTag,
};
use super::wire::ProfileRecord;

/// Applies `record` to `profile`, then the refresh flags.
pub fn merge(
    profile: &mut Profile,
    record: &ProfileRecord,
    refresh: Refresh,
    preserve_preferences: bool,
) {
    merge_scalars(profile, record);
    merge_alternate_ids(profile, record);
    merge_emails(profile, record);
    merge_phones(profile, record);
    merge_addresses(profile, record);
    merge_other(profile, record);
    apply_refresh(profile, record, refresh, preserve_preferences);
}

fn merge_scalars(profile: &mut Profile, record: &ProfileRecord) {
    if let Some(active) = record.is_active {
        profile.is_active = active;
    }
    if record.default_locale.is_some() {
        profile.default_locale.clone_from(&record.default_locale);
    }
    if record.registration_confirmed.is_some() {
        profile.registration_confirmed = record.registration_confirmed;
    }
    if record.customer_type.is_some() {
        profile.customer_type.clone_from(&record.customer_type);
    }
    if record.customer_name.is_some() {
        profile.customer_name.clone_from(&record.customer_name);
    }
}

fn merge_alternate_ids(profile: &mut Profile, record: &ProfileRecord) {
    for alt in &record.alternate_ids {
        let kind = &alt.alternate_id_type;
        match profile
            .alternate_ids
            .iter_mut()
            .find(|a| a.alternate_id_type.eq_ignore_ascii_case(kind))
        {
            Some(stored) => {
                stored.alternate_id.clone_from(&alt.alternate_id);
                stored.is_active = true;
            }
            None => profile.alternate_ids.push(StoredAlternateId {
                alternate_id_type: kind.clone(),
                alternate_id: alt.alternate_id.clone(),
                is_active: true,
            }),
        }
    }
}

fn merge_emails(profile: &mut Profile, record: &ProfileRecord) {
    for email in &record.emails {
        let address = email.email_address.clone().unwrap_or_default();
        let index = match profile
            .emails
            .iter()
            .position(|e| e.email_address.eq_ignore_ascii_case(&address))
        {
            Some(index) => index,
            None => {
                profile.emails.push(StoredEmail {
                    email_address: address,
                    ..StoredEmail::default()
                });
                profile.emails.len() - 1
            }
        };
        if email.is_default == Some(true) {
            profile.emails.iter_mut().for_each(|e| e.is_default = false);
        }
        let stored = &mut profile.emails[index];
        stored.is_active = true;
        if email.email_address_type.is_some() {
            stored
                .email_address_type
                .clone_from(&email.email_address_type);
        }
        if let Some(default) = email.is_default {
            stored.is_default = default;
        }
        if !email.email_preferences.is_empty() {
            stored.email_preferences = activated(&email.email_preferences);
        }
    }
}

fn merge_phones(profile: &mut Profile, record: &ProfileRecord) {
    for phone in &record.phone_numbers {
        let number = phone.phone_number.clone().unwrap_or_default();
        let index = match profile
            .phone_numbers
            .iter()
            .position(|p| p.phone_number == number)
        {
            Some(index) => index,
            None => {
                profile.phone_numbers.push(StoredPhone {
                    phone_number: number,
                    ..StoredPhone::default()
                });
                profile.phone_numbers.len() - 1
            }
        };
        if phone.is_default == Some(true) {
            profile
                .phone_numbers
                .iter_mut()
                .for_each(|p| p.is_default = false);
        }
        let stored = &mut profile.phone_numbers[index];
        stored.is_active = true;
        if phone.phone_number_type.is_some() {
            stored
                .phone_number_type
                .clone_from(&phone.phone_number_type);
        }
        stored.is_mobile = phone.is_mobile.unwrap_or(stored.is_mobile);
        stored.is_default = phone.is_default.unwrap_or(stored.is_default);
        if !phone.phone_preferences.is_empty() {
            stored.phone_preferences = activated(&phone.phone_preferences);
        }
    }
}

/// An address's identity: its fields without state, preferences or exception output.
fn address_fields(address: &Map<String, Value>) -> Map<String, Value> {
    let mut fields = address.clone();
    for key in [
        "AddressPreferences",
        "IsActive",
        "IsDefault",
        "Exceptions",
        "Edited",
    ] {
        fields.remove(key);
    }
    fields
}

fn merge_addresses(profile: &mut Profile, record: &ProfileRecord) {
    for address in &record.addresses {
        let fields = address_fields(address);
        let preferences: Vec<Map<String, Value>> = match address.get("AddressPreferences") {
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(|v| v.as_object().cloned())
                .collect(),
            _ => Vec::new(),
        };
        match profile.addresses.iter_mut().find(|a| a.fields == fields) {
            Some(stored) => {
                stored.is_active = true;
                if !preferences.is_empty() {
                    stored.address_preferences = activated(&preferences);
                }
            }
            None => profile.addresses.push(StoredAddress {
                fields,
                is_active: true,
                address_preferences: activated(&preferences),
            }),
        }
    }
}

fn merge_other(profile: &mut Profile, record: &ProfileRecord) {
    for preference in &record.profile_preferences {
        if !profile.profile_preferences.contains(preference) {
            profile.profile_preferences.push(preference.clone());
        }
    }
    for consent in &record.consents {
        let kind = consent.consent_type.clone().unwrap_or_default();
        let stored = StoredConsent {
            consent_type: kind.clone(),
            consent_version: consent.consent_version.clone().unwrap_or(Value::Null),
            locale: consent.locale.clone(),
            consent_status: consent.consent_status.clone().unwrap_or(Value::Null),
            consent_date: consent.consent_date.clone(),
        };
        match profile
            .consents
            .iter_mut()
            .find(|c| c.consent_type.eq_ignore_ascii_case(&kind))
        {
            Some(existing) => *existing = stored,
            None => profile.consents.push(stored),
        }
    }
    for group in &record.groups {
        match profile
            .groups
            .iter_mut()
            .find(|g| g.group_name.eq_ignore_ascii_case(&group.group_name))
        {
            Some(stored) => stored.is_active = true,
            None => profile.groups.push(StoredGroup {
                group_name: group.group_name.clone(),
                is_active: true,
            }),
        }
    }
    for tag in &record.profile_tags {
        if !profile
            .profile_tags
            .iter()
            .any(|t| t.tag_name.eq_ignore_ascii_case(&tag.tag_name))
        {
            profile.profile_tags.push(StoredTag {
                tag_name: tag.tag_name.clone(),
            });
        }
    }
    for field in &record.custom_fields {
        let value = field.field_value.clone();
        match profile
            .custom_fields
            .iter_mut()
            .find(|f| f.field_name.eq_ignore_ascii_case(&field.field_name))
        {
            Some(stored) => stored.field_value = value,
            None => profile.custom_fields.push(StoredCustomField {
                field_name: field.field_name.clone(),
                field_value: value,
            }),
        }
    }
}

fn apply_refresh(profile: &mut Profile, record: &ProfileRecord, refresh: Refresh, preserve: bool) {
    if refresh.alternate_ids {
        for alt in &mut profile.alternate_ids {
            if !has(
                record.alternate_ids.iter().map(|a| &a.alternate_id_type),
                &alt.alternate_id_type,
            ) {
                alt.is_active = false;
            }
        }
    }
    if refresh.contacts {
        let emails: Vec<String> = record
            .emails
            .iter()
            .filter_map(|e| e.email_address.clone())
            .collect();
        for email in &mut profile.emails {
            if !has(emails.iter(), &email.email_address) {
                deactivate(&mut email.is_active, &mut email.email_preferences, preserve);
            }
        }
        let phones: Vec<&str> = record
            .phone_numbers
            .iter()
            .filter_map(|p| p.phone_number.as_deref())
            .collect();
        for phone in &mut profile.phone_numbers {
            if !phones.contains(&phone.phone_number.as_str()) {
                deactivate(&mut phone.is_active, &mut phone.phone_preferences, preserve);
            }
        }
        let addresses: Vec<Map<String, Value>> =
            record.addresses.iter().map(address_fields).collect();
        for address in &mut profile.addresses {
            if !addresses.contains(&address.fields) {
                deactivate(
                    &mut address.is_active,
                    &mut address.address_preferences,
                    preserve,
                );
            }
        }
    }
    if refresh.custom_fields {
        profile.custom_fields.retain(|f| {
            record
                .custom_fields
                .iter()
                .any(|r| r.field_name.eq_ignore_ascii_case(&f.field_name))
        });
    }
    if refresh.groups {
        for group in &mut profile.groups {
            if !has(
                record.groups.iter().map(|g| &g.group_name),
                &group.group_name,
            ) {
                group.is_active = false;
            }
        }
    }
    if refresh.tags {
        profile.profile_tags.retain(|t| {
            record
                .profile_tags
                .iter()
                .any(|r| r.tag_name.eq_ignore_ascii_case(&t.tag_name))
        });
    }
}

/// Whether `names` holds `name`, case-insensitively.
fn has<'a>(mut names: impl Iterator<Item = &'a String>, name: &str) -> bool {
    names.any(|n| n.eq_ignore_ascii_case(name))
}

/// Deactivates a contact element; unless preferences are preserved, archives its preferences.
fn deactivate(is_active: &mut bool, preferences: &mut [Map<String, Value>], preserve: bool) {
    *is_active = false;
    if !preserve {
        for preference in preferences {
            preference.insert("IsActive".into(), false.into());
            preference.insert("Archived".into(), true.into());
        }
    }
}

/// Preferences as stored: active unless the record says otherwise.
fn activated(preferences: &[Map<String, Value>]) -> Vec<Map<String, Value>> {
    preferences
        .iter()
        .map(|p| {
            let mut p = p.clone();
            p.entry("IsActive").or_insert(Value::Bool(true));
            p
        })
        .collect()
}

//! Refresh flags: each one deactivates or deletes exactly the absent elements the
//! documentation names, and nothing else; `PreservePreferences` decides whether preferences
//! of deactivated contact elements are archived.

use serde_json::{Map, Value, json};

use super::{Sandbox, by_crm, start};

async fn seeded() -> Sandbox {
    let sb = start().await;
    sb.seed(json!({"alternate_id_types": ["CRM", "ERP"], "profiles": [{
        "ProfileId": 1,
        "AlternateIds": [{"AlternateIdType": "CRM", "AlternateId": "C1"}, {"AlternateIdType": "ERP", "AlternateId": "E1"}],
        "Emails": [
            {"EmailAddress": "keep@example.org", "EmailPreferences": [{"PreferenceName": "News", "IsActive": true}]},
            {"EmailAddress": "old@example.org", "EmailPreferences": [{"PreferenceName": "Offers", "IsActive": true}]}],
        "PhoneNumbers": [{"PhoneNumber": "+1111"}, {"PhoneNumber": "+2222", "PhonePreferences": [{"PreferenceName": "SMS", "IsActive": true}]}],
        "Addresses": [{"AddressLine1": "1 Main St"}, {"AddressLine1": "9 Old Rd", "AddressPreferences": [{"PreferenceName": "Mail", "IsActive": true}]}],
        "Groups": [{"GroupName": "VIP"}, {"GroupName": "Beta"}],
        "ProfileTags": [{"TagName": "a"}, {"TagName": "b"}],
        "CustomFields": [{"FieldName": "Tier", "FieldValue": "Gold"}, {"FieldName": "Region", "FieldValue": "EU"}]
    }]}))
    .await;
    sb
}

/// The import record: one element of each kind kept, one of each left out.
fn record(extra: Value) -> Value {
    let mut record = json!({
        "AlternateIds": [{"AlternateIdType": "CRM", "AlternateId": "C1"}],
        "Emails": [{"EmailAddress": "keep@example.org"}],
        "PhoneNumbers": [{"PhoneNumber": "+1111"}],
        "Addresses": [{"AddressLine1": "1 Main St"}],
        "Groups": [{"GroupName": "VIP"}],
        "ProfileTags": [{"TagName": "a"}],
        "CustomFields": [{"FieldName": "Tier", "FieldValue": "Platinum"}]
    });
    if let (Some(record), Value::Object(extra)) = (record.as_object_mut(), extra) {
        record.extend(extra);
    }
    record
}

/// Element -> active state (or value) per kind, for whole-profile comparisons.
fn summary(profile: &Value) -> Value {
    let states = |list: &str, key: &str| -> Value {
        let map: Map<String, Value> = profile[list]
            .as_array()
            .into_iter()
            .flatten()
            .map(|e| {
                (
                    e[key].as_str().unwrap_or("").to_owned(),
                    e["IsActive"].clone(),
                )
            })
            .collect();
        Value::Object(map)
    };
    let tags: Vec<Value> = profile["ProfileTags"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|t| t["TagName"].clone())
        .collect();
    let fields: Map<String, Value> = profile["CustomFields"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|f| {
            (
                f["FieldName"].as_str().unwrap_or("").to_owned(),
                f["FieldValue"].clone(),
            )
        })
        .collect();
    json!({
        "alternate_ids": states("AlternateIds", "AlternateIdType"),
        "emails": states("Emails", "EmailAddress"),
        "phones": states("PhoneNumbers", "PhoneNumber"),
        "addresses": states("Addresses", "AddressLine1"),
        "groups": states("Groups", "GroupName"),
        "tags": tags,
        "fields": fields,
    })
}

fn baseline() -> Value {
    json!({
        "alternate_ids": {"CRM": true, "ERP": true},
        "emails": {"keep@example.org": true, "old@example.org": true},
        "phones": {"+1111": true, "+2222": true},
        "addresses": {"1 Main St": true, "9 Old Rd": true},
        "groups": {"VIP": true, "Beta": true},
        "tags": ["a", "b"],
        "fields": {"Tier": "Platinum", "Region": "EU"},
    })
}

async fn import(flags: Value, record: Value) -> Value {
    let sb = seeded().await;
    let mut settings =
        json!({"Name": "refresh", "MatchCriteria": "AlternateIdType", "MatchValue": "CRM"});
    if let (Some(settings), Value::Object(flags)) = (settings.as_object_mut(), flags) {
        settings.extend(flags);
    }
    let last = sb.run(settings, json!([record])).await;
    assert_eq!(
        (last["Status"].as_str(), last["Processed"].as_u64()),
        (Some("Completed"), Some(1)),
        "{last}"
    );
    let profiles = sb.profiles().await;
    assert_eq!(profiles.len(), 1);
    by_crm(&profiles, "C1").clone()
}

#[tokio::test]
async fn without_flags_absent_elements_are_untouched() {
    let profile = import(json!({}), record(json!({}))).await;
    assert_eq!(summary(&profile), baseline());
}

#[tokio::test]
async fn refresh_alternate_ids_deactivates_absent_alternate_ids_only() {
    let profile = import(json!({"RefreshAlternateIds": true}), record(json!({}))).await;
    let mut expected = baseline();
    expected["alternate_ids"]["ERP"] = json!(false);
    assert_eq!(summary(&profile), expected);
    assert_eq!(
        profile["AlternateIds"].as_array().map(Vec::len),
        Some(2),
        "deactivated, not deleted"
    );
}

#[tokio::test]
async fn refresh_contacts_deactivates_absent_emails_phones_addresses_and_preserves_preferences_by_default()
 {
    let profile = import(json!({"RefreshContacts": true}), record(json!({}))).await;
    let mut expected = baseline();
    expected["emails"]["old@example.org"] = json!(false);
    expected["phones"]["+2222"] = json!(false);
    expected["addresses"]["9 Old Rd"] = json!(false);
    assert_eq!(summary(&profile), expected);
    assert_eq!(
        profile["Emails"][1]["EmailPreferences"][0],
        json!({"PreferenceName": "Offers", "IsActive": true})
    );
}

#[tokio::test]
async fn refresh_contacts_archives_preferences_when_preserve_preferences_is_false() {
    let profile = import(
        json!({"RefreshContacts": true, "PreservePreferences": false}),
        record(json!({})),
    )
    .await;
    let archived = |p: &Value| p["IsActive"] == false && p["Archived"] == true;
    assert!(
        archived(&profile["Emails"][1]["EmailPreferences"][0]),
        "{profile}"
    );
    assert!(archived(&profile["PhoneNumbers"][1]["PhonePreferences"][0]));
    assert!(archived(&profile["Addresses"][1]["AddressPreferences"][0]));
    // The kept email's preferences are not touched.
    assert_eq!(
        profile["Emails"][0]["EmailPreferences"][0],
        json!({"PreferenceName": "News", "IsActive": true})
    );

    // The record's own PreservePreferences wins over the Initiate value.
    let profile = import(
        json!({"RefreshContacts": true, "PreservePreferences": false}),
        record(json!({"PreservePreferences": true})),
    )
    .await;
    assert_eq!(profile["Emails"][1]["IsActive"], false);
    assert_eq!(
        profile["Emails"][1]["EmailPreferences"][0],
        json!({"PreferenceName": "Offers", "IsActive": true})
    );
}

#[tokio::test]
async fn refresh_custom_fields_deletes_absent_custom_fields() {
    let profile = import(json!({"RefreshCustomFields": true}), record(json!({}))).await;
    let mut expected = baseline();
    expected["fields"] = json!({"Tier": "Platinum"});
    assert_eq!(summary(&profile), expected);
}

#[tokio::test]
async fn refresh_groups_deactivates_absent_groups() {
    let profile = import(json!({"RefreshGroups": true}), record(json!({}))).await;
    let mut expected = baseline();
    expected["groups"]["Beta"] = json!(false);
    assert_eq!(summary(&profile), expected);
}

#[tokio::test]
async fn refresh_tags_deletes_absent_tags() {
    let profile = import(json!({"RefreshTags": true}), record(json!({}))).await;
    let mut expected = baseline();
    expected["tags"] = json!(["a"]);
    assert_eq!(summary(&profile), expected);
}

#[tokio::test]
async fn an_element_sent_again_is_reactivated() {
    let sb = seeded().await;
    let settings = json!({"Name": "n", "MatchCriteria": "AlternateIdType", "MatchValue": "CRM", "RefreshGroups": true});
    sb.run(settings.clone(), json!([record(json!({}))])).await;
    sb.run(
        settings,
        json!([record(json!({"Groups": [{"GroupName": "beta"}]}))]),
    )
    .await;
    let profiles = sb.profiles().await;
    let groups = &summary(by_crm(&profiles, "C1"))["groups"];
    assert_eq!(groups, &json!({"VIP": false, "Beta": true}));
}

//! Initiate: documented fields and types, ranges and 400 bodies, MatchValue lookup, token
//! lifetime, the rolling daily quota.

use bulkspec::sandbox::core::FaultConfig;
use bulkspec::sandbox::mypreferences::config::MyPrefConfig;
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{INITIATE, assert_message, start, start_with};

fn expires_in_secs(reply: &Value) -> i64 {
    let expires = reply["Expires"].as_str().expect("Expires is a string");
    let at = humantime::parse_rfc3339_weak(expires).expect("Expires is ISO-8601");
    let now = std::time::SystemTime::now();
    match at.duration_since(now) {
        Ok(d) => d.as_secs() as i64,
        Err(e) => -(e.duration().as_secs() as i64),
    }
}

#[tokio::test]
async fn initiate_answers_every_documented_field_with_its_type() {
    let sb = start().await;
    sb.seed(json!({"alternate_id_types": ["CRM_ID"]})).await;
    let body = json!({
        "Name": "nightly-crm-sync-2024-03-05", "ImportAction": "Add", "DataStageDuration": 2,
        "MatchCriteria": "AlternateIdType", "MatchValue": "CRM_ID", "RefreshContacts": false,
        "RefreshTags": true, "AllowPriorConsents": false, "ReasonCode": "gdpr"
    });
    let (code, reply) = sb.post(INITIATE, body).await;
    assert_eq!(code, StatusCode::OK, "{reply}");
    assert!(
        reply["AccessToken"].is_u64(),
        "AccessToken is an integer: {reply}"
    );
    assert_eq!(reply["Status"], "Initiated");
    assert_eq!(reply["Name"], "nightly-crm-sync-2024-03-05");
    assert_eq!(reply["ImportAction"], "Add");
    assert_eq!(reply["DataStageDuration"], 2);
    assert_eq!(reply["MatchCriteria"], "AlternateIdType");
    assert_eq!(reply["MatchValue"], "CRM_ID");
    assert_eq!(reply["RefreshTags"], true);
    for flag in [
        "RefreshAlternateIds",
        "RefreshContacts",
        "RefreshCustomFields",
        "RefreshGroups",
        "AllowPriorConsents",
    ] {
        assert_eq!(reply[flag], false, "{flag}");
    }
    assert_eq!(reply["ReasonCode"], "gdpr");
    assert!(reply["PreservePreferences"].is_null());
    for counter in [
        "TotalRecordsReceived",
        "ValidationSuccessful",
        "ValidationFailed",
        "Processed",
        "Pending",
        "Exceptions",
        "NotHonored",
    ] {
        assert_eq!(
            reply[counter].as_u64(),
            Some(0),
            "{counter} is a zero integer"
        );
    }
    // Default lifetime: six hours (the Initiate prose), no offset in the string.
    let left = expires_in_secs(&reply);
    assert!(
        (6 * 3600 - 5..=6 * 3600).contains(&left),
        "expires in {left} s"
    );
    assert!(!reply["Expires"].as_str().unwrap_or("").ends_with('Z'));
}

#[tokio::test]
async fn initiate_defaults_and_access_tokens_are_distinct() {
    let sb = start().await;
    let (code, first) = sb.post(INITIATE, json!({"Name": "a"})).await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(first["DataStageDuration"], 3);
    assert_eq!(first["ImportAction"], "Add");
    assert!(first["MatchCriteria"].is_null() && first["MatchValue"].is_null());
    let (_, second) = sb.post(INITIATE, json!({"Name": "b"})).await;
    assert_ne!(first["AccessToken"], second["AccessToken"]);
}

#[tokio::test]
async fn initiate_refuses_out_of_range_fields_with_400_message() {
    let sb = start().await;
    let long = "x".repeat(101);
    let bad = [
        json!({}),
        json!({"Name": ""}),
        json!({"Name": long}),
        json!({"Name": "n", "DataStageDuration": -1}),
        json!({"Name": "n", "DataStageDuration": 11}),
        json!({"Name": "n", "DataStageDuration": 2.5}),
        json!({"Name": "n", "ImportAction": "add"}),
        json!({"Name": "n", "ImportAction": "Update"}),
        json!({"Name": "n", "MatchCriteria": "Email", "MatchValue": "x"}),
        json!({"Name": "n", "MatchCriteria": "AlternateIdType"}),
        json!({"Name": "n", "MatchValue": "CRM"}),
        json!({"Name": "n", "ReasonCode": "r".repeat(257)}),
        json!({"Name": "n", "RefreshTags": "yes"}),
        json!(["not", "an", "object"]),
    ];
    for body in bad {
        let (code, reply) = sb.post(INITIATE, body.clone()).await;
        let message = assert_message(code, &reply, StatusCode::BAD_REQUEST);
        assert!(!message.is_empty(), "{body}");
    }
    let good = [
        json!({"Name": "x".repeat(100)}),
        json!({"Name": "n", "DataStageDuration": 0}),
        json!({"Name": "n", "DataStageDuration": 10}),
        json!({"Name": "n", "ImportAction": "Delete", "ReasonCode": "r".repeat(256)}),
        json!({"Name": "n", "PreservePreferences": false, "AllowPriorConsents": true}),
    ];
    for body in good {
        let (code, reply) = sb.post(INITIATE, body.clone()).await;
        assert_eq!(code, StatusCode::OK, "{body} -> {reply}");
    }
}

#[tokio::test]
async fn strict_mode_refuses_unknown_match_value_and_lenient_mode_registers_it() {
    let strict = start_with(MyPrefConfig::default(), true).await;
    strict.seed(json!({"alternate_id_types": ["CRM"]})).await;
    let body =
        |kind: &str| json!({"Name": "n", "MatchCriteria": "AlternateIdType", "MatchValue": kind});
    let (code, reply) = strict.post(INITIATE, body("ERP")).await;
    assert!(assert_message(code, &reply, StatusCode::BAD_REQUEST).contains("ERP"));
    let (code, _) = strict.post(INITIATE, body("crm")).await;
    assert_eq!(
        code,
        StatusCode::OK,
        "AlternateIdType names compare case-insensitively"
    );

    let lenient = start().await;
    let (code, _) = lenient.post(INITIATE, body("ERP")).await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(
        lenient.account().await["alternate_id_types"],
        json!(["ERP"])
    );
}

#[tokio::test]
async fn token_lifetime_follows_the_fault_override() {
    let sb = start().await;
    sb.shared.set_faults(FaultConfig {
        token_lifetime_secs: Some(120),
        ..FaultConfig::default()
    });
    let (_, reply) = sb.post(INITIATE, json!({"Name": "n"})).await;
    let left = expires_in_secs(&reply);
    assert!((115..=120).contains(&left), "expires in {left} s");
}

#[tokio::test]
async fn twelve_hour_lifetime_is_a_setting() {
    let config = MyPrefConfig {
        import_token_lifetime: std::time::Duration::from_secs(12 * 3600),
        ..Default::default()
    };
    let sb = start_with(config, false).await;
    let (_, reply) = sb.post(INITIATE, json!({"Name": "n"})).await;
    assert!(expires_in_secs(&reply) > 11 * 3600);
}

#[tokio::test]
async fn daily_quota_is_rolling_24_hours() {
    let sb = start_with(
        MyPrefConfig {
            daily_import_quota: 2,
            ..Default::default()
        },
        false,
    )
    .await;
    for _ in 0..2 {
        sb.initiate(json!({"Name": "n"})).await;
    }
    let (code, reply) = sb.post(INITIATE, json!({"Name": "n"})).await;
    assert_message(code, &reply, StatusCode::TOO_MANY_REQUESTS);
    sb.advance(86_400).await;
    let (code, _) = sb.post(INITIATE, json!({"Name": "n"})).await;
    assert_eq!(code, StatusCode::OK);
}

//! Stage: per-record validation and cumulative counters, AlternateId type mismatch, strict
//! and lenient type checks, permissions, the email rule, prior consent versions, exception
//! records and paging, body limits, configurable routes and collection names.

use bulkspec::sandbox::mypreferences::config::{MyPrefConfig, Routes};
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{INITIATE, assert_message, person, read, start, start_with};

const MATCH_CRM: &str = r#"{"Name": "n", "MatchCriteria": "AlternateIdType", "MatchValue": "CRM"}"#;

fn match_crm() -> Value {
    serde_json::from_str(MATCH_CRM).expect("json")
}

fn codes(exception: &Value) -> Vec<String> {
    exception["Exceptions"]
        .as_array()
        .expect("Exceptions array")
        .iter()
        .map(|e| {
            assert!(e["Message"].is_string(), "{e}");
            e["Code"].as_str().expect("Code").to_owned()
        })
        .collect()
}

#[tokio::test]
async fn stage_validates_each_record_and_counts_cumulatively() {
    let sb = start_with(MyPrefConfig::default(), true).await;
    sb.seed(json!({"alternate_id_types": ["CRM", "ERP"], "consent_types": {"Marketing": ["1", "2", "3"]}})).await;
    let token = sb.initiate(match_crm()).await;
    let records = json!([
        person("C1", "a@example.org"),
        {"AlternateIds": [{"AlternateIdType": "ERP", "AlternateId": "E1"}], "Emails": [{"EmailAddress": "b@example.org"}]},
        {"AlternateIds": [{"AlternateIdType": "CRM", "AlternateId": "C3"}, {"AlternateIdType": "LOYALTY", "AlternateId": "L3"}]},
        {"AlternateIds": [{"AlternateIdType": "CRM", "AlternateId": "C4"}], "Emails": [{"EmailAddressType": "Personal"}]},
        {"AlternateIds": [{"AlternateIdType": "CRM", "AlternateId": "C5"}], "Emails": [{"EmailAddress": format!("{}@example.org", "x".repeat(250))}]},
        {"AlternateIds": [{"AlternateIdType": "CRM", "AlternateId": "C6"}], "Emails": [
            {"EmailAddress": "c@example.org", "IsDefault": true}, {"EmailAddress": "d@example.org", "IsDefault": true}]},
        {"AlternateIds": [{"AlternateIdType": "CRM", "AlternateId": "C7"}], "Emails": [{"EmailAddress": "e@example.org", "EmailAddressType": "Pager"}]},
        {"AlternateIds": [{"AlternateIdType": "CRM", "AlternateId": "C8"}], "Emails": [{"EmailAddress": "not-an-email"}]},
        {"AlternateIds": [{"AlternateIdType": "CRM", "AlternateId": "C9"}], "Consents": [{"ConsentType": "Marketing", "ConsentVersion": "2"}]},
        {"AlternateIds": "not a list"}
    ]);
    let (code, reply) = sb.stage(token, records).await;
    assert_eq!(code, StatusCode::OK, "{reply}");
    assert_eq!(reply["Status"], "Staging");
    assert_eq!(reply["AccessToken"], token);
    assert!(reply["Expires"].is_string() && reply["Name"] == "n");
    assert_eq!(reply["TotalRecordsReceived"], 10);
    assert_eq!(reply["ValidationSuccessful"], 1);
    assert_eq!(reply["ValidationFailed"], 9);
    assert_eq!(reply["Pending"], 1);
    for zero in ["Processed", "Exceptions", "NotHonored"] {
        assert_eq!(reply[zero], 0, "{zero} stays 0 during staging");
    }

    let (code, page) = sb.exceptions(token, "").await;
    assert_eq!(code, StatusCode::OK, "{page}");
    let items = page["UserProfilePreferences"]
        .as_array()
        .expect("collection");
    let seqs: Vec<u64> = items
        .iter()
        .map(|e| e["SequenceNumber"].as_u64().expect("SequenceNumber"))
        .collect();
    assert_eq!(seqs, vec![2, 3, 4, 5, 6, 7, 8, 9, 10]);
    let expected = [
        "AlternateIdTypeMismatch",
        "UnknownAlternateIdType",
        "EmailAddressRequired",
        "EmailAddressTooLong",
        "MultipleDefaultEmails",
        "UnknownEmailAddressType",
        "EmailAddressInvalid",
        "OlderConsentVersion",
        "InvalidRecord",
    ];
    for (item, code) in items.iter().zip(expected) {
        assert!(codes(item).contains(&code.to_owned()), "{code} in {item}");
    }
    // Element-level errors are also carried by the failing email entry.
    assert_eq!(
        items[2]["Emails"][0]["Exceptions"][0]["Code"],
        "EmailAddressRequired"
    );
    assert_eq!(
        items[2]["AlternateIds"][0]["AlternateId"], "C4",
        "the record is returned as sent"
    );

    // A second call adds to the totals and numbers records after the first call's.
    let (_, reply) = sb
        .stage(
            token,
            json!([person("C11", "k@example.org"), {"AlternateIds": []}]),
        )
        .await;
    assert_eq!(
        (
            reply["TotalRecordsReceived"].as_u64(),
            reply["ValidationSuccessful"].as_u64()
        ),
        (Some(12), Some(2))
    );
    let (_, page) = sb.exceptions(token, "?offset=10").await;
    assert_eq!(page["UserProfilePreferences"][0]["SequenceNumber"], 12);
}

#[tokio::test]
async fn lenient_mode_accepts_and_registers_unknown_types() {
    let sb = start().await;
    let token = sb.initiate(match_crm()).await;
    let record = json!({
        "AlternateIds": [{"AlternateIdType": "CRM", "AlternateId": "C1"}, {"AlternateIdType": "LOYALTY", "AlternateId": "L1"}],
        "Emails": [{"EmailAddress": "a@example.org", "EmailAddressType": "Pager"}],
        "Groups": [{"GroupName": "VIP"}], "ProfileTags": [{"TagName": "new"}]
    });
    let (_, reply) = sb.stage(token, json!([record])).await;
    assert_eq!(reply["ValidationSuccessful"], 1, "{reply}");
    let account = sb.account().await;
    assert_eq!(account["alternate_id_types"], json!(["CRM", "LOYALTY"]));
    assert!(
        account["email_types"]
            .as_array()
            .expect("types")
            .contains(&json!("Pager"))
    );
}

#[tokio::test]
async fn permission_and_prior_consent_rules() {
    let sb = start().await;
    sb.seed(json!({
        "consent_types": {"Marketing": ["1", "3"]},
        "users": [{"id": "sandbox", "can_edit_preferences": false, "denied_channels": ["Phone"]}]
    }))
    .await;
    let token = sb
        .initiate(json!({"Name": "n", "AllowPriorConsents": true}))
        .await;
    let records = json!([
        {"Emails": [{"EmailAddress": "a@example.org", "EmailPreferences": [{"PreferenceName": "News"}]}]},
        {"PhoneNumbers": [{"PhoneNumber": "+14045550123"}]},
        {"Emails": [{"EmailAddress": "b@example.org"}]}
    ]);
    let (_, reply) = sb.stage(token, records).await;
    assert_eq!(
        (
            reply["ValidationSuccessful"].as_u64(),
            reply["ValidationFailed"].as_u64()
        ),
        (Some(1), Some(2))
    );
    let (_, page) = sb.exceptions(token, "").await;
    for item in page["UserProfilePreferences"].as_array().expect("items") {
        assert_eq!(codes(item), vec!["PermissionDenied"]);
    }

    // With AllowPriorConsents an older consent version passes staging.
    sb.seed(json!({"users": [{"id": "sandbox"}]})).await;
    let (_, reply) =
        sb.stage(token, json!([{"Consents": [{"ConsentType": "Marketing", "ConsentVersion": "1", "ConsentStatus": "Granted"}]}])).await;
    assert_eq!(reply["ValidationSuccessful"], 2, "{reply}");
}

#[tokio::test]
async fn exceptions_are_paged_with_a_one_based_offset() {
    let sb = start().await;
    let token = sb.initiate(json!({"Name": "n"})).await;
    let bad: Vec<Value> = (0..5)
        .map(|_| json!({"Emails": [{"EmailAddress": ""}]}))
        .collect();
    sb.stage(token, Value::Array(bad)).await;
    let (code, page) = sb.exceptions(token, "?limit=2&offset=1").await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(page["Count"], 2);
    assert_eq!(page["HasMore"], true);
    assert_eq!(page["Limit"], 2);
    assert_eq!(page["Offset"], 1);
    assert_eq!(page["TotalResults"], 2);
    assert_eq!(page["UserProfilePreferences"][0]["SequenceNumber"], 1);
    let (_, page) = sb.exceptions(token, "?limit=2&offset=5").await;
    assert_eq!(
        (page["Count"].as_u64(), page["HasMore"].as_bool()),
        (Some(1), Some(false))
    );
    assert_eq!(page["UserProfilePreferences"][0]["SequenceNumber"], 5);
    let (_, page) = sb.exceptions(token, "").await;
    assert_eq!(
        (
            page["Limit"].as_u64(),
            page["Offset"].as_u64(),
            page["Count"].as_u64()
        ),
        (Some(1000), Some(1), Some(5))
    );
    let (_, page) = sb.exceptions(token, "?offset=9").await;
    assert_eq!(
        (page["Count"].as_u64(), page["HasMore"].as_bool()),
        (Some(0), Some(false))
    );
    for bad in ["?offset=0", "?limit=0", "?limit=abc"] {
        let (code, reply) = sb.exceptions(token, bad).await;
        assert_message(code, &reply, StatusCode::BAD_REQUEST);
    }
}

#[tokio::test]
async fn stage_body_limits_and_shape() {
    let sb = start().await;
    let token = sb.initiate(json!({"Name": "n"})).await;
    // Default limit: 25 MB per request.
    let head = br#"{"UserProfilePreferences": [{"CustomerType": ""#;
    let mut big = head.to_vec();
    big.resize(25 * 1024 * 1024 + 1, b'x');
    big.extend_from_slice(br#""}]}"#);
    let request = sb
        .http
        .post(sb.url(&format!("{INITIATE}/{token}/Stage")))
        .header("Authorization", sb.auth());
    let response = request
        .header("Content-Type", "application/json")
        .body(big)
        .send()
        .await
        .expect("send");
    let (code, reply) = read(response).await;
    assert_message(code, &reply, StatusCode::PAYLOAD_TOO_LARGE);
    for body in [json!({}), json!({"UserProfilePreferences": {}}), json!([1])] {
        let (code, reply) = sb.post(&format!("{INITIATE}/{token}/Stage"), body).await;
        assert_message(code, &reply, StatusCode::BAD_REQUEST);
    }
    let (_, status) = sb.status(token).await;
    assert_eq!(
        (
            status["Status"].as_str(),
            status["TotalRecordsReceived"].as_u64()
        ),
        (Some("Initiated"), Some(0))
    );
}

#[tokio::test]
async fn configured_limits_routes_and_collection_names() {
    let routes = Routes {
        initiate: "/api/{clientId}/imports".into(),
        stage: "/api/{clientId}/imports/{accessToken}/records".into(),
        ..Routes::default()
    };
    let config = MyPrefConfig {
        routes,
        stage_max_bytes: 2048,
        max_records_per_import: 3,
        stage_collection: "Records".into(),
        ..MyPrefConfig::default()
    };
    let sb = start_with(config, false).await;
    let (code, reply) = sb.post("/api/sandbox/imports", json!({"Name": "n"})).await;
    assert_eq!(code, StatusCode::OK, "{reply}");
    let token = reply["AccessToken"].as_u64().expect("token");
    let stage = format!("/api/sandbox/imports/{token}/records");
    let (code, reply) = sb
        .post(
            &stage,
            json!({"Records": [{"CustomerType": "x".repeat(3000)}]}),
        )
        .await;
    assert_message(code, &reply, StatusCode::PAYLOAD_TOO_LARGE);
    let (code, reply) = sb.post(&stage, json!({"Records": [{}, {}]})).await;
    assert_eq!(
        (code, reply["TotalRecordsReceived"].as_u64()),
        (StatusCode::OK, Some(2))
    );
    let (code, reply) = sb.post(&stage, json!({"Records": [{}, {}]})).await;
    assert!(assert_message(code, &reply, StatusCode::BAD_REQUEST).contains("at most 3"));
    // The status route kept its default.
    let (code, _) = sb
        .get(&format!("/Profiles/v4/sandbox/BulkImport/{token}/Status"))
        .await;
    assert_eq!(code, StatusCode::OK);
}

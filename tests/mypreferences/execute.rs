//! Execute and processing: the asynchronous status machine and counters, refusals (409, 400),
//! token expiry, staging retention, injected failure, Delete, matching, uniqueness clashes
//! and records not honoured.

use std::time::Duration;

use bulkspec::sandbox::core::{FaultConfig, SandboxConfig, Shared};
use bulkspec::sandbox::mypreferences::Mypreferences;
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{assert_message, by_crm, person, serve, start};

fn match_crm(extra: Value) -> Value {
    let mut body = json!({"Name": "n", "MatchCriteria": "AlternateIdType", "MatchValue": "CRM"});
    if let (Some(body), Value::Object(extra)) = (body.as_object_mut(), extra) {
        body.extend(extra);
    }
    body
}

#[tokio::test]
async fn execute_runs_queued_processing_completed_with_moving_counters() {
    // Slow enough that polling sees every status even on a loaded machine.
    let shared = Shared::new(SandboxConfig {
        processing_time: Duration::from_millis(400),
        ..SandboxConfig::default()
    });
    let sb = serve(Mypreferences::new(shared.clone()), shared).await;
    let token = sb.initiate(match_crm(json!({}))).await;
    let records: Vec<Value> = (0..9)
        .map(|i| person(&format!("C{i}"), &format!("p{i}@example.org")))
        .collect();
    sb.stage(token, Value::Array(records)).await;
    sb.stage(token, json!([{"AlternateIds": []}])).await;
    let (code, reply) = sb.execute(token).await;
    assert_eq!(code, StatusCode::OK, "{reply}");
    assert_eq!(reply["Status"], "Queued");
    assert_eq!(
        (reply["Pending"].as_u64(), reply["Processed"].as_u64()),
        (Some(9), Some(0))
    );

    let seen = sb.wait(token).await;
    let mut statuses: Vec<&str> = seen.iter().filter_map(|s| s["Status"].as_str()).collect();
    statuses.dedup();
    assert_eq!(statuses, ["Queued", "Processing", "Completed"]);
    let partial = seen.iter().any(|s| {
        s["Status"] == "Processing" && s["Processed"].as_u64().is_some_and(|p| p > 0 && p < 9)
    });
    assert!(partial, "Processed grows during Processing: {seen:?}");
    let last = seen.last().expect("final");
    assert_eq!(last["Status"], "Completed");
    assert_eq!(last["TotalRecordsReceived"], 10);
    assert_eq!(last["ValidationSuccessful"], 9);
    assert_eq!(last["ValidationFailed"], 1);
    assert_eq!(
        (
            last["Processed"].as_u64(),
            last["Pending"].as_u64(),
            last["Exceptions"].as_u64()
        ),
        (Some(9), Some(0), Some(0))
    );
    // Pending only ever decreases while Processed only increases, and they always add up.
    for pair in seen.windows(2) {
        assert!(pair[1]["Pending"].as_u64() <= pair[0]["Pending"].as_u64());
        assert!(pair[1]["Processed"].as_u64() >= pair[0]["Processed"].as_u64());
    }
    for s in &seen {
        let sum = s["Pending"].as_u64().unwrap_or(0) + s["Processed"].as_u64().unwrap_or(0);
        assert_eq!(sum, 9, "{s}");
    }
    let profiles = sb.profiles().await;
    assert_eq!(profiles.len(), 9);
    let dates: std::collections::BTreeSet<&str> = profiles
        .iter()
        .filter_map(|p| p["CreateDate"].as_str())
        .collect();
    assert_eq!(dates.len(), 1, "one create date per import");
    assert!(
        profiles
            .iter()
            .all(|p| p["ProfileId"].as_u64().is_some_and(|id| id > 0))
    );
}

#[tokio::test]
async fn stage_or_execute_after_execute_is_409_and_empty_execute_is_400() {
    let sb = start().await;
    let token = sb.initiate(json!({"Name": "n"})).await;
    let (code, reply) = sb.execute(token).await;
    assert_message(code, &reply, StatusCode::BAD_REQUEST);
    sb.stage(token, json!([{"Emails": [{"EmailAddress": ""}]}]))
        .await;
    let (code, reply) = sb.execute(token).await;
    assert_message(code, &reply, StatusCode::BAD_REQUEST);
    sb.stage(
        token,
        json!([{"Emails": [{"EmailAddress": "a@example.org"}]}]),
    )
    .await;
    let (code, _) = sb.execute(token).await;
    assert_eq!(code, StatusCode::OK);
    let (code, reply) = sb.execute(token).await;
    assert_message(code, &reply, StatusCode::CONFLICT);
    let (code, reply) = sb.stage(token, json!([{}])).await;
    assert_message(code, &reply, StatusCode::CONFLICT);
    sb.wait(token).await;
    let (code, reply) = sb.execute(token).await;
    assert_message(code, &reply, StatusCode::CONFLICT);
    let (code, reply) = sb.stage(token, json!([{}])).await;
    assert_message(code, &reply, StatusCode::CONFLICT);
}

#[tokio::test]
async fn expired_access_token_is_401_everywhere() {
    let sb = start().await;
    let token = sb.initiate(json!({"Name": "n"})).await;
    sb.stage(token, json!([{"Emails": [{"EmailAddress": ""}]}]))
        .await;
    sb.advance(6 * 3600 - 30).await;
    let (code, _) = sb.status(token).await;
    assert_eq!(code, StatusCode::OK, "still valid just before six hours");
    sb.advance(30).await;
    let (code, reply) = sb.status(token).await;
    assert_message(code, &reply, StatusCode::UNAUTHORIZED);
    let (code, reply) = sb.stage(token, json!([{}])).await;
    assert_message(code, &reply, StatusCode::UNAUTHORIZED);
    let (code, reply) = sb.execute(token).await;
    assert_message(code, &reply, StatusCode::UNAUTHORIZED);
    let (code, reply) = sb.exceptions(token, "").await;
    assert_message(code, &reply, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn staged_data_is_purged_after_data_stage_duration_days() {
    let sb = start().await;
    sb.shared.set_faults(FaultConfig {
        token_lifetime_secs: Some(11 * 86_400),
        ..FaultConfig::default()
    });
    let one_day = sb
        .initiate(json!({"Name": "n", "DataStageDuration": 1}))
        .await;
    let zero = sb
        .initiate(json!({"Name": "n", "DataStageDuration": 0}))
        .await;
    for token in [one_day, zero] {
        sb.stage(
            token,
            json!([{"Emails": [{"EmailAddress": "a@example.org"}]}]),
        )
        .await;
    }
    sb.advance(86_400).await;
    let (_, reply) = sb.status(one_day).await;
    assert_eq!(reply["Status"], "Failed");
    let (code, reply) = sb.stage(one_day, json!([{}])).await;
    assert_message(code, &reply, StatusCode::CONFLICT);
    let (code, reply) = sb.execute(one_day).await;
    assert_message(code, &reply, StatusCode::CONFLICT);
    // DataStageDuration 0 keeps the data until the token expires.
    sb.advance(9 * 86_400).await;
    let (_, reply) = sb.status(zero).await;
    assert_eq!(reply["Status"], "Staging");
    sb.execute(zero).await;
    assert_eq!(
        sb.wait(zero).await.pop().expect("final")["Status"],
        "Completed"
    );
}

#[tokio::test]
async fn failed_execution_applies_nothing() {
    let sb = start().await;
    let url = format!("{}/_sandbox/mypreferences/faults", sb.base);
    sb.http
        .post(url)
        .json(&json!({"fail_executions": 1}))
        .send()
        .await
        .expect("faults");
    let last = sb
        .run(
            match_crm(json!({})),
            json!([person("C1", "a@example.org"), person("C2", "b@example.org")]),
        )
        .await;
    assert_eq!(last["Status"], "Failed");
    assert_eq!(last["Processed"], 0);
    assert!(sb.profiles().await.is_empty());
    // The fault was for one execution only.
    let last = sb
        .run(match_crm(json!({})), json!([person("C1", "a@example.org")]))
        .await;
    assert_eq!(last["Status"], "Completed");
    assert_eq!(sb.profiles().await.len(), 1);
}

#[tokio::test]
async fn add_matches_by_alternate_id_case_insensitively_or_by_profile_id() {
    let sb = start().await;
    sb.seed(json!({"alternate_id_types": ["CRM"], "profiles": [
        {"ProfileId": 7, "AlternateIds": [{"AlternateIdType": "CRM", "AlternateId": "C-1"}], "CustomerType": "Retail"}
    ]}))
    .await;
    let last = sb.run(match_crm(json!({})), json!([{"AlternateIds": [{"AlternateIdType": "crm", "AlternateId": "c-1"}], "CustomerType": "Commercial"}])).await;
    assert_eq!(last["Processed"], 1);
    let profiles = sb.profiles().await;
    assert_eq!(profiles.len(), 1, "matched, not created");
    assert_eq!(
        (
            profiles[0]["ProfileId"].as_u64(),
            profiles[0]["CustomerType"].as_str()
        ),
        (Some(7), Some("Commercial"))
    );

    // Without MatchCriteria: ProfileId matches; an unknown ProfileId creates a new profile.
    sb.run(json!({"Name": "n"}), json!([{"ProfileId": 7, "DefaultLocale": "fr-fr"}, {"ProfileId": 999, "CustomerType": "New"}])).await;
    let profiles = sb.profiles().await;
    assert_eq!(profiles.len(), 2);
    assert_eq!(profiles[0]["DefaultLocale"], "fr-fr");
    assert_ne!(
        profiles[1]["ProfileId"], 999,
        "ProfileId is system-generated"
    );
}

#[tokio::test]
async fn alternate_id_clash_is_an_execution_exception_and_prior_consent_not_honored() {
    let sb = start().await;
    sb.seed(json!({"alternate_id_types": ["CRM", "ERP"], "profiles": [
        {"ProfileId": 1, "AlternateIds": [{"AlternateIdType": "CRM", "AlternateId": "C1"}, {"AlternateIdType": "ERP", "AlternateId": "E1"}],
         "Consents": [{"ConsentType": "Marketing", "ConsentVersion": "3"}]}
    ]}))
    .await;
    let records = json!([
        {"AlternateIds": [{"AlternateIdType": "CRM", "AlternateId": "C2"}, {"AlternateIdType": "ERP", "AlternateId": "e1"}]},
        {"AlternateIds": [{"AlternateIdType": "CRM", "AlternateId": "C1"}], "Consents": [{"ConsentType": "Marketing", "ConsentVersion": "2"}]},
        {"AlternateIds": [{"AlternateIdType": "CRM", "AlternateId": "C3"}]}
    ]);
    let token = sb
        .initiate(match_crm(json!({"AllowPriorConsents": true})))
        .await;
    sb.stage(token, records).await;
    sb.execute(token).await;
    let last = sb.wait(token).await.pop().expect("final");
    assert_eq!(
        (
            last["Processed"].as_u64(),
            last["Exceptions"].as_u64(),
            last["NotHonored"].as_u64()
        ),
        (Some(1), Some(1), Some(1))
    );
    let (_, page) = sb.exceptions(token, "").await;
    let item = &page["UserProfilePreferences"][0];
    assert_eq!(
        (
            item["SequenceNumber"].as_u64(),
            item["Exceptions"][0]["Code"].as_str()
        ),
        (Some(1), Some("AlternateIdNotUnique"))
    );
    let profiles = sb.profiles().await;
    assert_eq!(
        by_crm(&profiles, "C1")["Consents"][0]["ConsentVersion"],
        "3",
        "newer consent kept"
    );
    assert_eq!(profiles.len(), 2);
}

#[tokio::test]
async fn delete_removes_matched_profiles_and_reports_unmatched_ones() {
    let sb = start().await;
    sb.seed(json!({"alternate_id_types": ["CRM"], "profiles": [
        {"ProfileId": 1, "AlternateIds": [{"AlternateIdType": "CRM", "AlternateId": "C1"}]},
        {"ProfileId": 2, "AlternateIds": [{"AlternateIdType": "CRM", "AlternateId": "C2"}]},
        {"ProfileId": 3, "AlternateIds": [{"AlternateIdType": "CRM", "AlternateId": "C3"}]}
    ]}))
    .await;
    let delete = match_crm(json!({"ImportAction": "Delete", "ReasonCode": "erasure request"}));
    let records = json!([
        {"AlternateIds": [{"AlternateIdType": "CRM", "AlternateId": "c1"}]},
        {"AlternateIds": [{"AlternateIdType": "CRM", "AlternateId": "C9"}]}
    ]);
    let last = sb.run(delete, records).await;
    assert_eq!(
        (last["Processed"].as_u64(), last["Exceptions"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(last["ImportAction"], "Delete");
    let ids: Vec<u64> = sb
        .profiles()
        .await
        .iter()
        .filter_map(|p| p["ProfileId"].as_u64())
        .collect();
    assert_eq!(ids, vec![2, 3]);

    // By ProfileId; a Delete record without any identifier fails validation.
    let last = sb
        .run(
            json!({"Name": "n", "ImportAction": "Delete"}),
            json!([{"ProfileId": 2}, {}]),
        )
        .await;
    assert_eq!(
        (
            last["Processed"].as_u64(),
            last["ValidationFailed"].as_u64()
        ),
        (Some(1), Some(1))
    );
    let ids: Vec<u64> = sb
        .profiles()
        .await
        .iter()
        .filter_map(|p| p["ProfileId"].as_u64())
        .collect();
    assert_eq!(ids, vec![3]);
}

#[tokio::test]
async fn alternate_id_staging_waits_for_a_running_execution_of_the_account() {
    let shared = Shared::new(SandboxConfig {
        processing_time: Duration::from_millis(400),
        ..SandboxConfig::default()
    });
    let sb = serve(Mypreferences::new(shared.clone()), shared).await;
    let first = sb.initiate(match_crm(json!({}))).await;
    sb.stage(first, json!([person("C1", "a@example.org")]))
        .await;
    let second = sb.initiate(match_crm(json!({}))).await;
    let by_profile_id = sb.initiate(json!({"Name": "n"})).await;
    sb.execute(first).await;
    let (code, reply) = sb
        .stage(second, json!([person("C2", "b@example.org")]))
        .await;
    assert_message(code, &reply, StatusCode::CONFLICT);
    let (code, _) = sb
        .stage(
            by_profile_id,
            json!([{"Emails": [{"EmailAddress": "c@example.org"}]}]),
        )
        .await;
    assert_eq!(
        code,
        StatusCode::OK,
        "matching by ProfileId is not held back"
    );
    sb.wait(first).await;
    let (code, reply) = sb
        .stage(second, json!([person("C2", "b@example.org")]))
        .await;
    assert_eq!(code, StatusCode::OK, "{reply}");
}

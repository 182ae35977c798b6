//! The whole flow through the `Provider` trait: Add and Delete imports, what reaches Initiate,
//! rejects mapped to their records, paging, imports with nothing valid, failed executions.

use std::time::{Duration, SystemTime};

use bulkspec::providers::mypreferences::Settings;
use bulkspec::providers::{BatchKind, Batching, PollStatus, Provider, RejectAt};
use serde_json::json;

use super::*;

#[tokio::test]
async fn add_import_holds_exactly_the_records_and_maps_rejects() {
    let sb = sandbox(100).await;
    let p = provider(&sb, &spec(json!({})));
    assert_eq!(p.batching(), Batching::Single);
    let batch = p.open_batch(BatchKind::Upsert).await.unwrap();
    assert!(
        batch.id.parse::<u64>().is_ok(),
        "integer AccessToken: {}",
        batch.id
    );
    let expires = batch.expires_at.unwrap();
    assert!(
        expires > SystemTime::now() + Duration::from_secs(5 * 3600),
        "Expires read as about 6 h ahead"
    );

    let mut second = records(&["C-4", "C-5"]);
    second[0] = record("C-4", "not-an-email");
    upload_all(&p, &batch, &[records(&["C-1", "C-2", "C-3"]), second]).await;
    let id = p.start(&batch).await.unwrap();
    assert_eq!(id, batch.id);
    assert_eq!(until_finished(&p, &batch, &id).await, PollStatus::Done);
    let rejects = p.rejects(&batch, &id).await.unwrap();
    assert_eq!(rejects.len(), 1, "{rejects:?}");
    assert_eq!(
        rejects[0].at,
        RejectAt::Index(3),
        "4th record over both uploads"
    );
    assert_eq!(rejects[0].code, "EmailAddressInvalid");
    assert!(
        rejects[0].reason.contains("not-an-email"),
        "{}",
        rejects[0].reason
    );
    p.close_batch(&batch).await.unwrap();

    assert_eq!(crm_ids(&sb).await, ["C-1", "C-2", "C-3", "C-5"]);
    let sent = import_status(&sb, &batch.id).await;
    assert_eq!(sent["Name"], "crm-profiles");
    assert_eq!(sent["ImportAction"], "Add");
    assert_eq!(sent["MatchCriteria"], "AlternateIdType");
    assert_eq!(sent["MatchValue"], "CRM");
    assert_eq!(sent["TotalRecordsReceived"], 5);
    assert_eq!(sent["Processed"], 4);
}

#[tokio::test]
async fn delete_import_removes_matched_profiles_and_rejects_unknown_keys() {
    let sb = sandbox(40).await;
    let p = provider(&sb, &spec(json!({"refresh": {"tags": true}})));
    assert!(
        import(&p, BatchKind::Upsert, &[records(&["C-1", "C-2", "C-3"])])
            .await
            .is_empty()
    );

    let removals: Vec<_> = ["C-2", "C-9"]
        .iter()
        .map(|key| {
            let mut r = record(key, "");
            r.record = p.removal_record(key).unwrap().into();
            r
        })
        .collect();
    assert_eq!(
        removals[0].record.to_value().unwrap(),
        json!({"AlternateIds": [{"AlternateIdType": "CRM", "AlternateId": "C-2"}]})
    );
    let rejects = import(&p, BatchKind::Delete, &[removals]).await;
    assert_eq!(rejects.len(), 1, "{rejects:?}");
    assert_eq!(
        (rejects[0].at.clone(), rejects[0].code.as_str()),
        (RejectAt::Index(1), "ProfileNotFound")
    );
    assert_eq!(crm_ids(&sb).await, ["C-1", "C-3"]);

    let imports = get(&sb, "/_sandbox/mypreferences/imports").await;
    let delete = imports
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["Import"]["ImportAction"] == "Delete")
        .unwrap();
    assert_eq!(
        delete["Import"]["RefreshTags"], false,
        "refresh flags go with Add imports only"
    );
    let add = imports
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["Import"]["ImportAction"] == "Add")
        .unwrap();
    assert_eq!(add["Import"]["RefreshTags"], true);
}

#[tokio::test]
async fn profile_id_matching_and_target_settings() {
    let sb = sandbox(40).await;
    let target = json!({"object": "profiles", "provider": "mypreferences", "connection": "sandbox",
        "name": "nightly sync", "data_stage_duration": 2, "allow_prior_consents": true,
        "preserve_preferences": false, "reason_code": "gdpr-erasure"});
    let by_id = spec(json!({"match": null, "target": target}));
    let p = provider(&sb, &by_id);
    assert_eq!(p.removal_record("1001"), Some(json!({"ProfileId": 1001})));
    assert_eq!(p.removal_record("C-1"), None, "a ProfileId is an integer");
    assert_eq!(p.stage_framing_bytes(), 29);

    let batch = p.open_batch(BatchKind::Upsert).await.unwrap();
    let sent = import_status(&sb, &batch.id).await;
    assert_eq!(sent["Name"], "nightly sync");
    assert_eq!(sent["DataStageDuration"], 2);
    assert_eq!(sent["AllowPriorConsents"], true);
    assert_eq!(sent["PreservePreferences"], false);
    assert_eq!(sent["ReasonCode"], "gdpr-erasure");
    assert_eq!(sent["MatchCriteria"], serde_json::Value::Null);
}

#[tokio::test]
async fn nothing_valid_still_finishes_and_rejects_are_paged() {
    let sb = sandbox(40).await;
    let settings = Settings {
        exceptions_page_size: 2,
        ..Settings::default()
    };
    let p = provider_with(&sb, &spec(json!({})), settings, Duration::from_secs(10));
    let bad: Vec<_> = (1..=5)
        .map(|i| record(&format!("B-{i}"), "broken"))
        .collect();
    let batch = p.open_batch(BatchKind::Upsert).await.unwrap();
    upload_all(&p, &batch, &[bad[..3].to_vec(), bad[3..].to_vec()]).await;
    // Execute answers 400 (nothing passed validation): the batch is still finished.
    let id = p.start(&batch).await.unwrap();
    assert_eq!(until_finished(&p, &batch, &id).await, PollStatus::Done);
    let rejects = p.rejects(&batch, &id).await.unwrap();
    let at: Vec<_> = rejects.iter().map(|r| r.at.clone()).collect();
    assert_eq!(at, (0..5).map(RejectAt::Index).collect::<Vec<_>>());
    assert!(rejects.iter().all(|r| r.code == "EmailAddressInvalid"));
    assert_eq!(
        requests_to(&sb, "Exceptions").await,
        3,
        "pages of 2, 2 and 1"
    );
    assert!(crm_ids(&sb).await.is_empty());
}

#[tokio::test]
async fn a_failed_execution_is_reported_failed() {
    let sb = sandbox(40).await;
    control(
        &sb,
        "/_sandbox/mypreferences/faults",
        json!({"fail_executions": 1}),
    )
    .await;
    let p = provider(&sb, &spec(json!({})));
    let batch = p.open_batch(BatchKind::Upsert).await.unwrap();
    upload_all(&p, &batch, &[records(&["C-1"])]).await;
    let id = p.start(&batch).await.unwrap();
    match until_finished(&p, &batch, &id).await {
        PollStatus::Failed(why) => assert!(why.contains("none of its 1 valid records"), "{why}"),
        other => panic!("expected Failed, got {other:?}"),
    }
    assert!(crm_ids(&sb).await.is_empty());
}

//! The batch flow through the `Provider` trait: open (definition), uploads, start (sync), poll,
//! rejects, close; then what the sandbox holds.

use std::collections::BTreeSet;

use bulkspec::providers::{BatchKind, Batching, PollStatus, Provider, RejectAt, RemoteReject};
use serde_json::json;

use crate::harness::{contacts_spec, finish, linkage_spec, links, record, sandbox};

#[tokio::test]
async fn linkage_batch_links_exactly_the_uploaded_records() {
    let env = sandbox(60).await;
    env.post(
        "/_sandbox/seed",
        json!({"eloqua": {"opportunities": [{"id": "OPP-1", "name": "Renewal"}]}}),
    )
    .await;
    let p = env.provider(&linkage_spec());
    assert_eq!(p.batching(), Batching::Single);

    let batch = p.open_batch(BatchKind::Upsert).await.unwrap();
    assert!(
        batch.id.starts_with("/opportunities/contacts/imports/"),
        "{}",
        batch.id
    );
    let defs = env.get("/_sandbox/eloqua/definitions").await;
    let def = &defs[0]["definition"];
    assert_eq!(def["uri"], json!(batch.id));
    assert_eq!(def["name"], json!("opp-links"));
    assert_eq!(def["isSyncTriggeredOnImport"], json!(false));
    assert_eq!(def["autoDeleteDuration"], json!("P1D"));
    assert_eq!(def["linkOpportunitiesEntityType"], json!("Contact"));

    let chunks = [
        links("OPP-1", &["a@example.com", "b@example.com"]),
        links("OPP-1", &["c@example.com"]),
    ];
    for (i, chunk) in chunks.iter().enumerate() {
        let body = p.encode(BatchKind::Upsert, chunk).unwrap();
        assert_eq!(p.upload(&batch, i, body).await.unwrap(), None);
    }
    let sync = p.start(&batch).await.unwrap();
    assert!(sync.starts_with("/syncs/"), "{sync}");
    assert_eq!(finish(&p, &batch, &sync).await, PollStatus::Done);
    assert_eq!(p.rejects(&batch, &sync).await.unwrap(), vec![]);
    p.close_batch(&batch).await.unwrap();

    assert_eq!(
        env.linked("OPP-1").await,
        ["a@example.com", "b@example.com", "c@example.com"]
    );
    assert_eq!(
        env.get("/_sandbox/eloqua/definitions").await,
        json!([]),
        "close_batch deletes the definition"
    );
    // Closing twice is harmless: the definition is already gone.
    p.close_batch(&batch).await.unwrap();
}

#[tokio::test]
async fn rejects_point_at_the_rejected_records_across_uploads() {
    let env = sandbox(30).await;
    let seed = json!({"strict": true, "eloqua": {
        "contacts": ["a@example.com", "c@example.com"],
        "opportunities": [{"id": "OPP-1", "name": "Renewal"}]}});
    env.post("/_sandbox/seed", seed).await;
    let p = env.provider(&linkage_spec());
    let batch = p.open_batch(BatchKind::Upsert).await.unwrap();
    let first = links("OPP-1", &["a@example.com", "ghost@example.com"]);
    let second = links("OPP-1", &["c@example.com", "not-an-email"]);
    let mut second_plus = second.clone();
    second_plus.push(record(
        9,
        json!({"OpportunityID": "OPP-404", "EmailAddress": "a@example.com"}),
    ));
    p.upload(&batch, 0, p.encode(BatchKind::Upsert, &first).unwrap())
        .await
        .unwrap();
    p.upload(
        &batch,
        1,
        p.encode(BatchKind::Upsert, &second_plus).unwrap(),
    )
    .await
    .unwrap();
    let sync = p.start(&batch).await.unwrap();
    assert_eq!(
        finish(&p, &batch, &sync).await,
        PollStatus::Done,
        "some rows applied: warning is Done"
    );

    let rejects = p.rejects(&batch, &sync).await.unwrap();
    let got: BTreeSet<(u64, &str)> = rejects
        .iter()
        .map(|r: &RemoteReject| (index(&r.at), r.code.as_str()))
        .collect();
    let want: BTreeSet<(u64, &str)> = [(1, "ELQ-00085"), (3, "ELQ-00002"), (4, "ELQ-00084")].into();
    assert_eq!(got, want, "{rejects:?}");
    assert!(rejects.iter().all(|r| !r.reason.is_empty()));
    assert_eq!(
        env.linked("OPP-1").await,
        ["a@example.com", "c@example.com"]
    );
    p.close_batch(&batch).await.unwrap();
}

fn index(at: &RejectAt) -> u64 {
    match at {
        RejectAt::Index(i) => *i,
        RejectAt::Key(k) => panic!("expected an index, got key {k}"),
    }
}

#[tokio::test]
async fn rejects_are_read_page_by_page() {
    let env = sandbox(30).await;
    env.post(
        "/_sandbox/seed",
        json!({"eloqua": {"opportunities": [{"id": "OPP-1", "name": "Renewal"}]}}),
    )
    .await;
    let p = env.provider(&linkage_spec());
    let batch = p.open_batch(BatchKind::Upsert).await.unwrap();
    // 1 valid row, then 1500 invalid emails: two pages of rejects (1000 + 500).
    let mut emails = vec!["ok@example.com".to_string()];
    emails.extend((0..1500).map(|i| format!("bad-{i}")));
    let refs: Vec<&str> = emails.iter().map(String::as_str).collect();
    p.upload(
        &batch,
        0,
        p.encode(BatchKind::Upsert, &links("OPP-1", &refs)).unwrap(),
    )
    .await
    .unwrap();
    let sync = p.start(&batch).await.unwrap();
    assert_eq!(finish(&p, &batch, &sync).await, PollStatus::Done);
    let rejects = p.rejects(&batch, &sync).await.unwrap();
    let indexes: Vec<RejectAt> = rejects.iter().map(|r| r.at.clone()).collect();
    let want: Vec<RejectAt> = (1..=1500).map(RejectAt::Index).collect();
    assert_eq!(indexes, want);
}

#[tokio::test]
async fn contact_batch_upserts_by_the_match_field() {
    let env = sandbox(30).await;
    env.post(
        "/_sandbox/seed",
        json!({"eloqua": {"contacts": [{"emailAddress": "ann@example.com", "firstName": "Old"}]}}),
    )
    .await;
    let p = env.provider(&contacts_spec("Email"));
    let batch = p.open_batch(BatchKind::Upsert).await.unwrap();
    assert!(batch.id.starts_with("/contacts/imports/"), "{}", batch.id);
    let defs = env.get("/_sandbox/eloqua/definitions").await;
    assert_eq!(defs[0]["definition"]["identifierFieldName"], json!("Email"));
    let records = [
        record(1, json!({"Email": "ann@example.com", "First": "Ann"})),
        record(2, json!({"Email": "bob@example.com", "First": "Bob"})),
    ];
    p.upload(&batch, 0, p.encode(BatchKind::Upsert, &records).unwrap())
        .await
        .unwrap();
    let sync = p.start(&batch).await.unwrap();
    assert_eq!(finish(&p, &batch, &sync).await, PollStatus::Done);
    assert_eq!(p.rejects(&batch, &sync).await.unwrap(), vec![]);
    p.close_batch(&batch).await.unwrap();

    let contacts = env.get("/_sandbox/eloqua/contacts").await;
    let mut got: Vec<(String, String)> = contacts
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["emailAddress"].as_str().unwrap().to_string(),
                c["fields"]["C_FirstName"]
                    .as_str()
                    .unwrap_or("")
                    .to_string(),
            )
        })
        .collect();
    got.sort();
    let want = [("ann@example.com", "Ann"), ("bob@example.com", "Bob")]
        .map(|(e, f)| (e.to_string(), f.to_string()));
    assert_eq!(got, want);
}

#[tokio::test]
async fn a_failed_sync_is_failed() {
    let env = sandbox(30).await;
    env.settings(json!({"fail_next_syncs": 1})).await;
    let p = env.provider(&linkage_spec());
    let batch = p.open_batch(BatchKind::Upsert).await.unwrap();
    p.upload(
        &batch,
        0,
        p.encode(BatchKind::Upsert, &links("OPP-1", &["a@example.com"]))
            .unwrap(),
    )
    .await
    .unwrap();
    let sync = p.start(&batch).await.unwrap();
    match finish(&p, &batch, &sync).await {
        PollStatus::Failed(why) => {
            assert!(why.contains(&sync) && why.contains("ELQ-00101"), "{why}")
        }
        other => panic!("expected Failed, got {other:?}"),
    }
}

#[tokio::test]
async fn a_sync_with_every_row_rejected_is_done_and_rejects_them_all() {
    let env = sandbox(30).await;
    let seed =
        json!({"strict": true, "eloqua": {"opportunities": [{"id": "OPP-1", "name": "Renewal"}]}});
    env.post("/_sandbox/seed", seed).await;
    let p = env.provider(&linkage_spec());
    let batch = p.open_batch(BatchKind::Upsert).await.unwrap();
    let records = links("OPP-1", &["ghost1@example.com", "ghost2@example.com"]);
    p.upload(&batch, 0, p.encode(BatchKind::Upsert, &records).unwrap())
        .await
        .unwrap();
    let sync = p.start(&batch).await.unwrap();
    // The sandbox ends such a sync in `error`; its logs show every row rejected.
    assert_eq!(finish(&p, &batch, &sync).await, PollStatus::Done);
    let rejects = p.rejects(&batch, &sync).await.unwrap();
    let got: Vec<(u64, &str)> = rejects
        .iter()
        .map(|r| (index(&r.at), r.code.as_str()))
        .collect();
    assert_eq!(got, [(0, "ELQ-00085"), (1, "ELQ-00085")]);
}

#[tokio::test]
async fn base_url_is_discovered_once_per_client() {
    let env = sandbox(30).await;
    let p = env.provider(&linkage_spec());
    for _ in 0..3 {
        let batch = p.open_batch(BatchKind::Upsert).await.unwrap();
        p.close_batch(&batch).await.unwrap();
    }
    let stats = env.get("/_sandbox/stats").await;
    let endpoints = stats["providers"]["eloqua"]["endpoints"]
        .as_object()
        .unwrap();
    let id_calls: u64 = endpoints
        .iter()
        .filter(|(k, _)| k.ends_with("/id"))
        .map(|(_, v)| v["requests"].as_u64().unwrap())
        .sum();
    assert_eq!(id_calls, 1, "{endpoints:?}");
}

//! The whole flow through the `Provider` trait, and what the sandbox holds afterwards.

use bulkspec::providers::{BatchKind, Batching, PollStatus, Provider, ProviderError, RejectAt};
use serde_json::json;

use crate::support::{
    control, get, leads_spec, members_spec, poll_until_finished, provider, records, run_batch,
    sandbox,
};

#[tokio::test]
async fn program_members_flow_leaves_exactly_the_records() {
    let sb = sandbox().await;
    let seed =
        json!({"marketo": {"programs": [{"id": 1040, "statuses": ["On List", "Registered"]}]}});
    control(&sb, "/_sandbox/seed", seed).await;
    let spec = members_spec(
        1040,
        "Registered",
        json!({"email": "{{ row.email }}", "firstName": "{{ row.first }}", "company": "{{ row.company }}"}),
    );
    let p = provider(&sb, &spec);
    assert_eq!(p.batching(), Batching::PerChunk);
    let recs = records(&[
        json!({"email": "ann@example.org", "firstName": "Ann", "company": "Acme, Inc."}),
        json!({"email": "bo@example.org", "firstName": "Bo \"B\"", "company": " Globex"}),
        json!({"email": "cy@example.org", "firstName": "Cy", "company": "Initech"}),
    ]);
    let (id, rejects) = run_batch(&p, &recs).await;
    assert!(id.parse::<u64>().is_ok(), "{id}");
    assert_eq!(rejects, vec![]);

    let members = get(&sb, "/_sandbox/marketo/programs/1040/members").await;
    let mut got: Vec<(String, String, String, String)> = members
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            let f = &m["fields"];
            (
                m["email"].as_str().unwrap().to_owned(),
                m["status"].as_str().unwrap().to_owned(),
                f["firstName"].as_str().unwrap().to_owned(),
                f["company"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    got.sort();
    let row = |e: &str, f: &str, c: &str| (e.into(), "Registered".into(), f.into(), c.into());
    assert_eq!(
        got,
        vec![
            row("ann@example.org", "Ann", "Acme, Inc."),
            row("bo@example.org", "Bo \"B\"", " Globex"),
            row("cy@example.org", "Cy", "Initech"),
        ]
    );
}

#[tokio::test]
async fn rejects_name_the_failed_rows_and_warnings_count_as_applied() {
    let sb = sandbox().await;
    let spec = members_spec(
        7,
        "On List",
        json!({"email": "{{ row.email }}", "leadScore": "{{ row.score }}"}),
    );
    let p = provider(&sb, &spec);
    let recs = records(&[
        json!({"email": "ok@example.org", "leadScore": "10"}),
        json!({"email": "bad@example.org", "leadScore": "not-a-number"}),
        json!({"email": "warn@example", "leadScore": "3"}),
        json!({"email": "also-bad@example.org", "leadScore": "1.5x"}),
    ]);
    let (id, rejects) = run_batch(&p, &recs).await;
    let keys: Vec<&RejectAt> = rejects.iter().map(|r| &r.at).collect();
    assert_eq!(
        keys,
        vec![
            &RejectAt::Key("bad@example.org".into()),
            &RejectAt::Key("also-bad@example.org".into())
        ]
    );
    assert!(
        rejects
            .iter()
            .all(|r| r.reason == "Invalid data type in field Lead Score"),
        "{rejects:?}"
    );

    // A provider that never polled this batch (an apply that resumed) reads the same rejects.
    let resumed = provider(&sb, &spec);
    let batch = resumed.open_batch(BatchKind::Upsert).await.unwrap();
    assert_eq!(resumed.rejects(&batch, &id).await.unwrap(), rejects);

    let members = get(&sb, "/_sandbox/marketo/programs/7/members").await;
    let mut emails: Vec<&str> = members
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["email"].as_str().unwrap())
        .collect();
    emails.sort();
    assert_eq!(emails, vec!["ok@example.org", "warn@example"]);
}

#[tokio::test]
async fn leads_match_on_the_lookup_field_and_join_the_list() {
    let sb = sandbox().await;
    let spec = leads_spec(
        "sfdcLeadId",
        55,
        json!({"sfdcLeadId": "{{ row.sfdc }}", "email": "{{ row.email }}", "leadScore": "{{ row.score }}"}),
    );
    let p = provider(&sb, &spec);
    let first = records(&[
        json!({"sfdcLeadId": "00Q1", "email": "a@example.org", "leadScore": "1"}),
        json!({"sfdcLeadId": "00Q2", "email": "b@example.org", "leadScore": "x"}),
    ]);
    let (_, rejects) = run_batch(&p, &first).await;
    assert_eq!(rejects.len(), 1);
    assert_eq!(rejects[0].at, RejectAt::Key("00Q2".into()));
    assert!(
        rejects[0].reason.contains("Lead Score"),
        "{}",
        rejects[0].reason
    );

    // The same sfdcLeadId with a new email updates the lead instead of creating another.
    let second =
        records(&[json!({"sfdcLeadId": "00Q1", "email": "a2@example.org", "leadScore": "2"})]);
    let (_, rejects) = run_batch(&p, &second).await;
    assert!(rejects.is_empty(), "{rejects:?}");

    let leads = get(&sb, "/_sandbox/marketo/leads").await;
    let leads = leads.as_array().unwrap();
    assert_eq!(leads.len(), 1, "{leads:?}");
    assert_eq!(leads[0]["fields"]["email"], "a2@example.org");
    assert_eq!(leads[0]["fields"]["leadScore"], "2");
    let list = get(&sb, "/_sandbox/marketo/lists/55/leads").await;
    assert_eq!(list, json!([leads[0]["id"]]));
}

#[tokio::test]
async fn a_batch_that_fails_as_a_whole_polls_failed() {
    let sb = sandbox().await;
    control(
        &sb,
        "/_sandbox/seed",
        json!({"marketo": {"settings": {"fail_batches": 1}}}),
    )
    .await;
    let spec = members_spec(9, "On List", json!({"email": "{{ row.email }}"}));
    let p = provider(&sb, &spec);
    let batch = p.open_batch(BatchKind::Upsert).await.unwrap();
    let body = p
        .encode(
            BatchKind::Upsert,
            &records(&[json!({"email": "a@example.org"})]),
        )
        .unwrap();
    let id = p.upload(&batch, 0, body).await.unwrap().unwrap();
    match poll_until_finished(&p, &batch, &id).await {
        PollStatus::Failed(message) => assert!(message.contains("Import failed"), "{message}"),
        other => panic!("expected Failed, got {other:?}"),
    }
}

#[tokio::test]
async fn deletes_and_start_are_refused_without_a_call() {
    let sb = sandbox().await;
    let spec = members_spec(9, "On List", json!({"email": "{{ row.email }}"}));
    let p = provider(&sb, &spec);
    assert!(matches!(
        p.encode(BatchKind::Delete, &[]),
        Err(ProviderError::Permanent { .. })
    ));
    assert!(matches!(
        p.open_batch(BatchKind::Delete).await,
        Err(ProviderError::Permanent { .. })
    ));
    let batch = p.open_batch(BatchKind::Upsert).await.unwrap();
    assert!(batch.id.is_empty());
    assert!(matches!(
        p.start(&batch).await,
        Err(ProviderError::Permanent { .. })
    ));
    let stats = get(&sb, "/_sandbox/stats").await;
    assert_eq!(stats["requests"], 0, "{stats}");
}

#[tokio::test]
async fn poll_reports_queued_and_importing_as_running() {
    let sb = sandbox().await;
    control(
        &sb,
        "/_sandbox/seed",
        json!({"marketo": {"settings": {"advance_on_polls": 2}}}),
    )
    .await;
    let spec = members_spec(9, "On List", json!({"email": "{{ row.email }}"}));
    let p = provider(&sb, &spec);
    let batch = p.open_batch(BatchKind::Upsert).await.unwrap();
    let body = p
        .encode(
            BatchKind::Upsert,
            &records(&[json!({"email": "a@example.org"})]),
        )
        .unwrap();
    let id = p.upload(&batch, 0, body).await.unwrap().unwrap();
    let mut seen = Vec::new();
    for _ in 0..4 {
        seen.push(p.poll(&batch, &id).await.unwrap());
    }
    let running = |s: &str| PollStatus::Running(s.into());
    assert_eq!(
        seen,
        vec![
            running("Queued"),
            running("Importing"),
            running("Importing"),
            PollStatus::Done
        ]
    );
}

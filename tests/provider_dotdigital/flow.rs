//! The whole flow through the `Provider` trait, and rejects mapped back to their records.

use std::num::NonZeroU32;
use std::time::{Duration, Instant};

use bulkspec::providers::dotdigital::{DotdigitalProvider, sandbox_endpoint};
use bulkspec::providers::{
    BatchKind, Batching, PollStatus, Provider, ProviderError, RejectAt, RemoteReject,
};
use governor::Quota;
use serde_json::json;

use super::*;

#[tokio::test]
async fn whole_flow_stores_exactly_the_records() {
    let sb = common::start_sandbox(50).await;
    let p = provider(&sb, "orders", "contact");
    assert_eq!(p.batching(), Batching::PerChunk);
    let records = [
        record(
            "ORD-1",
            "ann@example.org",
            json!({"orderTotal": 42.5, "currency": "EUR", "lines": [{"sku": "A-1", "qty": 2}]}),
        ),
        record(
            "ORD-2",
            "ben@example.org",
            json!({"orderTotal": 9.99, "currency": "EUR"}),
        ),
        record(
            "ORD-3",
            "ann@example.org",
            json!({"orderTotal": 1, "currency": "GBP"}),
        ),
    ];
    assert_eq!(import(&p, &records).await, vec![]);
    let want: Vec<_> = records
        .iter()
        .map(|r| json!({"key": r.key, "contactIdentifier": r.contact, "json": r.record.to_value()}))
        .collect();
    assert_eq!(stored(&sb, "orders").await, want);

    // A second import of a changed record replaces it (upsert by key); nothing is duplicated.
    let changed = [record(
        "ORD-2",
        "ben@example.org",
        json!({"orderTotal": 10.5, "currency": "EUR"}),
    )];
    assert_eq!(import(&p, &changed).await, vec![]);
    let after = stored(&sb, "orders").await;
    assert_eq!(after.len(), 3);
    assert_eq!(
        after[1]["json"],
        json!({"orderTotal": 10.5, "currency": "EUR"})
    );
}

#[tokio::test]
async fn account_scope_sends_the_account_identifier() {
    let sb = common::start_sandbox(20).await;
    let p = provider(&sb, "resorts", "account");
    let records = [
        record("R-1", "account", json!({"name": "Alpine", "beds": 120})),
        record("R-2", "account", json!({"name": "Coast", "beds": 80})),
    ];
    assert_eq!(import(&p, &records).await, vec![]);
    let got = stored(&sb, "resorts").await;
    assert_eq!(got.len(), 2);
    assert_eq!(got[0]["json"], json!({"name": "Alpine", "beds": 120}));
    assert_eq!(got[1]["key"], "R-2");
}

#[tokio::test]
async fn unknown_contacts_and_bad_records_are_rejected_by_key() {
    let sb = common::start_sandbox(20).await;
    seed(
        &sb,
        json!({
            "contacts": ["ann@example.org", {"email": "cat@example.org", "id": 42}],
            "collections": [{"name": "orders", "scope": "contact"}],
        }),
    )
    .await;
    common::control(&sb, "/_sandbox/seed", json!({"strict": true})).await;
    let p = provider(&sb, "orders", "contact");
    let records = [
        record("ORD-1", "ann@example.org", json!({"orderTotal": 1.5})),
        record("ORD-2", "nobody@example.org", json!({"orderTotal": 2.5})),
        record(
            "ORD-3",
            "ann@example.org",
            json!({"orderTotal": 3.5, "m": [[1, 2]]}),
        ),
        record("ORD-4", "42", json!({"orderTotal": 4.5})),
        record("ORD-5", "99999", json!({"orderTotal": 5.5})),
    ];
    let mut rejects = import(&p, &records).await;
    rejects.sort_by(|a, b| format!("{:?}", a.at).cmp(&format!("{:?}", b.at)));
    let at: Vec<(RejectAt, &str)> = rejects
        .iter()
        .map(|r: &RemoteReject| (r.at.clone(), r.code.as_str()))
        .collect();
    assert_eq!(
        at,
        vec![
            (RejectAt::Key("ORD-2".into()), "ContactEmailDoesNotExist"),
            (RejectAt::Key("ORD-3".into()), "JsonContainsNestedArray"),
            (RejectAt::Key("ORD-5".into()), "ContactIdDoesNotExist"),
        ]
    );
    assert!(
        rejects[0].reason.contains("no contact has this email"),
        "{}",
        rejects[0].reason
    );
    let keys: Vec<_> = stored(&sb, "orders")
        .await
        .iter()
        .map(|r| r["key"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(keys, ["ORD-1", "ORD-4"]);
}

#[tokio::test]
async fn a_new_provider_resumes_an_import_by_its_id() {
    let sb = common::start_sandbox(100).await;
    let first = provider(&sb, "orders", "contact");
    let id = upload(
        &first,
        &[record("ORD-1", "ann@example.org", json!({"a": 1}))],
    )
    .await;
    drop(first);
    // After a crash the executor only has the journaled import id.
    let again = provider(&sb, "orders", "contact");
    assert_eq!(poll_until_terminal(&again, &id).await, PollStatus::Done);
    let batch = again.open_batch(BatchKind::Upsert).await.unwrap();
    assert_eq!(again.rejects(&batch, &id).await.unwrap(), vec![]);
    assert_eq!(stored(&sb, "orders").await.len(), 1);
}

#[tokio::test]
async fn a_failed_import_polls_failed_and_stores_nothing() {
    let sb = common::start_sandbox(20).await;
    seed(&sb, json!({"fail_next_imports": 1})).await;
    let p = provider(&sb, "orders", "contact");
    let id = upload(&p, &[record("ORD-1", "ann@example.org", json!({"a": 1}))]).await;
    assert!(matches!(poll_until_terminal(&p, &id).await, PollStatus::Failed(m) if m.contains(&id)));
    let batch = p.open_batch(BatchKind::Upsert).await.unwrap();
    // The report of a failed import does not exist.
    assert!(p.rejects(&batch, &id).await.is_err());
    let resp = common::client()
        .get(format!(
            "{}/_sandbox/dotdigital/collections/orders",
            sb.base_url()
        ))
        .send()
        .await
        .unwrap();
    let records: Vec<serde_json::Value> = if resp.status().is_success() {
        resp.json().await.unwrap()
    } else {
        vec![]
    };
    assert!(records.is_empty(), "{records:?}");
}

#[tokio::test]
async fn polling_reports_the_vendor_status_until_finished() {
    let sb = common::start_sandbox(20).await;
    // One status step per poll: NotStarted -> NotFinished -> Finished.
    seed(&sb, json!({"polls_per_step": 1})).await;
    let p = provider(&sb, "orders", "contact");
    let id = upload(&p, &[record("ORD-1", "ann@example.org", json!({"a": 1}))]).await;
    let batch = p.open_batch(BatchKind::Upsert).await.unwrap();
    let mut seen = Vec::new();
    for _ in 0..10 {
        let status = p.poll(&batch, &id).await.unwrap();
        seen.push(status.clone());
        if status == PollStatus::Done {
            break;
        }
    }
    assert_eq!(seen.last(), Some(&PollStatus::Done));
    assert!(
        seen.iter().any(
            |s| matches!(s, PollStatus::Running(v) if v == "NotFinished" || v == "NotStarted")
        ),
        "{seen:?}"
    );
}

#[tokio::test]
async fn invalid_specs_are_refused_before_any_call() {
    let sb = common::start_sandbox(20).await;
    for bad in ["1orders", "has space", "has-dash", ""] {
        let err = DotdigitalProvider::new(&spec(bad, "contact"), context(&sb)).unwrap_err();
        assert!(
            matches!(err, ProviderError::Permanent { .. }),
            "{bad}: {err:?}"
        );
    }
    let mut no_user = sandbox_endpoint(&sb.base_url());
    no_user.credentials.remove("user");
    let err = DotdigitalProvider::new(
        &spec("orders", "contact"),
        context_with(no_user, Quota::per_second(NonZeroU32::MIN)),
    )
    .unwrap_err();
    assert!(err.to_string().contains("`user`"), "{err}");
    let p = provider(&sb, "orders", "contact");
    let batch = p.open_batch(BatchKind::Upsert).await.unwrap();
    assert!(matches!(
        p.start(&batch).await,
        Err(ProviderError::Permanent { .. })
    ));
    assert!(matches!(
        p.poll(&batch, "../account-info").await,
        Err(ProviderError::Permanent { .. })
    ));
}

#[tokio::test]
async fn every_call_waits_for_the_limiter() {
    let sb = common::start_sandbox(20).await;
    let quota = Quota::with_period(Duration::from_millis(150)).unwrap();
    let p = DotdigitalProvider::new(
        &spec("orders", "contact"),
        context_with(sandbox_endpoint(&sb.base_url()), quota),
    )
    .unwrap();
    let started = Instant::now();
    let id = upload(&p, &[record("ORD-1", "ann@example.org", json!({"a": 1}))]).await;
    let batch = p.open_batch(BatchKind::Upsert).await.unwrap();
    let _ = p.poll(&batch, &id).await.unwrap();
    let _ = p.poll(&batch, &id).await.unwrap();
    // Three calls with one allowed per 150 ms: the second and third each wait a period.
    assert!(
        started.elapsed() >= Duration::from_millis(290),
        "{:?}",
        started.elapsed()
    );
}

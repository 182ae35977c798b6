//! Every fault class the sandbox injects, and how the client classifies it: 5xx, 429 with the
//! rate-limit headers, the flat hourly cap, dropped connections (before and after the import
//! was accepted), latency beyond the call timeout, the v2 error codes, credentials refused.

use std::num::NonZeroU32;
use std::time::Duration;

use bulkspec::providers::dotdigital::{DotdigitalProvider, sandbox_endpoint};
use bulkspec::providers::{BatchKind, PollStatus, Provider, ProviderError, Secret};
use governor::Quota;
use serde_json::json;

use super::*;

fn one() -> Vec<bulkspec::providers::ChunkRecord> {
    vec![record(
        "ORD-1",
        "ann@example.org",
        json!({"orderTotal": 1.5}),
    )]
}

/// The result of uploading one record.
async fn try_upload(p: &DotdigitalProvider) -> Result<Option<String>, ProviderError> {
    let batch = p.open_batch(BatchKind::Upsert).await.unwrap();
    p.upload(&batch, 0, p.encode(BatchKind::Upsert, &one()).unwrap())
        .await
}

fn retry_after(e: &ProviderError) -> Option<Duration> {
    match e {
        ProviderError::Retryable { retry_after, .. } => *retry_after,
        other => panic!("expected a retryable error, got {other:?}"),
    }
}

#[tokio::test]
async fn server_errors_are_retryable_and_honour_retry_after() {
    let sb = common::start_sandbox(20).await;
    let p = provider(&sb, "orders", "contact");
    faults(
        &sb,
        json!({"providers": ["dotdigital"], "statuses": [500], "error_on_calls": [1]}),
    )
    .await;
    let e = try_upload(&p).await.unwrap_err();
    assert_eq!(retry_after(&e), None);
    assert!(e.to_string().contains("HTTP 500"), "{e}");
    faults(&sb, json!({"providers": ["dotdigital"], "statuses": [503], "error_on_calls": [1], "retry_after_secs": 3})).await;
    assert_eq!(
        retry_after(&try_upload(&p).await.unwrap_err()),
        Some(Duration::from_secs(3))
    );
    // The fault was on the first call only: the next one goes through.
    assert!(try_upload(&p).await.unwrap().is_some());
}

#[tokio::test]
async fn a_tier_rate_limit_is_retryable_after_its_reset() {
    let sb = common::start_sandbox(20).await;
    let p = provider(&sb, "orders", "contact");
    faults(&sb, json!({"rate_limit": {"calls": 1, "window_secs": 30}})).await;
    assert!(try_upload(&p).await.is_ok());
    let e = try_upload(&p).await.unwrap_err();
    let wait = retry_after(&e).unwrap();
    assert!((29..=30).contains(&wait.as_secs()), "{wait:?}");
    assert!(e.to_string().contains("HTTP 429"), "{e}");

    // The same with X-RateLimit-Reset given as an epoch time.
    seed(&sb, json!({"rate": {"reset": "epoch"}})).await;
    let e = try_upload(&p).await.unwrap_err();
    let wait = retry_after(&e).unwrap();
    assert!((28..=31).contains(&wait.as_secs()), "{wait:?}");
}

#[tokio::test]
async fn an_injected_429_waits_for_the_later_of_its_headers() {
    let sb = common::start_sandbox(20).await;
    let p = provider(&sb, "orders", "contact");
    faults(
        &sb,
        json!({"statuses": [429], "error_on_calls": [1], "retry_after_secs": 90}),
    )
    .await;
    assert_eq!(
        retry_after(&try_upload(&p).await.unwrap_err()),
        Some(Duration::from_secs(90))
    );
    faults(
        &sb,
        json!({"statuses": [429], "error_on_calls": [1], "retry_after_secs": 5}),
    )
    .await;
    // X-RateLimit-Reset announces the 60 s tier window, later than Retry-After.
    assert_eq!(
        retry_after(&try_upload(&p).await.unwrap_err()),
        Some(Duration::from_secs(60))
    );
}

#[tokio::test]
async fn the_flat_hourly_cap_is_retryable_after_a_long_wait() {
    let sb = common::start_sandbox(20).await;
    seed(&sb, json!({"rate": {"mode": "flat", "flat_per_hour": 1}})).await;
    let p = provider(&sb, "orders", "contact");
    assert!(try_upload(&p).await.is_ok());
    let e = try_upload(&p).await.unwrap_err();
    assert!(
        retry_after(&e).unwrap() >= Duration::from_secs(300),
        "{e:?}"
    );
    assert!(e.to_string().contains("ERROR_APIUSAGE_EXCEEDED"), "{e}");
}

#[tokio::test]
async fn too_many_active_imports_is_a_full_queue() {
    let sb = common::start_sandbox(20).await;
    // Imports only move on when polled, so the first one stays active.
    seed(&sb, json!({"max_active_imports": 1, "polls_per_step": 1})).await;
    let p = provider(&sb, "orders", "contact");
    let first = try_upload(&p).await.unwrap().unwrap();
    assert!(matches!(
        try_upload(&p).await,
        Err(ProviderError::QueueFull { .. })
    ));
    assert_eq!(poll_until_terminal(&p, &first).await, PollStatus::Done);
    assert!(try_upload(&p).await.is_ok(), "the queue has room again");
}

#[tokio::test]
async fn dropped_connections_are_retryable() {
    let sb = common::start_sandbox(20).await;
    let p = provider(&sb, "orders", "contact");
    faults(
        &sb,
        json!({"providers": ["dotdigital"], "drop_on_calls": [1]}),
    )
    .await;
    let e = try_upload(&p).await.unwrap_err();
    assert_eq!(retry_after(&e), None);
    let resp = common::client()
        .get(format!(
            "{}/_sandbox/dotdigital/collections/orders",
            sb.base_url()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.status(),
        404,
        "a request dropped before processing imports nothing"
    );
}

#[tokio::test]
async fn a_lost_answer_is_retryable_and_the_import_still_runs() {
    let sb = common::start_sandbox(20).await;
    seed(&sb, json!({"drop_next_accepted": 1})).await;
    let p = provider(&sb, "orders", "contact");
    let e = try_upload(&p).await.unwrap_err();
    assert_eq!(retry_after(&e), None);
    // The import was accepted before its answer was lost: records are keyed, so the executor's
    // re-upload is harmless; here we only check that the sandbox ran it.
    let mut found: Vec<serde_json::Value> = Vec::new();
    for _ in 0..100 {
        let resp = common::client()
            .get(format!(
                "{}/_sandbox/dotdigital/collections/orders",
                sb.base_url()
            ))
            .send()
            .await
            .unwrap();
        if resp.status().is_success() {
            found = resp.json().await.unwrap();
            if !found.is_empty() {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(found.len(), 1);
}

#[tokio::test]
async fn latency_beyond_the_call_timeout_is_retryable() {
    let sb = common::start_sandbox(20).await;
    let p = provider(&sb, "orders", "contact").with_call_timeout(Duration::from_millis(200));
    faults(
        &sb,
        json!({"providers": ["dotdigital"], "latency_ms": 1000}),
    )
    .await;
    let e = try_upload(&p).await.unwrap_err();
    assert_eq!(retry_after(&e), None);
    assert!(e.to_string().to_lowercase().contains("timed out"), "{e}");
}

/// What a classified error must look like.
type Expect = fn(&ProviderError) -> bool;

#[tokio::test]
async fn vendor_codes_are_classified() {
    let sb = common::start_sandbox(20).await;
    let p = provider(&sb, "orders", "contact");
    let cases: [(&str, Expect); 6] = [
        ("ERROR_TRANSACTIONAL_DATA_INVALID_COLLECTION_NAME", |e| {
            matches!(e, ProviderError::Permanent { .. })
        }),
        ("ERROR_TRANSACTIONAL_DATA_VALIDATION_FAILED", |e| {
            matches!(e, ProviderError::Permanent { .. })
        }),
        ("ERROR_TRANSACTIONAL_DATA_STORAGE_ALLOWANCE_EXCEEDED", |e| {
            matches!(e, ProviderError::Permanent { .. })
        }),
        ("ERROR_IMPORT_TOOMANYACTIVEIMPORTS", |e| {
            matches!(e, ProviderError::QueueFull { .. })
        }),
        ("ERROR_UNKNOWN", |e| {
            matches!(e, ProviderError::Retryable { .. })
        }),
        (
            "ERROR_APIUSAGE_EXCEEDED",
            |e| matches!(e, ProviderError::Retryable { retry_after: Some(d), .. } if *d >= Duration::from_secs(300)),
        ),
    ];
    for (code, expected) in cases {
        faults(
            &sb,
            json!({"providers": ["dotdigital"], "vendor_codes": [code], "error_on_calls": [1]}),
        )
        .await;
        let e = try_upload(&p).await.unwrap_err();
        assert!(expected(&e), "{code}: {e:?}");
        assert!(e.to_string().contains(code), "{code}: {e}");
    }
}

#[tokio::test]
async fn unknown_imports_and_early_reports() {
    let sb = common::start_sandbox(20).await;
    seed(&sb, json!({"polls_per_step": 5})).await;
    let p = provider(&sb, "orders", "contact");
    let batch = p.open_batch(BatchKind::Upsert).await.unwrap();
    let unknown = p
        .poll(&batch, "00000000-0000-0000-0000-000000000000")
        .await
        .unwrap_err();
    assert!(
        matches!(&unknown, ProviderError::Permanent { message } if message.contains("ERROR_IMPORT_NOT_FOUND")),
        "{unknown:?}"
    );
    let id = try_upload(&p).await.unwrap().unwrap();
    // A report asked for before the import finished: retry later.
    let early = p.rejects(&batch, &id).await.unwrap_err();
    assert!(
        matches!(&early, ProviderError::Retryable { message, .. } if message.contains("ERROR_IMPORT_REPORT_NOT_FOUND")),
        "{early:?}"
    );
}

#[tokio::test]
async fn refused_credentials_are_permanent_and_never_shown() {
    let sb = common::start_sandbox(20).await;
    let mut endpoint = sandbox_endpoint(&sb.base_url());
    endpoint
        .credentials
        .insert("password", Secret::new("canary-Pa55word"));
    let p = DotdigitalProvider::new(
        &spec("orders", "contact"),
        context_with(endpoint, Quota::per_second(NonZeroU32::new(100).unwrap())),
    )
    .unwrap();
    let e = try_upload(&p).await.unwrap_err();
    assert!(matches!(e, ProviderError::Permanent { .. }), "{e:?}");
    assert!(e.to_string().contains("HTTP 401"), "{e}");
    assert!(!format!("{e} {e:?} {p:?}").contains("canary-Pa55word"));
}

#[tokio::test]
async fn an_api_user_disabled_mid_run_fails_the_next_call() {
    // Dotdigital has no tokens to refresh (notes §3): the equivalent of an expired token is an
    // API user disabled or re-keyed while a job runs; that is permanent, not retried.
    let sb = common::start_sandbox(20).await;
    seed(&sb, json!({"polls_per_step": 5})).await;
    let p = provider(&sb, "orders", "contact");
    let id = try_upload(&p).await.unwrap().unwrap();
    seed(
        &sb,
        json!({"api_users": [{"username": "sandbox", "password": "sandbox", "disabled": true}]}),
    )
    .await;
    let batch = p.open_batch(BatchKind::Upsert).await.unwrap();
    let e = p.poll(&batch, &id).await.unwrap_err();
    assert!(
        matches!(&e, ProviderError::Permanent { message } if message.contains("401")),
        "{e:?}"
    );
    seed(
        &sb,
        json!({"api_users": [{"username": "sandbox", "password": "sandbox"}]}),
    )
    .await;
    assert!(
        p.poll(&batch, &id).await.is_ok(),
        "credentials go with every call: nothing to re-open"
    );
}

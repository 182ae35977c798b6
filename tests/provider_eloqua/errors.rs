//! Failure classification for every fault class the sandbox injects: 5xx, 429 with
//! Retry-After, dropped connections, latency beyond the client timeout, Eloqua's statuses
//! (401, 403, 409 in both meanings, 410, 413), bad credentials at `/id`, 400 validation
//! failures, oversize uploads, expired definitions; and a `start` retried (or resumed by a new
//! run) after its answer was lost finds the sync it created instead of syncing twice.

use std::time::Duration;

use bulkspec::providers::eloqua::sandbox_endpoint;
use bulkspec::providers::{BatchKind, PollStatus, Provider, ProviderError, Secret};
use serde_json::json;

use crate::harness::{contacts_spec, finish, linkage_spec, links, provider_at, sandbox};

/// Injects `statuses`/`vendor_codes` on the first definition call; the error `open_batch` gets.
async fn open_with_fault(fault: serde_json::Value) -> ProviderError {
    let env = sandbox(30).await;
    let p = env.provider(&linkage_spec());
    let mut faults = json!({"providers": ["eloqua"], "endpoints": ["imports"], "error_on_calls": [1], "retry_after_secs": 7});
    faults
        .as_object_mut()
        .unwrap()
        .extend(fault.as_object().unwrap().clone());
    env.faults(faults).await;
    p.open_batch(BatchKind::Upsert).await.unwrap_err()
}

#[tokio::test]
async fn server_errors_are_retryable() {
    for status in [500, 502, 503] {
        match open_with_fault(json!({"statuses": [status]})).await {
            ProviderError::Retryable { message, .. } => {
                assert!(message.contains(&status.to_string()), "{message}")
            }
            other => panic!("{status}: {other:?}"),
        }
    }
}

#[tokio::test]
async fn too_many_requests_is_retryable_after_the_announced_delay() {
    match open_with_fault(json!({"statuses": [429]})).await {
        ProviderError::Retryable { retry_after, .. } => {
            assert_eq!(retry_after, Some(Duration::from_secs(7)))
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn eloqua_statuses_follow_the_retry_table() {
    assert!(matches!(
        open_with_fault(json!({"statuses": [401]})).await,
        ProviderError::Permanent { .. }
    ));
    assert!(matches!(
        open_with_fault(json!({"statuses": [403]})).await,
        ProviderError::Permanent { .. }
    ));
    assert!(matches!(
        open_with_fault(json!({"statuses": [409]})).await,
        ProviderError::Retryable { .. }
    ));
    let sandbox_limit = open_with_fault(json!({"vendor_codes": ["Sandbox Limit Exceeded"]})).await;
    assert!(
        matches!(&sandbox_limit, ProviderError::Permanent { message } if message.contains("Sandbox Limit")),
        "{sandbox_limit:?}"
    );
    assert!(matches!(
        open_with_fault(json!({"statuses": [410]})).await,
        ProviderError::Expired { .. }
    ));
    assert!(matches!(
        open_with_fault(json!({"statuses": [413]})).await,
        ProviderError::Permanent { .. }
    ));
}

#[tokio::test]
async fn dropped_connections_are_retryable() {
    let env = sandbox(30).await;
    let p = env.provider(&linkage_spec());
    env.faults(json!({"providers": ["eloqua"], "endpoints": ["imports"], "drop_on_calls": [1]}))
        .await;
    let err = p.open_batch(BatchKind::Upsert).await.unwrap_err();
    assert!(matches!(err, ProviderError::Retryable { .. }), "{err:?}");
    // The next call goes through: the client is still usable.
    p.open_batch(BatchKind::Upsert).await.unwrap();
}

#[tokio::test]
async fn latency_beyond_the_timeout_is_retryable() {
    let env = sandbox(30).await;
    let p = provider_at(
        &linkage_spec(),
        sandbox_endpoint(&env.base),
        Duration::from_millis(300),
    );
    env.faults(json!({"providers": ["eloqua"], "endpoints": ["imports"], "latency_ms": 1000}))
        .await;
    let err = p.open_batch(BatchKind::Upsert).await.unwrap_err();
    assert!(
        matches!(&err, ProviderError::Retryable { message, .. } if message.contains("timed out")),
        "{err:?}"
    );
}

#[tokio::test]
async fn bad_credentials_are_permanent_and_never_shown() {
    let env = sandbox(30).await;
    let mut endpoint = sandbox_endpoint(&env.base);
    endpoint
        .credentials
        .insert("password", Secret::new("canary-wrong-password"));
    let p = provider_at(&linkage_spec(), endpoint, Duration::from_secs(5));
    let err = p.open_batch(BatchKind::Upsert).await.unwrap_err();
    let message = err.to_string();
    assert!(
        matches!(err, ProviderError::Permanent { .. }) && message.contains("Not authenticated."),
        "{message}"
    );
    assert!(!message.contains("canary"), "{message}");
}

#[tokio::test]
async fn a_missing_credential_is_named() {
    let env = sandbox(30).await;
    let mut endpoint = sandbox_endpoint(&env.base);
    endpoint.credentials.remove("site");
    let cx = bulkspec::providers::ClientContext {
        endpoint,
        http: reqwest::Client::new(),
        limiter: std::sync::Arc::new(governor::RateLimiter::direct(
            bulkspec::providers::eloqua::quota(),
        )),
    };
    let err = bulkspec::providers::eloqua::EloquaProvider::new(&linkage_spec(), cx).unwrap_err();
    assert_eq!(err.to_string(), "the connection has no `site` credential");
}

#[tokio::test]
async fn validation_failures_are_permanent_and_named() {
    let env = sandbox(30).await;
    let p = env.provider(&contacts_spec("NotAColumn"));
    let err = p.open_batch(BatchKind::Upsert).await.unwrap_err();
    assert!(
        matches!(&err, ProviderError::Permanent { message } if message.contains("identifierFieldName")),
        "{err:?}"
    );
}

#[tokio::test]
async fn an_oversize_upload_is_permanent() {
    let env = sandbox(30).await;
    env.settings(json!({"upload_limit_bytes": 100})).await;
    let p = env.provider(&linkage_spec());
    let batch = p.open_batch(BatchKind::Upsert).await.unwrap();
    let emails: Vec<String> = (0..10).map(|i| format!("person-{i}@example.com")).collect();
    let refs: Vec<&str> = emails.iter().map(String::as_str).collect();
    let body = p.encode(BatchKind::Upsert, &links("OPP-1", &refs)).unwrap();
    let err = p.upload(&batch, 0, body).await.unwrap_err();
    assert!(
        matches!(&err, ProviderError::Permanent { message } if message.contains("32 MB")),
        "{err:?}"
    );
}

#[tokio::test]
async fn an_expired_definition_asks_for_a_new_batch() {
    let env = sandbox(30).await;
    let p = env.provider(&linkage_spec());
    let batch = p.open_batch(BatchKind::Upsert).await.unwrap();
    assert!(batch.expires_at.is_some());
    env.post(
        "/_sandbox/eloqua/clock",
        json!({"advance_secs": 2 * 86_400}),
    )
    .await;
    let body = p
        .encode(BatchKind::Upsert, &links("OPP-1", &["a@example.com"]))
        .unwrap();
    let err = p.upload(&batch, 0, body).await.unwrap_err();
    assert!(matches!(err, ProviderError::Expired { .. }), "{err:?}");
    p.close_batch(&batch).await.unwrap();
}

#[tokio::test]
async fn another_client_starting_a_running_batch_joins_its_sync() {
    let env = sandbox(1000).await;
    let p = env.provider(&linkage_spec());
    let batch = p.open_batch(BatchKind::Upsert).await.unwrap();
    let body = p
        .encode(BatchKind::Upsert, &links("OPP-1", &["a@example.com"]))
        .unwrap();
    p.upload(&batch, 0, body).await.unwrap();
    let sync = p.start(&batch).await.unwrap();
    // Another client (a resumed run) did not open this batch: it looks before syncing, and
    // gets the running sync instead of Eloqua's 409.
    let other = env.provider(&linkage_spec());
    assert_eq!(other.start(&batch).await.unwrap(), sync);
}

#[tokio::test]
async fn a_retried_start_finds_the_sync_its_lost_answer_created() {
    let env = sandbox(150).await;
    let p = env.provider(&linkage_spec());
    let batch = p.open_batch(BatchKind::Upsert).await.unwrap();
    let body = p
        .encode(
            BatchKind::Upsert,
            &links("OPP-1", &["a@example.com", "b@example.com"]),
        )
        .unwrap();
    p.upload(&batch, 0, body).await.unwrap();
    let drop_sync = json!({"providers": ["eloqua"], "endpoints": ["syncs"], "drop_on_calls": [1], "drop_after_processing": true});
    env.faults(drop_sync).await;
    let err = p.start(&batch).await.unwrap_err();
    assert!(matches!(err, ProviderError::Retryable { .. }), "{err:?}");
    env.faults(json!({})).await;
    // Wait past the lost sync's end: a new POST /syncs would now succeed with zero rows.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let sync = p.start(&batch).await.unwrap();
    assert_eq!(finish(&p, &batch, &sync).await, PollStatus::Done);
    let syncs = env.bulk("/syncs").await;
    let of_batch: Vec<&serde_json::Value> = syncs["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["syncedInstanceUri"] == json!(batch.id))
        .collect();
    assert_eq!(of_batch.len(), 1, "one sync only: {syncs}");
    assert_eq!(of_batch[0]["uri"], json!(sync));
    assert_eq!(
        env.linked("OPP-1").await,
        ["a@example.com", "b@example.com"]
    );
}

#[tokio::test]
async fn a_new_run_resuming_a_started_batch_finds_its_sync() {
    let env = sandbox(100).await;
    let first_run = env.provider(&linkage_spec());
    let batch = first_run.open_batch(BatchKind::Upsert).await.unwrap();
    let body = first_run
        .encode(BatchKind::Upsert, &links("OPP-1", &["a@example.com"]))
        .unwrap();
    first_run.upload(&batch, 0, body).await.unwrap();
    let drop_sync = json!({"providers": ["eloqua"], "endpoints": ["syncs"], "drop_on_calls": [1], "drop_after_processing": true});
    env.faults(drop_sync).await;
    assert!(first_run.start(&batch).await.is_err());
    env.faults(json!({})).await;
    tokio::time::sleep(Duration::from_millis(250)).await;
    // The run died; the next one resumes the journaled batch with a new client.
    let next_run = env.provider(&linkage_spec());
    let sync = next_run.start(&batch).await.unwrap();
    assert_eq!(finish(&next_run, &batch, &sync).await, PollStatus::Done);
    let syncs = env.bulk("/syncs").await;
    assert_eq!(syncs["items"].as_array().unwrap().len(), 1, "{syncs}");
    assert_eq!(env.linked("OPP-1").await, ["a@example.com"]);
}

#[tokio::test]
async fn a_new_run_resuming_an_unstarted_batch_syncs_it() {
    let env = sandbox(30).await;
    let first_run = env.provider(&linkage_spec());
    let batch = first_run.open_batch(BatchKind::Upsert).await.unwrap();
    let body = first_run
        .encode(BatchKind::Upsert, &links("OPP-1", &["a@example.com"]))
        .unwrap();
    first_run.upload(&batch, 0, body).await.unwrap();
    let next_run = env.provider(&linkage_spec());
    let sync = next_run.start(&batch).await.unwrap();
    assert_eq!(finish(&next_run, &batch, &sync).await, PollStatus::Done);
    assert_eq!(env.linked("OPP-1").await, ["a@example.com"]);
}

#[tokio::test]
async fn a_lost_upload_redoes_the_batch_in_a_new_definition() {
    let env = sandbox(30).await;
    let p = env.provider(&linkage_spec());
    let first = links("OPP-1", &["a@example.com"]);
    let second = links("OPP-1", &["b@example.com", "not-an-email"]);
    let old = p.open_batch(BatchKind::Upsert).await.unwrap();
    p.upload(&old, 0, p.encode(BatchKind::Upsert, &first).unwrap())
        .await
        .unwrap();
    let lose = json!({"providers": ["eloqua"], "endpoints": ["/data"], "drop_on_calls": [1], "drop_after_processing": true});
    env.faults(lose).await;
    let err = p
        .upload(&old, 1, p.encode(BatchKind::Upsert, &second).unwrap())
        .await
        .unwrap_err();
    assert!(matches!(err, ProviderError::Expired { .. }), "{err:?}");
    env.faults(json!({})).await;

    // What the executor does on Expired: a new batch, every chunk again.
    let batch = p.open_batch(BatchKind::Upsert).await.unwrap();
    assert_ne!(batch.id, old.id);
    for (i, chunk) in [&first, &second].into_iter().enumerate() {
        p.upload(&batch, i, p.encode(BatchKind::Upsert, chunk).unwrap())
            .await
            .unwrap();
    }
    let sync = p.start(&batch).await.unwrap();
    assert_eq!(finish(&p, &batch, &sync).await, PollStatus::Done);
    let rejects = p.rejects(&batch, &sync).await.unwrap();
    assert_eq!(rejects.len(), 1, "{rejects:?}");
    assert_eq!(rejects[0].at, bulkspec::providers::RejectAt::Index(2));
    assert_eq!(
        env.linked("OPP-1").await,
        ["a@example.com", "b@example.com"]
    );
    p.close_batch(&old).await.unwrap();
    p.close_batch(&batch).await.unwrap();
    assert_eq!(env.get("/_sandbox/eloqua/definitions").await, json!([]));
}

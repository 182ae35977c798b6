//! Error classification for every fault class the sandbox injects, the import state conflicts
//! (409 after Execute, a busy account), token refresh and expiry, and Stage's dedupe after a
//! dropped answer.

use std::time::Duration;

use bulkspec::providers::mypreferences::{MypreferencesProvider, Settings, sandbox_endpoint};
use bulkspec::providers::{BatchKind, PollStatus, Provider, ProviderError, RemoteBatch, Secret};
use bulkspec::sandbox::RunningSandbox;
use serde_json::{Value, json};

use super::*;

/// Injects `fault` into the next MyPreferences calls whose path contains `endpoint`.
async fn inject(sb: &RunningSandbox, endpoint: &str, fault: Value) {
    let mut body = json!({"providers": ["mypreferences"], "endpoints": [endpoint]});
    if let (Some(body), Value::Object(fault)) = (body.as_object_mut(), fault) {
        body.extend(fault);
    }
    control(sb, "/_sandbox/faults", body).await;
}

async fn clear(sb: &RunningSandbox) {
    control(sb, "/_sandbox/faults", json!({})).await;
}

/// An open batch with one staged chunk.
async fn staged(sb: &RunningSandbox) -> (MypreferencesProvider, RemoteBatch) {
    let p = provider(sb, &spec(json!({})));
    let batch = p.open_batch(BatchKind::Upsert).await.unwrap();
    upload_all(&p, &batch, &[records(&["C-1", "C-2", "C-3"])]).await;
    (p, batch)
}

#[tokio::test]
async fn server_errors_and_rate_limits_are_retryable_with_retry_after() {
    let sb = sandbox(40).await;
    let (p, batch) = staged(&sb).await;
    for status in [429u16, 503, 500, 502] {
        inject(
            &sb,
            "/Status",
            json!({"error_on_calls": [1], "statuses": [status], "retry_after_secs": 7}),
        )
        .await;
        match p.poll(&batch, &batch.id).await {
            Err(ProviderError::Retryable {
                message,
                retry_after,
            }) => {
                assert!(message.contains(&status.to_string()), "{message}");
                let announced = matches!(status, 429 | 503).then_some(Duration::from_secs(7));
                assert_eq!(retry_after, announced, "{status}");
            }
            other => panic!("{status}: expected Retryable, got {other:?}"),
        }
        assert!(
            matches!(p.poll(&batch, &batch.id).await, Ok(PollStatus::Running(_))),
            "the next call passes"
        );
    }
}

#[tokio::test]
async fn client_errors_are_permanent() {
    let sb = sandbox(40).await;
    let (p, batch) = staged(&sb).await;
    for status in [400u16, 403, 404] {
        inject(
            &sb,
            "/Status",
            json!({"error_on_calls": [1], "statuses": [status]}),
        )
        .await;
        let e = p.poll(&batch, &batch.id).await.unwrap_err();
        assert!(
            matches!(e, ProviderError::Permanent { .. }),
            "{status}: {e:?}"
        );
    }
    inject(
        &sb,
        "/Stage",
        json!({"error_on_calls": [1], "statuses": [413]}),
    )
    .await;
    let body = p.encode(BatchKind::Upsert, &records(&["C-4"])).unwrap();
    let e = p.upload(&batch, 1, body).await.unwrap_err();
    assert!(matches!(e, ProviderError::Permanent { .. }), "413: {e:?}");
}

#[tokio::test]
async fn dropped_connections_and_timeouts_are_retryable() {
    let sb = sandbox(40).await;
    let (p, batch) = staged(&sb).await;
    inject(&sb, "/Status", json!({"drop_on_calls": [1]})).await;
    let e = p.poll(&batch, &batch.id).await.unwrap_err();
    assert!(
        matches!(e, ProviderError::Retryable { .. }),
        "dropped: {e:?}"
    );
    clear(&sb).await;

    let slow = provider_with(
        &sb,
        &spec(json!({})),
        Settings::default(),
        Duration::from_millis(300),
    );
    inject(&sb, "/Status", json!({"latency_ms": 1500})).await;
    match slow.poll(&batch, &batch.id).await {
        Err(ProviderError::Retryable { message, .. }) => {
            assert!(message.contains("timed out"), "{message}");
            assert!(
                !message.contains("/Profiles/v4/sandbox"),
                "no URL (it holds the account id): {message}"
            );
        }
        other => panic!("expected a retryable timeout, got {other:?}"),
    }
}

#[tokio::test]
async fn a_stage_whose_answer_was_lost_is_not_staged_twice() {
    let sb = sandbox(40).await;
    let p = provider(&sb, &spec(json!({})));
    let batch = p.open_batch(BatchKind::Upsert).await.unwrap();
    let body = p
        .encode(BatchKind::Upsert, &records(&["C-1", "C-2"]))
        .unwrap();
    inject(
        &sb,
        "/Stage",
        json!({"drop_on_calls": [1], "drop_after_processing": true}),
    )
    .await;
    let e = p.upload(&batch, 0, body.clone()).await.unwrap_err();
    assert!(matches!(e, ProviderError::Retryable { .. }), "{e:?}");
    assert_eq!(
        import_status(&sb, &batch.id).await["TotalRecordsReceived"],
        2,
        "staged, answer lost"
    );
    clear(&sb).await;
    assert_eq!(
        p.upload(&batch, 0, body).await.unwrap(),
        None,
        "the retry finds the chunk staged"
    );
    assert_eq!(
        import_status(&sb, &batch.id).await["TotalRecordsReceived"],
        2,
        "and does not resend it"
    );
    upload_all_from(&p, &batch, 1, &[records(&["C-3"])]).await;
    assert_eq!(
        import_status(&sb, &batch.id).await["TotalRecordsReceived"],
        3
    );
    assert_eq!(p.records_received(&batch).await.unwrap(), 3);
    let id = p.start(&batch).await.unwrap();
    assert_eq!(until_finished(&p, &batch, &id).await, PollStatus::Done);
    assert_eq!(crm_ids(&sb).await, ["C-1", "C-2", "C-3"]);
}

async fn upload_all_from(
    p: &MypreferencesProvider,
    batch: &RemoteBatch,
    first: usize,
    chunks: &[Vec<ChunkRecord>],
) {
    for (i, chunk) in chunks.iter().enumerate() {
        let body = p.encode(batch.kind, chunk).unwrap();
        p.upload(batch, first + i, body).await.unwrap();
    }
}

#[tokio::test]
async fn stage_after_execute_is_permanent_and_a_repeated_execute_is_accepted() {
    let sb = sandbox(40).await;
    let (p, batch) = staged(&sb).await;
    let id = p.start(&batch).await.unwrap();
    assert_eq!(
        p.start(&batch).await.unwrap(),
        id,
        "409: the first Execute went through"
    );
    let body = p.encode(BatchKind::Upsert, &records(&["C-9"])).unwrap();
    match p.upload(&batch, 1, body).await {
        Err(ProviderError::Permanent { message }) => assert!(message.contains("409"), "{message}"),
        other => panic!("expected Permanent, got {other:?}"),
    }
    assert_eq!(until_finished(&p, &batch, &id).await, PollStatus::Done);
}

#[tokio::test]
async fn staging_while_another_import_executes_is_a_full_queue() {
    let sb = sandbox(3000).await;
    let (first, batch) = staged(&sb).await;
    first.start(&batch).await.unwrap();
    let second = provider(&sb, &spec(json!({"job": "second"})));
    let other = second.open_batch(BatchKind::Upsert).await.unwrap();
    let body = second
        .encode(BatchKind::Upsert, &records(&["D-1"]))
        .unwrap();
    let e = second.upload(&other, 0, body).await.unwrap_err();
    assert!(matches!(e, ProviderError::QueueFull { .. }), "{e:?}");
}

#[tokio::test]
async fn the_bearer_token_is_refreshed_when_it_expires() {
    let sb = sandbox(40).await;
    let (p, batch) = staged(&sb).await;
    assert_eq!(
        requests_to(&sb, "oauth/token").await,
        1,
        "one token for every call so far"
    );
    // OAuth tokens live 1 h in the sandbox, import tokens 6 h.
    control(&sb, "/_sandbox/clock", json!({"advance_secs": 3700})).await;
    upload_all_from(&p, &batch, 1, &[records(&["C-4"])]).await;
    assert_eq!(requests_to(&sb, "oauth/token").await, 2);
    assert!(matches!(
        p.poll(&batch, &batch.id).await,
        Ok(PollStatus::Running(_))
    ));
}

#[tokio::test]
async fn an_expired_import_token_is_expired() {
    let sb = sandbox(40).await;
    let (p, batch) = staged(&sb).await;
    control(&sb, "/_sandbox/clock", json!({"advance_secs": 7 * 3600})).await;
    let body = p.encode(BatchKind::Upsert, &records(&["C-4"])).unwrap();
    assert!(matches!(
        p.upload(&batch, 1, body).await,
        Err(ProviderError::Expired { .. })
    ));
    assert!(matches!(
        p.start(&batch).await,
        Err(ProviderError::Expired { .. })
    ));
    // A 401 that survives a fresh bearer token means the import token is gone.
    let fresh = p.open_batch(BatchKind::Upsert).await.unwrap();
    inject(
        &sb,
        "/Status",
        json!({"error_on_calls": [1, 2], "statuses": [401]}),
    )
    .await;
    let before = requests_to(&sb, "oauth/token").await;
    assert!(matches!(
        p.poll(&fresh, &fresh.id).await,
        Err(ProviderError::Expired { .. })
    ));
    assert_eq!(
        requests_to(&sb, "oauth/token").await,
        before + 1,
        "re-authenticated once"
    );
}

#[tokio::test]
async fn bad_credentials_are_permanent_and_never_shown() {
    let sb = sandbox(40).await;
    let mut endpoint = sandbox_endpoint(&sb.base_url());
    endpoint
        .credentials
        .insert("password", Secret::new("canary-7f3a"));
    let p = MypreferencesProvider::new(&spec(json!({})), context(endpoint, Duration::from_secs(5)))
        .unwrap();
    match p.open_batch(BatchKind::Upsert).await {
        Err(ProviderError::Permanent { message }) => {
            assert!(message.contains("token request"), "{message}");
            assert!(!message.contains("canary-7f3a"), "{message}");
        }
        other => panic!("expected Permanent, got {other:?}"),
    }
    let mut missing = sandbox_endpoint(&sb.base_url());
    missing.credentials.remove("user");
    let e = MypreferencesProvider::new(&spec(json!({})), context(missing, Duration::from_secs(5)))
        .err()
        .unwrap();
    assert!(e.to_string().contains("`user`"), "{e}");
}

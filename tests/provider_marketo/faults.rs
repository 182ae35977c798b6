//! Every fault class the sandbox can inject, and the real refusals, classified into
//! `ProviderError` by HTTP status and Marketo code.

use std::time::Duration;

use bulkspec::providers::marketo::{MarketoProvider, sandbox_endpoint};
use bulkspec::providers::{BatchKind, Provider, ProviderError, RemoteBatch};
use bulkspec::sandbox::RunningSandbox;
use serde_json::{Value, json};

use crate::support::{control, get, members_spec, provider, provider_with, records, sandbox};

fn members(sb: &RunningSandbox, program: u64, status: &str) -> MarketoProvider {
    provider(
        sb,
        &members_spec(program, status, json!({"email": "{{ row.email }}"})),
    )
}

async fn faults(sb: &RunningSandbox, body: Value) {
    control(sb, "/_sandbox/faults", body).await;
}

/// Uploads one small chunk.
async fn upload(p: &MarketoProvider) -> Result<Option<String>, ProviderError> {
    let batch = p.open_batch(BatchKind::Upsert).await.unwrap();
    let body = p
        .encode(
            BatchKind::Upsert,
            &records(&[json!({"email": "a@example.org"})]),
        )
        .unwrap();
    p.upload(&batch, 0, body).await
}

async fn poll(p: &MarketoProvider, id: &str) -> ProviderError {
    let batch = RemoteBatch {
        id: String::new(),
        kind: BatchKind::Upsert,
        expires_at: None,
        details: json!({}),
    };
    p.poll(&batch, id).await.unwrap_err()
}

#[tokio::test]
async fn server_errors_and_throttling_are_retryable_with_retry_after() {
    let sb = sandbox().await;
    let p = members(&sb, 1, "On List");
    let cases = [(503, Some(3)), (429, Some(5)), (502, None), (500, None)];
    for (status, after) in cases {
        faults(&sb, json!({"error_on_calls": [1], "statuses": [status], "retry_after_secs": after.unwrap_or(9),
                           "endpoints": ["/status.json"]}))
        .await;
        match poll(&p, "1").await {
            ProviderError::Retryable {
                message,
                retry_after,
            } => {
                assert!(message.contains(&status.to_string()), "{message}");
                // Retry-After is only announced on 429 and 503.
                assert_eq!(retry_after, after.map(Duration::from_secs), "{status}");
            }
            other => panic!("{status}: {other:?}"),
        }
        // The next call is not faulted: the unknown batch id is what Marketo answers then.
        assert!(matches!(poll(&p, "1").await, ProviderError::Expired { .. }));
    }
}

#[tokio::test]
async fn dropped_connections_and_timeouts_are_retryable() {
    let sb = sandbox().await;
    let p = provider_with(
        sandbox_endpoint(&sb.base_url()),
        &members_spec(1, "On List", json!({"email": "{{ row.email }}"})),
        Duration::from_millis(300),
        1000,
    );
    faults(
        &sb,
        json!({"drop_on_calls": [1], "endpoints": ["/status.json"]}),
    )
    .await;
    assert!(matches!(
        poll(&p, "1").await,
        ProviderError::Retryable {
            retry_after: None,
            ..
        }
    ));
    faults(
        &sb,
        json!({"latency_ms": 1500, "endpoints": ["/status.json"]}),
    )
    .await;
    match poll(&p, "1").await {
        ProviderError::Retryable { message, .. } => {
            assert!(message.contains("timed out"), "{message}")
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_lost_import_answer_is_retryable_and_says_the_batch_may_exist() {
    let sb = sandbox().await;
    let p = members(&sb, 1, "On List");
    faults(&sb, json!({"drop_on_calls": [1], "drop_after_processing": true, "endpoints": ["/members/import.json"]})).await;
    match upload(&p).await {
        Err(ProviderError::Retryable { message, .. }) => {
            assert!(message.contains("may have been accepted"), "{message}")
        }
        other => panic!("{other:?}"),
    }
    let batches = get(&sb, "/_sandbox/marketo/batches").await;
    assert_eq!(batches.as_array().unwrap().len(), 1, "{batches}");
}

#[tokio::test]
async fn vendor_codes_follow_the_retry_table() {
    let sb = sandbox().await;
    let p = members(&sb, 1, "On List");
    let retryable = [
        "604", "606", "608", "611", "614", "615", "713", "1019", "1029",
    ];
    let permanent = [
        "603", "605", "607", "609", "610", "612", "613", "701", "709", "1003",
    ];
    let all = retryable.iter().chain(&permanent).chain(&["1016"]);
    for code in all {
        faults(&sb, json!({"error_on_calls": [1], "vendor_codes": [code], "endpoints": ["/members/import.json"]})).await;
        let err = upload(&p).await.unwrap_err();
        assert!(err.to_string().contains(code), "{code}: {err}");
        let ok = match &err {
            ProviderError::Retryable { retry_after, .. } => {
                retryable.contains(code) && retry_after.is_none()
            }
            ProviderError::Permanent { .. } => permanent.contains(code),
            ProviderError::QueueFull { .. } => *code == "1016",
            ProviderError::Expired { .. } => false,
        };
        assert!(ok, "{code}: {err:?}");
    }
    // Injected answers stop before the import: nothing was queued.
    assert_eq!(get(&sb, "/_sandbox/marketo/batches").await, json!([]));
}

#[tokio::test]
async fn a_full_import_queue_is_queue_full() {
    let sb = sandbox().await;
    let settings = json!({"marketo": {"settings": {"max_queued": 1, "advance_on_polls": 1000}}});
    control(&sb, "/_sandbox/seed", settings).await;
    let p = members(&sb, 1, "On List");
    assert!(upload(&p).await.unwrap().is_some());
    match upload(&p).await {
        Err(ProviderError::QueueFull { message }) => assert!(message.contains("1016"), "{message}"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn the_rate_window_answers_606_which_is_retryable() {
    let sb = sandbox().await;
    faults(&sb, json!({"rate_limit": {"calls": 2, "window_secs": 20}})).await;
    let p = members(&sb, 1, "On List");
    let id = upload(&p).await.unwrap().unwrap();
    let batch = p.open_batch(BatchKind::Upsert).await.unwrap();
    p.poll(&batch, &id).await.unwrap();
    match p.poll(&batch, &id).await {
        Err(ProviderError::Retryable { message, .. }) => {
            assert!(message.contains("606"), "{message}")
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn oversized_uploads_and_unknown_targets_are_permanent() {
    let sb = sandbox().await;
    control(&sb, "/_sandbox/seed", json!({"marketo": {"settings": {"max_upload_bytes": 20},
                                                     "programs": [{"id": 5, "statuses": ["On List"]}]}}))
    .await;
    let p = members(&sb, 5, "On List");
    let batch = p.open_batch(BatchKind::Upsert).await.unwrap();
    let many: Vec<Value> = (0..5)
        .map(|i| json!({"email": format!("p{i}@example.org")}))
        .collect();
    let body = p.encode(BatchKind::Upsert, &records(&many)).unwrap();
    match p.upload(&batch, 0, body).await {
        Err(ProviderError::Permanent { message }) => assert!(message.contains("413"), "{message}"),
        other => panic!("{other:?}"),
    }
    control(
        &sb,
        "/_sandbox/seed",
        json!({"strict": true, "marketo": {"settings": {"max_upload_bytes": 10485760}}}),
    )
    .await;
    for (program, status, code) in [(5, "Attended", "1025"), (999, "On List", "1013")] {
        match upload(&members(&sb, program, status)).await {
            Err(ProviderError::Permanent { message }) => {
                assert!(message.contains(code), "{message}")
            }
            other => panic!("{program}: {other:?}"),
        }
    }
}

#[tokio::test]
async fn an_unknown_batch_id_is_expired() {
    let sb = sandbox().await;
    let p = members(&sb, 1, "On List");
    match poll(&p, "424242").await {
        ProviderError::Expired { message } => assert!(message.contains("1013"), "{message}"),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        poll(&p, "not-a-number").await,
        ProviderError::Permanent { .. }
    ));
}

//! The OAuth token: cached, renewed before expiry, renewed once on 601/602, never shown; and
//! the rate limiter in front of every request.

use std::time::{Duration, Instant};

use bulkspec::providers::marketo::{MarketoProvider, sandbox_endpoint};
use bulkspec::providers::{BatchKind, Provider, ProviderError, RemoteBatch, Secret};
use bulkspec::sandbox::RunningSandbox;
use serde_json::json;

use crate::support::{control, members_spec, provider_with, records, requests_to, sandbox};

fn with_credentials(sb: &RunningSandbox, id: &str, secret: &str) -> MarketoProvider {
    let mut endpoint = sandbox_endpoint(&sb.base_url());
    endpoint.credentials.insert("client_id", Secret::new(id));
    endpoint
        .credentials
        .insert("client_secret", Secret::new(secret));
    let spec = members_spec(1, "On List", json!({"email": "{{ row.email }}"}));
    provider_with(endpoint, &spec, Duration::from_secs(2), 1000)
}

fn default_client(sb: &RunningSandbox, per_second: u32) -> MarketoProvider {
    let spec = members_spec(1, "On List", json!({"email": "{{ row.email }}"}));
    provider_with(
        sandbox_endpoint(&sb.base_url()),
        &spec,
        Duration::from_secs(2),
        per_second,
    )
}

fn batch() -> RemoteBatch {
    RemoteBatch {
        id: String::new(),
        kind: BatchKind::Upsert,
        expires_at: None,
        details: json!({}),
    }
}

/// Uploads one record and returns the batch id.
async fn upload(p: &MarketoProvider) -> String {
    let body = p
        .encode(
            BatchKind::Upsert,
            &records(&[json!({"email": "a@example.org"})]),
        )
        .unwrap();
    p.upload(&batch(), 0, body).await.unwrap().unwrap()
}

#[tokio::test]
async fn bad_credentials_are_permanent_and_the_secret_is_never_shown() {
    let sb = sandbox().await;
    let canary = "canary-s3cret-9f1";
    let p = with_credentials(&sb, "sandbox", canary);
    match p.poll(&batch(), "1").await {
        Err(ProviderError::Permanent { message }) => {
            assert!(
                message.contains("401") && !message.contains(canary),
                "{message}"
            );
        }
        other => panic!("{other:?}"),
    }
    // A dropped or failed identity call is retryable, and its message has no URL (the URL
    // carries the secret).
    let seed = json!({"marketo": {"clients": [{"id": "ci", "secret": canary}]}});
    control(&sb, "/_sandbox/seed", seed).await;
    let p = with_credentials(&sb, "ci", canary);
    control(
        &sb,
        "/_sandbox/faults",
        json!({"drop_on_calls": [1], "error_on_calls": [2], "statuses": [500],
                                            "endpoints": ["/identity"]}),
    )
    .await;
    for _ in 0..2 {
        match p.poll(&batch(), "1").await {
            Err(ProviderError::Retryable { message, .. }) => {
                assert!(
                    !message.contains(canary) && !message.contains("client_secret"),
                    "{message}"
                );
            }
            other => panic!("{other:?}"),
        }
    }
    // Third identity call passes: the token works.
    assert!(matches!(
        p.poll(&batch(), "1").await,
        Err(ProviderError::Expired { .. })
    ));
}

#[tokio::test]
async fn an_expired_token_is_renewed_and_the_call_retried_once() {
    let sb = sandbox().await;
    let p = default_client(&sb, 1000);
    let id = upload(&p).await;
    assert_eq!(requests_to(&sb, "identity").await, 1);
    // An hour later on the sandbox clock the cached token gets 602.
    control(&sb, "/_sandbox/clock", json!({"advance_secs": 3700})).await;
    assert!(p.poll(&batch(), &id).await.is_ok());
    assert_eq!(requests_to(&sb, "identity").await, 2);
    assert_eq!(
        requests_to(&sb, "status.json").await,
        2,
        "the refused call and its retry"
    );
}

#[tokio::test]
async fn an_unknown_token_is_renewed() {
    let sb = sandbox().await;
    let p = default_client(&sb, 1000);
    let id = upload(&p).await;
    // The reset forgets every token (and batch): the cached token now gets 601.
    control(&sb, "/_sandbox/reset", json!({})).await;
    assert!(matches!(
        p.poll(&batch(), &id).await,
        Err(ProviderError::Expired { .. })
    ));
    assert_eq!(requests_to(&sb, "identity").await, 1);
}

#[tokio::test]
async fn a_token_refused_after_renewal_is_retryable() {
    let sb = sandbox().await;
    let p = default_client(&sb, 1000);
    control(
        &sb,
        "/_sandbox/faults",
        json!({"error_on_calls": [1, 2], "vendor_codes": ["602"],
                                            "endpoints": ["/status.json"]}),
    )
    .await;
    match p.poll(&batch(), "1").await {
        Err(ProviderError::Retryable { message, .. }) => {
            assert!(message.contains("602"), "{message}")
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(requests_to(&sb, "identity").await, 2);
}

#[tokio::test]
async fn tokens_are_cached_and_renewed_shortly_before_expiry() {
    let sb = sandbox().await;
    control(&sb, "/_sandbox/faults", json!({"token_lifetime_secs": 4})).await;
    let p = default_client(&sb, 1000);
    let id = upload(&p).await;
    p.poll(&batch(), &id).await.unwrap();
    assert_eq!(requests_to(&sb, "identity").await, 1, "cached");
    // expires_in 3 s: renewed after half of it, before the sandbox would answer 602.
    tokio::time::sleep(Duration::from_millis(1700)).await;
    p.poll(&batch(), &id).await.unwrap();
    assert_eq!(requests_to(&sb, "identity").await, 2);
    assert_eq!(
        requests_to(&sb, "status.json").await,
        2,
        "no call was refused"
    );
}

#[tokio::test]
async fn the_limiter_paces_every_request() {
    let sb = sandbox().await;
    let p = default_client(&sb, 4);
    let started = Instant::now();
    let id = upload(&p).await;
    for _ in 0..6 {
        p.poll(&batch(), &id).await.unwrap();
    }
    // 1 identity + 1 upload + 6 polls at 4/s with a burst of 4: at least 1 s.
    assert!(
        started.elapsed() >= Duration::from_millis(950),
        "{:?}",
        started.elapsed()
    );
}

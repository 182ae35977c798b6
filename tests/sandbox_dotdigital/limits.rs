//! Refusals before an import exists: auth, region, collection names, body shape and size, too
//! many active imports, tiered and flat rate limits, and injected faults rendered the
//! Dotdigital way.

use bulkspec::sandbox::core::{Emulator, FaultConfig, InjectedFault, RateLimitOverride};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::*;

fn one() -> Value {
    json!([{"key": "k", "contactIdentifier": "ann@example.org", "json": {}}])
}

fn seed() -> Value {
    json!({"contacts": ["ann@example.org"], "collections": [{"name": "orders"}]})
}

#[tokio::test]
async fn basic_auth_is_required_on_every_call() {
    let sb = start(
        true,
        json!({"api_users": [
            {"username": "apiuser-1@apiconnector.com", "password": "s3cret!"},
            {"username": "old@apiconnector.com", "password": "s3cret!", "disabled": true}
        ]}),
    )
    .await;
    let url = format!("{}/dotdigital/v2/account-info", sb.base);
    let denied = json!({"message": "Authorization has been denied for this request."});
    for creds in [
        None,
        Some(("sandbox", "sandbox")),
        Some(("apiuser-1@apiconnector.com", "wrong")),
        Some(("old@apiconnector.com", "s3cret!")),
    ] {
        let mut req = sb.client.get(&url);
        if let Some((u, p)) = creds {
            req = req.basic_auth(u, Some(p));
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED, "{creds:?}");
        assert_eq!(resp.json::<Value>().await.unwrap(), denied);
    }
    let ok = sb
        .client
        .get(&url)
        .basic_auth("apiuser-1@apiconnector.com", Some("s3cret!"))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_request_to_another_region_is_403() {
    let sb = start(true, json!({"region": "r1"})).await;
    let other = sb
        .req(Method::GET, "/v2/account-info")
        .header("x-sandbox-region", "r2")
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), StatusCode::FORBIDDEN);
    let host = sb
        .req(Method::GET, "/v2/account-info")
        .header("host", "r3-api.dotdigital.com")
        .send()
        .await
        .unwrap();
    assert_eq!(host.status(), StatusCode::FORBIDDEN);
    let home = sb
        .req(Method::GET, "/v2/account-info")
        .header("x-sandbox-region", "r1")
        .send()
        .await
        .unwrap();
    assert_eq!(home.status(), StatusCode::OK);
}

#[tokio::test]
async fn collection_names_follow_the_strict_rule_unless_dashes_are_allowed() {
    let sb = start(true, seed()).await;
    let long = "a".repeat(256);
    for name in [
        "1orders",
        "web-orders",
        "my%20orders",
        "caf%C3%A9",
        long.as_str(),
    ] {
        let resp = sb.import(name, &one()).await;
        assert_v2_error(
            resp,
            StatusCode::BAD_REQUEST,
            "ERROR_TRANSACTIONAL_DATA_INVALID_COLLECTION_NAME",
        )
        .await;
    }
    assert_eq!(
        sb.import(&"a".repeat(255), &one()).await.status(),
        StatusCode::ACCEPTED
    );
    sb.emu_seed(json!({"allow_dashes": true}));
    assert_eq!(
        sb.import("web-orders", &one()).await.status(),
        StatusCode::ACCEPTED
    );
}

#[tokio::test]
async fn malformed_and_oversized_bodies_are_refused() {
    let sb = start(true, json!({"max_request_bytes": 1000})).await;
    let path = "/v2/contacts/transactional-data/import/orders";
    let object = sb
        .req(Method::POST, path)
        .json(&json!({"key": "k"}))
        .send()
        .await
        .unwrap();
    assert_v2_error(
        object,
        StatusCode::BAD_REQUEST,
        "ERROR_TRANSACTIONAL_DATA_VALIDATION_FAILED",
    )
    .await;
    let bad = sb
        .req(Method::POST, path)
        .header("content-type", "application/json")
        .body("[{")
        .send()
        .await
        .unwrap();
    assert_v2_error(
        bad,
        StatusCode::BAD_REQUEST,
        "ERROR_BODY_DOES_NOT_MATCH_CONTENT_TYPE",
    )
    .await;
    let text = sb
        .req(Method::POST, path)
        .header("content-type", "text/plain")
        .body("[]")
        .send()
        .await
        .unwrap();
    assert_v2_error(
        text,
        StatusCode::BAD_REQUEST,
        "ERROR_CONTENT_TYPE_IS_NOT_SUPPORTED",
    )
    .await;
    let big: Vec<Value> = (0..40)
        .map(|i| json!({"key": format!("k{i}"), "contactIdentifier": "account", "json": {}}))
        .collect();
    let resp = sb.import("orders", &json!(big)).await;
    assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(
        resp.json::<Value>().await.unwrap()["message"]
            .as_str()
            .unwrap()
            .contains("ERROR_")
    );
    assert_eq!(
        bulkspec::sandbox::dotdigital::DEFAULT_MAX_REQUEST_BYTES,
        50 * 1024 * 1024
    );
}

#[tokio::test]
async fn too_many_active_imports_are_refused_until_one_finishes() {
    let sb = start(
        true,
        json!({"contacts": ["ann@example.org"], "max_active_imports": 2}),
    )
    .await;
    let first = sb.accepted("orders", &one()).await;
    sb.accepted("orders", &one()).await;
    let third = sb.import("orders", &one()).await;
    assert_v2_error(
        third,
        StatusCode::BAD_REQUEST,
        "ERROR_IMPORT_TOOMANYACTIVEIMPORTS",
    )
    .await;
    sb.finish(&first).await;
    sb.accepted("orders", &one()).await;
}

#[tokio::test]
async fn the_default_active_import_limit_is_five() {
    let sb = start(true, json!({})).await;
    for _ in 0..5 {
        sb.accepted("orders", &one()).await;
    }
    assert_v2_error(
        sb.import("orders", &one()).await,
        StatusCode::BAD_REQUEST,
        "ERROR_IMPORT_TOOMANYACTIVEIMPORTS",
    )
    .await;
}

fn header(resp: &reqwest::Response, name: &str) -> Option<String> {
    resp.headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_string())
}

#[tokio::test]
async fn tiered_rate_limit_answers_429_with_the_headers() {
    let sb = start(
        false,
        json!({"rate": {"low": 2}, "max_active_imports": 100}),
    )
    .await;
    let mut remaining = Vec::new();
    for _ in 0..2 {
        let resp = sb.import("orders", &one()).await;
        assert_eq!(resp.status(), StatusCode::ACCEPTED);
        assert_eq!(header(&resp, "x-ratelimit-limit").as_deref(), Some("2"));
        assert!(
            header(&resp, "x-ratelimit-reset")
                .unwrap()
                .parse::<u64>()
                .unwrap()
                <= 60
        );
        remaining.push(header(&resp, "x-ratelimit-remaining").unwrap());
    }
    assert_eq!(remaining, ["1", "0"]);
    let limited = sb.import("orders", &one()).await;
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        header(&limited, "x-ratelimit-remaining").as_deref(),
        Some("0")
    );
    assert_eq!(
        header(&limited, "x-ratelimit-scope").as_deref(),
        Some("Low")
    );
    assert!(header(&limited, "x-ratelimit-reset").is_some());
    assert_v2_error(
        limited,
        StatusCode::TOO_MANY_REQUESTS,
        "ERROR_APIUSAGE_EXCEEDED",
    )
    .await;
    // Polls are in another tier.
    let poll = sb
        .req(Method::GET, "/v2/contacts/transactional-data-collections")
        .send()
        .await
        .unwrap();
    assert_eq!(poll.status(), StatusCode::OK);
    assert_eq!(header(&poll, "x-ratelimit-limit").as_deref(), Some("150"));
}

#[tokio::test]
async fn the_sandbox_rate_limit_override_and_epoch_resets_apply() {
    let sb = start(false, json!({"rate": {"reset": "epoch"}})).await;
    sb.shared.set_faults(FaultConfig {
        rate_limit: Some(RateLimitOverride {
            calls: 1,
            window_secs: 30,
        }),
        ..FaultConfig::default()
    });
    let ok = sb
        .req(Method::GET, "/v2/contacts/transactional-data-collections")
        .send()
        .await
        .unwrap();
    assert_eq!(header(&ok, "x-ratelimit-limit").as_deref(), Some("1"));
    assert!(
        header(&ok, "x-ratelimit-reset")
            .unwrap()
            .parse::<u64>()
            .unwrap()
            > 1_000_000_000
    );
    let limited = sb
        .req(Method::GET, "/v2/contacts/transactional-data-collections")
        .send()
        .await
        .unwrap();
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn flat_rate_limit_caps_the_hour_with_error_apiusage_exceeded() {
    let sb = start(false, json!({"rate": {"mode": "flat", "flat_per_hour": 3}})).await;
    let info: Value = sb
        .req(Method::GET, "/v2/account-info")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let prop = |name: &str| {
        info["properties"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name)
            .unwrap()["value"]
            .clone()
    };
    assert_eq!(prop("ApiCallsInLastHour"), "1");
    assert_eq!(prop("ApiCallsRemaining"), "2");
    for _ in 0..2 {
        let resp = sb
            .req(Method::GET, "/v2/contacts/transactional-data-collections")
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        assert!(
            header(&resp, "x-ratelimit-limit").is_none(),
            "flat scheme has no tier headers"
        );
    }
    let capped = sb
        .req(Method::GET, "/v2/contacts/transactional-data-collections")
        .send()
        .await
        .unwrap();
    assert_v2_error(capped, StatusCode::BAD_REQUEST, "ERROR_APIUSAGE_EXCEEDED").await;
}

#[tokio::test]
async fn injected_faults_are_rendered_the_dotdigital_way() {
    let sb = start(false, json!({"rate": {"low": 35}})).await;
    let resp = sb.emu.fault_response(&InjectedFault::Status(429));
    assert_eq!(resp.status().as_u16(), 429);
    for h in [
        "x-ratelimit-limit",
        "x-ratelimit-remaining",
        "x-ratelimit-reset",
        "x-ratelimit-scope",
    ] {
        assert!(resp.headers().contains_key(h), "{h}");
    }
    assert_eq!(resp.headers()["x-ratelimit-limit"], "35");
    let body = axum::body::to_bytes(resp.into_body(), 1 << 20)
        .await
        .unwrap();
    let body: Value = serde_json::from_slice(&body).unwrap();
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .ends_with("ERROR_APIUSAGE_EXCEEDED")
    );

    let resp = sb.emu.fault_response(&InjectedFault::VendorCode(
        "ERROR_IMPORT_TOOMANYACTIVEIMPORTS".into(),
    ));
    assert_eq!(resp.status().as_u16(), 400);
    let body = axum::body::to_bytes(resp.into_body(), 1 << 20)
        .await
        .unwrap();
    let body: Value = serde_json::from_slice(&body).unwrap();
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .ends_with("ERROR_IMPORT_TOOMANYACTIVEIMPORTS")
    );

    let resp = sb.emu.fault_response(&InjectedFault::Status(503));
    assert_eq!(resp.status().as_u16(), 503);
    let body = axum::body::to_bytes(resp.into_body(), 1 << 20)
        .await
        .unwrap();
    assert_eq!(
        serde_json::from_slice::<Value>(&body).unwrap(),
        json!({"message": "An error has occurred. ERROR_UNKNOWN"})
    );
}

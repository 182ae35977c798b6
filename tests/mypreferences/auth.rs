//! Authentication: PNAUTHINFO3 checks and documented 401 reasons, OAuth client credentials
//! and bearer tokens, unknown accounts (404), permissions (403), access tokens (401).

use bulkspec::sandbox::mypreferences::config::MyPrefConfig;
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{INITIATE, Sandbox, assert_message, iso, read, start, start_with};

async fn initiate_with(
    sb: &Sandbox,
    path: &str,
    authorization: Option<&str>,
) -> (StatusCode, Value, Option<String>) {
    let mut request = sb.http.post(sb.url(path)).json(&json!({"Name": "n"}));
    if let Some(value) = authorization {
        request = request.header("Authorization", value);
    }
    let response = request.send().await.expect("send");
    let challenge = response
        .headers()
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let (code, body) = read(response).await;
    (code, body, challenge)
}

fn pn(scheme: &str, user: &str, ts: &str, signature: &str) -> String {
    format!("{scheme} Credential={user}/{ts} Signature={signature}")
}

#[tokio::test]
async fn pnauthinfo3_failures_use_the_documented_401_reasons() {
    let sb = start().await;
    let now = iso(-1);
    let cases = [
        (None, "Missing Authorization Header"),
        (
            Some(pn("PNAUTHINFO3-MD5", "sandbox", &now, "YWJj")),
            "The scheme is invalid",
        ),
        (
            Some(pn("Digest", "sandbox", &now, "YWJj")),
            "The scheme is invalid",
        ),
        (
            Some(pn(
                "PNAUTHINFO3-HMAC-SHA256",
                "sandbox",
                "05/03/2024",
                "YWJj",
            )),
            "The specified date does not match",
        ),
        (
            Some(pn("PNAUTHINFO3-HMAC-SHA256", "sandbox", &iso(120), "YWJj")),
            "The difference between the issued timestamp",
        ),
        (
            Some(pn(
                "PNAUTHINFO3-HMAC-SHA256",
                "sandbox",
                &iso(-16 * 60),
                "YWJj",
            )),
            "The difference between the issued timestamp",
        ),
        (
            Some(pn("PNAUTHINFO3-HMAC-SHA256", "nobody", &now, "YWJj")),
            "Unable to authenticate request",
        ),
        (
            Some(pn("PNAUTHINFO3-HMAC-SHA256", "sandbox", &now, "%%%")),
            "Unable to authenticate request",
        ),
        (
            Some("PNAUTHINFO3-HMAC-SHA256 Signature=YWJj".to_owned()),
            "Unable to authenticate request",
        ),
        (
            Some("Bearer not-a-token".to_owned()),
            "Unable to authenticate request",
        ),
    ];
    for (header, reason) in cases {
        let (code, reply, challenge) = initiate_with(&sb, INITIATE, header.as_deref()).await;
        let message = assert_message(code, &reply, StatusCode::UNAUTHORIZED);
        assert!(message.starts_with(reason), "{header:?}: {message}");
        assert_eq!(
            challenge.as_deref(),
            Some("PNAUTHINFO3 realm=\"https://pm.mypreferences.com\"")
        );
    }
}

#[tokio::test]
async fn pnauthinfo3_variants_are_accepted() {
    let sb = start().await;
    let ts = iso(-60);
    let offset_ts = {
        // The same instant written with a +02:00 offset.
        let utc = humantime::parse_rfc3339(&ts).expect("ts");
        let shifted = humantime::format_rfc3339_seconds(utc + std::time::Duration::from_secs(7200))
            .to_string();
        format!("{}+02:00", shifted.trim_end_matches('Z'))
    };
    for scheme in [
        "PNAUTHINFO3-HMAC-SHA256",
        "PNAUTHINFO3-HMAC-SHA384",
        "pnauthinfo3-hmac-sha512",
        "PNAUTHINFO3-SHA256",
    ] {
        let (code, reply, _) =
            initiate_with(&sb, INITIATE, Some(&pn(scheme, "sandbox", &ts, "YWJj"))).await;
        assert_eq!(code, StatusCode::OK, "{scheme}: {reply}");
    }
    let (code, reply, _) = initiate_with(
        &sb,
        INITIATE,
        Some(&pn(
            "PNAUTHINFO3-HMAC-SHA256",
            "SANDBOX",
            &offset_ts,
            "YWJj",
        )),
    )
    .await;
    assert_eq!(code, StatusCode::OK, "{offset_ts}: {reply}");
}

async fn token(
    sb: &Sandbox,
    form: &[(&str, &str)],
    basic: Option<(&str, &str)>,
) -> (StatusCode, Value) {
    let mut request = sb.http.post(sb.url("/oauth/token")).form(form);
    if let Some((id, secret)) = basic {
        request = request.basic_auth(id, Some(secret));
    }
    read(request.send().await.expect("send")).await
}

#[tokio::test]
async fn oauth_client_credentials_issue_bearer_tokens_bound_to_the_scope() {
    let sb = start().await;
    let grant = [
        ("grant_type", "client_credentials"),
        ("scope", "sandbox/sandbox"),
    ];
    let (code, reply) = token(&sb, &grant, Some(("sandbox", "sandbox"))).await;
    assert_eq!(code, StatusCode::OK, "{reply}");
    assert_eq!(reply["token_type"], "Bearer");
    assert!(reply["expires_in"].is_u64());
    let bearer = format!(
        "Bearer {}",
        reply["access_token"].as_str().expect("access_token")
    );
    let (code, reply, _) = initiate_with(&sb, INITIATE, Some(&bearer)).await;
    assert_eq!(code, StatusCode::OK, "{reply}");

    // Credentials in the body work too; the token of another account is refused here.
    let body_grant = [
        ("grant_type", "client_credentials"),
        ("scope", "OTHER/sandbox"),
        ("client_id", "sandbox"),
        ("client_secret", "sandbox"),
    ];
    let (code, reply) = token(&sb, &body_grant, None).await;
    assert_eq!(code, StatusCode::OK, "{reply}");
    let other = format!(
        "Bearer {}",
        reply["access_token"].as_str().expect("access_token")
    );
    let (code, reply, _) = initiate_with(&sb, INITIATE, Some(&other)).await;
    assert_message(code, &reply, StatusCode::UNAUTHORIZED);

    // Bearer tokens expire (1 h by default) on the virtual clock.
    sb.advance(3601).await;
    let (code, reply, _) = initiate_with(&sb, INITIATE, Some(&bearer)).await;
    assert_message(code, &reply, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn oauth_token_endpoint_errors() {
    let sb = start().await;
    let grant = [
        ("grant_type", "client_credentials"),
        ("scope", "sandbox/sandbox"),
    ];
    let (code, reply) = token(&sb, &grant, Some(("sandbox", "wrong"))).await;
    assert_eq!(
        (code, reply["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_client"))
    );
    let (code, reply) = token(
        &sb,
        &[("grant_type", "password"), ("scope", "sandbox/sandbox")],
        Some(("sandbox", "sandbox")),
    )
    .await;
    assert_eq!(
        (code, reply["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("unsupported_grant_type"))
    );
    let (code, reply) = token(
        &sb,
        &[("grant_type", "client_credentials"), ("scope", "sandbox")],
        Some(("sandbox", "sandbox")),
    )
    .await;
    assert_eq!(
        (code, reply["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_scope"))
    );
    let (code, reply) = token(
        &sb,
        &[
            ("grant_type", "client_credentials"),
            ("scope", "sandbox/ghost"),
        ],
        Some(("sandbox", "sandbox")),
    )
    .await;
    assert_eq!(
        (code, reply["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_scope"))
    );
}

#[tokio::test]
async fn unknown_client_is_404_in_strict_mode_and_created_otherwise() {
    let strict = start_with(MyPrefConfig::default(), true).await;
    let (code, reply) = strict
        .post("/Profiles/v4/NOPE/BulkImport", json!({"Name": "n"}))
        .await;
    assert_message(code, &reply, StatusCode::NOT_FOUND);
    let lenient = start().await;
    let (code, reply) = lenient
        .post("/Profiles/v4/ACME/BulkImport", json!({"Name": "n"}))
        .await;
    assert_eq!(code, StatusCode::OK, "{reply}");
}

#[tokio::test]
async fn user_without_import_permission_gets_403() {
    let sb = start().await;
    sb.seed(json!({"users": [{"id": "viewer", "can_import": false}]}))
        .await;
    let header = pn("PNAUTHINFO3-HMAC-SHA256", "viewer", &iso(-1), "YWJj");
    let (code, reply, _) = initiate_with(&sb, INITIATE, Some(&header)).await;
    assert_message(code, &reply, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn unknown_malformed_or_foreign_access_tokens_are_401() {
    let sb = start().await;
    let token = sb.initiate(json!({"Name": "n"})).await;
    for bad in ["1".to_owned(), "abc".to_owned(), format!("{}", token + 1)] {
        let (code, reply) = sb.get(&format!("{INITIATE}/{bad}/Status")).await;
        assert_message(code, &reply, StatusCode::UNAUTHORIZED);
    }
    // A token belongs to the account that initiated it.
    let (code, reply) = sb
        .get(&format!("/Profiles/v4/OTHER/BulkImport/{token}/Status"))
        .await;
    assert_message(code, &reply, StatusCode::UNAUTHORIZED);
}

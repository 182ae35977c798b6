//! Discovery, authentication and routing quirks (§3, §13.1–4).

use bulkspec::sandbox::core::FaultConfig;
use serde_json::{Value, json};

use crate::harness::*;

#[tokio::test]
async fn id_returns_urls_that_point_back_at_the_sandbox_and_work_as_bulk_base() {
    let sb = start(false, 0).await;
    let (status, id) = sb.get_json(&format!("{}/eloqua/id", sb.base)).await;
    assert_eq!(status, 200);
    assert_eq!(id["site"]["name"], "Sandbox");
    assert_eq!(id["user"]["username"], "sandbox");
    let host = sb.base.trim_start_matches("http://");
    assert_eq!(id["urls"]["base"], format!("http://{host}/eloqua"));
    let bulk = id["urls"]["apis"]["rest"]["bulk"].as_str().unwrap();
    assert_eq!(bulk, format!("http://{host}/eloqua/API/Bulk/{{version}}/"));
    for key in ["standard", "dataTransfer", "email", "externalAction"] {
        assert!(
            id["urls"]["apis"]["soap"][key]
                .as_str()
                .unwrap()
                .starts_with(&sb.base),
            "{key}"
        );
    }
    // The base as a client library uses it: "/API/Bulk/2.0/" + "/contacts/fields" (a double
    // slash, upper-case segments).
    let url = format!(
        "{}/contacts/fields?limit=1",
        bulk.replace("{version}", "2.0")
    );
    assert!(url.contains("2.0//contacts"), "{url}");
    let (status, page) = sb.get_json(&url).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["count"], 1);
}

#[tokio::test]
async fn bad_credentials_get_not_authenticated_on_id_and_401_on_bulk() {
    let sb = start(false, 0).await;
    for request in [
        sb.http.get(format!("{}/eloqua/id", sb.base)),
        sb.http
            .get(format!("{}/eloqua/id", sb.base))
            .basic_auth(USER, Some("wrong")),
        sb.http
            .get(format!("{}/eloqua/id", sb.base))
            .basic_auth("sandbox", Some(PASSWORD)),
    ] {
        let response = request.send().await.unwrap();
        assert_eq!(response.status().as_u16(), 200);
        assert_eq!(
            response.json::<Value>().await.unwrap(),
            json!("Not authenticated.")
        );
    }
    for request in [
        sb.http.get(sb.bulk("/syncs")),
        sb.http
            .get(sb.bulk("/syncs"))
            .basic_auth(USER, Some("wrong")),
        sb.http.get(sb.bulk("/syncs")).bearer_auth("made-up"),
    ] {
        let response = request.send().await.unwrap();
        assert_eq!(response.status().as_u16(), 401);
        assert_eq!(
            response.text().await.unwrap(),
            "You are not authorized to make this request"
        );
    }
    // A user added through the settings signs in with its own site.
    sb.settings(json!({"users": [{"site": "Acme", "user": "jane.doe", "password": "s3cret"}]}))
        .await;
    let (status, id) = send(
        sb.http
            .get(format!("{}/eloqua/id", sb.base))
            .basic_auth("Acme\\jane.doe", Some("s3cret")),
    )
    .await;
    assert_eq!((status, id["site"]["name"].as_str()), (200, Some("Acme")));
    let (status, _) = sb.get_json(&sb.bulk("/syncs")).await;
    assert_eq!(status, 401, "the default user was replaced");
}

async fn token(sb: &Sandbox, body: Value) -> (u16, Value) {
    send(
        sb.http
            .post(format!("{}/eloqua/auth/oauth2/token", sb.base))
            .basic_auth("sandbox", Some("sandbox"))
            .json(&body),
    )
    .await
}

#[tokio::test]
async fn oauth_password_grant_issues_bearer_tokens_that_expire_and_refresh() {
    let sb = start(false, 0).await;
    let (status, issued) = token(
        &sb,
        json!({"grant_type": "password", "scope": "full", "username": USER, "password": PASSWORD}),
    )
    .await;
    assert_eq!(status, 200, "{issued}");
    assert_eq!(
        (issued["token_type"].as_str(), issued["expires_in"].as_u64()),
        (Some("bearer"), Some(28_800))
    );
    let access = issued["access_token"].as_str().unwrap();
    let (status, _) = send(sb.http.get(sb.bulk("/syncs")).bearer_auth(access)).await;
    assert_eq!(status, 200);
    let (status, id) = send(
        sb.http
            .get(format!("{}/eloqua/id", sb.base))
            .bearer_auth(access),
    )
    .await;
    assert_eq!(
        (status, id["user"]["username"].as_str()),
        (200, Some("sandbox"))
    );

    // A form-encoded refresh grant gives a new access token.
    let form = format!(
        "grant_type=refresh_token&refresh_token={}",
        issued["refresh_token"].as_str().unwrap()
    );
    let (status, refreshed) = send(
        sb.http
            .post(format!("{}/eloqua/auth/oauth2/token", sb.base))
            .basic_auth("sandbox", Some("sandbox"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form),
    )
    .await;
    assert_eq!(status, 200, "{refreshed}");

    // After 8 h the access token no longer works.
    send(
        sb.http
            .post(sb.inspect("/clock"))
            .json(&json!({"advance_secs": 28_801})),
    )
    .await;
    let (status, _) = send(sb.http.get(sb.bulk("/syncs")).bearer_auth(access)).await;
    assert_eq!(status, 401);

    let (status, body) = token(
        &sb,
        json!({"grant_type": "password", "username": USER, "password": "nope"}),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let (status, body) = send(
        sb.http
            .post(format!("{}/eloqua/auth/oauth2/token", sb.base))
            .basic_auth("other", Some("x"))
            .json(&json!({"grant_type": "password"})),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client"))
    );

    // The faults' token lifetime overrides the default.
    sb.shared.set_faults(FaultConfig {
        token_lifetime_secs: Some(1),
        ..FaultConfig::default()
    });
    let (_, short) = token(
        &sb,
        json!({"grant_type": "password", "username": USER, "password": PASSWORD}),
    )
    .await;
    assert_eq!(short["expires_in"], 1);
    send(
        sb.http
            .post(sb.inspect("/clock"))
            .json(&json!({"advance_secs": 2})),
    )
    .await;
    let (status, _) = send(
        sb.http
            .get(sb.bulk("/syncs"))
            .bearer_auth(short["access_token"].as_str().unwrap()),
    )
    .await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn paths_are_case_insensitive_slash_tolerant_and_ignore_unknown_parameters() {
    let sb = start(false, 0).await;
    for path in [
        "/eloqua/API/Bulk/2.0/contacts/fields",
        "/eloqua/api/BULK/2.0//Contacts/Fields/",
        "/eloqua//api/bulk/2.0/contacts/fields?utm=1&limit=3",
    ] {
        let (status, body) = sb.get_json(&format!("{}{path}", sb.base)).await;
        assert_eq!(status, 200, "{path}: {body}");
        assert!(body["items"].is_array());
    }
    let (status, _) = sb.get_json(&sb.bulk("/nothing/here")).await;
    assert_eq!(status, 404);
    let (status, _) = sb
        .get_json(&format!("{}/eloqua/API/Bulk/1.0/syncs", sb.base))
        .await;
    assert_eq!(status, 404);
}

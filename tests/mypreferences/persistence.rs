//! The `Emulator` contract beyond the API: snapshot/restore (including a job caught
//! mid-processing), reset, seed errors and the rendering of injected faults.

use std::time::Duration;

use axum::body::to_bytes;
use bulkspec::sandbox::core::{Emulator, FaultConfig, InjectedFault, SandboxConfig, Shared};
use bulkspec::sandbox::mypreferences::Mypreferences;
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{person, serve, start};

#[tokio::test]
async fn snapshot_restores_profiles_imports_and_resumes_processing() {
    let sb = start().await;
    sb.seed(json!({"alternate_id_types": ["CRM"]})).await;
    sb.run(
        json!({"Name": "first"}),
        json!([person("C1", "a@example.org")]),
    )
    .await;
    let settings =
        json!({"Name": "second", "MatchCriteria": "AlternateIdType", "MatchValue": "CRM"});
    let token = sb.initiate(settings).await;
    sb.stage(
        token,
        json!([person("C2", "b@example.org"), person("C3", "c@example.org")]),
    )
    .await;
    sb.execute(token).await;
    let snapshot = sb.emu.snapshot();
    assert!(snapshot.is_object());

    // A new emulator (slower processing) restored from the snapshot finishes the job.
    let shared = Shared::new(SandboxConfig {
        processing_time: Duration::from_millis(80),
        ..SandboxConfig::default()
    });
    let emu = Mypreferences::new(shared.clone());
    emu.restore(snapshot.clone()).expect("restore");
    let restored = serve(emu, shared).await;
    let last = restored.wait(token).await.pop().expect("final");
    assert_eq!(
        (last["Status"].as_str(), last["Processed"].as_u64()),
        (Some("Completed"), Some(2))
    );
    assert_eq!(restored.profiles().await.len(), 3);
    assert_eq!(
        restored.account().await["alternate_id_types"],
        json!(["CRM"])
    );

    assert!(restored.emu.restore(json!({"accounts": 5})).is_err());
    restored.emu.reset();
    assert!(restored.profiles().await.is_empty());
    let (code, _) = restored.status(token).await;
    assert_eq!(
        code,
        StatusCode::UNAUTHORIZED,
        "imports are forgotten by reset"
    );
    let (code, _) = restored
        .post(super::INITIATE, json!({"Name": "after reset"}))
        .await;
    assert_eq!(code, StatusCode::OK, "the default account exists again");
}

#[tokio::test]
async fn seed_refuses_unknown_keys_and_bad_rules_and_sets_strict() {
    let sb = start().await;
    assert!(sb.emu.seed(&json!({"programs": []})).is_err());
    assert!(sb.emu.seed(&json!({"email_regex": "("})).is_err());
    sb.emu.seed(&json!({"strict": true, "accounts": [{"client_id": "ACME", "alternate_id_types": ["CRM"],
        "profiles": [{"AlternateIds": [{"AlternateIdType": "ERP", "AlternateId": "E1"}]}]}]})).expect("seed");
    assert!(sb.shared.strict());
    let url = format!("{}/_sandbox/mypreferences/account?client_id=ACME", sb.base);
    let account: Value = sb
        .http
        .get(url)
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(account["alternate_id_types"], json!(["CRM", "ERP"]));
    assert_eq!(
        account["profiles"],
        json!({}),
        "the account view leaves profiles out"
    );
    let url = format!("{}/_sandbox/mypreferences/profiles?client_id=ACME", sb.base);
    let profiles: Value = sb
        .http
        .get(url)
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(
        profiles[0]["ProfileId"], 1001,
        "seeded profiles without an id get a system id"
    );
    assert_eq!(
        profiles[0]["AlternateIds"][0]["IsActive"], true,
        "seeded elements are active"
    );
}

#[tokio::test]
async fn custom_email_rule_turns_records_into_exceptions() {
    let sb = start().await;
    sb.seed(json!({"email_regex": "^[^@]+@example\\.org$"}))
        .await;
    let token = sb.initiate(json!({"Name": "n"})).await;
    let (_, reply) = sb
        .stage(
            token,
            json!([person("C1", "a@example.org"), person("C2", "a@example.com")]),
        )
        .await;
    assert_eq!(
        (
            reply["ValidationSuccessful"].as_u64(),
            reply["ValidationFailed"].as_u64()
        ),
        (Some(1), Some(1))
    );
    let (_, page) = sb.exceptions(token, "").await;
    assert_eq!(
        page["UserProfilePreferences"][0]["Exceptions"][0]["Code"],
        "EmailAddressInvalid"
    );
}

async fn render(
    emu: &Mypreferences,
    fault: InjectedFault,
) -> (u16, Option<String>, Option<String>, Value) {
    let response = emu.fault_response(&fault);
    let status = response.status().as_u16();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let (challenge, retry) = (header("www-authenticate"), header("retry-after"));
    let body = to_bytes(response.into_body(), 1 << 20).await.expect("body");
    (
        status,
        challenge,
        retry,
        serde_json::from_slice(&body).expect("json body"),
    )
}

#[tokio::test]
async fn injected_faults_are_rendered_as_the_api_answers() {
    let shared = Shared::new(SandboxConfig::default());
    let emu = Mypreferences::new(shared.clone());
    shared.set_faults(FaultConfig {
        retry_after_secs: Some(7),
        ..FaultConfig::default()
    });
    let (status, _, retry, body) = render(&emu, InjectedFault::Status(503)).await;
    assert_eq!((status, retry.as_deref()), (503, Some("7")));
    assert!(
        body["Message"]
            .as_str()
            .is_some_and(|m| m.contains("temporar")),
        "{body}"
    );
    let (status, challenge, _, body) = render(&emu, InjectedFault::Status(401)).await;
    assert_eq!(status, 401);
    assert!(challenge.is_some_and(|c| c.starts_with("PNAUTHINFO3 realm=")));
    assert!(body["Message"].is_string());
    let (status, _, retry, _) = render(&emu, InjectedFault::VendorCode("429".into())).await;
    assert_eq!((status, retry.as_deref()), (429, Some("7")));
    // Paths differing only in case are routed as the configured ones (ASP.NET-style) [I].
    let rewritten = emu.rewrite_path("/profiles/v4/sandbox/bulkimport/42/EXECUTE");
    assert_eq!(
        rewritten.as_deref(),
        Some("/Profiles/v4/sandbox/BulkImport/42/Execute")
    );
    let (status, _, _, body) =
        render(&emu, InjectedFault::VendorCode("QuotaExceeded".into())).await;
    assert_eq!(
        (status, body["Message"].as_str()),
        (500, Some("QuotaExceeded"))
    );
}

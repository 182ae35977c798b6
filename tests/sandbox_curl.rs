//! A plain curl session per API (issue 3, "Done when"): the sandbox runs in-process on
//! 127.0.0.1:0 and the real `/usr/bin/curl` walks each API's main flow the way the notes and
//! the README show it, with curl's own multipart, Basic auth and form encoding. The JSON
//! answers are checked, then what landed is checked through `/_sandbox` inspection.
//!
//! curl is required (CI has it): without it the tests fail, saying so.

// Test helpers panic on purpose: a failed request or unexpected body is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::time::Duration;

use bulkspec::sandbox::core::SandboxConfig;
use bulkspec::sandbox::{RunningSandbox, SandboxOptions, start};
use serde_json::{Value, json};

const CURL: &str = "/usr/bin/curl";

async fn sandbox() -> RunningSandbox {
    assert!(
        Path::new(CURL).exists(),
        "{CURL} not found: these tests run the real curl binary; install curl"
    );
    let config = SandboxConfig {
        processing_time: Duration::from_millis(20),
        ..SandboxConfig::default()
    };
    start(SandboxOptions {
        config,
        ..SandboxOptions::default()
    })
    .await
    .expect("sandbox starts")
}

/// Runs curl with `args` (plus `-s` and no proxy) and returns the HTTP status and the body,
/// parsed as JSON when it is JSON, else as a string.
async fn curl(args: &[&str]) -> (u16, Value) {
    let mut cmd = std::process::Command::new(CURL);
    cmd.args(["-s", "--noproxy", "*", "-w", "\n%{http_code}"])
        .args(args);
    let output = tokio::task::spawn_blocking(move || cmd.output())
        .await
        .expect("curl task")
        .unwrap_or_else(|e| panic!("cannot run {CURL}: {e}"));
    assert!(output.status.success(), "curl {args:?} failed: {output:?}");
    let text = String::from_utf8(output.stdout).expect("utf-8 answer");
    let (body, code) = text.rsplit_once('\n').expect("status line");
    let status = code.trim().parse().expect("HTTP status");
    let body = serde_json::from_str(body).unwrap_or_else(|_| Value::String(body.to_owned()));
    (status, body)
}

/// Polls `args` until `done` holds for the answer; returns that answer.
async fn poll(args: &[&str], done: impl Fn(&Value) -> bool) -> Value {
    for _ in 0..200 {
        let (status, body) = curl(args).await;
        assert_eq!(status, 200, "{body}");
        if done(&body) {
            return body;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("{args:?} never finished");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn marketo_token_program_member_import_status_and_failures() {
    let sb = sandbox().await;
    let s = sb.base_url();
    let (status, token) = curl(&[&format!(
        "{s}/marketo/identity/oauth/token?grant_type=client_credentials&client_id=sandbox&client_secret=sandbox"
    )])
    .await;
    assert_eq!(status, 200, "{token}");
    assert_eq!(token["token_type"], "bearer");
    let bearer = format!(
        "Authorization: Bearer {}",
        token["access_token"].as_str().unwrap()
    );

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("members.csv");
    std::fs::write(
        &file,
        "email,firstName,lastName\nana@example.org,Ana,Silva\n,No,Email\nbo@example.org,Bo,Li\n",
    )
    .unwrap();
    let (status, created) = curl(&[
        "-H",
        &bearer,
        "-F",
        &format!("file=@{}", file.display()),
        &format!("{s}/marketo/bulk/v1/program/1040/members/import.json?format=csv&programMemberStatus=Registered"),
    ])
    .await;
    assert_eq!(status, 200, "{created}");
    assert_eq!(created["success"], true, "{created}");
    assert_eq!(created["result"][0]["status"], "Queued");
    let batch = created["result"][0]["batchId"].as_i64().unwrap();

    let base = format!("{s}/marketo/bulk/v1/program/members/import/{batch}");
    let done = poll(&["-H", &bearer, &format!("{base}/status.json")], |b| {
        b["result"][0]["status"] == "Complete"
    })
    .await;
    let result = &done["result"][0];
    assert_eq!(
        (&result["numOfLeadsProcessed"], &result["numOfRowsFailed"]),
        (&json!(2), &json!(1)),
        "{done}"
    );
    let (status, failures) = curl(&["-H", &bearer, &format!("{base}/failures.json")]).await;
    assert_eq!(status, 200);
    let failures = failures.as_str().unwrap();
    assert!(
        failures.starts_with("email,firstName,lastName,Import Failure Reason\n"),
        "{failures}"
    );
    assert!(
        failures.contains(",No,Email,Email address is required"),
        "{failures}"
    );

    let (_, members) = curl(&[&format!("{s}/_sandbox/marketo/programs/1040/members")]).await;
    let mut emails: Vec<&str> = members
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["email"].as_str().unwrap())
        .collect();
    emails.sort_unstable();
    assert_eq!(emails, ["ana@example.org", "bo@example.org"]);
    sb.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eloqua_discovery_definition_upload_sync_and_rejects_as_in_the_readme() {
    let sb = sandbox().await;
    let s = sb.base_url();
    let auth = ["-u", "Sandbox\\sandbox:sandbox"];
    let json_type = ["-H", "Content-Type: application/json"];
    let bulk = format!("{s}/eloqua/api/bulk/2.0");

    let (status, id) = curl(&[&auth[..], &[&format!("{s}/eloqua/id")]].concat()).await;
    assert_eq!(status, 200, "{id}");
    let bulk_url = id["urls"]["apis"]["rest"]["bulk"].as_str().unwrap();
    assert!(bulk_url.starts_with(&s), "{bulk_url}");

    let definition = json!({"name": "links",
        "fields": {"OpportunityID": "{{Opportunity.Id}}", "EmailAddress": "{{Opportunity.Contact.Field(C_EmailAddress)}}"},
        "linkOpportunitiesEntityType": "Contact", "linkOpportunitiesMatchFieldName": "OpportunityID",
        "linkOpportunitiesSourceField": "EmailAddress"})
    .to_string();
    let url = format!("{bulk}/opportunities/contacts/imports");
    let (status, def) =
        curl(&[&auth[..], &json_type, &[url.as_str(), "-d", &definition]].concat()).await;
    assert_eq!(status, 201, "{def}");
    assert_eq!(
        def["uri"], "/opportunities/contacts/imports/1",
        "the README's uri"
    );

    let rows = r#"[{"OpportunityID": "OPP-1", "EmailAddress": "ana@example.org"},
                   {"OpportunityID": "OPP-1", "EmailAddress": ""}]"#;
    let url = format!("{bulk}/opportunities/contacts/imports/1/data");
    let (status, _) = curl(&[&auth[..], &json_type, &[url.as_str(), "-d", rows]].concat()).await;
    assert_eq!(status, 204);

    let sync = r#"{"syncedInstanceUri": "/opportunities/contacts/imports/1"}"#;
    let url = format!("{bulk}/syncs");
    let (status, created) =
        curl(&[&auth[..], &json_type, &[url.as_str(), "-d", sync]].concat()).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(
        (created["uri"].as_str(), created["status"].as_str()),
        (Some("/syncs/1"), Some("pending"))
    );
    let url = format!("{bulk}/syncs/1");
    let done = poll(&[&auth[..], &[url.as_str()]].concat(), |b| {
        !matches!(b["status"].as_str(), Some("pending" | "active"))
    })
    .await;
    assert_eq!(
        done["status"], "warning",
        "one row linked, one rejected: {done}"
    );

    let url = format!("{bulk}/syncs/1/rejects?limit=10");
    let (status, rejects) = curl(&[&auth[..], &[url.as_str()]].concat()).await;
    assert_eq!(status, 200, "{rejects}");
    assert_eq!(rejects["totalResults"], 1, "{rejects}");
    assert_eq!(rejects["hasMore"], false);
    assert_eq!(rejects["items"][0]["recordIndex"], 2, "{rejects}");

    let (status, linked) =
        curl(&[&format!("{s}/_sandbox/eloqua/opportunities/OPP-1/contacts")]).await;
    assert_eq!(status, 200, "{linked}");
    let linked = linked.as_array().unwrap();
    assert_eq!(linked.len(), 1, "{linked:?}");
    assert_eq!(linked[0]["emailAddress"], "ana@example.org");
    sb.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dotdigital_basic_auth_import_status_and_report() {
    let sb = sandbox().await;
    let s = sb.base_url();
    let auth = ["-u", "sandbox:sandbox"];
    let url = format!("{s}/dotdigital/v2/contacts/transactional-data/import/orders");
    let records = r#"[{"key": "o1", "contactIdentifier": "ana@example.org", "json": {"total": 9.5}},
                      {"key": "", "contactIdentifier": "ana@example.org", "json": {"total": 1}}]"#;
    let json_type = ["-H", "Content-Type: application/json"];
    let (status, created) =
        curl(&[&auth[..], &json_type, &[url.as_str(), "-d", records]].concat()).await;
    assert_eq!(status, 202, "{created}");
    assert_eq!(created["status"], "NotStarted");
    let id = created["id"].as_str().unwrap();

    let url = format!("{s}/dotdigital/v2/contacts/transactional-data/import/{id}");
    let done = poll(&[&auth[..], &[url.as_str()]].concat(), |b| {
        b["status"] == "Finished"
    })
    .await;
    assert_eq!(done["id"], id);
    let url = format!("{url}/report");
    let (status, report) = curl(&[&auth[..], &[url.as_str()]].concat()).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(
        (
            &report["totalItems"],
            &report["totalImported"],
            &report["totalRejected"]
        ),
        (&json!(2), &json!(1), &json!(1)),
        "{report}"
    );
    assert_eq!(report["faults"][0]["key"], "", "{report}");

    let (_, stored) = curl(&[&format!("{s}/_sandbox/dotdigital/collections/orders")]).await;
    assert_eq!(stored.as_array().map(Vec::len), Some(1), "{stored}");
    assert_eq!(stored[0]["key"], "o1");
    assert_eq!(stored[0]["contactIdentifier"], "ana@example.org");
    assert_eq!(stored[0]["json"]["total"], 9.5);
    sb.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mypreferences_token_initiate_stage_execute_status_and_exceptions() {
    let sb = sandbox().await;
    let s = sb.base_url();
    // One existing profile, so a record claiming its ERP id is an execution exception.
    let seed = json!({"mypreferences": {"alternate_id_types": ["CRM", "ERP"], "profiles": [
        {"ProfileId": 1, "AlternateIds": [{"AlternateIdType": "CRM", "AlternateId": "C1"},
                                          {"AlternateIdType": "ERP", "AlternateId": "E1"}]}]}})
    .to_string();
    let json_type = ["-H", "Content-Type: application/json"];
    let url = format!("{s}/_sandbox/seed");
    let (status, body) = curl(&[&json_type[..], &[url.as_str(), "-d", &seed]].concat()).await;
    assert_eq!(status, 200, "{body}");

    let url = format!("{s}/mypreferences/oauth/token");
    let (status, token) = curl(&[
        "-u",
        "sandbox:sandbox",
        "-d",
        "grant_type=client_credentials",
        "-d",
        "scope=sandbox/sandbox",
        &url,
    ])
    .await;
    assert_eq!(status, 200, "{token}");
    assert_eq!(token["token_type"], "Bearer");
    let bearer = format!(
        "Authorization: Bearer {}",
        token["access_token"].as_str().unwrap()
    );
    let with_auth = |url: String, body: Option<&str>| -> Vec<String> {
        let mut args = vec![
            "-H".into(),
            bearer.clone(),
            "-H".into(),
            json_type[1].into(),
        ];
        if let Some(body) = body {
            args.extend(["-d".into(), body.into()]);
        }
        args.push(url);
        args
    };
    let call = |args: Vec<String>| async move {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        curl(&args).await
    };

    let import = format!("{s}/mypreferences/Profiles/v4/sandbox/BulkImport");
    let settings = r#"{"Name": "curl", "ImportAction": "Add", "MatchCriteria": "AlternateIdType", "MatchValue": "CRM"}"#;
    let (status, initiated) = call(with_auth(import.clone(), Some(settings))).await;
    assert_eq!(status, 200, "{initiated}");
    assert_eq!(initiated["Status"], "Initiated");
    let token = initiated["AccessToken"].as_u64().unwrap();

    let records = r#"{"UserProfilePreferences": [
        {"AlternateIds": [{"AlternateIdType": "CRM", "AlternateId": "C2"}],
         "Emails": [{"EmailAddress": "ana@example.org", "EmailAddressType": "Personal", "IsDefault": true}]},
        {"AlternateIds": [{"AlternateIdType": "CRM", "AlternateId": "C3"},
                          {"AlternateIdType": "ERP", "AlternateId": "E1"}]}]}"#;
    let (status, staged) = call(with_auth(format!("{import}/{token}/Stage"), Some(records))).await;
    assert_eq!(status, 200, "{staged}");
    assert_eq!(staged["TotalRecordsReceived"], 2, "{staged}");
    let execute = with_auth(format!("{import}/{token}/Execute"), None);
    let (status, executed) =
        call([&["-X".to_owned(), "POST".to_owned()][..], &execute].concat()).await;
    assert_eq!(status, 200, "{executed}");

    let status_args = with_auth(format!("{import}/{token}/Status"), None);
    let args: Vec<&str> = status_args.iter().map(String::as_str).collect();
    let done = poll(&args, |b| {
        matches!(b["Status"].as_str(), Some("Completed" | "Failed"))
    })
    .await;
    assert_eq!(done["Status"], "Completed", "{done}");
    assert_eq!(
        (&done["Processed"], &done["Exceptions"], &done["Pending"]),
        (&json!(1), &json!(1), &json!(0)),
        "{done}"
    );
    let url = format!("{import}/{token}/Exceptions?limit=100&offset=1");
    let (status, page) = call(with_auth(url, None)).await;
    assert_eq!(status, 200, "{page}");
    let item = &page["UserProfilePreferences"][0];
    assert_eq!(
        item["Exceptions"][0]["Code"], "AlternateIdNotUnique",
        "{page}"
    );

    let (_, profiles) = curl(&[&format!("{s}/_sandbox/mypreferences/profiles")]).await;
    let profiles = profiles.as_array().unwrap();
    assert_eq!(profiles.len(), 2, "the seeded profile and C2: {profiles:?}");
    let created = profiles
        .iter()
        .find(|p| p["AlternateIds"][0]["AlternateId"] == "C2")
        .expect("profile C2");
    assert_eq!(created["Emails"][0]["EmailAddress"], "ana@example.org");
    sb.shutdown().await.unwrap();
}

//! The Marketo emulator over real HTTP, item by item of marketo.md §14, with the import answers
//! validated against the vendor's Swagger document.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use bulkspec::sandbox::RunningSandbox;
use common::{assert_schema, close_definitions, relax_required, swagger_schema};
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};

const LEAD_DB: &str = "marketo-lead-database.swagger.json";

/// A sandbox plus a client holding a valid token.
struct Mk {
    sb: RunningSandbox,
    http: reqwest::Client,
    token: String,
}

impl Mk {
    async fn start(processing_ms: u64) -> Self {
        let sb = common::start_sandbox(processing_ms).await;
        let http = common::client();
        let mut mk = Mk {
            sb,
            http,
            token: String::new(),
        };
        mk.token = mk.new_token().await;
        mk
    }

    async fn seeded(processing_ms: u64, seed: Value) -> Self {
        let mk = Mk::start(processing_ms).await;
        common::control(&mk.sb, "/_sandbox/seed", seed).await;
        mk
    }

    fn url(&self, path: &str) -> String {
        format!("{}/marketo{path}", self.sb.base_url())
    }

    async fn new_token(&self) -> String {
        let body = self
            .identity("grant_type=client_credentials&client_id=sandbox&client_secret=sandbox")
            .await;
        body["access_token"].as_str().expect("token").to_owned()
    }

    async fn identity(&self, query: &str) -> Value {
        let resp = self
            .http
            .get(self.url(&format!("/identity/oauth/token?{query}")))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        resp.json().await.unwrap()
    }

    async fn get(&self, path: &str) -> Value {
        let resp = self
            .http
            .get(self.url(path))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "{path}");
        resp.json().await.unwrap()
    }

    /// A failures/warnings file: (content type, body).
    async fn file(&self, path: &str) -> (String, String) {
        let resp = self
            .http
            .get(self.url(path))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "{path}");
        let ct = resp
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        (ct, resp.text().await.unwrap())
    }

    async fn post_form(&self, path: &str, form: Form) -> reqwest::Response {
        self.http
            .post(self.url(path))
            .bearer_auth(&self.token)
            .multipart(form)
            .send()
            .await
            .unwrap()
    }

    async fn import_members(&self, program: u64, status: &str, format: &str, file: &str) -> Value {
        let path = format!(
            "/bulk/v1/program/{program}/members/import.json?format={format}&programMemberStatus={}",
            status.replace(' ', "%20")
        );
        let resp = self.post_form(&path, file_form(file)).await;
        assert_eq!(resp.status(), 200);
        resp.json().await.unwrap()
    }

    async fn import_leads(&self, query: &str, file: &str) -> Value {
        let resp = self
            .post_form(&format!("/bulk/v1/leads.json?{query}"), file_form(file))
            .await;
        assert_eq!(resp.status(), 200);
        resp.json().await.unwrap()
    }

    /// Polls a status path until the batch is Complete or Failed; returns `result[0]`.
    async fn wait(&self, path: &str) -> Value {
        for _ in 0..400 {
            let body = self.get(path).await;
            let status = body["result"][0]["status"]
                .as_str()
                .unwrap_or("")
                .to_owned();
            if status == "Complete" || status == "Failed" {
                return body["result"][0].clone();
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("batch at {path} never finished");
    }

    async fn status_of(&self, id: i64) -> String {
        self.get(&member_status_path(id)).await["result"][0]["status"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    async fn statuses_of(&self, ids: &[i64]) -> Vec<String> {
        let mut out = vec![];
        for id in ids {
            out.push(self.status_of(*id).await);
        }
        out
    }

    async fn members(&self, program: u64) -> Vec<Value> {
        common::get_json(
            &self.sb,
            &format!("/_sandbox/marketo/programs/{program}/members"),
        )
        .await
        .as_array()
        .unwrap()
        .clone()
    }

    /// Moves the sandbox clock, then renews the token (it may have expired).
    async fn advance_clock(&mut self, secs: u64) {
        common::control(&self.sb, "/_sandbox/clock", json!({"advance_secs": secs})).await;
        self.token = self.new_token().await;
    }
}

fn file_form(file: &str) -> Form {
    let part = Part::bytes(file.as_bytes().to_vec())
        .file_name("import.csv")
        .mime_str("text/csv")
        .unwrap();
    Form::new().part("file", part)
}

fn member_status_path(id: i64) -> String {
    format!("/bulk/v1/program/members/import/{id}/status.json")
}

fn error_code(body: &Value) -> (&str, &str) {
    assert_eq!(body["success"], false, "{body}");
    (
        body["errors"][0]["code"].as_str().unwrap(),
        body["errors"][0]["message"].as_str().unwrap(),
    )
}

/// The program-member answer schema. The notes (§4) document that empty `errors`/`warnings`
/// and, on errors, `result` are omitted although the spec marks them required; the status
/// object carries the counters the documentation shows but the schema lacks (§7.1).
fn member_schema(with_counters: bool) -> Value {
    let mut s = swagger_schema(LEAD_DB, "ResponseOfImportProgramMemberResponse");
    relax_required(
        &mut s,
        "ResponseOfImportProgramMemberResponse",
        &["errors", "warnings", "result"],
    );
    if with_counters {
        let counters = s["definitions"]["ImportLeadResponse"]["properties"].clone();
        for k in [
            "numOfLeadsProcessed",
            "numOfRowsFailed",
            "numOfRowsWithWarning",
            "message",
        ] {
            s["definitions"]["ImportProgramMemberResponse"]["properties"][k] = counters[k].clone();
        }
    }
    close_definitions(
        &mut s,
        &[
            "ResponseOfImportProgramMemberResponse",
            "ImportProgramMemberResponse",
            "Error",
            "Warning",
        ],
    );
    s
}

fn lead_schema() -> Value {
    let mut s = swagger_schema(LEAD_DB, "ResponseOfImportLeadResponse");
    relax_required(
        &mut s,
        "ResponseOfImportLeadResponse",
        &["errors", "warnings", "result"],
    );
    close_definitions(
        &mut s,
        &[
            "ResponseOfImportLeadResponse",
            "ImportLeadResponse",
            "Error",
            "Warning",
        ],
    );
    s
}

fn seed_program(id: u64) -> Value {
    json!({"marketo": {"programs": [{"id": id, "statuses": ["On List", "Registered", "Attended"]}]}})
}

// ---------------------------------------------------------------- identity (§14.1-3)

#[tokio::test]
async fn identity_issues_one_token_until_it_expires() {
    let mut mk = Mk::start(20).await;
    let schema = swagger_schema("marketo-identity.swagger.json", "ResponseOfIdentity");
    let first = mk
        .identity("grant_type=client_credentials&client_id=sandbox&client_secret=sandbox")
        .await;
    assert_schema(&schema, &first);
    assert_eq!(first["token_type"], "bearer");
    assert!(
        first["expires_in"].as_u64().unwrap() >= 3598
            && first["expires_in"].as_u64().unwrap() <= 3599
    );
    let token = first["access_token"].as_str().unwrap();
    let (uuid, suffix) = token.split_once(':').unwrap();
    assert_eq!(uuid.len(), 36, "{token}");
    assert!(!suffix.is_empty());
    // POST with form fields gives the same token.
    let resp = mk
        .http
        .post(mk.url("/identity/oauth/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "sandbox"),
            ("client_secret", "sandbox"),
        ])
        .send()
        .await
        .unwrap();
    let second: Value = resp.json().await.unwrap();
    assert_eq!(second["access_token"], first["access_token"]);
    // Past expiry a new one is minted.
    mk.advance_clock(3601).await;
    let third = mk
        .identity("grant_type=client_credentials&client_id=sandbox&client_secret=sandbox")
        .await;
    assert_ne!(third["access_token"], first["access_token"]);
}

#[tokio::test]
async fn identity_refuses_bad_credentials_and_grants() {
    let mk = Mk::start(20).await;
    let get = |q: &'static str| {
        mk.http
            .get(mk.url(&format!("/identity/oauth/token?{q}")))
            .send()
    };
    let resp = get("grant_type=client_credentials&client_id=sandbox&client_secret=nope")
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    assert_eq!(
        resp.json::<Value>().await.unwrap(),
        json!({"error": "invalid_client", "error_description": "Bad client credentials"})
    );
    let resp = get("grant_type=client_credentials&client_id=who&client_secret=sandbox")
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    let resp = get("client_id=sandbox&client_secret=sandbox")
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    assert_eq!(
        resp.json::<Value>().await.unwrap()["error"],
        "invalid_request"
    );
    let resp = get("grant_type=password&client_id=sandbox&client_secret=sandbox")
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    assert_eq!(
        resp.json::<Value>().await.unwrap()["error"],
        "unsupported_grant_type"
    );
}

#[tokio::test]
async fn seeded_clients_and_token_lifetime_fault() {
    let mut mk = Mk::seeded(
        20,
        json!({"marketo": {"clients": [{"id": "ci", "secret": "cs", "scope": "ci@example.com"}]}}),
    )
    .await;
    common::control(
        &mk.sb,
        "/_sandbox/faults",
        json!({"token_lifetime_secs": 5}),
    )
    .await;
    let body = mk
        .identity("grant_type=client_credentials&client_id=ci&client_secret=cs")
        .await;
    assert_eq!(body["scope"], "ci@example.com");
    assert_eq!(body["expires_in"], 4);
    let token = body["access_token"].as_str().unwrap().to_owned();
    let ok = mk
        .http
        .get(mk.url("/rest/v1/leads/describe.json"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.json::<Value>().await.unwrap()["success"], true);
    mk.advance_clock(6).await;
    let expired = mk
        .http
        .get(mk.url("/rest/v1/leads/describe.json"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(expired.status(), 200);
    let body: Value = expired.json().await.unwrap();
    assert_eq!(error_code(&body), ("602", "Access token expired"));
}

// ---------------------------------------------------------------- auth and envelope (§14.4-6)

#[tokio::test]
async fn missing_unknown_and_query_tokens() {
    let mk = Mk::start(20).await;
    let path = "/rest/v1/leads/describe.json";
    let body: Value = mk
        .http
        .get(mk.url(path))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(error_code(&body), ("601", "Access token invalid"));
    let re = regex_like_request_id(body["requestId"].as_str().unwrap());
    assert!(re, "{body}");
    assert!(
        body.get("result").is_none() && body.get("warnings").is_none(),
        "{body}"
    );
    let body: Value = mk
        .http
        .get(mk.url(path))
        .bearer_auth("nope:ab")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(error_code(&body).0, "601");
    // The deprecated query parameter is refused unless switched on.
    let with_param = format!("{path}?access_token={}", mk.token);
    let body: Value = mk
        .http
        .get(mk.url(&with_param))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(error_code(&body).0, "601");
    common::control(
        &mk.sb,
        "/_sandbox/seed",
        json!({"marketo": {"settings": {"access_token_param": true, "missing_token_600": true}}}),
    )
    .await;
    let body: Value = mk
        .http
        .get(mk.url(&with_param))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["success"], true, "{body}");
    let body: Value = mk
        .http
        .get(mk.url(path))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(error_code(&body).0, "600");
}

fn regex_like_request_id(id: &str) -> bool {
    let Some((a, b)) = id.split_once('#') else {
        return false;
    };
    !a.is_empty() && !b.is_empty() && a.chars().chain(b.chars()).all(|c| c.is_ascii_hexdigit())
}

#[tokio::test]
async fn unknown_paths_and_methods() {
    let mk = Mk::start(20).await;
    let body = mk.get("/bulk/v1/nothing.json").await;
    assert_eq!(error_code(&body).0, "610");
    let body: Value = mk
        .http
        .delete(mk.url("/bulk/v1/leads.json"))
        .bearer_auth(&mk.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(error_code(&body).0, "605");
}

// ---------------------------------------------------------------- program member import (§14.7-16)

#[tokio::test]
async fn program_member_import_end_to_end() {
    let mk = Mk::seeded(20, seed_program(1040)).await;
    let file = "email,firstName,lastName,company,leadScore\nann@example.org,Ann,Lee,Acme,10\nbo@example.org,Bo,Ek,Beta,not-a-number\n,No,Mail,Gone,1\nbad-email,Cy,Do,Corp,3\n";
    let created = mk.import_members(1040, "Registered", "csv", file).await;
    assert_schema(&member_schema(false), &created);
    let batch = &created["result"][0];
    assert_eq!(batch["status"], "Queued");
    let id = batch["batchId"].as_i64().unwrap();
    assert_eq!(batch["importId"], id.to_string());
    let done = mk.wait(&member_status_path(id)).await;
    assert_schema(
        &member_schema(true),
        &json!({"requestId": "a#b", "success": true, "result": [done.clone()]}),
    );
    assert_eq!(done["status"], "Complete");
    assert_eq!(done["numOfLeadsProcessed"], 2);
    assert_eq!(done["numOfRowsFailed"], 2);
    assert_eq!(done["numOfRowsWithWarning"], 1);
    assert_eq!(
        done["message"],
        "Import completed with errors, 2 records imported (2 members), 2 failed, 1 warning."
    );
    let (ct, failures) = mk
        .file(&format!(
            "/bulk/v1/program/members/import/{id}/failures.json"
        ))
        .await;
    assert!(ct.starts_with("text/csv"), "{ct}");
    assert_eq!(
        failures,
        "email,firstName,lastName,company,leadScore,Import Failure Reason\n\
         bo@example.org,Bo,Ek,Beta,not-a-number,Invalid data type in field Lead Score\n\
         ,No,Mail,Gone,1,Email address is required\n"
    );
    let (_, warnings) = mk
        .file(&format!(
            "/bulk/v1/program/members/import/{id}/warnings.json"
        ))
        .await;
    assert_eq!(
        warnings,
        "email,firstName,lastName,company,leadScore,Import Warning Reason\nbad-email,Cy,Do,Corp,3,Invalid email address\n"
    );
    let members = mk.members(1040).await;
    assert_eq!(members.len(), 2);
    let ann = members
        .iter()
        .find(|m| m["email"] == "ann@example.org")
        .unwrap();
    assert_eq!(ann["status"], "Registered");
    assert_eq!(ann["fields"]["company"], "Acme");
    assert!(ann["leadId"].as_u64().is_some());
}

#[tokio::test]
async fn params_as_form_fields_and_formats() {
    let mk = Mk::seeded(0, seed_program(7)).await;
    // Parameters as multipart fields, format in upper case, semicolons.
    let form = file_form("email;firstName\nann@example.org;Ann\nx@y.org;\n")
        .text("format", "SSV")
        .text("programMemberStatus", "On List");
    let body: Value = mk
        .post_form("/bulk/v1/program/7/members/import.json", form)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["success"], true, "{body}");
    let done = mk
        .wait(&member_status_path(
            body["result"][0]["batchId"].as_i64().unwrap(),
        ))
        .await;
    assert_eq!(
        done["message"],
        "Import succeeded, 2 records imported (2 members)"
    );
    // TSV: the failures file keeps the tab.
    let created = mk
        .import_members(
            7,
            "On List",
            "tsv",
            "email\tleadScore\nann@example.org\tx\n",
        )
        .await;
    let id = created["result"][0]["batchId"].as_i64().unwrap();
    mk.wait(&member_status_path(id)).await;
    let (ct, failures) = mk
        .file(&format!(
            "/bulk/v1/program/members/import/{id}/failures.json"
        ))
        .await;
    assert!(ct.starts_with("text/csv"));
    assert_eq!(
        failures,
        "email\tleadScore\tImport Failure Reason\nann@example.org\tx\tInvalid data type in field Lead Score\n"
    );
    let (_, warnings) = mk
        .file(&format!(
            "/bulk/v1/program/members/import/{id}/warnings.json"
        ))
        .await;
    assert_eq!(warnings, "", "nothing to report gives an empty body");
}

#[tokio::test]
async fn import_parameter_errors() {
    let mk = Mk::seeded(20, seed_program(1)).await;
    let path = "/bulk/v1/program/1/members/import.json";
    let schema = member_schema(false);
    // Not multipart: 613.
    let resp = mk
        .http
        .post(mk.url(&format!("{path}?format=csv&programMemberStatus=On%20List")))
        .bearer_auth(&mk.token)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    let body: Value = resp.json().await.unwrap();
    assert_schema(&schema, &body);
    assert_eq!(error_code(&body).0, "613");
    // Multipart without a file: 701.
    let form = Form::new()
        .text("format", "csv")
        .text("programMemberStatus", "On List");
    let body: Value = mk.post_form(path, form).await.json().await.unwrap();
    assert_eq!(error_code(&body), ("701", "file cannot be blank"));
    // Missing format, missing status, unknown format.
    let body: Value = mk
        .post_form(
            &format!("{path}?programMemberStatus=On%20List"),
            file_form("email\n"),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(error_code(&body), ("701", "format cannot be blank"));
    let body: Value = mk
        .post_form(&format!("{path}?format=csv"), file_form("email\n"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        error_code(&body),
        ("701", "programMemberStatus cannot be blank")
    );
    let body = mk.import_members(1, "On List", "xls", "email\n").await;
    assert_eq!(error_code(&body).0, "1003");
    let body = mk.import_members(1, "Bogus", "csv", "email\n").await;
    assert_schema(&schema, &body);
    assert_eq!(error_code(&body), ("1025", "Program status not found"));
}

#[tokio::test]
async fn upload_of_ten_megabytes_is_refused_with_413() {
    let mk = Mk::seeded(20, seed_program(1)).await;
    let mut file = String::from("email,firstName\n");
    while file.len() < 10 * 1024 * 1024 {
        file.push_str("someone.with.a.long.address@example.org,Firstname\n");
    }
    let resp = mk
        .post_form(
            "/bulk/v1/program/1/members/import.json?format=csv&programMemberStatus=On%20List",
            file_form(&file),
        )
        .await;
    assert_eq!(resp.status(), 413);
    // Just under the limit is accepted.
    file.truncate(9 * 1024 * 1024);
    let cut = file.rfind('\n').unwrap();
    file.truncate(cut + 1);
    let body = mk.import_members(1, "On List", "csv", &file).await;
    assert_eq!(body["success"], true);
}

#[tokio::test]
async fn strict_and_lenient_programs() {
    let mk = Mk::start(0).await;
    // Lenient: an unknown program is created with the given status.
    let body = mk
        .import_members(555, "Attended", "csv", "email\nann@example.org\n")
        .await;
    mk.wait(&member_status_path(
        body["result"][0]["batchId"].as_i64().unwrap(),
    ))
    .await;
    assert_eq!(mk.members(555).await[0]["status"], "Attended");
    common::control(&mk.sb, "/_sandbox/seed", json!({"strict": true})).await;
    let body = mk
        .import_members(556, "Attended", "csv", "email\nann@example.org\n")
        .await;
    assert_eq!(error_code(&body), ("1013", "Object not found"));
}

#[tokio::test]
async fn status_progression_is_one_way() {
    let mk = Mk::seeded(0, seed_program(9)).await;
    for (status, expected) in [
        ("Registered", "Registered"),
        ("On List", "Registered"),
        ("Attended", "Attended"),
    ] {
        let body = mk
            .import_members(9, status, "csv", "email\nann@example.org\n")
            .await;
        let done = mk
            .wait(&member_status_path(
                body["result"][0]["batchId"].as_i64().unwrap(),
            ))
            .await;
        assert_eq!(
            done["numOfLeadsProcessed"], 1,
            "the row still counts as processed"
        );
        assert_eq!(mk.members(9).await[0]["status"], expected);
    }
}

#[tokio::test]
async fn malformed_files_fail_the_whole_batch() {
    let mk = Mk::seeded(0, seed_program(3)).await;
    let cases = [
        ("email,shoeSize\nann@example.org,42\n", "shoeSize"),
        ("email,firstName\nann@example.org,Ann,extra\n", "line 2"),
    ];
    for (file, needle) in cases {
        let body = mk.import_members(3, "On List", "csv", file).await;
        let done = mk
            .wait(&member_status_path(
                body["result"][0]["batchId"].as_i64().unwrap(),
            ))
            .await;
        assert_eq!(done["status"], "Failed");
        assert!(done["message"].as_str().unwrap().contains(needle), "{done}");
        assert_eq!(done["numOfLeadsProcessed"], 0);
        assert_eq!(done["numOfRowsFailed"], 0);
    }
    // A forced failure through the seed's settings.
    common::control(
        &mk.sb,
        "/_sandbox/seed",
        json!({"marketo": {"settings": {"fail_batches": 1}}}),
    )
    .await;
    let body = mk
        .import_members(3, "On List", "csv", "email\nann@example.org\n")
        .await;
    let done = mk
        .wait(&member_status_path(
            body["result"][0]["batchId"].as_i64().unwrap(),
        ))
        .await;
    assert_eq!(done["status"], "Failed");
    assert!(mk.members(3).await.is_empty());
}

// ---------------------------------------------------------------- queue and batches (§14.9-10)

#[tokio::test]
async fn queue_holds_ten_and_runs_two_in_manual_mode() {
    let mk = Mk::seeded(0, json!({"marketo": {"programs": [{"id": 1, "statuses": ["On List"]}], "settings": {"advance_on_polls": 1}}})).await;
    let mut ids = vec![];
    for _ in 0..10 {
        let body = mk
            .import_members(1, "On List", "csv", "email\nann@example.org\n")
            .await;
        ids.push(body["result"][0]["batchId"].as_i64().unwrap());
    }
    assert!(
        ids.windows(2).all(|w| w[1] == w[0] + 1),
        "batch ids increase: {ids:?}"
    );
    let body = mk
        .import_members(1, "On List", "csv", "email\nann@example.org\n")
        .await;
    assert_eq!(error_code(&body), ("1016", "Too many imports"));
    // Files are empty while the batch is not finished.
    let (_, failures) = mk
        .file(&format!(
            "/bulk/v1/program/members/import/{}/failures.json",
            ids[0]
        ))
        .await;
    assert_eq!(failures, "");
    // One poll per step: two batches may import at once, the third waits.
    assert_eq!(mk.status_of(ids[0]).await, "Importing");
    assert_eq!(mk.status_of(ids[1]).await, "Importing");
    assert_eq!(mk.status_of(ids[2]).await, "Queued");
    assert_eq!(mk.status_of(ids[0]).await, "Complete");
    assert_eq!(mk.status_of(ids[2]).await, "Importing");
    // A slot is free again: an eleventh import is accepted.
    let body = mk
        .import_members(1, "On List", "csv", "email\nann@example.org\n")
        .await;
    assert_eq!(body["success"], true);
}

#[tokio::test]
async fn batches_move_on_the_clock_fifo() {
    let mut mk = Mk::seeded(10_000, seed_program(1)).await;
    let mut ids = vec![];
    for _ in 0..3 {
        let body = mk
            .import_members(1, "On List", "csv", "email\nann@example.org\n")
            .await;
        ids.push(body["result"][0]["batchId"].as_i64().unwrap());
    }
    assert_eq!(mk.statuses_of(&ids).await, ["Queued", "Queued", "Queued"]);
    mk.advance_clock(5).await;
    assert_eq!(
        mk.statuses_of(&ids).await,
        ["Importing", "Importing", "Queued"]
    );
    mk.advance_clock(5).await;
    assert_eq!(
        mk.statuses_of(&ids).await,
        ["Complete", "Complete", "Importing"]
    );
    mk.advance_clock(5).await;
    assert_eq!(
        mk.statuses_of(&ids).await,
        ["Complete", "Complete", "Complete"]
    );
}

#[tokio::test]
async fn unknown_other_type_and_expired_batches_give_1013() {
    let mut mk = Mk::seeded(0, seed_program(1)).await;
    let body = mk.get(&member_status_path(999_999)).await;
    assert_schema(&member_schema(false), &body);
    assert_eq!(error_code(&body), ("1013", "Object not found"));
    let body = mk
        .get("/bulk/v1/program/members/import/abc/status.json")
        .await;
    assert_eq!(error_code(&body).0, "1001");
    let created = mk
        .import_members(1, "On List", "csv", "email\nann@example.org\n")
        .await;
    let id = created["result"][0]["batchId"].as_i64().unwrap();
    mk.wait(&member_status_path(id)).await;
    let body = mk.get(&format!("/bulk/v1/leads/batch/{id}.json")).await;
    assert_eq!(
        error_code(&body).0,
        "1013",
        "a program-member batch is not a lead batch"
    );
    mk.advance_clock(6 * 86_400).await;
    assert_eq!(mk.get(&member_status_path(id)).await["success"], true);
    mk.advance_clock(86_400 + 1).await;
    assert_eq!(error_code(&mk.get(&member_status_path(id)).await).0, "1013");
    let body = mk
        .get(&format!(
            "/bulk/v1/program/members/import/{id}/failures.json"
        ))
        .await;
    assert_eq!(error_code(&body).0, "1013");
}

// ---------------------------------------------------------------- lead import (§14.12)

#[tokio::test]
async fn lead_import_dedupes_on_email_and_joins_the_list() {
    let seed = json!({"marketo": {"leads": [{"id": 50, "email": "ann@example.org", "firstName": "Old"}], "lists": [{"id": 77}]}});
    let mk = Mk::seeded(0, seed).await;
    let created = mk.import_leads("format=csv&listId=77", "email,firstName,leadScore\nann@example.org,Ann,1\nnew@example.org,New,2\nbad@example.org,Bad,x\n").await;
    assert_schema(&lead_schema(), &created);
    let id = created["result"][0]["batchId"].as_i64().unwrap();
    let done = mk.wait(&format!("/bulk/v1/leads/batch/{id}.json")).await;
    assert_schema(
        &lead_schema(),
        &json!({"requestId": "a#b", "success": true, "result": [done.clone()]}),
    );
    assert_eq!(
        (
            done["numOfLeadsProcessed"].as_u64(),
            done["numOfRowsFailed"].as_u64()
        ),
        (Some(2), Some(1))
    );
    let leads = common::get_json(&mk.sb, "/_sandbox/marketo/leads").await;
    let leads = leads.as_array().unwrap();
    assert_eq!(leads.len(), 2);
    assert_eq!(leads[0]["id"], 50);
    assert_eq!(leads[0]["fields"]["firstName"], "Ann");
    let list = common::get_json(&mk.sb, "/_sandbox/marketo/lists/77/leads").await;
    assert_eq!(list.as_array().unwrap().len(), 2);
    let (_, failures) = mk
        .file(&format!("/bulk/v1/leads/batch/{id}/failures.json"))
        .await;
    assert_eq!(
        failures,
        "email,firstName,leadScore,Import Failure Reason\nbad@example.org,Bad,x,Invalid data type in field Lead Score\n"
    );
}

#[tokio::test]
async fn lead_import_lookup_fields() {
    let seed = json!({"marketo": {"leads": [
        {"id": 1, "email": "twin@example.org", "sfdcLeadId": "S1"},
        {"id": 2, "email": "twin@example.org"},
        {"id": 3, "email": "solo@example.org"}
    ]}});
    let mk = Mk::seeded(0, seed).await;
    // id: update only.
    let body = mk
        .import_leads(
            "format=csv&lookupField=id",
            "id,firstName\n3,Solo\n99,Ghost\n",
        )
        .await;
    let id = body["result"][0]["batchId"].as_i64().unwrap();
    let done = mk.wait(&format!("/bulk/v1/leads/batch/{id}.json")).await;
    assert_eq!(done["numOfRowsFailed"], 1);
    let (_, failures) = mk
        .file(&format!("/bulk/v1/leads/batch/{id}/failures.json"))
        .await;
    assert_eq!(
        failures,
        "id,firstName,Import Failure Reason\n99,Ghost,Lead not found\n"
    );
    // email matching two leads fails the row.
    let body = mk
        .import_leads("format=csv", "email,firstName\ntwin@example.org,T\n")
        .await;
    let id = body["result"][0]["batchId"].as_i64().unwrap();
    mk.wait(&format!("/bulk/v1/leads/batch/{id}.json")).await;
    let (_, failures) = mk
        .file(&format!("/bulk/v1/leads/batch/{id}/failures.json"))
        .await;
    assert!(
        failures.ends_with("twin@example.org,T,Multiple leads match the lookup criteria\n"),
        "{failures}"
    );
    // Another supported field.
    let body = mk
        .import_leads(
            "format=csv&lookupField=sfdcLeadId",
            "sfdcLeadId,lastName\nS1,Found\n",
        )
        .await;
    let id = body["result"][0]["batchId"].as_i64().unwrap();
    assert_eq!(
        mk.wait(&format!("/bulk/v1/leads/batch/{id}.json")).await["numOfLeadsProcessed"],
        1
    );
    let leads = common::get_json(&mk.sb, "/_sandbox/marketo/leads").await;
    assert_eq!(leads[0]["fields"]["lastName"], "Found");
    // Unsupported lookup field.
    let body = mk
        .import_leads("format=csv&lookupField=firstName", "email\n")
        .await;
    assert_schema(&lead_schema(), &body);
    assert_eq!(
        error_code(&body),
        ("1011", "Field 'firstName' not supported")
    );
}

#[tokio::test]
async fn lead_import_lists_and_partitions() {
    let seed = json!({"strict": true, "marketo": {"partitions": [{"name": "Locked", "writable": false}, {"name": "EMEA", "writable": true}]}});
    let mk = Mk::seeded(0, seed).await;
    let body = mk
        .import_leads("format=csv&listId=5", "email\na@example.org\n")
        .await;
    assert_eq!(error_code(&body).0, "1013");
    let body = mk
        .import_leads("format=csv&partitionName=Nowhere", "email\na@example.org\n")
        .await;
    assert_eq!(error_code(&body).0, "1009");
    let body = mk
        .import_leads("format=csv&partitionName=Locked", "email\na@example.org\n")
        .await;
    assert_eq!(error_code(&body).0, "1008");
    let body = mk
        .import_leads("format=csv&listId=abc", "email\na@example.org\n")
        .await;
    assert_eq!(error_code(&body).0, "1001");
    let body = mk
        .import_leads("format=csv&partitionName=EMEA", "email\na@example.org\n")
        .await;
    let id = body["result"][0]["batchId"].as_i64().unwrap();
    mk.wait(&format!("/bulk/v1/leads/batch/{id}.json")).await;
    let leads = common::get_json(&mk.sb, "/_sandbox/marketo/leads").await;
    assert_eq!(leads[0]["partition"], "EMEA");
    // Lenient mode creates the list.
    common::control(&mk.sb, "/_sandbox/seed", json!({"strict": false})).await;
    let body = mk
        .import_leads("format=csv&listId=5", "email\na@example.org\n")
        .await;
    let id = body["result"][0]["batchId"].as_i64().unwrap();
    mk.wait(&format!("/bulk/v1/leads/batch/{id}.json")).await;
    assert_eq!(
        common::get_json(&mk.sb, "/_sandbox/marketo/lists/5/leads").await,
        json!([1])
    );
}

#[tokio::test]
async fn custom_fields_from_the_seed() {
    let seed = json!({"marketo": {
        "programs": [{"id": 2, "statuses": ["On List"]}],
        "fields": [{"name": "webinarUrl", "displayName": "Webinar Url", "scope": "programMember"},
                   {"name": "seats", "displayName": "Seats", "dataType": "integer", "scope": "programMember"}]}});
    let mk = Mk::seeded(0, seed).await;
    let body = mk.import_members(2, "On List", "csv", "email,webinarUrl,seats\nann@example.org,https://w/1,2\nbo@example.org,https://w/2,two\n").await;
    let id = body["result"][0]["batchId"].as_i64().unwrap();
    mk.wait(&member_status_path(id)).await;
    let (_, failures) = mk
        .file(&format!(
            "/bulk/v1/program/members/import/{id}/failures.json"
        ))
        .await;
    assert!(
        failures.ends_with("two,Invalid data type in field Seats\n"),
        "{failures}"
    );
    let members = mk.members(2).await;
    assert_eq!(members[0]["fields"]["webinarUrl"], "https://w/1");
    let describe = mk.get("/rest/v1/programs/members/describe.json").await;
    assert_eq!(describe["result"][0]["fields"][0]["name"], "webinarUrl");
    let mut schema = swagger_schema(LEAD_DB, "ResponseOfProgramMemberAttributes2");
    relax_required(
        &mut schema,
        "ResponseOfProgramMemberAttributes2",
        &["errors", "warnings"],
    );
    assert_schema(&schema, &describe);
    let mut schema = swagger_schema(LEAD_DB, "ResponseOfLeadAttribute");
    relax_required(
        &mut schema,
        "ResponseOfLeadAttribute",
        &["errors", "warnings"],
    );
    assert_schema(&schema, &mk.get("/rest/v1/leads/describe.json").await);
}

// ---------------------------------------------------------------- limits and faults (§14.17-18)

#[tokio::test]
async fn rate_limit_counts_only_counted_calls() {
    let mut mk = Mk::start(0).await;
    common::control(
        &mk.sb,
        "/_sandbox/faults",
        json!({"rate_limit": {"calls": 3, "window_secs": 20}}),
    )
    .await;
    let path = "/rest/v1/leads/describe.json";
    for _ in 0..3 {
        // Identity and 601 calls in between use no budget.
        mk.new_token().await;
        let body: Value = mk
            .http
            .get(mk.url(path))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(error_code(&body).0, "601");
        assert_eq!(mk.get(path).await["success"], true);
    }
    let body = mk.get(path).await;
    assert_eq!(
        error_code(&body),
        ("606", "Max rate limit '3' exceeded with in '20' secs")
    );
    mk.advance_clock(21).await;
    assert_eq!(mk.get(path).await["success"], true);
}

#[tokio::test]
async fn default_rate_limit_is_100_per_20_seconds() {
    let mk = Mk::start(0).await;
    for _ in 0..100 {
        assert_eq!(
            mk.get("/rest/v1/leads/describe.json").await["success"],
            true
        );
    }
    let body = mk.get("/rest/v1/leads/describe.json").await;
    assert_eq!(
        error_code(&body),
        ("606", "Max rate limit '100' exceeded with in '20' secs")
    );
}

#[tokio::test]
async fn daily_quota_resets_the_next_day() {
    let mut mk = Mk::seeded(0, json!({"marketo": {"settings": {"daily_quota": 2}}})).await;
    let path = "/rest/v1/leads/describe.json";
    assert_eq!(mk.get(path).await["success"], true);
    assert_eq!(mk.get(path).await["success"], true);
    assert_eq!(
        error_code(&mk.get(path).await),
        ("607", "Daily quota reached")
    );
    mk.advance_clock(86_400).await;
    assert_eq!(mk.get(path).await["success"], true);
}

#[tokio::test]
async fn more_than_ten_calls_in_flight_get_615() {
    let mk = Mk::seeded(0, seed_program(1)).await;
    let mut senders = vec![];
    let mut pending = vec![];
    for _ in 0..10 {
        // An upload whose body never ends keeps its call in flight.
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(1);
        tx.send(Ok(b"--x\r\n".to_vec())).await.unwrap();
        senders.push(tx);
        let stream = futures_util::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|item| (item, rx))
        });
        let req = mk
            .http
            .post(mk.url(
                "/bulk/v1/program/1/members/import.json?format=csv&programMemberStatus=On%20List",
            ))
            .bearer_auth(&mk.token)
            .header("content-type", "multipart/form-data; boundary=x")
            .body(reqwest::Body::wrap_stream(stream));
        pending.push(tokio::spawn(req.send()));
    }
    // Wait until the ten calls reached the server.
    for _ in 0..200 {
        let stats = common::get_json(&mk.sb, "/_sandbox/stats").await;
        if stats["providers"]["marketo"]["requests"].as_u64() >= Some(10) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    let body = mk.get("/rest/v1/leads/describe.json").await;
    assert_eq!(
        error_code(&body),
        ("615", "Concurrent access limit reached")
    );
    for p in &pending {
        p.abort();
    }
    drop(senders);
    for _ in 0..200 {
        if mk.get("/rest/v1/leads/describe.json").await["success"] == true {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the in-flight slots were never released");
}

#[tokio::test]
async fn injected_vendor_codes_and_gateway_errors() {
    let mk = Mk::start(0).await;
    for code in ["604", "608", "611", "713"] {
        common::control(
            &mk.sb,
            "/_sandbox/faults",
            json!({"error_rate": 1.0, "vendor_codes": [code]}),
        )
        .await;
        let resp = mk
            .http
            .get(mk.url("/rest/v1/leads/describe.json"))
            .bearer_auth(&mk.token)
            .send()
            .await
            .unwrap();
        assert_eq!(
            resp.status(),
            200,
            "vendor codes come in an HTTP 200 envelope"
        );
        let body: Value = resp.json().await.unwrap();
        assert_eq!(error_code(&body).0, code);
    }
    common::control(
        &mk.sb,
        "/_sandbox/faults",
        json!({"error_rate": 1.0, "statuses": [502]}),
    )
    .await;
    let resp = mk
        .http
        .get(mk.url("/rest/v1/leads/describe.json"))
        .bearer_auth(&mk.token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 502);
}

#[tokio::test]
async fn dropped_connection_after_the_import_was_accepted() {
    let mk = Mk::seeded(0, seed_program(1)).await;
    let faults = json!({"drop_on_calls": [1], "drop_after_processing": true, "endpoints": ["/members/import.json"]});
    common::control(&mk.sb, "/_sandbox/faults", faults).await;
    let path = "/bulk/v1/program/1/members/import.json?format=csv&programMemberStatus=On%20List";
    let result = mk
        .http
        .post(mk.url(path))
        .bearer_auth(&mk.token)
        .multipart(file_form("email\nann@example.org\n"))
        .send()
        .await;
    assert!(
        result.is_err(),
        "the client sees a broken connection, not an answer"
    );
    // The batch exists and finishes: the resume logic has something to find.
    for _ in 0..100 {
        if mk.members(1).await.len() == 1 {
            let batches = common::get_json(&mk.sb, "/_sandbox/marketo/batches").await;
            assert_eq!(batches[0]["status"], "Complete");
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the accepted import never landed");
}

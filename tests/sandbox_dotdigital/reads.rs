//! Reads and writes around the bulk import (§11 items 3, 11, 12): account-info, single records,
//! per-contact and account-scoped lists, the collections list, emptying, and the contact import.

use std::time::Duration;

use base64::Engine;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::*;

fn seed() -> Value {
    json!({"contacts": [{"email": "ann@example.org", "id": 23}], "collections": [{"name": "Orders"}]})
}

#[tokio::test]
async fn account_info_names_the_emulator_endpoint_and_call_counters() {
    let sb = start(true, seed()).await;
    let resp = sb
        .req(Method::GET, "/v2/account-info")
        .send()
        .await
        .unwrap();
    let info: Value = resp.json().await.unwrap();
    assert_valid(&[v2_schema("ApiAccount")], &info);
    let props = info["properties"].as_array().unwrap();
    let get = |name: &str| {
        props.iter().find(|p| p["name"] == name).unwrap()["value"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(get("ApiEndpoint"), format!("{}/dotdigital", sb.base));
    assert_eq!(get("ApiCallsInLastHour"), "1");
    assert_eq!(get("ApiCallsRemaining"), "1999");
}

#[tokio::test]
async fn single_records_are_added_read_replaced_and_deleted_by_key() {
    let sb = start(true, seed()).await;
    let base = "/v2/contacts/transactional-data/Orders";
    let add = sb
        .req(Method::POST, base)
        .json(&json!({"key": "P1", "contactIdentifier": "ann@example.org", "json": {"total": 1}}))
        .send()
        .await
        .unwrap();
    assert_eq!(add.status(), StatusCode::CREATED);
    assert_eq!(
        add.json::<Value>().await.unwrap(),
        json!({"key": "P1", "contactIdentifier": "23", "json": "{\"total\":1}"})
    );

    let rejected = sb
        .req(Method::POST, base)
        .json(
            &json!({"key": "P2", "contactIdentifier": "ann@example.org", "json": {"total": "one"}}),
        )
        .send()
        .await
        .unwrap();
    assert_v2_error(
        rejected,
        StatusCode::BAD_REQUEST,
        "ERROR_TRANSACTIONAL_DATA_VALIDATION_FAILED",
    )
    .await;

    let read: Value = sb
        .req(Method::GET, &format!("{base}/P1"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(read["json"], "{\"total\":1}");
    let replaced = sb
        .req(Method::POST, &format!("{base}/P1"))
        .json(&json!({"json": "{\"total\": 5}"}))
        .send()
        .await
        .unwrap();
    assert_eq!(replaced.status(), StatusCode::OK);
    assert_eq!(sb.inspect("Orders").await[0]["json"], json!({"total": 5}));

    let deleted = sb
        .req(Method::DELETE, &format!("{base}/P1"))
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    let missing = sb
        .req(Method::GET, &format!("{base}/P1"))
        .send()
        .await
        .unwrap();
    assert_v2_error(
        missing,
        StatusCode::NOT_FOUND,
        "ERROR_TRANSACTIONAL_DATA_DOES_NOT_EXIST",
    )
    .await;
    let no_coll = sb
        .req(Method::GET, "/v2/contacts/transactional-data/Nope/P1")
        .send()
        .await
        .unwrap();
    assert_v2_error(
        no_coll,
        StatusCode::NOT_FOUND,
        "ERROR_TRANSACTIONAL_DATA_COLLECTION_DOES_NOT_EXIST",
    )
    .await;
}

#[tokio::test]
async fn a_contacts_records_are_listed_sorted_by_key_at_most_100() {
    let sb = start(true, seed()).await;
    let body: Vec<Value> = (0..120)
        .rev()
        .map(|i| json!({"key": format!("K{i:03}"), "contactIdentifier": "23", "json": {"i": i}}))
        .collect();
    assert_eq!(
        sb.import_report("Orders", &json!(body)).await["totalImported"],
        120
    );
    for selector in ["ann@example.org", "23"] {
        let list: Value = sb
            .req(
                Method::GET,
                &format!("/v2/contacts/{selector}/transactional-data/Orders"),
            )
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let list = list.as_array().unwrap();
        assert_eq!(list.len(), 100);
        assert_eq!(list[0]["key"], "K000");
        assert_eq!(list[99]["key"], "K099");
        assert_eq!(list[0]["contactIdentifier"], "23");
    }
    let gone = sb
        .req(
            Method::DELETE,
            "/v2/contacts/ann@example.org/transactional-data/Orders",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), StatusCode::NO_CONTENT);
    assert_eq!(sb.inspect("Orders").await, json!([]));
}

#[tokio::test]
async fn account_paging_and_collections_list_check_select_and_skip() {
    let sb = start(false, json!({})).await;
    let body: Vec<Value> = (0..5)
        .map(|i| json!({"key": format!("R{i}"), "contactIdentifier": "account", "json": {}}))
        .collect();
    sb.import_report("Resorts", &json!(body)).await;
    let page: Value = sb
        .req(
            Method::GET,
            "/v2/transactional-data/Resorts?select=2&skip=3",
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let keys: Vec<&str> = page
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["R3", "R4"]);
    for bad in ["select=0", "select=101", "select=x"] {
        let resp = sb
            .req(
                Method::GET,
                &format!("/v2/transactional-data/Resorts?{bad}"),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "{bad}");
    }
    let too_many = sb
        .req(
            Method::GET,
            "/v2/contacts/transactional-data-collections?select=1001",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(too_many.status(), StatusCode::BAD_REQUEST);
    let emptied = sb
        .req(Method::PUT, "/v2/contacts/transactional-data/Resorts/empty")
        .send()
        .await
        .unwrap();
    assert_eq!(emptied.status(), StatusCode::NO_CONTENT);
    assert_eq!(sb.inspect("Resorts").await, json!([]));
}

async fn contact_import_finished(sb: &Sandbox, resp: reqwest::Response) -> String {
    assert_eq!(resp.status(), StatusCode::ACCEPTED);
    let created: Value = resp.json().await.unwrap();
    assert_valid(&[v2_schema("ApiContactImport")], &created);
    assert_eq!(created["status"], "NotFinished");
    let id = created["id"].as_str().unwrap().to_string();
    for _ in 0..100 {
        let status: Value = sb
            .req(Method::GET, &format!("/v2/contacts/import/{id}"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if status["status"] == "Finished" {
            return id;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("contact import never finished");
}

#[tokio::test]
async fn contact_import_creates_contacts_that_strict_insight_imports_then_accept() {
    let sb = start(
        true,
        json!({"address_books": [{"id": 7, "name": "Newsletter"}]}),
    )
    .await;
    let csv = "Email,FirstName\nann@example.org,Ann\nnot-an-email,X\nANN@example.org,Dup\nbob@example.org,Bob\n";
    let data = base64::engine::general_purpose::STANDARD.encode(csv);
    let resp = sb
        .req(Method::POST, "/v2/address-books/7/contacts/import")
        .json(&json!({"fileName": "people.csv", "data": data}))
        .send()
        .await
        .unwrap();
    let id = contact_import_finished(&sb, resp).await;
    let report: Value = sb
        .req(Method::GET, &format!("/v2/contacts/import/{id}/report"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_valid(&[v2_schema("ApiContactImportReport")], &report);
    assert_eq!(
        (
            report["newContacts"].as_u64(),
            report["invalidEntries"].as_u64()
        ),
        (Some(2), Some(1))
    );
    assert_eq!(report["duplicateEmails"], 1);
    let faults = sb
        .req(
            Method::GET,
            &format!("/v2/contacts/import/{id}/report-faults"),
        )
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(
        faults,
        "Reason,Email,FirstName\nInvalid Email,not-an-email,X\nDuplicate,ANN@example.org,Dup\n"
    );

    // A multipart upload updates an existing contact.
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(b"email,City\nbob@example.org,Leeds\n".to_vec())
            .file_name("c.csv"),
    );
    let resp = sb
        .req(Method::POST, "/v2/contacts/import")
        .multipart(form)
        .send()
        .await
        .unwrap();
    let id = contact_import_finished(&sb, resp).await;
    let report: Value = sb
        .req(Method::GET, &format!("/v2/contacts/import/{id}/report"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(report["updatedContacts"], 1);

    sb.emu_seed(json!({"collections": [{"name": "Orders"}]}));
    let report = sb
        .import_report(
            "Orders",
            &json!([{"key": "a", "contactIdentifier": "bob@example.org", "json": {}}]),
        )
        .await;
    assert_eq!(report["totalImported"], 1);
}

#[tokio::test]
async fn contact_import_refusals() {
    let sb = start(true, json!({})).await;
    let data = base64::engine::general_purpose::STANDARD.encode("Name\nAnn\n");
    let no_email = sb
        .req(Method::POST, "/v2/contacts/import")
        .json(&json!({"fileName": "a.csv", "data": data}))
        .send()
        .await
        .unwrap();
    assert_v2_error(no_email, StatusCode::BAD_REQUEST, "ERROR_NO_EMAIL_COLUMN").await;
    let data = base64::engine::general_purpose::STANDARD.encode("Email\nann@example.org\n");
    let book = sb
        .req(Method::POST, "/v2/address-books/99/contacts/import")
        .json(&json!({"fileName": "a.csv", "data": data}))
        .send()
        .await
        .unwrap();
    assert_eq!(book.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        book.json::<Value>().await.unwrap(),
        json!({"message": "Error: ERROR_ADDRESSBOOK_NOT_FOUND"})
    );
    let unknown = sb
        .req(Method::GET, "/v2/contacts/import/nope")
        .send()
        .await
        .unwrap();
    assert_v2_error(unknown, StatusCode::NOT_FOUND, "ERROR_IMPORT_NOT_FOUND").await;
}

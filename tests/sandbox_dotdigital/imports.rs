//! The bulk insight import flow: create, status machine, report, scopes, strict and lenient
//! modes, upserts, failed imports, persistence.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::*;

fn seeded() -> Value {
    json!({
        "contacts": ["ann@example.org", {"email": "bob@example.org", "id": 42}],
        "collections": [{"name": "Orders", "scope": "contact"}, {"name": "Resorts", "scope": "account"}]
    })
}

#[tokio::test]
async fn contact_scoped_import_runs_through_every_status_and_reports_unknown_contacts() {
    let sb = start(true, seeded()).await;
    let body = json!([
        {"key": "ORD-1", "contactIdentifier": "ann@example.org",
         "json": {"orderTotal": 42.5, "currency": "EUR", "lines": [{"sku": "A-1", "qty": 2}]}},
        {"key": "ORD-2", "contactIdentifier": "42", "json": "{\"orderTotal\": 9.99, \"currency\": \"EUR\"}"},
        {"key": "ORD-3", "contactIdentifier": "nobody@example.org", "json": {"orderTotal": 1}},
        {"key": "ORD-4", "contactIdentifier": "999", "json": {"orderTotal": 2}}
    ]);
    let resp = sb.import("Orders", &body).await;
    assert_eq!(
        resp.status(),
        StatusCode::ACCEPTED,
        "202 even with unknown contacts"
    );
    let created: Value = resp.json().await.unwrap();
    assert_valid(&create_schemas(), &created);
    assert_eq!(created["status"], "NotStarted");
    let id = created["id"].as_str().unwrap();

    // Report before the import finished.
    let (code, early) = sb.report(id).await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    assert!(
        early["message"]
            .as_str()
            .unwrap()
            .ends_with("ERROR_IMPORT_REPORT_NOT_FOUND")
    );

    let mut seen = Vec::new();
    for _ in 0..2 {
        let status = sb.status(id).await;
        assert_valid(&status_schemas(), &status);
        assert_eq!(status["id"], created["id"]);
        seen.push(status["status"].as_str().unwrap().to_string());
    }
    assert_eq!(seen, ["NotFinished", "Finished"]);

    let (code, report) = sb.report(id).await;
    assert_eq!(code, StatusCode::OK);
    assert_valid(&report_schemas(), &report);
    assert_eq!(report["totalItems"], 4);
    assert_eq!(report["totalImported"], 2);
    assert_eq!(report["totalRejected"], 2);
    assert_eq!(
        faults(&report),
        [
            ("ORD-3".into(), "ContactEmailDoesNotExist".into()),
            ("ORD-4".into(), "ContactIdDoesNotExist".into())
        ]
    );

    let stored = sb.inspect("Orders").await;
    assert_eq!(
        stored,
        json!([
            {"key": "ORD-1", "contactIdentifier": "ann@example.org",
             "json": {"orderTotal": 42.5, "currency": "EUR", "lines": [{"sku": "A-1", "qty": 2}]}},
            {"key": "ORD-2", "contactIdentifier": "42", "json": {"orderTotal": 9.99, "currency": "EUR"}}
        ])
    );
}

#[tokio::test]
async fn statuses_advance_over_the_processing_time() {
    let sb = start_with(Duration::from_millis(1200), true, seeded()).await;
    let id = sb
        .accepted(
            "Orders",
            &json!([{"key": "k", "contactIdentifier": "ann@example.org", "json": {}}]),
        )
        .await;
    assert_eq!(sb.status(&id).await["status"], "NotStarted");
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(sb.status(&id).await["status"], "NotFinished");
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(sb.status(&id).await["status"], "Finished");
    assert_eq!(sb.report(&id).await.1["totalImported"], 1);
}

#[tokio::test]
async fn account_scoped_collections_take_the_account_identifier_only() {
    let sb = start(true, seeded()).await;
    let report = sb
        .import_report(
            "Resorts",
            &json!([
                {"key": "Resort001", "contactIdentifier": "account", "json": {"Name": "Playa del Fun", "Stars": 3}},
                {"key": "Resort002", "contactIdentifier": "ann@example.org", "json": {"Name": "Elsewhere"}}
            ]),
        )
        .await;
    assert_eq!(
        faults(&report),
        [("Resort002".into(), "InvalidContactIdentifier".into())]
    );
    let into_contact_scope = sb
        .import_report(
            "Orders",
            &json!([{"key": "X", "contactIdentifier": "account", "json": {}}]),
        )
        .await;
    assert_eq!(
        faults(&into_contact_scope),
        [("X".into(), "InvalidContactIdentifier".into())]
    );

    let resp = sb
        .req(
            Method::GET,
            "/v2/transactional-data/Resorts?select=10&skip=0",
        )
        .send()
        .await
        .unwrap();
    let page: Value = resp.json().await.unwrap();
    assert_eq!(page[0]["key"], "Resort001");
    assert_eq!(
        page[0]["contactIdentifier"], "-1",
        "account records read back as -1"
    );
    let json: Value = serde_json::from_str(page[0]["json"].as_str().unwrap()).unwrap();
    assert_eq!(json["Stars"], 3);
    assert_eq!(
        sb.inspect("Resorts").await[0]["contactIdentifier"],
        "account"
    );
}

#[tokio::test]
async fn collection_names_are_unique_across_scopes() {
    let sb = start(true, seeded()).await;
    let err = bulkspec::sandbox::core::Emulator::seed(
        &*sb.emu,
        &json!({"collections": [{"name": "Orders", "scope": "account"}]}),
    );
    assert!(
        err.unwrap_err()
            .to_string()
            .contains("unique across scopes")
    );
}

#[tokio::test]
async fn lenient_mode_creates_collections_and_contacts_for_well_formed_emails() {
    let sb = start(false, json!({})).await;
    let report = sb
        .import_report(
            "orders",
            &json!([
                {"key": "1", "contactIdentifier": "new@example.org", "json": {"total": 1}},
                {"key": "2", "contactIdentifier": "12345", "json": {"total": 2}}
            ]),
        )
        .await;
    assert_eq!(
        faults(&report),
        [("2".into(), "ContactIdDoesNotExist".into())]
    );
    let contacts: Value = sb
        .client
        .get(format!("{}/_sandbox/dotdigital/contacts", sb.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(contacts[0]["email"], "new@example.org");

    // The first import into an unknown collection decides its scope.
    let account = sb
        .import_report(
            "hotels",
            &json!([{"key": "h", "contactIdentifier": "account", "json": {}}]),
        )
        .await;
    assert_eq!(account["totalImported"], 1);
    let list: Value = sb
        .req(Method::GET, "/v2/contacts/transactional-data-collections")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        list,
        json!([{"id": 2, "name": "hotels"}, {"id": 1, "name": "orders"}])
    );
}

#[tokio::test]
async fn strict_mode_rejects_records_of_unknown_collections_unless_switched() {
    let sb = start(true, seeded()).await;
    let report = sb
        .import_report(
            "Unknown",
            &json!([{"key": "a", "contactIdentifier": "ann@example.org", "json": {}}]),
        )
        .await;
    assert_eq!(faults(&report), [("a".into(), "MissingCollection".into())]);
    assert_eq!(report["totalImported"], 0);

    sb.emu_seed(json!({"create_collections_on_import": true}));
    let report = sb
        .import_report(
            "Unknown",
            &json!([{"key": "a", "contactIdentifier": "ann@example.org", "json": {}}]),
        )
        .await;
    assert_eq!(report["totalImported"], 1);
}

#[tokio::test]
async fn an_existing_key_of_the_same_contact_is_replaced() {
    let sb = start(true, seeded()).await;
    sb.import_report(
        "Orders",
        &json!([{"key": "k", "contactIdentifier": "ann@example.org", "json": {"v": 1}}]),
    )
    .await;
    let report = sb
        .import_report(
            "Orders",
            &json!([{"key": "k", "contactIdentifier": "ANN@example.org", "json": {"v": 2}}]),
        )
        .await;
    assert_eq!(report["totalImported"], 1);
    assert_eq!(
        sb.inspect("Orders").await,
        json!([{"key": "k", "contactIdentifier": "ANN@example.org", "json": {"v": 2}}])
    );
}

#[tokio::test]
async fn property_names_bind_case_insensitively() {
    let sb = start(true, seeded()).await;
    let report = sb
        .import_report(
            "Orders",
            &json!([{"Key": "P1", "ContactIdentifier": "bob@example.org", "Json": "{\"a\":1}"}]),
        )
        .await;
    assert_eq!(report["totalImported"], 1);
    assert_eq!(sb.inspect("Orders").await[0]["json"], json!({"a": 1}));
}

#[tokio::test]
async fn an_injected_failure_ends_failed_without_report_or_data() {
    let seed = json!({"contacts": ["ann@example.org"], "collections": [{"name": "Orders"}], "fail_next_imports": 1});
    let sb = start(true, seed).await;
    let id = sb
        .accepted(
            "Orders",
            &json!([{"key": "k", "contactIdentifier": "ann@example.org", "json": {}}]),
        )
        .await;
    assert_eq!(sb.finish(&id).await, "Failed");
    let (code, body) = sb.report(&id).await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["message"],
        "Import is not processed yet or completed with error. ERROR_IMPORT_REPORT_NOT_FOUND"
    );
    // The next import is not affected.
    let report = sb
        .import_report(
            "Orders",
            &json!([{"key": "k", "contactIdentifier": "ann@example.org", "json": {}}]),
        )
        .await;
    assert_eq!(report["totalImported"], 1);
}

#[tokio::test]
async fn unknown_import_ids_are_404() {
    let sb = start(true, seeded()).await;
    let resp = sb
        .req(
            Method::GET,
            "/v2/contacts/transactional-data/import/0f6b8a52-3c1e-4d7a-9b55-7e2f4c1a9d03",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        resp.json::<Value>().await.unwrap(),
        json!({"message": "Error: ERROR_IMPORT_NOT_FOUND"})
    );
    let resp = sb
        .req(
            Method::GET,
            "/v2/contacts/transactional-data/import/nope/report",
        )
        .send()
        .await
        .unwrap();
    assert_v2_error(resp, StatusCode::NOT_FOUND, "ERROR_IMPORT_NOT_FOUND").await;
}

#[tokio::test]
async fn snapshot_and_restore_keep_data_and_resume_in_flight_imports() {
    let sb = start_with(Duration::from_millis(60), true, seeded()).await;
    let first = sb
        .accepted(
            "Orders",
            &json!([{"key": "a", "contactIdentifier": "ann@example.org", "json": {"n": 1}}]),
        )
        .await;
    assert_eq!(sb.finish(&first).await, "Finished");
    // An import caught before processing, as a crash would leave it.
    sb.emu_seed(json!({"polls_per_step": 1000}));
    let pending = sb
        .accepted(
            "Orders",
            &json!([{"key": "b", "contactIdentifier": "42", "json": {"n": 2}}]),
        )
        .await;
    sb.emu_seed(json!({"polls_per_step": 0}));
    let snapshot = bulkspec::sandbox::core::Emulator::snapshot(&*sb.emu);

    let copy = start_with(Duration::from_millis(60), true, json!({})).await;
    bulkspec::sandbox::core::Emulator::restore(&*copy.emu, snapshot.clone()).unwrap();
    assert_eq!(copy.inspect("Orders").await, sb.inspect("Orders").await);
    assert_eq!(copy.finish(&pending).await, "Finished");
    assert_eq!(copy.inspect("Orders").await.as_array().unwrap().len(), 2);
    // The copy draws ids from the same seed: they must not replace restored imports.
    let fresh = copy
        .accepted(
            "Orders",
            &json!([{"key": "c", "contactIdentifier": "42", "json": {"n": 3}}]),
        )
        .await;
    assert_ne!(fresh, first);
    assert_eq!(copy.report(&first).await.1["totalImported"], 1);
    let round: Value = bulkspec::sandbox::core::Emulator::snapshot(&*copy.emu);
    assert_eq!(
        round["collections"]["Orders"]["records"]["b"]["json"],
        "{\"n\":2}"
    );
}

#[tokio::test]
async fn a_dropped_answer_hides_an_import_that_still_runs() {
    let mut seed = seeded();
    seed["drop_next_accepted"] = json!(1);
    let sb = start_with(Duration::from_millis(30), true, seed).await;
    let body = json!([{"key": "lost", "contactIdentifier": "ann@example.org", "json": {"n": 1}}]);
    let path = "/v2/contacts/transactional-data/import/Orders";
    let err = sb
        .req(Method::POST, path)
        .json(&body)
        .send()
        .await
        .unwrap_err();
    assert!(
        err.is_request(),
        "the connection closes with no answer: {err:?}"
    );
    for _ in 0..100 {
        if sb.inspect("Orders").await.as_array().unwrap().len() == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(sb.inspect("Orders").await[0]["key"], "lost");
    // Only the next answer was dropped.
    sb.accepted("Orders", &body).await;
}

//! The staging area: formats, the 32 MB limit (404), 500 uploads per sync (400), the storage
//! quota (413), auto-sync on upload (201) and data delete (§7, §13.9–11).

use serde_json::{Value, json};

use crate::harness::*;

#[tokio::test]
async fn upload_over_32_mb_is_404_and_nothing_is_staged() {
    let sb = start(false, 0).await;
    let uri = sb
        .define("/opportunities/contacts/imports", linkage_definition("big"))
        .await;
    let body = vec![b' '; 32 * 1024 * 1024 + 1];
    let response = sb
        .http
        .post(sb.bulk(&format!("{uri}/data")))
        .basic_auth(USER, Some(PASSWORD))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 404);
    assert_eq!(
        response.text().await.unwrap(),
        "The requested resource was not found."
    );
    let (_, defs) = sb.get_json(&sb.inspect("/definitions")).await;
    assert_eq!(defs[0]["stagedRows"], 0);
}

#[tokio::test]
async fn the_501st_upload_since_the_last_sync_is_refused() {
    let sb = start(false, 0).await;
    let uri = sb
        .define(
            "/opportunities/contacts/imports",
            linkage_definition("many"),
        )
        .await;
    let url = sb.bulk(&format!("{uri}/data"));
    for i in 0..500 {
        let response = sb
            .post(&url, &rows(&[("1", &format!("u{i}@example.org"))]))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 204, "upload {i}");
    }
    let (status, body) = sb
        .post_json(&url, &rows(&[("1", "late@example.org")]))
        .await;
    assert_failure(status, &body, "data");
    // A sync resets the count.
    let sync = sb.sync(&uri).await;
    let (_, done) = sb.wait(&sync).await;
    assert_eq!(done["status"], "success");
    let logs = sb.all(&sb.bulk(&format!("{sync}/logs"))).await;
    assert_eq!(logs[0]["count"], 500);
    sb.upload(&uri, rows(&[("1", "late@example.org")])).await;
}

#[tokio::test]
async fn storage_quota_gives_413_and_data_delete_frees_it() {
    let sb = start(false, 0).await;
    sb.settings(json!({"storage_quota_bytes": 200})).await;
    let uri = sb
        .define(
            "/opportunities/contacts/imports",
            linkage_definition("quota"),
        )
        .await;
    let url = sb.bulk(&format!("{uri}/data"));
    let batch = rows(&[("1", "a@example.org"), ("2", "b@example.org")]);
    sb.upload(&uri, batch.clone()).await;
    let response = sb.post(&url, &batch).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 413);
    assert_eq!(response.text().await.unwrap(), "Storage space exceeded.");
    let response = sb
        .http
        .delete(&url)
        .basic_auth(USER, Some(PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 204);
    sb.upload(&uri, batch).await;
    let done = sb.import(&uri, json!([])).await;
    let logs = sb
        .all(&sb.bulk(&format!("{}/logs", done["uri"].as_str().unwrap())))
        .await;
    assert_eq!(
        logs[0]["count"], 2,
        "the deleted batch is gone, the later one synced"
    );
}

#[tokio::test]
async fn csv_is_accepted_and_non_array_json_is_a_parsing_error() {
    let sb = start(false, 0).await;
    let uri = sb
        .define("/opportunities/contacts/imports", linkage_definition("csv"))
        .await;
    let url = sb.bulk(&format!("{uri}/data"));
    let csv = "OpportunityID,EmailAddress\nOPP-1,\"ana@example.org\"\nOPP-2,bo@example.org\n";
    let response = sb
        .http
        .post(&url)
        .basic_auth(USER, Some(PASSWORD))
        .header("content-type", "text/csv")
        .body(csv)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 204);
    for bad in [
        json!({"OpportunityID": "x"}),
        json!(["x"]),
        json!([{"OpportunityID": {"nested": 1}}]),
    ] {
        let (status, body) = sb.post_json(&url, &bad).await;
        assert_failure(status, &body, "body");
        assert_eq!(
            body["failures"][0]["constraint"],
            "There was a parsing error."
        );
    }
    let sync = sb.sync(&uri).await;
    assert_eq!(sb.wait(&sync).await.1["status"], "success");
    let (_, linked) = sb
        .get_json(&sb.inspect("/opportunities/OPP-2/contacts"))
        .await;
    assert_eq!(linked[0]["emailAddress"], "bo@example.org");
    let (status, _) = sb
        .post_json(
            &sb.bulk("/opportunities/contacts/imports/999/data"),
            &json!([]),
        )
        .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn upload_with_sync_triggered_on_import_answers_201_with_the_sync() {
    let sb = start(false, 0).await;
    let mut def = linkage_definition("auto");
    def["isSyncTriggeredOnImport"] = json!(true);
    let uri = sb.define("/opportunities/contacts/imports", def).await;
    let (status, sync) = sb
        .post_json(
            &sb.bulk(&format!("{uri}/data")),
            &rows(&[("1", "a@example.org")]),
        )
        .await;
    assert_eq!(status, 201, "{sync}");
    let schema = response_schema(
        Doc::Opportunities,
        "/api/bulk/2.0/opportunities/contacts/imports/{id}/data",
        "post",
        "201",
        &[
            "uri",
            "status",
            "syncedInstanceUri",
            "createdAt",
            "createdBy",
        ],
    );
    assert_valid(&schema, &sync);
    assert_eq!(
        (sync["status"].as_str(), sync["syncedInstanceUri"].as_str()),
        (Some("pending"), Some(uri.as_str()))
    );
    let (_, done) = sb.wait(sync["uri"].as_str().unwrap()).await;
    assert_eq!(done["status"], "success");

    // The account-wide default can be switched on for definitions that omit the property.
    sb.settings(json!({"sync_triggered_on_import_default": true}))
        .await;
    let mut implicit = linkage_definition("implicit");
    implicit
        .as_object_mut()
        .unwrap()
        .remove("isSyncTriggeredOnImport");
    let (_, created) = sb
        .post_json(&sb.bulk("/opportunities/contacts/imports"), &implicit)
        .await;
    assert_eq!(created["isSyncTriggeredOnImport"], Value::Bool(true));
}

#[tokio::test]
async fn auto_sync_upload_during_a_running_sync_is_409_and_stages_nothing() {
    let sb = start(false, 800).await;
    let mut def = linkage_definition("auto-busy");
    def["isSyncTriggeredOnImport"] = json!(true);
    let uri = sb.define("/opportunities/contacts/imports", def).await;
    let url = sb.bulk(&format!("{uri}/data"));
    let (status, sync) = sb.post_json(&url, &rows(&[("1", "a@example.org")])).await;
    assert_eq!(status, 201);
    let (status, _) = sb.post_json(&url, &rows(&[("1", "b@example.org")])).await;
    assert_eq!(status, 409);
    let (_, defs) = sb.get_json(&sb.inspect("/definitions")).await;
    assert_eq!(
        defs[0]["stagedRows"], 0,
        "the refused upload was not kept: {defs}"
    );
    assert_eq!(
        sb.wait(sync["uri"].as_str().unwrap()).await.1["status"],
        "success"
    );
}

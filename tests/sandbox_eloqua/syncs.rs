//! Syncs: creation rules, conflicts, consumption of staged rows, expiry, callbacks, `/data`,
//! the soft rate counter, forced failures, persistence and fault rendering (§8, §13.7–16).

use std::sync::{Arc, Mutex};

use axum::Json;
use axum::routing::post;
use bulkspec::sandbox::core::{Emulator, InjectedFault, SandboxConfig, Shared};
use bulkspec::sandbox::eloqua::Eloqua;
use serde_json::{Value, json};

use crate::harness::*;

#[tokio::test]
async fn sync_creation_is_validated_and_a_running_sync_blocks_another_and_deletion() {
    let sb = start(false, 800).await;
    let (status, body) = sb
        .post_json(
            &sb.bulk("/syncs"),
            &json!({"syncedInstanceUri": "/contacts/imports/999"}),
        )
        .await;
    assert_failure(status, &body, "syncedInstanceUri");
    let (status, body) = sb
        .post_json(
            &sb.bulk("/syncs"),
            &json!({"callbackUrl": "http://127.0.0.1:1/x"}),
        )
        .await;
    assert_failure(status, &body, "syncedInstanceUri");
    let (status, body) = sb
        .post_json(
            &sb.bulk("/syncs"),
            &json!({"syncedInstanceUri": "/syncs/1"}),
        )
        .await;
    assert_failure(status, &body, "syncedInstanceUri");

    let uri = sb
        .define(
            "/opportunities/contacts/imports",
            linkage_definition("busy"),
        )
        .await;
    sb.upload(&uri, rows(&[("1", "a@example.org")])).await;
    let first = sb.sync(&uri).await;
    let response = sb
        .post(&sb.bulk("/syncs"), &json!({"syncedInstanceUri": uri}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 409);
    assert_eq!(response.text().await.unwrap(), "There was a conflict.");
    let response = sb
        .http
        .delete(sb.bulk(&uri))
        .basic_auth(USER, Some(PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 412);
    assert_eq!(sb.wait(&first).await.1["status"], "success");
    // Once it ended, the definition can be synced (zero rows: the first sync consumed them) and deleted.
    let second = sb.sync(&uri).await;
    let (_, done) = sb.wait(&second).await;
    assert_eq!(done["status"], "success");
    let logs = sb.all(&sb.bulk(&format!("{second}/logs"))).await;
    assert_eq!(logs[0]["statusCode"], "ELQ-00001");
    assert_eq!(
        logs[0]["count"], 0,
        "a sync without new uploads processes zero rows"
    );
    let response = sb
        .http
        .delete(sb.bulk(&uri))
        .basic_auth(USER, Some(PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 204);
}

#[tokio::test]
async fn syncs_are_listed_filtered_and_have_no_data_endpoint_for_imports() {
    let sb = start(false, 0).await;
    let a = sb
        .define("/opportunities/contacts/imports", linkage_definition("a"))
        .await;
    let b = sb
        .define("/opportunities/contacts/imports", linkage_definition("b"))
        .await;
    let sync_a = sb.import(&a, rows(&[("1", "a@example.org")])).await;
    sb.import(&b, rows(&[("2", "b@example.org")])).await;
    let (status, list) = sb.get_json(&sb.bulk("/syncs")).await;
    assert_eq!(status, 200);
    let mut schema = response_schema(
        Doc::Syncs,
        "/api/bulk/2.0/syncs",
        "get",
        "200",
        &["items", "totalResults", "count", "hasMore"],
    );
    require_items(
        &mut schema,
        &[
            "uri",
            "status",
            "syncedInstanceUri",
            "createdAt",
            "createdBy",
        ],
    );
    assert_valid(&schema, &list);
    assert_eq!(list["totalResults"], 2);
    let (_, filtered) = sb
        .get_json(&sb.bulk(&format!("/syncs?q=syncedInstanceUri={a}")))
        .await;
    assert_eq!(filtered["items"].as_array().unwrap().len(), 1);
    assert_eq!(filtered["items"][0]["uri"], sync_a["uri"]);
    let (_, newest) = sb
        .get_json(&sb.bulk("/syncs?orderBy=createdAt%20DESC&limit=1"))
        .await;
    assert_eq!(newest["items"][0]["syncedInstanceUri"], b.as_str());

    let sync_uri = sync_a["uri"].as_str().unwrap();
    let (status, body) = sb.get_json(&sb.bulk(&format!("{sync_uri}/data"))).await;
    assert_failure(status, &body, "id");
    let response = sb
        .http
        .delete(sb.bulk(&format!("{sync_uri}/data")))
        .basic_auth(USER, Some(PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 204);
    let (status, _) = sb.get_json(&sb.bulk("/syncs/4242")).await;
    assert_eq!(status, 404);
    let (status, _) = sb.get_json(&sb.bulk("/syncs/4242/logs")).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn expired_definitions_answer_410_and_unsynced_rows_expire() {
    let sb = start(false, 0).await;
    let mut def = linkage_definition("short-lived");
    def["autoDeleteDuration"] = json!("PT1H");
    let uri = sb.define("/opportunities/contacts/imports", def).await;
    let done = sb.import(&uri, rows(&[("1", "a@example.org")])).await;
    let mut keep = linkage_definition("retention");
    keep["dataRetentionDuration"] = json!("PT1H");
    keep.as_object_mut().unwrap().remove("autoDeleteDuration");
    let kept = sb.define("/opportunities/contacts/imports", keep).await;
    sb.upload(&kept, rows(&[("2", "b@example.org")])).await;
    let advance = |secs: u64| {
        let request = sb
            .http
            .post(sb.inspect("/clock"))
            .json(&json!({"advance_secs": secs}));
        async move { assert_eq!(send(request).await.0, 200) }
    };
    advance(1800).await;
    sb.upload(&kept, rows(&[("3", "c@example.org")])).await;
    advance(1801).await;
    let (status, _) = sb.get_json(&sb.bulk(&uri)).await;
    assert_eq!(status, 410);
    let (status, _) = sb.get_json(&sb.bulk(done["uri"].as_str().unwrap())).await;
    assert_eq!(status, 410, "a sync whose definition expired is gone too");
    let (status, _) = sb
        .get_json(&sb.bulk("/opportunities/contacts/imports/777"))
        .await;
    assert_eq!(status, 404, "a never-existing id is 404, not 410");
    // Of the other definition's batches, the first outlived its retention (PT1H), the second not.
    let sync = sb.sync(&kept).await;
    sb.wait(&sync).await;
    let logs = sb.all(&sb.bulk(&format!("{sync}/logs"))).await;
    assert_eq!(logs[0]["count"], 1);
    let (_, linked) = sb.get_json(&sb.inspect("/opportunities/3/contacts")).await;
    assert_eq!(linked[0]["emailAddress"], "c@example.org");
}

#[tokio::test]
async fn callback_is_posted_to_loopback_when_the_sync_ends() {
    let received: Arc<Mutex<Vec<Value>>> = Arc::default();
    let sink = Arc::clone(&received);
    let app = axum::Router::new().route(
        "/hook",
        post(move |Json(body): Json<Value>| {
            let sink = Arc::clone(&sink);
            async move { sink.lock().unwrap().push(body) }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hook = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let sb = start(false, 0).await;
    let uri = sb
        .define("/opportunities/contacts/imports", linkage_definition("cb"))
        .await;
    sb.upload(&uri, rows(&[("1", "a@example.org")])).await;
    let (status, sync) = sb
        .post_json(
            &sb.bulk("/syncs"),
            &json!({"syncedInstanceUri": uri, "callbackUrl": hook}),
        )
        .await;
    assert_eq!(status, 201);
    assert_eq!(sync["callbackUrl"], hook.as_str());
    sb.wait(sync["uri"].as_str().unwrap()).await;
    for _ in 0..200 {
        if !received.lock().unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let calls = received.lock().unwrap().clone();
    assert_eq!(calls.len(), 1);
    assert_eq!(
        (calls[0]["uri"].as_str(), calls[0]["status"].as_str()),
        (sync["uri"].as_str(), Some("success"))
    );
}

#[tokio::test]
async fn forced_failures_and_the_soft_sync_rate_counter() {
    let sb = start(false, 0).await;
    let uri = sb
        .define("/opportunities/contacts/imports", linkage_definition("f"))
        .await;
    sb.settings(json!({"fail_next_syncs": 1, "syncs_per_hour": 2}))
        .await;
    let failed = sb.import(&uri, rows(&[("1", "a@example.org")])).await;
    assert_eq!(failed["status"], "error");
    let logs = sb
        .all(&sb.bulk(&format!("{}/logs", failed["uri"].as_str().unwrap())))
        .await;
    assert_eq!(logs.last().unwrap()["severity"], "error");
    let (status, _) = sb.get_json(&sb.inspect("/opportunities/1/contacts")).await;
    assert_eq!(
        status, 404,
        "a failed sync applies nothing (no opportunity created)"
    );
    assert_eq!(
        sb.import(&uri, rows(&[("1", "a@example.org")])).await["status"],
        "success"
    );
    let response = sb
        .post(&sb.bulk("/syncs"), &json!({"syncedInstanceUri": uri}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 429);
}

#[tokio::test]
async fn snapshot_and_restore_carry_everything_and_finish_running_syncs() {
    let sb = start(false, 60_000).await;
    sb.seed(json!({"contacts": ["a@example.org"], "opportunities": [{"id": "1", "name": "Renewal", "contacts": ["a@example.org"]}]})).await;
    let uri = sb
        .define(
            "/opportunities/contacts/imports",
            linkage_definition("persist"),
        )
        .await;
    sb.upload(&uri, rows(&[("1", "b@example.org")])).await;
    let running = sb.sync(&uri).await;
    let snapshot = sb.emu.snapshot();

    let shared = Shared::new(SandboxConfig::default());
    let restored = Eloqua::new(shared);
    restored.restore(snapshot.clone()).unwrap();
    let base = serve(Arc::clone(&restored)).await;
    let (status, def) = send(
        reqwest::Client::new()
            .get(format!("{base}/eloqua/api/bulk/2.0{uri}"))
            .basic_auth(USER, Some(PASSWORD)),
    )
    .await;
    assert_eq!((status, def["name"].as_str()), (200, Some("persist")));
    let (_, sync) = send(
        reqwest::Client::new()
            .get(format!("{base}/eloqua/api/bulk/2.0{running}"))
            .basic_auth(USER, Some(PASSWORD)),
    )
    .await;
    assert_eq!(sync["status"], "success", "{sync}");
    let (_, linked) = send(
        reqwest::Client::new().get(format!("{base}/_sandbox/eloqua/opportunities/1/contacts")),
    )
    .await;
    assert_eq!(linked.as_array().unwrap().len(), 2);
    // New ids continue after the restored ones.
    let (_, next) = send(
        reqwest::Client::new()
            .post(format!(
                "{base}/eloqua/api/bulk/2.0/opportunities/contacts/imports"
            ))
            .basic_auth(USER, Some(PASSWORD))
            .json(&linkage_definition("next")),
    )
    .await;
    assert_ne!(next["uri"].as_str(), Some(uri.as_str()));

    assert!(restored.restore(json!({"definitions": 5})).is_err());
    restored.restore(Value::Null).unwrap();
    let (_, after_null) =
        send(reqwest::Client::new().get(format!("{base}/_sandbox/eloqua/opportunities"))).await;
    assert_eq!(
        after_null,
        json!([]),
        "a null snapshot is an empty emulator"
    );
    restored.restore(snapshot).unwrap();
    restored.reset();
    let (_, after) =
        send(reqwest::Client::new().get(format!("{base}/_sandbox/eloqua/contacts"))).await;
    assert_eq!(after, json!([]));
    assert!(restored.seed(&json!({"contacts": 5})).is_err());
    assert!(restored.seed(&json!({"leads": []})).is_err());
    assert!(
        restored
            .seed(&json!({"contacts": [{"firstName": "no email"}]}))
            .is_err()
    );
}

#[tokio::test]
async fn injected_faults_are_rendered_as_eloqua_answers() {
    let shared = Shared::new(SandboxConfig::default());
    shared.set_faults(bulkspec::sandbox::core::FaultConfig {
        retry_after_secs: Some(7),
        ..Default::default()
    });
    let emu = Eloqua::new(shared);
    let text = |r: axum::response::Response| async move {
        let status = r.status().as_u16();
        let retry = r
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().unwrap().to_string());
        let body = axum::body::to_bytes(r.into_body(), 1 << 20).await.unwrap();
        (status, retry, String::from_utf8(body.to_vec()).unwrap())
    };
    let (status, retry, body) = text(emu.fault_response(&InjectedFault::Status(503))).await;
    assert_eq!(
        (status, retry.as_deref(), body.as_str()),
        (503, Some("7"), "There was a timeout processing the request")
    );
    let (status, _, body) = text(emu.fault_response(&InjectedFault::Status(500))).await;
    assert_eq!(
        (status, body.as_str()),
        (500, "The service has encountered an error.")
    );
    let (status, retry, _) =
        text(emu.fault_response(&InjectedFault::VendorCode("429".into()))).await;
    assert_eq!((status, retry.as_deref()), (429, Some("7")));
    let (status, _, body) =
        text(emu.fault_response(&InjectedFault::VendorCode("Sandbox Limit Exceeded".into()))).await;
    assert_eq!((status, body.as_str()), (409, "Sandbox Limit Exceeded"));
    let (status, _, body) = text(emu.fault_response(&InjectedFault::Status(400))).await;
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(status, 400);
    assert!(body["failures"].is_array());
}

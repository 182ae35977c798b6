//! The soft sync-rate counters (§9, §13.26): every sync an instance starts counts toward its
//! type's hourly limit, whether started by `POST /syncs` or by an upload to a definition that
//! triggers its sync; past the limit the next sync gets 429 until an hour has passed.

use serde_json::json;

use crate::harness::*;

/// Starts a sync of `def_uri` and returns the HTTP status.
async fn try_sync(sb: &Sandbox, def_uri: &str) -> u16 {
    sb.post(&sb.bulk("/syncs"), &json!({"syncedInstanceUri": def_uri}))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn every_import_sync_counts_and_a_slot_frees_an_hour_later() {
    let sb = start(false, 0).await;
    sb.settings(json!({"import_syncs_per_hour": 2, "export_syncs_per_hour": 1, "sync_action_syncs_per_hour": 1}))
        .await;
    let first = sb
        .define("/opportunities/contacts/imports", linkage_definition("a"))
        .await;
    let mut auto = linkage_definition("b");
    auto["isSyncTriggeredOnImport"] = json!(true);
    let second = sb.define("/opportunities/contacts/imports", auto).await;

    // Two import syncs of two definitions: one started by POST /syncs, one by an upload.
    assert_eq!(
        sb.import(&first, rows(&[("1", "a@example.org")])).await["status"],
        "success"
    );
    let (status, sync) = sb
        .post_json(
            &sb.bulk(&format!("{second}/data")),
            &rows(&[("2", "b@example.org")]),
        )
        .await;
    assert_eq!(status, 201, "{sync}");
    sb.wait(sync["uri"].as_str().unwrap()).await;

    // The hour's limit is reached for both ways of starting a sync.
    assert_eq!(try_sync(&sb, &first).await, 429);
    let (status, body) = sb
        .post_json(
            &sb.bulk(&format!("{second}/data")),
            &rows(&[("3", "c@example.org")]),
        )
        .await;
    assert_eq!(status, 429, "{body}");

    let advance = sb
        .http
        .post(sb.inspect("/clock"))
        .json(&json!({"advance_secs": 3600}));
    assert_eq!(send(advance).await.0, 200);
    sb.upload(&first, rows(&[("4", "d@example.org")])).await;
    assert_eq!(
        try_sync(&sb, &first).await,
        201,
        "an hour later the slots are free"
    );
    // The refused upload's rows were taken back: a sync of that definition links nothing.
    let (status, sync) = sb
        .post_json(&sb.bulk("/syncs"), &json!({"syncedInstanceUri": second}))
        .await;
    assert_eq!(status, 201, "{sync}");
    sb.wait(sync["uri"].as_str().unwrap()).await;
    let (status, _) = sb.get_json(&sb.inspect("/opportunities/2/contacts")).await;
    assert_eq!(status, 200, "the accepted upload linked opportunity 2");
    let (status, _) = sb.get_json(&sb.inspect("/opportunities/3/contacts")).await;
    assert_eq!(status, 404, "the refused upload's row was not kept");
}

#[tokio::test]
async fn the_old_setting_name_still_sets_the_import_limit() {
    let sb = start(false, 0).await;
    sb.settings(json!({"syncs_per_hour": 0})).await;
    let uri = sb
        .define("/opportunities/contacts/imports", linkage_definition("z"))
        .await;
    sb.upload(&uri, rows(&[("1", "a@example.org")])).await;
    assert_eq!(try_sync(&sb, &uri).await, 429);
}

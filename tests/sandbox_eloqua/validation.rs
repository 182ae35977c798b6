//! Definition validation: every rule of §11 answers 400 with `{"failures": [...]}` (§10.2, §13.6).

use serde_json::{Map, Value, json};

use crate::harness::*;

async fn refused(sb: &Sandbox, collection: &str, body: Value, field: &str) {
    let (status, answer) = sb.post_json(&sb.bulk(collection), &body).await;
    assert_failure(status, &answer, field);
}

fn with(mut body: Value, key: &str, value: Value) -> Value {
    body[key] = value;
    body
}

#[tokio::test]
async fn invalid_definitions_get_400_with_failures() {
    let sb = start(true, 0).await;
    let link = "/opportunities/contacts/imports";
    let base = linkage_definition("v");
    let many: Map<String, Value> = (0..101)
        .map(|i| {
            (
                format!("C{i}"),
                json!("{{Opportunity.Contact.Field(C_EmailAddress)}}"),
            )
        })
        .collect();
    refused(
        &sb,
        link,
        with(base.clone(), "fields", Value::Object(many)),
        "fields",
    )
    .await;
    refused(
        &sb,
        link,
        with(base.clone(), "name", json!("x".repeat(101))),
        "name",
    )
    .await;
    refused(
        &sb,
        link,
        with(base.clone(), "identifierFieldName", json!("Emial")),
        "identifierFieldName",
    )
    .await;
    refused(
        &sb,
        link,
        with(base.clone(), "linkOpportunitiesEntityType", json!("Lead")),
        "linkOpportunitiesEntityType",
    )
    .await;
    refused(
        &sb,
        link,
        with(
            base.clone(),
            "linkOpportunitiesMatchFieldName",
            json!("EmailAddress"),
        ),
        "linkOpportunitiesMatchFieldName",
    )
    .await;
    refused(
        &sb,
        link,
        with(base.clone(), "linkOpportunitiesSourceField", json!("Nope")),
        "linkOpportunitiesSourceField",
    )
    .await;
    refused(
        &sb,
        link,
        with(base.clone(), "dataRetentionDuration", json!("P15D")),
        "dataRetentionDuration",
    )
    .await;
    refused(
        &sb,
        link,
        with(base.clone(), "dataRetentionDuration", json!("PT30M")),
        "dataRetentionDuration",
    )
    .await;
    refused(
        &sb,
        link,
        with(base.clone(), "autoDeleteDuration", json!("PT10M")),
        "autoDeleteDuration",
    )
    .await;
    refused(
        &sb,
        link,
        with(base.clone(), "autoDeleteDuration", json!("two days")),
        "autoDeleteDuration",
    )
    .await;
    refused(
        &sb,
        link,
        with(base.clone(), "updateRule", json!("sometimes")),
        "updateRule",
    )
    .await;
    refused(
        &sb,
        link,
        with(base.clone(), "importRule", json!("upsert")),
        "importRule",
    )
    .await;
    refused(
        &sb,
        link,
        with(base.clone(), "isSyncTriggeredOnImport", json!("maybe")),
        "isSyncTriggeredOnImport",
    )
    .await;
    refused(
        &sb,
        link,
        with(
            base.clone(),
            "importPriorityUri",
            json!("/imports/priorities/99"),
        ),
        "importPriorityUri",
    )
    .await;
    refused(
        &sb,
        link,
        with(base.clone(), "syncActions", json!([])),
        "syncActions",
    )
    .await;
    refused(&sb, link, json!({"fields": base["fields"]}), "name").await;
    refused(
        &sb,
        link,
        with(
            base.clone(),
            "fields",
            json!({"OpportunityID": "Opportunity.Id"}),
        ),
        "fields.OpportunityID",
    )
    .await;

    let contact = json!({"name": "c", "fields": {"Email": "{{Contact.Field(C_EmailAddress)}}"}, "identifierFieldName": "Email"});
    let actions: Vec<Value> = (0..11)
        .map(|i| json!({"action": "add", "destination": format!("{{{{ContactList[{i}]}}}}")}))
        .collect();
    refused(
        &sb,
        "/contacts/imports",
        with(contact.clone(), "syncActions", json!(actions)),
        "syncActions",
    )
    .await;
    refused(
        &sb,
        "/contacts/imports",
        with(
            contact.clone(),
            "syncActions",
            json!([{"action": "setStatus", "destination": "{{EmailGroup[4]}}"}]),
        ),
        "syncActions[0].status",
    )
    .await;
    refused(
        &sb,
        "/contacts/imports",
        with(
            contact.clone(),
            "fields",
            json!({"Email": "{{Contact.Field(C_EmailAddress)}}", "X": "{{Contact.Field(C_Nope)}}"}),
        ),
        "fields.X",
    )
    .await;
    refused(
        &sb,
        "/contacts/imports",
        with(contact.clone(), "identifierFieldName", Value::Null),
        "identifierFieldName",
    )
    .await;
    let by_id = json!({"name": "c", "fields": {"Id": "{{Contact.Id}}", "Email": "{{Contact.Field(C_EmailAddress)}}"},
                       "identifierFieldName": "Id", "isUpdatingMultipleMatchedRecords": true});
    refused(
        &sb,
        "/contacts/imports",
        by_id,
        "isUpdatingMultipleMatchedRecords",
    )
    .await;
    let read_only = json!({"name": "c", "fields": {"Email": "{{Contact.Field(C_EmailAddress)}}", "Created": "{{Contact.Field(C_DateCreated)}}"},
                           "identifierFieldName": "Email"});
    refused(&sb, "/contacts/imports", read_only, "fields.Created").await;
    let by_date = json!({"name": "c", "fields": {"D": "{{Contact.Field(C_DateCreated)}}"}, "identifierFieldName": "D"});
    refused(&sb, "/contacts/imports", by_date, "identifierFieldName").await;
    let opp = json!({"name": "o", "fields": {"OppId": "{{Opportunity.Id}}", "Name": "{{Opportunity.Field(Name)}}", "Stage": "{{Opportunity.Field(Stage)}}"},
                     "identifierFieldName": "OppId"});
    refused(&sb, "/opportunities/imports", opp, "fields").await;

    // Several problems are reported at once; a body that is not JSON is a parsing error.
    let (status, both) = sb
        .post_json(
            &sb.bulk(link),
            &with(
                with(base.clone(), "updateRule", json!("x")),
                "importRule",
                json!("y"),
            ),
        )
        .await;
    assert_failure(status, &both, "importRule");
    assert_failure(status, &both, "updateRule");
    let (status, body) = send(
        sb.http
            .post(sb.bulk(link))
            .basic_auth(USER, Some(PASSWORD))
            .body("{not json"),
    )
    .await;
    assert_failure(status, &body, "body");
    assert_eq!(
        body["failures"][0]["constraint"],
        "There was a parsing error."
    );

    // String booleans are accepted (Oracle's examples send them).
    let (status, ok) = sb
        .post_json(
            &sb.bulk(link),
            &with(
                base,
                "linkOpportunitiesMultipleSourceMatches",
                json!("false"),
            ),
        )
        .await;
    assert_eq!(
        (status, &ok["linkOpportunitiesMultipleSourceMatches"]),
        (201, &json!(false))
    );
}

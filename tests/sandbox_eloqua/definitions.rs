//! Import definitions: CRUD, defaults, validation (§5, §11, §13.5–8) and field discovery.

use serde_json::{Value, json};

use crate::harness::*;

const LINKAGE: &str = "/api/bulk/2.0/opportunities/contacts/imports";
const OPPORTUNITY: &str = "/api/bulk/2.0/opportunities/imports";
const REQUIRED: &[&str] = &[
    "uri",
    "name",
    "fields",
    "createdAt",
    "createdBy",
    "updatedAt",
    "updatedBy",
    "dataRetentionDuration",
];

fn is_eloqua_timestamp(text: &str) -> bool {
    // 2024-03-05T10:11:12.1234567Z
    let b = text.as_bytes();
    text.len() == 28
        && b[4] == b'-'
        && b[10] == b'T'
        && b[19] == b'.'
        && b[27] == b'Z'
        && text[20..27].bytes().all(|c| c.is_ascii_digit())
}

#[tokio::test]
async fn definitions_are_created_read_listed_updated_and_deleted() {
    let sb = start(false, 0).await;
    let mut body = linkage_definition("first");
    body.as_object_mut()
        .unwrap()
        .remove("isSyncTriggeredOnImport");
    body.as_object_mut()
        .unwrap()
        .remove("dataRetentionDuration");
    let (status, def) = sb
        .post_json(&sb.bulk("/opportunities/contacts/imports"), &body)
        .await;
    assert_eq!(status, 201, "{def}");
    // Defaults of §13.5.
    assert_eq!(def["dataRetentionDuration"], "P7D");
    assert_eq!(def["isSyncTriggeredOnImport"], false);
    assert_eq!(def["isUpdatingMultipleMatchedRecords"], false);
    assert!(
        is_eloqua_timestamp(def["createdAt"].as_str().unwrap()),
        "{def}"
    );
    let uri = def["uri"].as_str().unwrap().to_string();

    sb.define(
        "/opportunities/contacts/imports",
        linkage_definition("second"),
    )
    .await;
    let (status, list) = sb
        .get_json(&sb.bulk("/opportunities/contacts/imports?limit=1"))
        .await;
    assert_eq!(status, 200);
    let mut schema = response_schema(
        Doc::Opportunities,
        LINKAGE,
        "get",
        "200",
        &[
            "items",
            "totalResults",
            "limit",
            "offset",
            "count",
            "hasMore",
        ],
    );
    // The vendor document types list items as the generic `Import`, which lacks the link*
    // properties a linkage definition has: validate them as the single-definition read instead.
    schema["properties"]["items"]["items"] = response_schema(
        Doc::Opportunities,
        &format!("{LINKAGE}/{{id}}"),
        "get",
        "200",
        REQUIRED,
    );
    assert_valid(&schema, &list);
    assert_eq!(
        (
            list["count"].as_u64(),
            list["totalResults"].as_u64(),
            list["hasMore"].as_bool()
        ),
        (Some(1), Some(2), Some(true))
    );
    let (_, found) = sb
        .get_json(&sb.bulk("/opportunities/contacts/imports?q=name='sec*'"))
        .await;
    assert_eq!(found["items"][0]["name"], "second", "{found}");

    // PUT replaces the definition and moves updatedAt.
    let mut changed = linkage_definition("renamed");
    changed["uri"] = json!(uri); // clients echo read-only properties back
    changed["createdAt"] = def["createdAt"].clone();
    let response = sb
        .http
        .put(sb.bulk(&uri))
        .basic_auth(USER, Some(PASSWORD))
        .json(&changed)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let updated: Value = response.json().await.unwrap();
    assert_valid(
        &response_schema(
            Doc::Opportunities,
            &format!("{LINKAGE}/{{id}}"),
            "put",
            "200",
            REQUIRED,
        ),
        &updated,
    );
    assert_eq!(
        (
            updated["name"].as_str(),
            updated["createdAt"] == def["createdAt"]
        ),
        (Some("renamed"), true)
    );
    assert!(updated["updatedAt"].as_str() >= def["updatedAt"].as_str());

    let response = sb
        .http
        .delete(sb.bulk(&uri))
        .basic_auth(USER, Some(PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 204);
    let (status, _) = sb.get_json(&sb.bulk(&uri)).await;
    assert_eq!(status, 404);
    let (status, _) = sb
        .get_json(&sb.bulk("/opportunities/contacts/imports/999"))
        .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn opportunity_and_contact_definitions_match_their_schemas() {
    let sb = start(false, 0).await;
    let (status, opp) = sb
        .post_json(
            &sb.bulk("/opportunities/imports"),
            &json!({"name": "opps", "fields": {"OppId": "{{Opportunity.Id}}", "Name": "{{Opportunity.Field(Name)}}",
                     "Stage": "{{Opportunity.Field(Stage)}}", "Amount": "{{Opportunity.Field(Amount)}}"},
                    "identifierFieldName": "OppId", "isIdentifierFieldCaseSensitive": false}),
        )
        .await;
    assert_eq!(status, 201, "{opp}");
    assert_valid(
        &response_schema(Doc::Opportunities, OPPORTUNITY, "post", "201", REQUIRED),
        &opp,
    );
    let (_, read) = sb.get_json(&sb.bulk(opp["uri"].as_str().unwrap())).await;
    assert_valid(
        &response_schema(
            Doc::Opportunities,
            &format!("{OPPORTUNITY}/{{id}}"),
            "get",
            "200",
            REQUIRED,
        ),
        &read,
    );

    let (status, contact) = sb
        .post_json(
            &sb.bulk("/contacts/imports"),
            &json!({"name": "contacts-nightly", "fields": {"Email": "{{Contact.Field(C_EmailAddress)}}", "First": "{{Contact.Field(C_FirstName)}}"},
                    "identifierFieldName": "Email", "isSyncTriggeredOnImport": "false", "updateRule": "ifNewIsNotNull",
                    "syncActions": [{"action": "add", "destination": "{{ContactList[4711]}}"}]}),
        )
        .await;
    assert_eq!(status, 201, "{contact}");
    assert!(
        contact["uri"]
            .as_str()
            .unwrap()
            .starts_with("/contacts/imports/")
    );
    assert_valid(
        &component_schema(Doc::Opportunities, "Import", REQUIRED),
        &contact,
    );
}

#[tokio::test]
async fn schema_validation_catches_a_renamed_or_retyped_field() {
    // Guards the guard: the closed schemas used above must reject drift.
    let sb = start(false, 0).await;
    let (_, def) = sb
        .post_json(
            &sb.bulk("/opportunities/contacts/imports"),
            &linkage_definition("drift"),
        )
        .await;
    let schema = response_schema(Doc::Opportunities, LINKAGE, "post", "201", REQUIRED);
    let validator = jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .unwrap();
    assert!(validator.is_valid(&def));
    let mut renamed = def.clone();
    let created = renamed
        .as_object_mut()
        .unwrap()
        .remove("createdBy")
        .unwrap();
    renamed["createdby"] = created;
    assert!(!validator.is_valid(&renamed));
    let mut retyped = def.clone();
    retyped["kbUsed"] = json!("0");
    assert!(!validator.is_valid(&retyped));
    let mut bad_time = def;
    bad_time["createdAt"] = json!("yesterday");
    assert!(!validator.is_valid(&bad_time));
}

#[tokio::test]
async fn contact_fields_are_listed_paged_and_unknown_ones_created_outside_strict_mode() {
    let sb = start(false, 0).await;
    let (status, page) = sb.get_json(&sb.bulk("/contacts/fields?limit=5")).await;
    assert_eq!(status, 200);
    let total = page["totalResults"].as_u64().unwrap();
    assert_eq!(
        (
            page["count"].as_u64(),
            page["limit"].as_u64(),
            page["offset"].as_u64(),
            page["hasMore"].as_bool()
        ),
        (Some(5), Some(5), Some(0), Some(true))
    );
    for field in page["items"].as_array().unwrap() {
        for key in ["name", "internalName", "statement", "dataType", "uri"] {
            assert!(field[key].is_string(), "{field}");
        }
    }
    assert_eq!(
        page["items"][0]["statement"],
        "{{Contact.Field(C_EmailAddress)}}"
    );
    let (_, tail) = sb
        .get_json(&sb.bulk(&format!("/contacts/fields?limit=5&offset={}", total - 2)))
        .await;
    assert_eq!(
        (tail["count"].as_u64(), tail["hasMore"].as_bool()),
        (Some(2), Some(false))
    );
    let (_, no_total) = sb
        .get_json(&sb.bulk("/contacts/fields?limit=5&totalResults=false"))
        .await;
    assert!(no_total.get("totalResults").is_none(), "{no_total}");
    for bad in ["limit=1001", "limit=0", "limit=ten", "offset=-1"] {
        let (status, body) = sb
            .get_json(&sb.bulk(&format!("/contacts/fields?{bad}")))
            .await;
        assert_eq!(status, 400, "{bad}: {body}");
    }
    let (_, one) = sb
        .get_json(&sb.bulk(page["items"][1]["uri"].as_str().unwrap()))
        .await;
    assert_eq!(one["internalName"], "C_FirstName");

    // Non-strict: a definition naming an unknown contact field creates it.
    sb.define("/contacts/imports", json!({"name": "c", "fields": {"E": "{{Contact.Field(C_EmailAddress)}}", "T": "{{Contact.Field(C_Tier1)}}"},
                                         "identifierFieldName": "E"})).await;
    let fields = sb.all(&sb.bulk("/contacts/fields")).await;
    assert_eq!(fields.len() as u64, total + 1);
    assert!(fields.iter().any(|f| f["internalName"] == "C_Tier1"));

    let (status, opp_fields) = sb.get_json(&sb.bulk("/opportunities/fields")).await;
    assert_eq!(status, 200);
    let mut schema = response_schema(
        Doc::Opportunities,
        "/api/bulk/2.0/opportunities/fields",
        "get",
        "200",
        &["items", "totalResults", "count", "hasMore"],
    );
    require_items(
        &mut schema,
        &["name", "internalName", "statement", "dataType", "uri"],
    );
    assert_valid(&schema, &opp_fields);
}

//! Response shapes checked with JSON Schema. The vendor publishes no machine-readable
//! document for this API, so these schemas are written here from the notes (§4.1, §4.4,
//! §4.5): every documented property with its type, nothing else, so a renamed or retyped
//! field fails.

use serde_json::{Value, json};

use super::{Sandbox, person, start};

fn status_schema() -> Value {
    let counter = json!({"type": "integer", "minimum": 0});
    let flag = json!({"type": "boolean"});
    json!({
        "type": "object",
        "additionalProperties": false,
        "required": ["AccessToken", "Status", "Expires", "Name", "ImportAction", "DataStageDuration",
            "MatchCriteria", "MatchValue", "RefreshAlternateIds", "RefreshContacts", "RefreshCustomFields",
            "RefreshGroups", "RefreshTags", "AllowPriorConsents", "PreservePreferences", "ReasonCode",
            "TotalRecordsReceived", "ValidationSuccessful", "ValidationFailed", "Processed", "Pending",
            "Exceptions", "NotHonored"],
        "properties": {
            "AccessToken": {"type": "integer", "minimum": 1},
            "Status": {"enum": ["Initiated", "Staging", "Queued", "Processing", "Completed", "Failed"]},
            "Expires": {"type": "string", "pattern": "^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}"},
            "Name": {"type": "string", "minLength": 1, "maxLength": 100},
            "ImportAction": {"enum": ["Add", "Delete"]},
            "DataStageDuration": {"type": "integer", "minimum": 0, "maximum": 10},
            "MatchCriteria": {"enum": [null, "AlternateIdType"]},
            "MatchValue": {"type": ["string", "null"]},
            "RefreshAlternateIds": flag, "RefreshContacts": flag, "RefreshCustomFields": flag,
            "RefreshGroups": flag, "RefreshTags": flag, "AllowPriorConsents": flag,
            "PreservePreferences": {"type": ["boolean", "null"]},
            "ReasonCode": {"type": ["string", "null"], "maxLength": 256},
            "TotalRecordsReceived": counter, "ValidationSuccessful": counter, "ValidationFailed": counter,
            "Processed": counter, "Pending": counter, "Exceptions": counter, "NotHonored": counter
        }
    })
}

fn exceptions_schema() -> Value {
    let definition = json!({
        "type": "object", "additionalProperties": false, "required": ["Code", "Message"],
        "properties": {"Code": {"type": "string"}, "Message": {"type": "string"}}
    });
    json!({
        "type": "object",
        "additionalProperties": false,
        "required": ["Count", "HasMore", "Limit", "Offset", "TotalResults", "UserProfilePreferences"],
        "properties": {
            "Count": {"type": "integer", "minimum": 0},
            "HasMore": {"type": "boolean"},
            "Limit": {"type": "integer", "minimum": 1},
            "Offset": {"type": "integer", "minimum": 1},
            "TotalResults": {"type": "integer", "minimum": 0},
            "UserProfilePreferences": {"type": "array", "items": {
                "type": "object",
                "required": ["SequenceNumber", "Exceptions"],
                "properties": {
                    "SequenceNumber": {"type": "integer", "minimum": 1},
                    "Exceptions": {"type": "array", "minItems": 1, "items": definition},
                    "Emails": {"type": "array", "items": {"type": "object", "properties": {
                        "Exceptions": {"type": "array", "items": definition}}}}
                }
            }}
        }
    })
}

fn check(schema: &Value, instance: &Value, what: &str) {
    let validator = jsonschema::validator_for(schema).expect("schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(instance)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{what}: {errors:?} in {instance}");
}

async fn flow(sb: &Sandbox) -> Vec<(&'static str, Value)> {
    let mut replies = Vec::new();
    let settings = json!({"Name": "schema", "MatchCriteria": "AlternateIdType", "MatchValue": "CRM",
        "RefreshGroups": true, "PreservePreferences": false, "ReasonCode": "r"});
    let (_, initiated) = sb.post(super::INITIATE, settings).await;
    let token = initiated["AccessToken"].as_u64().expect("token");
    replies.push(("initiate", initiated));
    let records = json!([person("C1", "a@example.org"), {"AlternateIds": [], "Emails": [{"EmailAddress": ""}]}]);
    replies.push(("stage", sb.stage(token, records).await.1));
    replies.push(("execute", sb.execute(token).await.1));
    for status in sb.wait(token).await {
        replies.push(("status", status));
    }
    replies
}

#[tokio::test]
async fn every_import_response_matches_the_documented_shape() {
    let sb = start().await;
    let replies = flow(&sb).await;
    let schema = status_schema();
    for (what, reply) in &replies {
        check(&schema, reply, what);
    }
    // The schema bites: a renamed or retyped field is caught.
    let validator = jsonschema::validator_for(&schema).expect("schema compiles");
    let mut renamed = replies[0].1.clone();
    if let Some(map) = renamed.as_object_mut() {
        let value = map.remove("NotHonored").unwrap_or(Value::Null);
        map.insert("NotHonoured".into(), value);
    }
    assert!(!validator.is_valid(&renamed));
    let mut retyped = replies[0].1.clone();
    retyped["AccessToken"] = json!("123");
    assert!(!validator.is_valid(&retyped));

    let token = replies[0].1["AccessToken"].as_u64().expect("token");
    let (_, page) = sb.exceptions(token, "?limit=10").await;
    check(&exceptions_schema(), &page, "exceptions");
    assert_eq!(page["Count"], 1);
}

//! Contact and opportunity imports: upserts, update and import rules, sync actions, the sandbox
//! contact cap, opportunity stages and amounts (§4.2, §13.20).

use serde_json::{Value, json};

use crate::harness::*;

fn contact_definition(name: &str) -> Value {
    json!({
        "name": name,
        "fields": {"Email": "{{Contact.Field(C_EmailAddress)}}", "First": "{{Contact.Field(C_FirstName)}}",
                   "City": "{{Contact.Field(C_City)}}"},
        "identifierFieldName": "Email",
        "isSyncTriggeredOnImport": false,
        "updateRule": "ifNewIsNotNull",
        "syncActions": [{"action": "add", "destination": "{{ContactList[4711]}}"},
                        {"action": "setStatus", "destination": "{{EmailGroup[45]}}", "status": "subscribed"}]
    })
}

async fn contact(sb: &Sandbox, email: &str) -> Value {
    let (_, contacts) = sb.get_json(&sb.inspect("/contacts")).await;
    contacts
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["emailAddress"] == email)
        .cloned()
        .unwrap_or(Value::Null)
}

#[tokio::test]
async fn contact_import_upserts_honours_update_rules_and_applies_sync_actions() {
    let sb = start(true, 0).await;
    sb.seed(json!({"contacts": [{"emailAddress": "ana@example.org", "firstName": "Ana", "city": "Lisbon"}]})).await;
    let uri = sb
        .define("/contacts/imports", contact_definition("nightly"))
        .await;
    let done = sb
        .import(
            &uri,
            json!([
                {"Email": "ANA@example.org", "First": "", "City": "Porto"},
                {"Email": "new@example.org", "First": "Neo"},
                {"Email": "broken@", "First": "X"},
                {"Email": "new@example.org", "First": "Twice"},
                {"First": "No email"}
            ]),
        )
        .await;
    assert_eq!(done["status"], "warning");
    let ana = contact(&sb, "ana@example.org").await;
    assert_eq!(
        ana["fields"]["C_FirstName"], "Ana",
        "ifNewIsNotNull keeps the old value for an empty one"
    );
    assert_eq!(ana["fields"]["C_City"], "Porto");
    assert_eq!(
        contact(&sb, "new@example.org").await["fields"]["C_FirstName"],
        "Neo"
    );
    let rejects = sb
        .all(&sb.bulk(&format!("{}/rejects", done["uri"].as_str().unwrap())))
        .await;
    let codes: Vec<&str> = rejects
        .iter()
        .map(|r| r["statusCode"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["ELQ-00002", "ELQ-00011", "ELQ-00061"]);
    let logs = sb
        .all(&sb.bulk(&format!("{}/logs", done["uri"].as_str().unwrap())))
        .await;
    let count = |code: &str| {
        logs.iter()
            .find(|l| l["statusCode"] == code)
            .map(|l| l["count"].as_u64().unwrap())
    };
    assert_eq!(
        (count("ELQ-00004"), count("ELQ-00022"), count("ELQ-00060")),
        (Some(1), Some(1), Some(3))
    );

    let (_, memberships) = sb.get_json(&sb.inspect("/memberships")).await;
    assert_eq!(
        memberships["{{ContactList[4711]}}"]
            .as_object()
            .unwrap()
            .len(),
        2
    );
    assert!(
        memberships["{{EmailGroup[45]}}"]
            .as_object()
            .unwrap()
            .values()
            .all(|s| s == "subscribed")
    );

    // updateOnly refuses unknown contacts; "always" blanks a field sent empty.
    let mut update_only = contact_definition("update-only");
    update_only["importRule"] = json!("updateOnly");
    update_only["updateRule"] = json!("always");
    let uri = sb.define("/contacts/imports", update_only).await;
    let done = sb.import(&uri, json!([{"Email": "ana@example.org", "First": null}, {"Email": "ghost@example.org", "First": "G"}])).await;
    let rejects = sb
        .all(&sb.bulk(&format!("{}/rejects", done["uri"].as_str().unwrap())))
        .await;
    assert_eq!(rejects[0]["statusCode"], "ELQ-00034");
    assert!(
        contact(&sb, "ana@example.org").await["fields"]
            .get("C_FirstName")
            .is_none()
    );
    assert_eq!(contact(&sb, "ghost@example.org").await, Value::Null);
}

#[tokio::test]
async fn sandbox_contact_cap_rejects_new_contacts_but_still_updates() {
    let sb = start(false, 0).await;
    sb.seed(
        json!({"contacts": ["a@example.org", "b@example.org"], "settings": {"contact_limit": 3}}),
    )
    .await;
    let uri = sb
        .define("/contacts/imports", contact_definition("cap"))
        .await;
    let done = sb
        .import(&uri, json!([{"Email": "c@example.org"}, {"Email": "d@example.org"}, {"Email": "a@example.org", "First": "A"}]))
        .await;
    assert_eq!(done["status"], "warning");
    let rejects = sb
        .all(&sb.bulk(&format!("{}/rejects", done["uri"].as_str().unwrap())))
        .await;
    assert_eq!(rejects.len(), 1);
    assert_eq!(
        (
            rejects[0]["recordIndex"].as_u64(),
            rejects[0]["message"].as_str()
        ),
        (Some(2), Some("Sandbox Limit Exceeded."))
    );
    assert_eq!(
        contact(&sb, "a@example.org").await["fields"]["C_FirstName"],
        "A"
    );
}

#[tokio::test]
async fn opportunity_import_creates_opportunities_that_linkage_then_uses() {
    let sb = start(true, 0).await;
    sb.seed(json!({"contacts": ["ana@example.org"]})).await;
    let opps = sb
        .define("/opportunities/imports", json!({
            "name": "opps",
            "fields": {"OppId": "{{Opportunity.Id}}", "Name": "{{Opportunity.Field(Name)}}",
                       "Stage": "{{Opportunity.Field(Stage)}}", "Amount": "{{Opportunity.Field(Amount)}}"},
            "identifierFieldName": "OppId"
        }))
        .await;
    let done = sb
        .import(
            &opps,
            json!([
                {"OppId": "OPP-1", "Name": "Renewal", "Stage": "Prospecting", "Amount": "1200.50"},
                {"OppId": "OPP-2", "Name": "Bad stage", "Stage": "Dreaming", "Amount": "1"},
                {"OppId": "OPP-3", "Name": "Bad amount", "Stage": "Proposal", "Amount": "lots"},
                {"OppId": "OPP-4", "Stage": "Proposal", "Amount": "5"},
                {"OppId": "opp-1", "Name": "Renewal 2024", "Stage": "Negotiation", "Amount": "1300"}
            ]),
        )
        .await;
    assert_eq!(done["status"], "warning");
    let rejects = sb
        .all(&sb.bulk(&format!("{}/rejects", done["uri"].as_str().unwrap())))
        .await;
    let codes: Vec<&str> = rejects
        .iter()
        .map(|r| r["statusCode"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["ELQ-00039", "ELQ-00032", "ELQ-00061", "ELQ-00026"]);
    let (_, all) = sb.get_json(&sb.inspect("/opportunities")).await;
    assert_eq!(all.as_array().unwrap().len(), 1);
    assert_eq!(
        (all[0]["name"].as_str(), all[0]["fields"]["Amount"].as_str()),
        (Some("Renewal"), Some("1200.50"))
    );

    let link = sb
        .define(
            "/opportunities/contacts/imports",
            linkage_definition("link"),
        )
        .await;
    assert_eq!(
        sb.import(&link, rows(&[("OPP-1", "ana@example.org")]))
            .await["status"],
        "success"
    );
    let (_, linked) = sb
        .get_json(&sb.inspect("/opportunities/OPP-1/contacts"))
        .await;
    assert_eq!(linked[0]["emailAddress"], "ana@example.org");
}

#[tokio::test]
async fn multiple_matches_update_all_only_when_asked() {
    let sb = start(true, 0).await;
    sb.seed(json!({"contacts": [
        {"emailAddress": "a@acme.example", "company": "Acme"},
        {"emailAddress": "b@acme.example", "company": "Acme"}
    ]}))
    .await;
    let definition = |name: &str, multiple: bool| {
        json!({"name": name, "fields": {"Company": "{{Contact.Field(C_Company)}}", "City": "{{Contact.Field(C_City)}}"},
               "identifierFieldName": "Company", "isUpdatingMultipleMatchedRecords": multiple})
    };
    let first_only = sb
        .define("/contacts/imports", definition("first", false))
        .await;
    sb.import(&first_only, json!([{"Company": "acme", "City": "Oslo"}]))
        .await;
    let cities = |sb: &Sandbox| {
        let url = sb.inspect("/contacts");
        let http = sb.http.clone();
        async move {
            let contacts: Value = http.get(url).send().await.unwrap().json().await.unwrap();
            contacts
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["fields"]["C_City"].as_str().map(str::to_string))
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(cities(&sb).await, [Some("Oslo".to_string()), None]);
    let all = sb
        .define("/contacts/imports", definition("all", true))
        .await;
    let done = sb
        .import(&all, json!([{"Company": "Acme", "City": "Bergen"}]))
        .await;
    assert_eq!(done["status"], "success");
    assert_eq!(
        cities(&sb).await,
        [Some("Bergen".to_string()), Some("Bergen".to_string())]
    );
}

//! The opportunity-contact linkage import: the main flow and its partial outcomes (§13.17–22).

use serde_json::{Value, json};

use crate::harness::*;

const LINKAGE: &str = "/api/bulk/2.0/opportunities/contacts/imports";
const DEF_REQUIRED: &[&str] = &[
    "uri",
    "name",
    "fields",
    "createdAt",
    "createdBy",
    "updatedAt",
    "updatedBy",
    "isSyncTriggeredOnImport",
    "dataRetentionDuration",
    "linkOpportunitiesEntityType",
    "linkOpportunitiesMatchFieldName",
    "linkOpportunitiesSourceField",
];
const SYNC_REQUIRED: &[&str] = &[
    "uri",
    "status",
    "syncedInstanceUri",
    "createdAt",
    "createdBy",
];
const LOG_REQUIRED: &[&str] = &[
    "syncUri",
    "severity",
    "statusCode",
    "message",
    "count",
    "createdAt",
];
const REJECT_REQUIRED: &[&str] = &[
    "recordIndex",
    "statusCode",
    "message",
    "invalidFields",
    "fieldValues",
];
const PAGE_REQUIRED: &[&str] = &[
    "items",
    "totalResults",
    "limit",
    "offset",
    "count",
    "hasMore",
];

fn log_count(logs: &[Value], code: &str) -> u64 {
    logs.iter()
        .filter(|l| l["statusCode"] == code)
        .map(|l| l["count"].as_u64().unwrap())
        .sum()
}

#[tokio::test]
async fn linkage_flow_goes_pending_active_success_and_links_contacts() {
    let sb = start(false, 600).await;
    sb.seed(json!({"contacts": ["ana@example.org", {"emailAddress": "bo@example.org", "firstName": "Bo"}],
                   "opportunities": [{"id": "OPP-1001", "name": "Renewal"}]}))
        .await;
    let (status, def) = sb
        .post_json(
            &sb.bulk("/opportunities/contacts/imports"),
            &linkage_definition("crm-link"),
        )
        .await;
    assert_eq!(status, 201, "{def}");
    assert_valid(
        &response_schema(Doc::Opportunities, LINKAGE, "post", "201", DEF_REQUIRED),
        &def,
    );
    let uri = def["uri"].as_str().unwrap();
    assert!(uri.starts_with("/opportunities/contacts/imports/"), "{uri}");
    assert_eq!(def["createdBy"], "sandbox");
    let (status, read) = sb.get_json(&sb.bulk(uri)).await;
    assert_eq!(status, 200);
    assert_valid(
        &response_schema(
            Doc::Opportunities,
            &format!("{LINKAGE}/{{id}}"),
            "get",
            "200",
            DEF_REQUIRED,
        ),
        &read,
    );

    sb.upload(
        uri,
        rows(&[
            ("OPP-1001", "ana@example.org"),
            ("OPP-1001", "bo@example.org"),
        ]),
    )
    .await;
    let (status, sync) = sb
        .post_json(&sb.bulk("/syncs"), &json!({"syncedInstanceUri": uri}))
        .await;
    assert_eq!(status, 201, "{sync}");
    assert_eq!(sync["status"], "pending");
    assert!(
        sync.get("syncStartedAt").is_none(),
        "a pending sync has not started: {sync}"
    );
    assert_valid(
        &response_schema(
            Doc::Syncs,
            "/api/bulk/2.0/syncs",
            "post",
            "201",
            SYNC_REQUIRED,
        ),
        &sync,
    );

    let (seen, done) = sb.wait(sync["uri"].as_str().unwrap()).await;
    assert_eq!(seen, ["pending", "active", "success"]);
    let mut required = SYNC_REQUIRED.to_vec();
    required.extend(["syncStartedAt", "syncEndedAt"]);
    assert_valid(
        &response_schema(
            Doc::Syncs,
            "/api/bulk/2.0/syncs/{id}",
            "get",
            "200",
            &required,
        ),
        &done,
    );

    let logs_url = sb.bulk(&format!("{}/logs", done["uri"].as_str().unwrap()));
    let (status, logs) = sb.get_json(&logs_url).await;
    assert_eq!(status, 200);
    let mut schema = response_schema(
        Doc::Syncs,
        "/api/bulk/2.0/syncs/{id}/logs",
        "get",
        "200",
        PAGE_REQUIRED,
    );
    require_items(&mut schema, LOG_REQUIRED);
    assert_valid(&schema, &logs);
    let items = logs["items"].as_array().unwrap();
    assert_eq!(log_count(items, "ELQ-00001"), 2);
    assert_eq!(log_count(items, "ELQ-00060"), 0);
    assert!(
        items.last().unwrap()["message"]
            .as_str()
            .unwrap()
            .contains("Success"),
        "{logs}"
    );

    let (status, linked) = sb
        .get_json(&sb.inspect("/opportunities/OPP-1001/contacts"))
        .await;
    assert_eq!(status, 200);
    let emails: Vec<&str> = linked
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["emailAddress"].as_str().unwrap())
        .collect();
    assert_eq!(emails, ["ana@example.org", "bo@example.org"]);
    assert_eq!(linked[1]["fields"]["C_FirstName"], "Bo");
}

#[tokio::test]
async fn strict_linkage_rejects_rows_with_documented_codes_and_ends_in_warning() {
    let sb = start(true, 0).await;
    sb.seed(json!({"contacts": ["ana@example.org", "bo@example.org"], "opportunities": [{"id": "OPP-1", "name": "A"}]}))
        .await;
    let uri = sb
        .define(
            "/opportunities/contacts/imports",
            linkage_definition("strict"),
        )
        .await;
    let data = json!([
        {"OpportunityID": "OPP-1", "EmailAddress": "ana@example.org"},
        {"OpportunityID": "OPP-404", "EmailAddress": "ana@example.org"},
        {"OpportunityID": "OPP-1", "EmailAddress": "ghost@example.org"},
        {"OpportunityID": "OPP-1", "EmailAddress": "not-an-email"},
        {"OpportunityID": "OPP-1"},
        {"OpportunityID": null, "EmailAddress": ""},
        {"OpportunityID": "OPP-1", "EmailAddress": "ana@example.org"},
        {"OpportunityID": "opp-1", "EmailAddress": "BO@example.org"}
    ]);
    let done = sb.import(&uri, data).await;
    assert_eq!(done["status"], "warning", "{done}");
    let sync_uri = done["uri"].as_str().unwrap();

    // Rejects, paged two at a time, validated against the vendor schema.
    let (status, first) = sb
        .get_json(&sb.bulk(&format!("{sync_uri}/rejects?limit=2")))
        .await;
    assert_eq!(status, 200);
    let mut schema = response_schema(
        Doc::Syncs,
        "/api/bulk/2.0/syncs/{id}/rejects",
        "get",
        "200",
        PAGE_REQUIRED,
    );
    require_items(&mut schema, REJECT_REQUIRED);
    assert_valid(&schema, &first);
    assert_eq!(
        (
            first["count"].as_u64(),
            first["totalResults"].as_u64(),
            first["hasMore"].as_bool()
        ),
        (Some(2), Some(6), Some(true))
    );
    let (_, last) = sb
        .get_json(&sb.bulk(&format!("{sync_uri}/rejects?limit=2&offset=4")))
        .await;
    assert_eq!(
        (
            last["count"].as_u64(),
            last["offset"].as_u64(),
            last["hasMore"].as_bool()
        ),
        (Some(2), Some(4), Some(false))
    );
    let rejects = sb.all(&sb.bulk(&format!("{sync_uri}/rejects"))).await;
    let codes: Vec<(u64, &str)> = rejects
        .iter()
        .map(|r| {
            (
                r["recordIndex"].as_u64().unwrap(),
                r["statusCode"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        codes,
        [
            (2, "ELQ-00084"),
            (3, "ELQ-00085"),
            (4, "ELQ-00002"),
            (5, "ELQ-00061"),
            (6, "ELQ-00059"),
            (7, "ELQ-00026")
        ]
    );
    assert_eq!(rejects[1]["message"], "Contact does not exist.");
    assert_eq!(rejects[1]["invalidFields"], json!(["EmailAddress"]));
    assert_eq!(
        rejects[1]["fieldValues"],
        json!({"OpportunityID": "OPP-1", "EmailAddress": "ghost@example.org"})
    );
    assert_eq!(rejects[3]["invalidFields"], json!(["EmailAddress"]));

    // Logs add up: processed = new + confirmed + rejected; per-code lines sum to ELQ-00060.
    let logs = sb.all(&sb.bulk(&format!("{sync_uri}/logs"))).await;
    assert_eq!(log_count(&logs, "ELQ-00001"), 8);
    assert_eq!(log_count(&logs, "ELQ-00060"), 6);
    assert_eq!(
        log_count(&logs, "ELQ-00049") + log_count(&logs, "ELQ-00022") + 6,
        8
    );
    assert_eq!(log_count(&logs, "ELQ-00085"), 1);
    assert_eq!(logs.last().unwrap()["statusCode"], "ELQ-00101");

    // Case-insensitive match and source fields linked the last row to the same opportunity.
    let (_, linked) = sb
        .get_json(&sb.inspect("/opportunities/OPP-1/contacts"))
        .await;
    assert_eq!(linked.as_array().unwrap().len(), 2, "{linked}");
    let (_, opportunities) = sb.get_json(&sb.inspect("/opportunities")).await;
    assert_eq!(
        opportunities.as_array().unwrap().len(),
        1,
        "strict mode creates nothing: {opportunities}"
    );
}

#[tokio::test]
async fn non_strict_linkage_creates_unknown_opportunities_and_contacts() {
    let sb = start(false, 0).await;
    let uri = sb
        .define(
            "/opportunities/contacts/imports",
            linkage_definition("quickstart"),
        )
        .await;
    let done = sb
        .import(
            &uri,
            rows(&[("OPP-9", "new@example.org"), ("OPP-9", "bad-email")]),
        )
        .await;
    assert_eq!(done["status"], "warning");
    let (_, linked) = sb
        .get_json(&sb.inspect("/opportunities/OPP-9/contacts"))
        .await;
    assert_eq!(linked[0]["emailAddress"], "new@example.org");
    let rejects = sb
        .all(&sb.bulk(&format!("{}/rejects", done["uri"].as_str().unwrap())))
        .await;
    assert_eq!(rejects.len(), 1);
    assert_eq!(rejects[0]["statusCode"], "ELQ-00002");
}

#[tokio::test]
async fn relinking_is_idempotent_and_all_rejected_is_error() {
    let sb = start(true, 0).await;
    sb.seed(
        json!({"contacts": ["ana@example.org"], "opportunities": [{"id": "1", "name": "Renewal"}]}),
    )
    .await;
    let uri = sb
        .define(
            "/opportunities/contacts/imports",
            linkage_definition("again"),
        )
        .await;
    assert_eq!(
        sb.import(&uri, rows(&[("1", "ana@example.org")])).await["status"],
        "success"
    );
    let again = sb.import(&uri, rows(&[("1", "ana@example.org")])).await;
    assert_eq!(
        again["status"], "success",
        "re-linking an existing pair is not an error"
    );
    let logs = sb
        .all(&sb.bulk(&format!("{}/logs", again["uri"].as_str().unwrap())))
        .await;
    assert_eq!(
        (log_count(&logs, "ELQ-00049"), log_count(&logs, "ELQ-00022")),
        (0, 1)
    );
    let (_, linked) = sb.get_json(&sb.inspect("/opportunities/1/contacts")).await;
    assert_eq!(linked.as_array().unwrap().len(), 1);

    let failed = sb
        .import(
            &uri,
            rows(&[("2", "ana@example.org"), ("1", "nobody@example.org")]),
        )
        .await;
    assert_eq!(failed["status"], "error");
    sb.settings(json!({"errored_spelling": true})).await;
    let (_, spelled) = sb.get_json(&sb.bulk(failed["uri"].as_str().unwrap())).await;
    assert_eq!(spelled["status"], "errored");
}

#[tokio::test]
async fn account_linkage_links_the_accounts_contacts_first_only_unless_multiple() {
    let sb = start(true, 0).await;
    sb.seed(json!({
        "contacts": [{"emailAddress": "a@acme.example", "account": "Acme"}, {"emailAddress": "b@acme.example", "account": "Acme"},
                     {"emailAddress": "c@other.example", "account": "Other"}],
        "opportunities": [{"id": "A1", "name": "Acme deal"}, {"id": "A2", "name": "Acme upsell"}]
    }))
    .await;
    let mut def = json!({
        "name": "by-account",
        "fields": {"OpportunityID": "{{Opportunity.Id}}", "Company": "{{Opportunity.Account.Field(M_CompanyName)}}"},
        "linkOpportunitiesEntityType": "Account",
        "linkOpportunitiesMatchFieldName": "OpportunityID",
        "linkOpportunitiesSourceField": "Company",
        "linkOpportunitiesMultipleSourceMatches": "true"
    });
    let all = sb
        .define("/opportunities/contacts/imports", def.clone())
        .await;
    def["linkOpportunitiesMultipleSourceMatches"] = json!(false);
    def["name"] = json!("by-account-first");
    let first = sb.define("/opportunities/contacts/imports", def).await;
    let done = sb.import(&all, json!([{"OpportunityID": "A1", "Company": "acme"}, {"OpportunityID": "A1", "Company": "Nope"}])).await;
    assert_eq!(done["status"], "warning");
    sb.import(&first, json!([{"OpportunityID": "A2", "Company": "Acme"}]))
        .await;
    let (_, a1) = sb.get_json(&sb.inspect("/opportunities/A1/contacts")).await;
    let (_, a2) = sb.get_json(&sb.inspect("/opportunities/A2/contacts")).await;
    assert_eq!(a1.as_array().unwrap().len(), 2);
    assert_eq!(a2.as_array().unwrap().len(), 1);
    assert_eq!(a2[0]["account"], "Acme");
}

#[tokio::test]
async fn case_sensitive_source_field_refuses_a_different_case() {
    let sb = start(true, 0).await;
    sb.seed(json!({"contacts": ["ana@example.org"], "opportunities": [{"id": "X", "name": "x"}]}))
        .await;
    let mut def = linkage_definition("cs");
    def["linkOpportunitiesCaseSensitiveSourceField"] = json!(true);
    def["linkOpportunitiesCaseSensitiveMatchField"] = json!(true);
    let uri = sb.define("/opportunities/contacts/imports", def).await;
    let done = sb
        .import(
            &uri,
            rows(&[("X", "ANA@example.org"), ("x", "ana@example.org")]),
        )
        .await;
    assert_eq!(done["status"], "error");
    let rejects = sb
        .all(&sb.bulk(&format!("{}/rejects", done["uri"].as_str().unwrap())))
        .await;
    let codes: Vec<&str> = rejects
        .iter()
        .map(|r| r["statusCode"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["ELQ-00085", "ELQ-00084"]);
}

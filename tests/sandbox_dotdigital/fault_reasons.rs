//! Every per-record rule of §11 item 7 produces its documented fault reason without failing
//! the import, and the counters add up.

use serde_json::{Value, json};

use crate::support::*;

fn seed() -> Value {
    json!({
        "contacts": ["ann@example.org", "bob@example.org", {"email": "cy@example.org", "id": 7}],
        "collections": [{"name": "Orders", "scope": "contact"}],
        "limits": {"distinct_properties": 12}
    })
}

#[tokio::test]
async fn every_fault_reason_is_reported_per_record() {
    let sb = start(true, seed()).await;
    // The first import fixes the collection's types and gives key "owned" to ann.
    let first = sb
        .import_report(
            "Orders",
            &json!([{"key": "owned", "contactIdentifier": "ann@example.org",
                     "json": {"total": 1, "status": "open", "order_id": "x"}}]),
        )
        .await;
    assert_eq!(first["totalImported"], 1);

    let long_string = "x".repeat(4001);
    let long_name = "p".repeat(65);
    let many: serde_json::Map<String, Value> =
        (0..12).map(|i| (format!("f{i}"), json!(i))).collect();
    let body = json!([
        {"key": "ok-1", "contactIdentifier": "bob@example.org", "json": {"total": 2, "lines": [{"sku": "a"}]}},
        {"key": "", "contactIdentifier": "bob@example.org", "json": {}},
        {"key": "k".repeat(256), "contactIdentifier": "bob@example.org", "json": {}},
        {"key": "ok-1", "contactIdentifier": "bob@example.org", "json": {}},
        {"key": "bad-ident", "contactIdentifier": "bob at example", "json": {}},
        {"key": "no-ident", "json": {}},
        {"key": "bad-json", "contactIdentifier": "bob@example.org", "json": "{\"total\": "},
        {"key": "array-json", "contactIdentifier": "bob@example.org", "json": "[1, 2]"},
        {"key": "no-json", "contactIdentifier": "bob@example.org"},
        {"key": "nested", "contactIdentifier": "bob@example.org", "json": {"m": [[1, 2]]}},
        {"key": "clash", "contactIdentifier": "bob@example.org", "json": {"a-b": 1, "a_b": 2}},
        {"key": "clash-stored", "contactIdentifier": "bob@example.org", "json": {"order-id": "y"}},
        {"key": "long-name", "contactIdentifier": "bob@example.org", "json": {long_name: 1}},
        {"key": "bad-name", "contactIdentifier": "bob@example.org", "json": {"a.b": 1}},
        {"key": "long-value", "contactIdentifier": "bob@example.org", "json": {"note": long_string}},
        {"key": "big-number", "contactIdentifier": "bob@example.org", "json": {"total": 1e16}},
        {"key": "schema", "contactIdentifier": "bob@example.org", "json": {"total": "two"}},
        {"key": "in-request", "contactIdentifier": "bob@example.org", "json": {"lines": [{"sku": 5}]}},
        {"key": "owned", "contactIdentifier": "bob@example.org", "json": {"total": 3}},
        {"key": "unknown-email", "contactIdentifier": "zed@example.org", "json": {}},
        {"key": "unknown-id", "contactIdentifier": "8", "json": {}},
        {"key": "by-id", "contactIdentifier": "7", "json": {"total": 4}},
        {"key": "too-many", "contactIdentifier": "cy@example.org", "json": many},
    ]);
    let report = sb.import_report("Orders", &body).await;
    assert_valid(&report_schemas(), &report);
    let expected = [
        ("", "InvalidClientKey"),
        (&*"k".repeat(256), "InvalidClientKey"),
        ("ok-1", "DuplicateKey"),
        ("bad-ident", "InvalidContactIdentifier"),
        ("no-ident", "InvalidContactIdentifier"),
        ("bad-json", "InvalidJson"),
        ("array-json", "InvalidJson"),
        ("no-json", "InvalidJson"),
        ("nested", "JsonContainsNestedArray"),
        ("clash", "JsonContainsDashUnderscoreClash"),
        ("clash-stored", "JsonContainsDashUnderscoreClash"),
        ("long-name", "JsonKeyTooLong"),
        ("bad-name", "JsonKeyInvalidCharacters"),
        ("long-value", "JsonValueTooLong"),
        ("big-number", "JsonNumberValueTooLarge"),
        ("schema", "JsonValueIncompatibleWithSchema"),
        ("in-request", "InconsistentTypes"),
        ("owned", "KeyExistingForDifferentContact"),
        ("unknown-email", "ContactEmailDoesNotExist"),
        ("unknown-id", "ContactIdDoesNotExist"),
        ("too-many", "TooManyDistinctKeyValuePairs"),
    ];
    let expected: Vec<(String, String)> = expected
        .iter()
        .map(|(k, r)| (k.to_string(), r.to_string()))
        .collect();
    assert_eq!(faults(&report), expected);
    assert_eq!(report["totalItems"], 23);
    assert_eq!(report["totalImported"], 2);
    assert_eq!(report["totalRejected"], 21);
    let stored: Vec<String> = sb
        .inspect("Orders")
        .await
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["key"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(stored, ["by-id", "ok-1", "owned"]);
}

#[tokio::test]
async fn a_request_where_every_contact_is_unknown_is_still_accepted() {
    let sb = start(true, seed()).await;
    let body = json!([
        {"key": "a", "contactIdentifier": "x@example.org", "json": {}},
        {"key": "b", "contactIdentifier": "123456", "json": {}}
    ]);
    let report = sb.import_report("Orders", &body).await;
    assert_eq!(report["totalImported"], 0);
    assert_eq!(report["totalRejected"], 2);
    assert_eq!(
        faults(&report),
        [
            ("a".into(), "ContactEmailDoesNotExist".into()),
            ("b".into(), "ContactIdDoesNotExist".into())
        ]
    );
    assert_eq!(sb.inspect("Orders").await, json!([]));
}

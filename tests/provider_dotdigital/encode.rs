//! `encode`: the exact upload bytes, and their length equal to what the plan's size model
//! (`Mapper`) predicts for the same source rows.

use std::io::Write;

use bulkspec::providers::{BatchKind, ChunkRecord, Provider, ProviderError};
use bulkspec::source::map::{Mapper, Outcome};
use bulkspec::source::{Format, ReadOptions, SourceReader};
use bulkspec::spec::render::RenderContext;
use serde_json::json;

use super::*;

#[tokio::test]
async fn encode_writes_the_documented_array_byte_for_byte() {
    let sb = common::start_sandbox(20).await;
    let p = provider(&sb, "orders", "contact");
    let records = [
        record(
            "ORD-1",
            "ann@example.org",
            json!({"orderTotal": 42.5, "lines": [{"sku": "A-1", "qty": 2}]}),
        ),
        record(
            "q\"uote\\d",
            "1234567",
            json!({"note": "line\nbreak é", "z": null, "a": true}),
        ),
    ];
    let body = p.encode(BatchKind::Upsert, &records).unwrap();
    let want = concat!(
        r#"[{"key":"ORD-1","contactIdentifier":"ann@example.org","json":{"orderTotal":42.5,"lines":[{"sku":"A-1","qty":2}]}},"#,
        r#"{"key":"q\"uote\\d","contactIdentifier":"1234567","json":{"note":"line\nbreak é","z":null,"a":true}}]"#,
    );
    assert_eq!(std::str::from_utf8(&body).unwrap(), want);
    assert_eq!(&p.encode(BatchKind::Upsert, &[]).unwrap()[..], b"[]");

    let account = provider(&sb, "resorts", "account");
    let body = account
        .encode(
            BatchKind::Upsert,
            &[record("R-1", "account", json!({"a": 1}))],
        )
        .unwrap();
    assert_eq!(
        &body[..],
        br#"[{"key":"R-1","contactIdentifier":"account","json":{"a":1}}]"#
    );
}

#[tokio::test]
async fn encode_refuses_what_the_import_cannot_take() {
    let sb = common::start_sandbox(20).await;
    let p = provider(&sb, "orders", "contact");
    let ok = [record("ORD-1", "ann@example.org", json!({"a": 1}))];
    assert!(matches!(
        p.encode(BatchKind::Delete, &ok),
        Err(ProviderError::Permanent { .. })
    ));
    let mut no_contact = record("ORD-2", "x", json!({}));
    no_contact.contact = None;
    let err = p.encode(BatchKind::Upsert, &[no_contact]).unwrap_err();
    assert!(err.to_string().contains("ORD-2"), "{err}");
    assert!(
        p.encode(BatchKind::Upsert, &[record("ORD-3", "account", json!({}))])
            .is_err()
    );
    let account = provider(&sb, "resorts", "account");
    assert!(
        account
            .encode(
                BatchKind::Upsert,
                &[record("R-1", "ann@example.org", json!({}))]
            )
            .is_err()
    );
}

/// Maps every row of `text` (a source file of `format`) with the plan's `Mapper`, and returns
/// the records and the size the plan predicts for one upload of all of them.
fn mapped(spec_value: serde_json::Value, text: &str, format: Format) -> (Vec<ChunkRecord>, u64) {
    let spec: bulkspec::spec::types::Spec = serde_json::from_value(spec_value).unwrap();
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(text.as_bytes()).unwrap();
    let mut reader = SourceReader::open(&ReadOptions::new(file.path(), format)).unwrap();
    let mapper = Mapper::new(&spec, &RenderContext::default(), &reader).unwrap();
    let mut session = mapper.session().unwrap();
    let mut predicted = mapper.header_bytes;
    let mut records = Vec::new();
    while let Some(row) = reader.next_row().unwrap() {
        predicted += match session.map(&row) {
            Outcome::Ok(m) => m.wire_bytes,
            Outcome::Invalid { reason, .. } => panic!("row did not map: {reason}"),
        };
        let (key, contact, json) = session.record_body(&row).unwrap();
        records.push(ChunkRecord {
            key,
            key_hash: 0,
            content_hash: 0,
            line: 0,
            contact,
            record: json,
        });
    }
    (records, predicted)
}

fn spec_json(scope: &str, format: &str) -> serde_json::Value {
    let mut target = json!({"provider": "dotdigital", "object": "transactional_data", "connection": "sandbox",
        "collection": "orders", "scope": scope});
    if scope == "contact" {
        target["contact_identifier"] = json!("{{ row.email }}");
    }
    json!({
        "version": 1, "job": "orders", "target": target,
        "source": {"path": format!("orders.{format}")},
        "key": "{{ row.order_id }}",
        "record": {
            "orderTotal": "{{ row.total }}",
            "label": "{{ row.currency }} order",
            "meta": {"note": "{{ row.note }}", "src": "import", "n": 3, "flags": [true, "{{ row.currency }}"]},
        },
    })
}

#[tokio::test]
async fn encoded_length_is_what_the_plan_predicts_for_csv_rows() {
    let sb = common::start_sandbox(20).await;
    let csv = "order_id,email,total,currency,note\n\
               ORD-1,ann@example.org,42.5,EUR,plain\n\
               \"ORD \"\"2\"\"\",ben@example.org,9.99,GBP,\"multi\nline, with \\ and é\"\n\
               ORD-3,cat@example.org,,USD,\"tab\there \u{1}ctl\"\n";
    for scope in ["contact", "account"] {
        let (records, predicted) = mapped(spec_json(scope, "csv"), csv, Format::Csv);
        assert_eq!(records.len(), 3);
        let p = DotdigitalProvider::new(
            &serde_json::from_value(spec_json(scope, "csv")).unwrap(),
            context(&sb),
        )
        .unwrap();
        let body = p.encode(BatchKind::Upsert, &records).unwrap();
        assert_eq!(
            body.len() as u64,
            predicted,
            "{scope}: {}",
            String::from_utf8_lossy(&body)
        );
        assert!(
            String::from_utf8_lossy(&body).contains(r#"{"key":"ORD \"2\"","#),
            "the quoted key is escaped"
        );
        // One record alone, too (the per-upload bracket byte).
        let (first, predicted_one) = mapped(
            spec_json(scope, "csv"),
            "order_id,email,total,currency,note\nORD-1,ann@example.org,42.5,EUR,plain\n",
            Format::Csv,
        );
        assert_eq!(
            p.encode(BatchKind::Upsert, &first).unwrap().len() as u64,
            predicted_one
        );
    }
}

#[tokio::test]
async fn encoded_length_is_what_the_plan_predicts_for_json_lines() {
    let sb = common::start_sandbox(20).await;
    let jsonl = concat!(
        r#"{"order_id": "ORD-1", "email": "ann@example.org", "total": 42.5, "currency": "EUR", "note": {"gift": true, "lines": [{"sku": "A", "qty": 2}]}}"#,
        "\n",
        r#"{"order_id": "ORD-2", "email": "ben@example.org", "total": 1e3, "currency": "GBP", "note": null}"#,
        "\n",
    );
    let (records, predicted) = mapped(spec_json("contact", "jsonl"), jsonl, Format::Jsonl);
    let p = DotdigitalProvider::new(
        &serde_json::from_value(spec_json("contact", "jsonl")).unwrap(),
        context(&sb),
    )
    .unwrap();
    let body = p.encode(BatchKind::Upsert, &records).unwrap();
    assert_eq!(
        body.len() as u64,
        predicted,
        "{}",
        String::from_utf8_lossy(&body)
    );
    // Typed values keep their type in `json`.
    let sent: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(sent[0]["json"]["orderTotal"], json!(42.5));
    assert_eq!(sent[0]["json"]["meta"]["note"]["lines"][0]["qty"], json!(2));
}

/// A JSON Lines key (or contact id) that is a number goes on the wire as a string, as the API
/// types it; the plan's size model counts it as a bare number, 2 bytes short per record.
/// Un-ignore once `source::map::Session::size` sizes envelope leaves as strings.
#[tokio::test]
async fn numeric_keys_are_sent_as_strings_and_predicted_so() {
    let sb = common::start_sandbox(20).await;
    let jsonl = "{\"order_id\": 10001, \"email\": \"ann@example.org\", \"total\": 1, \"currency\": \"EUR\", \"note\": null}\n";
    let (records, predicted) = mapped(spec_json("contact", "jsonl"), jsonl, Format::Jsonl);
    let p = DotdigitalProvider::new(
        &serde_json::from_value(spec_json("contact", "jsonl")).unwrap(),
        context(&sb),
    )
    .unwrap();
    let body = p.encode(BatchKind::Upsert, &records).unwrap();
    assert!(body.starts_with(br#"[{"key":"10001","#));
    assert_eq!(
        body.len() as u64,
        predicted,
        "{}",
        String::from_utf8_lossy(&body)
    );
}

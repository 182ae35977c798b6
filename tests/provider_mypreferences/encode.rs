//! `encode`: the Stage body byte for byte, and its length against what the plan's Mapper
//! predicts for the same source rows (the plan chunks uploads by these sizes).

use bulkspec::providers::{BatchKind, ChunkRecord, Provider};
use bulkspec::source::map::{Mapper, Outcome};
use bulkspec::source::{Format, ReadOptions, SourceReader};
use bulkspec::spec::render::RenderContext;
use serde_json::json;

use super::*;

#[tokio::test]
async fn the_stage_body_is_the_wrapped_compact_records() {
    let sb = sandbox(40).await;
    let p = provider(&sb, &spec(json!({})));
    let body = p
        .encode(BatchKind::Upsert, &records(&["C-1", "C-2"]))
        .unwrap();
    let expected = concat!(
        r#"{"UserProfilePreferences":["#,
        r#"{"AlternateIds":[{"AlternateIdType":"CRM","AlternateId":"C-1"}],"Emails":[{"EmailAddress":"c-1@example.org","IsDefault":true}]},"#,
        r#"{"AlternateIds":[{"AlternateIdType":"CRM","AlternateId":"C-2"}],"Emails":[{"EmailAddress":"c-2@example.org","IsDefault":true}]}"#,
        r#"]}"#
    );
    assert_eq!(std::str::from_utf8(&body).unwrap(), expected);
    let delete = p.encode(BatchKind::Delete, &records(&["C-1"])).unwrap();
    assert!(delete.starts_with(br#"{"UserProfilePreferences":[{"AlternateIds""#));
}

#[tokio::test]
async fn the_body_is_the_mapper_prediction_plus_the_wrapper() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("profiles.csv");
    let csv = "crm_id,email,tier\nC-1,ana@example.org,gold\n\"C-\"\"2\",\"b,é@example.org\",\nC-3,c3@example.org,\"sil\"\"ver\ttab\"\n";
    std::fs::write(&path, csv).unwrap();
    let spec = spec(json!({"record": {
        "AlternateIds": [{"AlternateIdType": "CRM", "AlternateId": "{{ row.crm_id }}"}],
        "Emails": [{"EmailAddress": "{{ row.email }}", "IsDefault": true}],
        "CustomerType": "{{ row.tier | upper }}",
        "PreservePreferences": true
    }}));
    let mut reader = SourceReader::open(&ReadOptions::new(&path, Format::Csv)).unwrap();
    let mapper = Mapper::new(&spec, &RenderContext::default(), &reader).unwrap();
    let mut session = mapper.session().unwrap();
    let mut predicted = mapper.header_bytes;
    let mut chunk = Vec::new();
    while let Some(row) = reader.next_row().unwrap() {
        match session.map(&row) {
            Outcome::Ok(m) => predicted += m.wire_bytes,
            Outcome::Invalid { reason, .. } => panic!("{reason}"),
        }
        let (key, contact, record) = session.record_body(&row).unwrap();
        chunk.push(ChunkRecord {
            key,
            key_hash: 0,
            content_hash: 0,
            line: 0,
            contact,
            record,
        });
    }
    assert_eq!(chunk.len(), 3);
    let sb = sandbox(40).await;
    let p = provider(&sb, &spec);
    let body = p.encode(BatchKind::Upsert, &chunk).unwrap();
    // The plan's Mapper counts the Stage envelope for MyPreferences targets (27 bytes over a
    // bare JSON array), so the body is exactly the prediction.
    let wrapper = r#"{"UserProfilePreferences":"#.len() as u64 + 1;
    assert_eq!(wrapper, 27);
    assert_eq!(
        body.len() as u64,
        predicted,
        "{}",
        String::from_utf8_lossy(&body)
    );
    assert_eq!(p.stage_framing_bytes(), wrapper + 2);

    // And the sandbox reads every byte of it.
    let batch = p.open_batch(BatchKind::Upsert).await.unwrap();
    p.upload(&batch, 0, body).await.unwrap();
    assert_eq!(
        import_status(&sb, &batch.id).await["ValidationSuccessful"],
        3
    );
}

//! The upload body: a compact JSON array of the records, byte for byte, and exactly the size
//! the plan's Mapper predicted for the same rows (the plan chunks uploads by those sizes).

use bulkspec::providers::{BatchKind, ChunkRecord, Provider, ProviderError};
use bulkspec::source::SourceReader;
use bulkspec::source::map::{Mapper, Outcome};
use bulkspec::spec::render::RenderContext;
use serde_json::json;

use crate::harness::{linkage_spec, record, sandbox};

#[tokio::test]
async fn encode_is_a_compact_json_array_of_the_records() {
    let env = sandbox(30).await;
    let p = env.provider(&linkage_spec());
    let records = [
        record(
            1,
            json!({"OpportunityID": "OPP-1", "EmailAddress": "a@example.com"}),
        ),
        record(
            2,
            json!({"OpportunityID": "OPP-\"2\"", "EmailAddress": "é\\b@example.com"}),
        ),
    ];
    let body = p.encode(BatchKind::Upsert, &records).unwrap();
    let want = r#"[{"OpportunityID":"OPP-1","EmailAddress":"a@example.com"},{"OpportunityID":"OPP-\"2\"","EmailAddress":"é\\b@example.com"}]"#;
    assert_eq!(std::str::from_utf8(&body).unwrap(), want);
    let one = p.encode(BatchKind::Upsert, &records[..1]).unwrap();
    assert_eq!(
        &one[..],
        br#"[{"OpportunityID":"OPP-1","EmailAddress":"a@example.com"}]"#
    );
    assert!(matches!(
        p.encode(BatchKind::Delete, &records),
        Err(ProviderError::Permanent { .. })
    ));
}

#[tokio::test]
async fn encoded_size_is_what_the_mapper_predicts() {
    let dir = tempfile::tempdir().unwrap();
    let csv = "opp,email\nOPP-1,a@example.com\n\"OPP \"\"2\"\"\",b\\c@example.com\nOPP-3 日本,c@example.com\n\"OPP\t4\",d@example.com\n";
    std::fs::write(dir.path().join("links.csv"), csv).unwrap();
    let spec = linkage_spec();
    let opts = bulkspec::source::options::read_options(&dir.path().join("spec.yaml"), &spec.source)
        .unwrap();
    let mut reader = SourceReader::open(&opts).unwrap();
    let mapper = Mapper::new(&spec, &RenderContext::default(), &reader).unwrap();
    let mut session = mapper.session().unwrap();
    let mut records: Vec<ChunkRecord> = Vec::new();
    let mut predicted = mapper.header_bytes;
    let mut line = 1;
    while let Some(row) = reader.next_row().unwrap() {
        line += 1;
        match session.map(&row) {
            Outcome::Ok(m) => predicted += m.wire_bytes,
            Outcome::Invalid { reason, .. } => panic!("line {line}: {reason}"),
        }
        let (key, _, value) = session.record_body(&row).unwrap();
        records.push(ChunkRecord {
            key,
            key_hash: 0,
            content_hash: 0,
            line,
            contact: None,
            record: value,
        });
    }
    assert_eq!(records.len(), 4);

    let env = sandbox(30).await;
    let p = env.provider(&spec);
    let body = p.encode(BatchKind::Upsert, &records).unwrap();
    assert_eq!(
        body.len() as u64,
        predicted,
        "{}",
        String::from_utf8_lossy(&body)
    );
    // Every prefix of the chunk too: the plan cuts chunks anywhere.
    for n in 1..records.len() {
        let part = p.encode(BatchKind::Upsert, &records[..n]).unwrap();
        let parsed: Vec<serde_json::Value> = serde_json::from_slice(&part).unwrap();
        assert_eq!(parsed.len(), n);
    }
}

//! `encode` writes exactly the bytes the plan counts: the records and sizes come from the real
//! `Mapper` over a source file, and the body is compared byte for byte.

use bulkspec::providers::{BatchKind, ChunkRecord, Provider};
use bulkspec::source::map::{Mapper, Outcome};
use bulkspec::source::{Format, ReadOptions, SourceReader};
use bulkspec::spec::render::RenderContext;
use bulkspec::spec::types::Spec;
use serde_json::json;

use crate::support::{leads_spec, members_spec, provider, sandbox};

const SOURCE: &str = "email,first,last,score,company\n\
ann@example.org,Ann,Lee,12,\"Acme, Inc.\"\n\
bo@example.org,\"Bo \"\"B\"\"\",Ray,7, Globex\n\
cy@example.org,Cy;x,\"multi\nline\",0,Initech \n\
dé@example.org,Dé,日本,3,x\ty\n";

/// Maps every row of `SOURCE` with the spec: the chunk records and the plan's predicted size
/// (header plus every record's wire bytes).
fn map_source(spec: &Spec) -> (Vec<ChunkRecord>, u64) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("people.csv");
    std::fs::write(&path, SOURCE).unwrap();
    let mut reader = SourceReader::open(&ReadOptions::new(&path, Format::Csv)).unwrap();
    let mapper = Mapper::new(spec, &RenderContext::default(), &reader).unwrap();
    let mut session = mapper.session().unwrap();
    let mut predicted = mapper.header_bytes;
    let mut recs = Vec::new();
    while let Some(row) = reader.next_row().unwrap() {
        match session.map(&row) {
            Outcome::Ok(m) => predicted += m.wire_bytes,
            Outcome::Invalid { reason, .. } => panic!("line {}: {reason}", row.line()),
        }
        let (key, contact, record) = session.record_body(&row).unwrap();
        let line = row.line();
        recs.push(ChunkRecord {
            key,
            key_hash: 0,
            content_hash: 0,
            line,
            contact,
            record,
        });
    }
    (recs, predicted)
}

#[tokio::test]
async fn program_member_upload_is_the_planned_bytes() {
    let sb = sandbox().await;
    let spec = members_spec(
        1,
        "On List",
        json!({
            "email": "{{ row.email }}",
            "firstName": "{{ row.first }}",
            "lastName": "{{ row.last }}",
            "leadScore": "{{ row.score | int }}",
            "company": "{{ row.company }}",
            "leadSource": "Webinar {{ row.first }}",
            "unsubscribed": false
        }),
    );
    let (recs, predicted) = map_source(&spec);
    assert_eq!(recs.len(), 4);
    let body = provider(&sb, &spec)
        .encode(BatchKind::Upsert, &recs)
        .unwrap();
    assert_eq!(body.len() as u64, predicted);
    let expected = "email,firstName,lastName,leadScore,company,leadSource,unsubscribed\n\
ann@example.org,Ann,Lee,12,\"Acme, Inc.\",Webinar Ann,false\n\
bo@example.org,\"Bo \"\"B\"\"\",Ray,7,\" Globex\",\"Webinar Bo \"\"B\"\"\",false\n\
cy@example.org,Cy;x,\"multi\nline\",0,\"Initech \",Webinar Cy;x,false\n\
dé@example.org,Dé,日本,3,x\ty,Webinar Dé,false\n";
    assert_eq!(std::str::from_utf8(&body).unwrap(), expected);
}

#[tokio::test]
async fn semicolon_upload_is_the_planned_bytes() {
    let sb = sandbox().await;
    let spec = leads_spec(
        "email",
        1,
        json!({"email": "{{ row.email }}", "firstName": "{{ row.first }}", "company": "{{ row.company }}"}),
    );
    let (recs, predicted) = map_source(&spec);
    let body = provider(&sb, &spec)
        .encode(BatchKind::Upsert, &recs)
        .unwrap();
    assert_eq!(body.len() as u64, predicted);
    let text = std::str::from_utf8(&body).unwrap();
    assert!(
        text.starts_with("email;firstName;company\nann@example.org;Ann;Acme, Inc.\n"),
        "{text}"
    );
    assert!(
        text.contains("cy@example.org;\"Cy;x\";\"Initech \"\n"),
        "{text}"
    );
    assert!(!text.starts_with('\u{feff}'));
}

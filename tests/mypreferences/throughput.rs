//! Throughput of one 10 MB Stage request and its execution (ignored by default: it measures).
//! Run: `cargo test --test sandbox_mypreferences throughput -- --ignored --nocapture`.

use std::fmt::Write;
use std::time::{Duration, Instant};

use bulkspec::sandbox::core::{SandboxConfig, Shared};
use bulkspec::sandbox::mypreferences::Mypreferences;
use reqwest::StatusCode;
use serde_json::json;

use super::{INITIATE, read, serve};

#[tokio::test(flavor = "multi_thread")]
#[ignore = "measurement; run explicitly"]
async fn throughput_of_a_10_mb_stage_and_execute() {
    let shared = Shared::new(SandboxConfig {
        processing_time: Duration::ZERO,
        ..SandboxConfig::default()
    });
    let sb = serve(Mypreferences::new(shared.clone()), shared).await;
    let settings = json!({"Name": "perf", "MatchCriteria": "AlternateIdType", "MatchValue": "CRM"});
    let token = sb.initiate(settings).await;
    let mut body = String::from(r#"{"UserProfilePreferences":["#);
    let mut records = 0u64;
    while body.len() < 10 * 1024 * 1024 {
        let sep = if records == 0 { "" } else { "," };
        let _ = write!(
            body,
            r#"{sep}{{"AlternateIds":[{{"AlternateIdType":"CRM","AlternateId":"C{records}"}}],"Emails":[{{"EmailAddress":"p{records}@example.org","EmailAddressType":"Personal","IsDefault":true}}],"CustomerType":"Retail"}}"#
        );
        records += 1;
    }
    body.push_str("]}");
    let bytes = body.len();
    let started = Instant::now();
    let url = sb.url(&format!("{INITIATE}/{token}/Stage"));
    let request = sb
        .http
        .post(url)
        .header("Authorization", sb.auth())
        .header("Content-Type", "application/json");
    let (code, reply) = read(request.body(body).send().await.expect("stage")).await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(reply["ValidationSuccessful"].as_u64(), Some(records));
    let staged = started.elapsed();
    sb.execute(token).await;
    let last = sb.wait(token).await.pop().expect("final");
    assert_eq!(last["Processed"].as_u64(), Some(records));
    let total = started.elapsed();
    let mb = bytes as f64 / (1024.0 * 1024.0);
    eprintln!(
        "{records} records, {mb:.1} MB: stage {staged:?}, stage+execute {total:?} = {:.1} MB/s",
        mb / total.as_secs_f64()
    );
}

//! Reading back what the sandbox holds for a chaos job (through its `/_sandbox` inspection
//! routes) in the shape of `ChaosJob::expected`, and checking it holds every expected record
//! exactly once with the expected values, and nothing else. Included with `#[path]` after
//! `chaos_jobs.rs` and `procs.rs`.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::chaos_jobs::{ChaosJob, Kind};
use super::procs::SandboxProc;

/// Every record the sandbox holds for the job, as (key, values), duplicates included.
pub fn held(job: &ChaosJob, sb: &SandboxProc) -> Vec<(String, Value)> {
    match job.kind {
        Kind::Marketo => marketo(job, sb),
        Kind::Eloqua => eloqua(job, sb),
        Kind::Dotdigital => dotdigital(job, sb),
        Kind::Mypreferences => mypreferences(sb),
    }
}

fn list(v: Value, what: &str) -> Vec<Value> {
    match v {
        Value::Array(a) => a,
        other => panic!("{what}: not a JSON array: {other}"),
    }
}

fn text(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_owned()
}

fn marketo(job: &ChaosJob, sb: &SandboxProc) -> Vec<(String, Value)> {
    let path = format!("/_sandbox/marketo/programs/{}/members", job.program_id);
    list(sb.get(&path), &path)
        .into_iter()
        .map(|m| {
            let f = &m["fields"];
            let values = json!({"firstName": f["firstName"], "lastName": f["lastName"], "company": f["company"]});
            assert_eq!(m["status"], "Registered", "{m}");
            (text(&m["email"]).to_lowercase(), values)
        })
        .collect()
}

fn eloqua(job: &ChaosJob, sb: &SandboxProc) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for opp in &job.opportunities {
        let path = format!("/_sandbox/eloqua/opportunities/{opp}/contacts");
        for c in list(sb.get(&path), &path) {
            let email = text(&c["emailAddress"]).to_lowercase();
            out.push((format!("{opp}/{email}"), json!({"opportunity": opp})));
        }
    }
    out
}

fn dotdigital(job: &ChaosJob, sb: &SandboxProc) -> Vec<(String, Value)> {
    let path = format!("/_sandbox/dotdigital/collections/{}", job.collection);
    list(sb.get(&path), &path)
        .into_iter()
        .map(|r| {
            let values = json!({"contactIdentifier": r["contactIdentifier"], "json": r["json"]});
            (text(&r["key"]), values)
        })
        .collect()
}

fn mypreferences(sb: &SandboxProc) -> Vec<(String, Value)> {
    let path = "/_sandbox/mypreferences/profiles";
    list(sb.get(path), path)
        .into_iter()
        .filter(|p| p["IsActive"] != json!(false))
        .map(|p| {
            let crm = p["AlternateIds"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|a| a["AlternateIdType"] == "CRM")
                .map(|a| text(&a["AlternateId"]))
                .unwrap_or_default();
            let values = json!({
                "email": p["Emails"][0]["EmailAddress"],
                "phone": p["PhoneNumbers"][0]["PhoneNumber"],
                "locale": p["DefaultLocale"],
                "consent": p["Consents"][0]["ConsentStatus"],
            });
            (crm, values)
        })
        .collect()
}

/// Asserts the sandbox holds each expected record exactly once with its values, and nothing
/// more (rejected rows included: they must not be there). Returns the number held.
pub fn assert_exactly_once(job: &ChaosJob, held: Vec<(String, Value)>, label: &str) -> usize {
    let total = held.len();
    let mut seen: BTreeMap<String, (usize, Value)> = BTreeMap::new();
    for (key, values) in held {
        seen.entry(key).or_insert((0, values)).0 += 1;
    }
    let doubled: Vec<&String> = seen
        .iter()
        .filter(|(_, (n, _))| *n > 1)
        .map(|(k, _)| k)
        .collect();
    let unexpected: Vec<&String> = seen
        .keys()
        .filter(|k| !job.expected.contains_key(*k))
        .collect();
    let missing: Vec<&String> = job
        .expected
        .keys()
        .filter(|k| !seen.contains_key(*k))
        .collect();
    let wrong: Vec<String> = job
        .expected
        .iter()
        .filter_map(|(k, want)| {
            let (_, got) = seen.get(k)?;
            (got != want).then(|| format!("{k}: want {want}, got {got}"))
        })
        .collect();
    let first = |v: &[&String]| {
        v.iter()
            .take(5)
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    assert!(
        doubled.is_empty(),
        "{label}: {} key(s) held more than once: {}",
        doubled.len(),
        first(&doubled)
    );
    assert!(
        missing.is_empty(),
        "{label}: {} key(s) missing: {}",
        missing.len(),
        first(&missing)
    );
    assert!(
        unexpected.is_empty(),
        "{label}: {} unexpected key(s) (rejected rows must not be there): {}",
        unexpected.len(),
        first(&unexpected)
    );
    assert!(
        wrong.is_empty(),
        "{label}: {} record(s) with wrong values, e.g. {}",
        wrong.len(),
        wrong.iter().take(3).cloned().collect::<Vec<_>>().join("; ")
    );
    assert_eq!(total, job.expected.len(), "{label}");
    total
}

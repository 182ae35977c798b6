//! The chaos test's four jobs: for a provider and a seed, a project (bulkspec.yaml, one spec
//! with a fast polling and retry policy, a generated source of `ROWS` records) written to a temp
//! dir, and what the sandbox must hold afterwards (key -> values) and which keys it must reject.
//!
//! Everything is deterministic from the seed. Reading the sandbox back and comparing lives in
//! `chaos_check.rs`; this file only writes inputs and states expectations. Included with `#[path]`.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};

/// Records per generated source.
pub const ROWS: usize = 100_000;
/// Every `INVALID_EVERY`-th row of the Dotdigital and MyPreferences sources is invalid.
pub const INVALID_EVERY: usize = 2_500;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Marketo,
    Eloqua,
    Dotdigital,
    Mypreferences,
}

/// One generated job: its name, spec file and what the sandbox must end up holding.
pub struct ChaosJob {
    pub kind: Kind,
    pub job: String,
    pub spec_file: String,
    /// Marketo program id, Eloqua opportunity ids, Dotdigital collection: where to look.
    pub program_id: u64,
    pub opportunities: Vec<String>,
    pub collection: String,
    /// Key -> the values the sandbox must hold for it (accepted records only).
    pub expected: BTreeMap<String, Value>,
    /// Keys the sandbox's own row validation must reject (none yet: bulkspec catches every
    /// invalid value these generators make before sending).
    pub rejected: BTreeSet<String>,
    /// Keys bulkspec itself must find invalid (never sent).
    pub invalid: BTreeSet<String>,
}

const FIRST: [&str; 8] = [
    "Ana", "Ben", "Chloé", "Dmitri", "Eve", "Fatima", "Gus", "Ines",
];
const LAST: [&str; 8] = [
    "Lee", "Schmidt", "Dubois", "Jensen", "O'Neil", "García", "Okafor", "Silva",
];
const COMPANY: [&str; 5] = [
    "Acme",
    "Globex, Inc.",
    "Initech \"Labs\"",
    "Umbrella",
    "Hooli",
];

/// A person of row `i`: unique lowercase email, names and company drawn from the seed.
fn person(
    rng: &mut StdRng,
    seed: u64,
    i: usize,
) -> (String, &'static str, &'static str, &'static str) {
    let first = FIRST[rng.random_range(0..FIRST.len())];
    let last = LAST[rng.random_range(0..LAST.len())];
    let company = COMPANY[rng.random_range(0..COMPANY.len())];
    (format!("p{i}.s{seed}@example.org"), first, last, company)
}

/// A CSV field, quoted when it holds a comma, quote or newline.
fn csv(v: &str) -> String {
    if v.contains([',', '"', '\n']) {
        format!("\"{}\"", v.replace('"', "\"\""))
    } else {
        v.to_owned()
    }
}

const PROJECT: &str =
    "version: 1\nspecs: specs\nstate:\n  backend: sqlite\n  path: .bulkspec/state.db\n";

/// Fast policies: the sandbox finishes jobs in milliseconds and Retry-After is honoured anyway.
const POLICY: &str = "polling:\n  interval: 40ms\n  backoff: 1.5\n  max_interval: 250ms\n  timeout: 5m\nretry:\n  max_attempts: 40\n  initial_backoff: 10ms\n  max_backoff: 250ms\n";

/// Writes the project, spec and source of `kind` for `seed` into `dir`.
pub fn write(kind: Kind, seed: u64, dir: &Path) -> ChaosJob {
    std::fs::create_dir_all(dir.join("specs/data")).unwrap();
    std::fs::write(dir.join("bulkspec.yaml"), PROJECT).unwrap();
    let salt = match kind {
        Kind::Marketo => 1,
        Kind::Eloqua => 2,
        Kind::Dotdigital => 3,
        Kind::Mypreferences => 4,
    };
    let mut rng = StdRng::seed_from_u64(seed.wrapping_mul(1_000_003).wrapping_add(salt));
    let (job, spec, source, data) = match kind {
        Kind::Marketo => marketo(&mut rng, seed),
        Kind::Eloqua => eloqua(&mut rng, seed),
        Kind::Dotdigital => dotdigital(&mut rng, seed),
        Kind::Mypreferences => mypreferences(&mut rng, seed),
    };
    std::fs::write(dir.join("specs/data").join(source), data).unwrap();
    let spec_file = format!("specs/{}.yaml", job.job);
    std::fs::write(dir.join(&spec_file), spec + POLICY).unwrap();
    ChaosJob { spec_file, ..job }
}

fn blank(kind: Kind, job: &str) -> ChaosJob {
    ChaosJob {
        kind,
        job: job.to_owned(),
        spec_file: String::new(),
        program_id: 0,
        opportunities: Vec::new(),
        collection: String::new(),
        expected: BTreeMap::new(),
        rejected: BTreeSet::new(),
        invalid: BTreeSet::new(),
    }
}

/// The job, its spec text, the source file name and the source text.
type Generated = (ChaosJob, String, &'static str, String);

fn marketo(rng: &mut StdRng, seed: u64) -> Generated {
    let mut job = blank(Kind::Marketo, "chaos-marketo");
    job.program_id = 5000 + seed % 1000;
    let mut text = String::from("email,first_name,last_name,company\n");
    for i in 0..ROWS {
        let (email, first, last, company) = person(rng, seed, i);
        let _ = writeln!(text, "{email},{first},{last},{}", csv(company));
        let values = json!({"firstName": first, "lastName": last, "company": company});
        job.expected.insert(email, values);
    }
    let spec = format!(
        "version: 1\njob: chaos-marketo\ntarget:\n  provider: marketo\n  object: program_members\n  connection: sandbox\n  program_id: {}\n  program_member_status: Registered\nsource:\n  path: data/members.csv\nkey: \"{{{{ row.email }}}}\"\nrecord:\n  email: \"{{{{ row.email }}}}\"\n  firstName: \"{{{{ row.first_name }}}}\"\n  lastName: \"{{{{ row.last_name }}}}\"\n  company: \"{{{{ row.company }}}}\"\nlimits:\n  max_request_bytes: 400KB\n",
        job.program_id
    );
    (job, spec, "members.csv", text)
}

fn eloqua(rng: &mut StdRng, seed: u64) -> Generated {
    let mut job = blank(Kind::Eloqua, "chaos-eloqua");
    job.opportunities = (0..100).map(|o| format!("OPP-{seed}-{o}")).collect();
    // The sandbox, like a real Eloqua sandbox instance, holds at most 10 000 contacts: the
    // links pair each of 10 000 contacts with 10 opportunities, one from each block of ten.
    let contacts = ROWS / 10;
    let mut text = String::from("opportunity_id,email\n");
    for i in 0..ROWS {
        let block = i / contacts;
        let opportunity = &job.opportunities[block * 10 + rng.random_range(0..10)];
        let email = format!("p{}.s{seed}@example.org", i % contacts);
        let _ = writeln!(text, "{opportunity},{email}");
        job.expected.insert(
            format!("{opportunity}/{email}"),
            json!({"opportunity": opportunity}),
        );
    }
    let spec = "version: 1\njob: chaos-eloqua\ntarget:\n  provider: eloqua\n  object: opportunity_contacts\n  connection: sandbox\n  fields:\n    OpportunityID: \"{{Opportunity.Id}}\"\n    EmailAddress: \"{{Opportunity.Contact.Field(C_EmailAddress)}}\"\n  link_entity_type: Contact\n  match_field_name: OpportunityID\n  source_field: EmailAddress\n  data_retention_duration: P3D\nsource:\n  path: data/links.csv\nkey: \"{{ row.opportunity_id }}/{{ row.email | lower }}\"\nrecord:\n  OpportunityID: \"{{ row.opportunity_id }}\"\n  EmailAddress: \"{{ row.email | lower }}\"\nlimits:\n  max_request_bytes: 1200KB\n";
    (job, spec.to_owned(), "links.csv", text)
}

fn dotdigital(rng: &mut StdRng, seed: u64) -> Generated {
    let mut job = blank(Kind::Dotdigital, "chaos-dotdigital");
    job.collection = "chaos_orders".to_owned();
    let mut text = String::new();
    for i in 0..ROWS {
        let key = format!("ORD-{seed}-{i}");
        let email = if i % INVALID_EVERY == INVALID_EVERY - 1 {
            format!("not an email {i}")
        } else {
            format!("p{}.s{seed}@example.org", rng.random_range(0..ROWS / 4))
        };
        let total = f64::from(rng.random_range(1..40_000u32)) / 4.0;
        let currency = ["EUR", "USD", "GBP"][rng.random_range(0..3)];
        let lines = json!([{"sku": format!("SKU-{}", rng.random_range(0..500)), "qty": rng.random_range(1..5)}]);
        let row = json!({"order_id": key, "email": email, "total": total, "currency": currency, "placed_at": format!("2026-10-{:02}T10:15:00Z", 1 + i % 28), "lines": lines});
        let _ = writeln!(text, "{row}");
        if email.contains('@') {
            let values = json!({"contactIdentifier": email, "json": {"orderTotal": total, "currency": currency, "placedAt": row["placed_at"], "lines": lines}});
            job.expected.insert(key, values);
        } else {
            // bulkspec checks contact identifiers before sending: an invalid row, not a reject.
            job.invalid.insert(key);
        }
    }
    let spec = "version: 1\njob: chaos-dotdigital\ntarget:\n  provider: dotdigital\n  object: transactional_data\n  connection: sandbox\n  collection: chaos_orders\n  scope: contact\n  contact_identifier: \"{{ row.email }}\"\nsource:\n  path: data/orders.jsonl\nkey: \"{{ row.order_id }}\"\nrecord:\n  orderTotal: \"{{ row.total }}\"\n  currency: \"{{ row.currency }}\"\n  placedAt: \"{{ row.placed_at }}\"\n  lines: \"{{ row.lines }}\"\nlimits:\n  max_request_bytes: 2MB\n";
    (job, spec.to_owned(), "orders.jsonl", text)
}

fn mypreferences(rng: &mut StdRng, seed: u64) -> Generated {
    let mut job = blank(Kind::Mypreferences, "chaos-mypreferences");
    let mut text = String::from("crm_id,email,phone,locale,marketing_consent\n");
    for i in 0..ROWS {
        let key = format!("C-{seed}-{i:06}");
        let email = if i % INVALID_EVERY == INVALID_EVERY - 1 {
            format!("invalid-email-{i}")
        } else {
            format!("p{i}.s{seed}@example.org")
        };
        let phone = format!("+1404{:07}", rng.random_range(0..10_000_000u32));
        let locale = ["en-us", "fr-fr", "de-de"][rng.random_range(0..3)];
        let consent = if rng.random_bool(0.5) {
            "granted"
        } else {
            "denied"
        };
        let _ = writeln!(text, "{key},{email},{phone},{locale},{consent}");
        if email.contains('@') {
            let status = if consent == "granted" {
                "Granted"
            } else {
                "Denied"
            };
            let values =
                json!({"email": email, "phone": phone, "locale": locale, "consent": status});
            job.expected.insert(key, values);
        } else {
            // bulkspec checks email addresses before sending: an invalid row, not a reject.
            job.invalid.insert(key);
        }
    }
    let spec = "version: 1\njob: chaos-mypreferences\ntarget:\n  provider: mypreferences\n  object: profiles\n  connection: sandbox\n  data_stage_duration: 2\nmatch:\n  alternate_id_type: CRM\nsource:\n  path: data/profiles.csv\nkey: \"{{ row.crm_id }}\"\nrecord:\n  DefaultLocale: \"{{ row.locale }}\"\n  AlternateIds:\n    - AlternateIdType: CRM\n      AlternateId: \"{{ row.crm_id }}\"\n  Emails:\n    - EmailAddress: \"{{ row.email }}\"\n      IsDefault: true\n  PhoneNumbers:\n    - PhoneNumber: \"{{ row.phone }}\"\n      IsMobile: true\n      IsDefault: true\n  Consents:\n    - ConsentType: Marketing\n      ConsentVersion: \"3\"\n      Locale: \"{{ row.locale }}\"\n      ConsentStatus: \"{{ 'Granted' if row.marketing_consent == 'granted' else 'Denied' }}\"\nlimits:\n  max_request_bytes: 4MB\n";
    (job, spec.to_owned(), "profiles.csv", text)
}

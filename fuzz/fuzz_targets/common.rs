//! The bodies of the fuzz targets, shared by the cargo-fuzz binaries in `fuzz/fuzz_targets/`
//! (nightly, libFuzzer) and by `tests/fuzz_regressions.rs` (stable `cargo test`, which replays
//! every stored crashing input through exactly this code).
//!
//! Each body drives the real public pipeline on one input, in a temporary folder of its own, and
//! returns what it saw so a test can check that every error names a location. It must not panic
//! on any input: a panic is the bug being hunted. The only panics here are assertions of
//! invariants whose failure would be a bug of the library, never of the input.

// Each includer (a fuzz target, the regression test) uses only part of this file.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use bulkspec::output::diagnostics;
use bulkspec::plan::diff::{self, DiffOptions, Seen, Visitor};
use bulkspec::source::map::{Mapper, Session};
use bulkspec::source::options::read_options;
use bulkspec::source::{Format, ReadOptions, Row, SourceReader};
use bulkspec::spec::render::RenderContext;
use bulkspec::spec::types::Spec;
use bulkspec::spec::workspace::{self, LoadOptions, Workspace};
use bulkspec::state::RecordHashes;

/// The project file the spec target loads specs under: vars, an env allow-list.
/// Its vars are those the seeds (examples/, specs/, tests/malformed_specs.rs) use.
pub const PROJECT: &str = "version: 1
specs: .
vars:
  program: 1040
  program_id: 1040
  status: Registered
  webinar_program_id: 1040
  webinar_status: Registered
  orders_collection: order_history
  crm_id_type: CRM
env: [BULKSPEC_STAGE, BULKSPEC_FUZZ_UNSET]
";

/// The spec the spec target loads under a fuzzed project file or var file.
pub const SPEC: &str = r#"version: 1
job: members
target:
  provider: marketo
  object: program_members
  connection: sandbox
  program_id: "{{ vars.program_id }}"
  program_member_status: "{{ vars.status }}"
source:
  path: data.csv
key: "{{ row.email | lower }}"
record:
  email: "{{ row.email }}"
  firstName: "{{ row.first_name }}"
"#;

/// `--var` values every load gets, on top of the project's vars.
const VARS: &[&str] = &["stage=dev", "limit=10"];

/// Header and rows of the source a spec that loaded is mapped against: the columns the seeds
/// use, a duplicate key and a row that is not a valid email.
const COLUMNS: &[&str] = &[
    "id",
    "email",
    "name",
    "total",
    "first_name",
    "last_name",
    "company",
    "title",
    "crm_id",
    "locale",
    "order_id",
    "opportunity_id",
];
const ROWS: &[&str] = &[
    "1,a@example.com,Ann,9.5,Ann,Lee,Acme,CEO,C1,en,O1,P1",
    "2,b@example.com,Bob,10,Bob,Ray,Acme,CTO,C2,de,O2,P2",
    "2,b@example.com,Bob,10,Bob,Ray,Acme,CTO,C2,de,O2,P2",
    "3,not-an-email,,x,,,,,,,,",
];

/// Largest request in the diff: small, so chunking and the too-large path are reached.
const MAX_REQUEST_BYTES: u64 = 2048;

/// One diagnostic of a spec load, as a user would see it.
#[derive(Debug)]
pub struct Diag {
    pub is_error: bool,
    /// `file:line:col`, or the file alone for problems of the whole file.
    pub location: String,
    /// The miette rendering (no colour).
    pub human: String,
}

/// What one source went through: errors that stopped it, and per-row outcomes.
#[derive(Debug, Default)]
pub struct SourceOutcome {
    /// The source file's name, which every error must contain.
    pub file: String,
    /// Errors that stopped reading or mapping (open, header, columns, fatal read errors).
    pub errors: Vec<String>,
    /// `(line, reason)` of every invalid row.
    pub invalid: Vec<(u64, String)>,
    /// Rows that mapped and were classified.
    pub records: u64,
    /// `(key, first line, second line)` of duplicate keys.
    pub duplicates: Vec<(String, u64, u64)>,
}

/// What the spec target saw.
#[derive(Debug, Default)]
pub struct SpecOutcome {
    pub diagnostics: Vec<Diag>,
    /// Specs that loaded, rendered and validated.
    pub loaded: usize,
    /// The mapping of every loaded spec against the fixed source.
    pub mapped: Vec<SourceOutcome>,
}

/// `data` as a spec file (under [`PROJECT`]), then as the project file (over [`SPEC`]), then as
/// a `--var-file`: load, render, validate, semantic checks; every diagnostic rendered the three
/// ways a user can see it; every spec that loads is mapped against a small fixed source.
pub fn spec_load(data: &[u8]) -> std::io::Result<SpecOutcome> {
    let mut out = SpecOutcome::default();
    let as_spec: [(&str, &[u8]); 2] = [("bulkspec.yaml", PROJECT.as_bytes()), ("spec.yaml", data)];
    let as_project: [(&str, &[u8]); 2] = [("bulkspec.yaml", data), ("spec.yaml", SPEC.as_bytes())];
    let as_vars: [(&str, &[u8]); 3] = [
        ("bulkspec.yaml", PROJECT.as_bytes()),
        ("spec.yaml", SPEC.as_bytes()),
        ("vars.yaml", data),
    ];
    load_in_dir(&as_spec, Mode::Spec, &mut out)?;
    load_in_dir(&as_project, Mode::Project, &mut out)?;
    load_in_dir(&as_vars, Mode::VarFile, &mut out)?;
    Ok(out)
}

/// Which file holds the input.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Spec,
    Project,
    VarFile,
}

fn load_in_dir(files: &[(&str, &[u8])], mode: Mode, out: &mut SpecOutcome) -> std::io::Result<()> {
    let dir = tempfile::tempdir()?;
    for (name, bytes) in files {
        std::fs::write(dir.path().join(name), bytes)?;
    }
    let opts = LoadOptions {
        dir: dir.path().to_path_buf(),
        paths: vec![PathBuf::from("spec.yaml")],
        vars: VARS.iter().map(|v| (*v).to_owned()).collect(),
        var_files: if mode == Mode::VarFile {
            vec![PathBuf::from("vars.yaml")]
        } else {
            Vec::new()
        },
    };
    let (ws, diags) = workspace::load(&opts);
    // The three renderings a user can ask for; none may panic on any diagnostic.
    let _ = diagnostics::human_all(&diags, ws.file_count(&diags), true);
    let _ = diagnostics::json_doc(&diags, ws.file_count(&diags));
    let _ = diagnostics::github(&diags);
    out.diagnostics.extend(diags.iter().map(|d| Diag {
        is_error: d.is_error(),
        location: d.location(),
        human: diagnostics::human(d, false),
    }));
    out.loaded += ws.specs.len();
    // Only a fuzzed spec has fuzzed record templates; the fixed spec maps the same every time.
    if mode != Mode::Spec || ws.specs.is_empty() {
        return Ok(());
    }
    write_fixtures(dir.path())?;
    for loaded in &ws.specs {
        out.mapped
            .push(map_loaded(&ws, &loaded.path, &loaded.spec, dir.path()));
    }
    Ok(())
}

/// The fixed source in each format, for specs that loaded.
fn write_fixtures(dir: &Path) -> std::io::Result<()> {
    for (ext, sep) in [("csv", ","), ("tsv", "\t"), ("ssv", ";")] {
        let mut text = COLUMNS.join(sep);
        for row in ROWS {
            text.push('\n');
            text.push_str(&row.replace(',', sep));
        }
        std::fs::write(dir.join(format!("fixture.{ext}")), text)?;
    }
    let jsonl: Vec<String> = ROWS
        .iter()
        .map(|row| {
            let obj: serde_json::Map<String, serde_json::Value> = COLUMNS
                .iter()
                .zip(row.split(','))
                .map(|(k, v)| ((*k).to_owned(), serde_json::Value::from(v)))
                .collect();
            serde_json::Value::Object(obj).to_string()
        })
        .collect();
    std::fs::write(dir.join("fixture.jsonl"), jsonl.join("\n"))
}

/// A loaded spec's own reader options (delimiter, quote, encoding, header...), pointed at the
/// fixture of its format.
fn map_loaded(ws: &Workspace, path: &Path, spec: &Spec, dir: &Path) -> SourceOutcome {
    let mut opts = match read_options(path, &spec.source) {
        Ok(o) => o,
        Err(e) => {
            return SourceOutcome {
                file: path.display().to_string(),
                errors: vec![e.to_string()],
                ..SourceOutcome::default()
            };
        }
    };
    let ext = match opts.format {
        Format::Csv => "csv",
        Format::Tsv => "tsv",
        Format::Ssv => "ssv",
        Format::Jsonl => "jsonl",
    };
    opts.path = dir.join(format!("fixture.{ext}"));
    map_source(spec, &ws.context, &opts)
}

/// The source target's fixed specs, one per provider, loaded once through the real loader.
pub const SOURCE_SPECS: [&str; 4] = [
    r#"version: 1
job: marketo
target: {provider: marketo, object: program_members, connection: sandbox, program_id: 1040, program_member_status: Registered}
source: {path: data.csv}
key: "{{ row.email | lower }}"
record:
  email: "{{ row.email }}"
  firstName: "{{ row.name }}"
  note: "{{ row.id }}-{{ row.name | upper }}"
"#,
    r#"version: 1
job: eloqua
target:
  provider: eloqua
  object: opportunity_contacts
  connection: sandbox
  name: links
  fields: {OpportunityID: "{{Opportunity.Id}}", EmailAddress: "{{Opportunity.Contact.Field(C_EmailAddress)}}"}
  link_entity_type: Contact
  match_field_name: OpportunityID
  source_field: EmailAddress
source: {path: data.csv}
key: "{{ row.id }}/{{ row.email | lower }}"
record:
  OpportunityID: "{{ row.id }}"
  EmailAddress: "{{ row.email | lower }}"
"#,
    r#"version: 1
job: dotdigital
target: {provider: dotdigital, object: transactional_data, connection: sandbox, collection: orders, scope: contact, contact_identifier: "{{ row.email }}"}
source: {path: data.csv}
key: "{{ row.id }}"
record:
  total: "{{ row.total }}"
  name: "{{ row.name }}"
  tags: ["{{ row.id }}", fixed]
"#,
    r#"version: 1
job: mypreferences
target: {provider: mypreferences, object: profiles, connection: sandbox, name: sync}
match: {alternate_id_type: CRM}
source: {path: data.csv}
key: "{{ row.id }}"
record:
  DefaultLocale: "{{ row.name }}"
  AlternateIds: [{AlternateIdType: CRM, AlternateId: "{{ row.id }}"}]
  Emails: [{EmailAddress: "{{ row.email }}", IsDefault: true}]
"#,
];

/// Column names given to a source read without a header.
const SOURCE_COLUMNS: &[&str] = &["id", "email", "name", "total"];

/// The loaded workspace of [`SOURCE_SPECS`]; an error is a bug of the harness or of a spec.
pub fn source_specs() -> Result<&'static Workspace, String> {
    static WS: OnceLock<Result<Workspace, String>> = OnceLock::new();
    WS.get_or_init(|| {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let mut paths = Vec::new();
        for (i, text) in SOURCE_SPECS.iter().enumerate() {
            let name = PathBuf::from(format!("spec{i}.yaml"));
            std::fs::write(dir.path().join(&name), text).map_err(|e| e.to_string())?;
            paths.push(name);
        }
        let opts = LoadOptions {
            dir: dir.path().to_path_buf(),
            paths,
            ..LoadOptions::default()
        };
        let (ws, diags) = workspace::load(&opts);
        match diags.iter().find(|d| d.is_error()) {
            Some(d) => Err(diagnostics::human(d, false)),
            None => Ok(ws),
        }
    })
    .as_ref()
    .map_err(Clone::clone)
}

/// `data[0]` picks how the rest is read: bits 0-1 the format (CSV, TSV, SSV, JSON Lines), bits
/// 2-3 the provider spec, bits 4-5 gzip (none, compressed here, forced on raw bytes, forced
/// off), bit 6 no header, bit 7 UTF-16LE. The rest is the file, read and mapped as a plan does.
pub fn source_map(data: &[u8]) -> Result<SourceOutcome, String> {
    let Some((&sel, body)) = data.split_first() else {
        return Ok(SourceOutcome::default());
    };
    let ws = source_specs()?;
    let format = [Format::Csv, Format::Tsv, Format::Ssv, Format::Jsonl][usize::from(sel & 3)];
    let spec = ws
        .specs
        .get(usize::from((sel >> 2) & 3))
        .ok_or("a source spec did not load")?;
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let (name, bytes, gzip) = match (sel >> 4) & 3 {
        0 => ("data.src", body.to_vec(), None),
        1 => ("data.src.gz", gzip(body).map_err(|e| e.to_string())?, None),
        2 => ("data.src", body.to_vec(), Some(true)),
        _ => ("data.src", body.to_vec(), Some(false)),
    };
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).map_err(|e| e.to_string())?;
    let mut opts = ReadOptions::new(path, format);
    opts.gzip = gzip;
    if sel & 0x40 != 0 {
        opts.has_header = false;
        opts.column_names = Some(SOURCE_COLUMNS.iter().map(|c| (*c).to_owned()).collect());
    }
    if sel & 0x80 != 0 {
        opts.encoding = Some("utf-16le".into());
    }
    Ok(map_source(&spec.spec, &ws.context, &opts))
}

fn gzip(data: &[u8]) -> std::io::Result<Vec<u8>> {
    use std::io::Write as _;
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(data)?;
    enc.finish()
}

/// Reads the source, compiles the mapping and runs the diff against an empty state, building
/// every record as apply does.
fn map_source(spec: &Spec, context: &RenderContext, opts: &ReadOptions) -> SourceOutcome {
    let mut out = SourceOutcome {
        file: opts
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        ..SourceOutcome::default()
    };
    let mut reader = match SourceReader::open(opts) {
        Ok(r) => r,
        Err(e) => {
            out.errors.push(e.to_string());
            return out;
        }
    };
    let mapper = match Mapper::new(spec, context, &reader) {
        Ok(m) => m,
        Err(e) => {
            out.errors.push(e.to_string());
            return out;
        }
    };
    let _ = mapper.record_columns();
    let mut session = match mapper.session() {
        Ok(s) => s,
        Err(e) => {
            out.errors.push(e.to_string());
            return out;
        }
    };
    let diff_opts = DiffOptions {
        delete_mode: false,
        max_request_bytes: MAX_REQUEST_BYTES,
        request_overhead: mapper.header_bytes,
    };
    let mut visitor = Collect { out: &mut out };
    match diff::run(
        &mut reader,
        &mut session,
        RecordHashes::default(),
        diff_opts,
        &mut visitor,
    ) {
        Ok(r) => out.duplicates = r.duplicates,
        Err(e) => out.errors.push(e.to_string()),
    }
    let _ = reader.progress();
    out
}

/// Sees every row of the diff; builds the full record of each as apply does.
struct Collect<'o> {
    out: &'o mut SourceOutcome,
}

impl Visitor for Collect<'_> {
    fn record(&mut self, _seen: &Seen<'_>) {
        self.out.records += 1;
    }

    fn invalid(&mut self, line: u64, _key: Option<&str>, reason: &str) {
        self.out.invalid.push((line, reason.to_owned()));
    }

    fn wants_record(&self, _seen: &Seen<'_>) -> bool {
        true
    }

    fn record_of(&mut self, seen: &Seen<'_>, session: &mut Session<'_>, row: &Row<'_>) {
        let _ = row.hash64();
        // A row the plan mapped must build for apply, under the same key, and apply's body
        // (written straight from the row) must be the record the plan shows, and as long as
        // the plan counted.
        let (key, contact, value) = match session.record(row) {
            Ok(r) => r,
            Err(e) => panic!(
                "line {}: mapped for the plan but not for apply: {e}",
                seen.line
            ),
        };
        assert_eq!(
            key, seen.key,
            "line {}: plan and apply keys differ",
            seen.line
        );
        let (key2, contact2, body) = match session.record_body(row) {
            Ok(r) => r,
            Err(e) => panic!("line {}: no body for apply: {e}", seen.line),
        };
        assert_eq!((&key2, &contact2), (&key, &contact), "line {}", seen.line);
        if let Some(json) = body.json() {
            assert_eq!(
                json,
                value.to_string().as_bytes(),
                "line {}: apply's body is not the plan's record",
                seen.line
            );
        }
    }
}

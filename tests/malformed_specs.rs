//! Bad input: every malformed spec or project file exits 1 with a diagnostic that names the
//! line where the problem starts, never a panic or hang. Each case's rendered diagnostic is an
//! insta snapshot.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::Command;

const PROJECT: &str =
    "version: 1\nvars:\n  program: 1040\n  status: Registered\nenv: [BULKSPEC_STAGE]\n";

const GOOD: &str = r#"version: 1
job: members
target:
  provider: marketo
  object: program_members
  connection: sandbox
  program_id: "{{ vars.program }}"
  program_member_status: "{{ vars.status }}"
source:
  path: data.csv
key: "{{ row.email }}"
record:
  email: "{{ row.email }}"
"#;

/// One case: files to write (name, bytes), extra CLI args, and the `file:line` the output must
/// name (or just the file for file-level problems).
struct Case {
    name: &'static str,
    files: Vec<(&'static str, Vec<u8>)>,
    args: Vec<&'static str>,
    expect: &'static str,
}

fn case(name: &'static str, spec: impl Into<Vec<u8>>, expect: &'static str) -> Case {
    Case {
        name,
        files: vec![("spec.yaml", spec.into())],
        args: vec![],
        expect,
    }
}

fn good_with(from: &str, to: &str) -> String {
    assert!(GOOD.contains(from), "{from}");
    GOOD.replacen(from, to, 1)
}

fn cases() -> Vec<Case> {
    let mut deep = String::from("version: 1\njob: deep\nrecord: ");
    deep.push_str(&"[".repeat(200));
    deep.push_str(&"]".repeat(200));
    deep.push('\n');
    let bomb = "version: 1\na: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n";
    let mut big = GOOD.to_string().into_bytes();
    big.extend(std::iter::repeat_n(b'#', 60 << 20));
    let mut long_line = GOOD.to_string().into_bytes();
    long_line.extend(b"description: \"");
    long_line.extend(std::iter::repeat_n(b'x', 5 << 20));
    long_line.extend(b"\"\n");
    let mut non_utf8 = good_with("members", "memb").into_bytes();
    non_utf8.extend(b"description: caf\xe9\n");
    let mut nul = GOOD.as_bytes().to_vec();
    nul.extend(b"description: a\0b\n");
    let mut cases = vec![
        case("unclosed_double_quote", good_with("job: members", "job: \"members"), "spec.yaml:2:6"),
        case("unclosed_single_quote", good_with("path: data.csv", "path: 'data.csv"), "spec.yaml:10:9"),
        case("tab_indent", good_with("  provider: marketo", "\tprovider: marketo"), "spec.yaml:4:1"),
        case("duplicate_key_top", format!("{GOOD}job: again\n"), "spec.yaml:14:1"),
        case("duplicate_key_nested", good_with("  connection: sandbox", "  connection: sandbox\n  connection: prod"), "spec.yaml:7:3"),
        case("bad_indentation", good_with("  object: program_members", "    object: program_members"), "spec.yaml:5"),
        case("unclosed_flow_mapping", good_with("source:\n  path: data.csv", "source: {path: data.csv"), "spec.yaml:"),
        case("unclosed_flow_sequence", format!("{GOOD}depends_on: [a, b\n"), "spec.yaml:14"),
        case("stray_bracket", format!("{GOOD}]\n"), "spec.yaml:14"),
        case("two_documents", format!("{GOOD}---\n{GOOD}"), "spec.yaml:14:1"),
        case("unquoted_template", good_with("key: \"{{ row.email }}\"", "key: {{ row.email }}"), "spec.yaml:11"),
        case("undefined_alias", format!("{GOOD}description: *nope\n"), "spec.yaml:14"),
        case("yaml_tag", format!("{GOOD}description: !!binary aGVsbG8=\n"), "spec.yaml:14:14"),
        case("bad_escape", format!("{GOOD}description: \"a\\qb\"\n"), "spec.yaml:14"),
        case("alias_bomb", bomb, "spec.yaml:"),
        case("deep_nesting", deep, "spec.yaml:3"),
        case("huge_file_60mb", big, "spec.yaml"),
        case("long_line_5mb", long_line, "spec.yaml:14:1"),
        case("non_utf8", non_utf8, "spec.yaml:14:17"),
        case("nul_byte", nul, "spec.yaml:14:15"),
        case("empty_file", "", "spec.yaml"),
        case("comment_only", "# nothing here\n# at all\n", "spec.yaml"),
        case("top_level_list", "- version: 1\n- job: x\n", "spec.yaml:1:1"),
        case("top_level_scalar", "just a string\n", "spec.yaml:1:1"),
        case("missing_fields", "version: 1\njob: lonely\n", "spec.yaml:1:1"),
        case("wrong_type_version", good_with("version: 1", "version: one"), "spec.yaml:1:10"),
        case("wrong_type_program_id", good_with("\"{{ vars.program }}\"", "abc"), "spec.yaml:7:15"),
        case("unknown_field_top", format!("{GOOD}descripton: typo\n"), "spec.yaml:14:1"),
        case("unknown_field_nested", format!("{GOOD}polling:\n  intervall: 5s\n"), "spec.yaml:15:3"),
        case("unknown_provider", good_with("provider: marketo", "provider: marketoo"), "spec.yaml:4:13"),
        case("unknown_object", good_with("object: program_members", "object: program_member"), "spec.yaml:5:11"),
        case("provider_object_mismatch", good_with("provider: marketo", "provider: eloqua"), "spec.yaml:4:13"),
        case("bad_duration", format!("{GOOD}polling:\n  interval: 5 parsecs\n"), "spec.yaml:15:13"),
        case("bad_size", format!("{GOOD}limits:\n  max_request_bytes: lots\n"), "spec.yaml:15:22"),
        case("bad_mode", format!("{GOOD}mode: mirrorr\n"), "spec.yaml:14:7"),
        case("bad_job_name", good_with("job: members", "job: Webinar Members"), "spec.yaml:2:6"),
        case("template_syntax", good_with("\"{{ vars.status }}\"", "\"{{ vars.status \""), "spec.yaml:8:26"),
        case("undefined_variable", good_with("vars.status", "vars.stauts"), "spec.yaml:8:26"),
        case("unknown_filter", good_with("vars.status", "vars.status | frobnicate"), "spec.yaml:8:26"),
        case("env_not_allowed", good_with("vars.status", "env.HOME"), "spec.yaml:8:26"),
        case("row_template_syntax", good_with("email: \"{{ row.email }}\"", "email: \"{{ row.email | }}\""), "spec.yaml:13:10"),
        case("row_template_unknown_name", good_with("email: \"{{ row.email }}\"", "email: \"{{ rows.email }}\""), "spec.yaml:13:10"),
        case(
            "collection_name",
            "version: 1\njob: orders\ntarget:\n  provider: dotdigital\n  object: transactional_data\n  connection: sandbox\n  collection: 2orders-x\n  contact_identifier: \"{{ row.email }}\"\nsource: {path: o.jsonl}\nkey: \"{{ row.id }}\"\nrecord: {total: \"{{ row.total }}\"}\n",
            "spec.yaml:7:15",
        ),
        case("limit_above_max", format!("{GOOD}limits:\n  max_request_bytes: 100MB\n"), "spec.yaml:15:22"),
        case("concurrency_above_max", format!("{GOOD}limits:\n  concurrency: 50\n"), "spec.yaml:15:16"),
        case("unsupported_match", format!("{GOOD}match:\n  field: id\n"), "spec.yaml:15:10"),
        case(
            "destructive_without_guard",
            "version: 1\njob: prefs\ntarget:\n  provider: mypreferences\n  object: profiles\n  connection: sandbox\nsource: {path: p.csv}\nkey: \"{{ row.id }}\"\nrecord: {CustomerType: Retail}\nrefresh:\n  tags: true\n",
            "spec.yaml:11:3",
        ),
        case("refresh_wrong_provider", format!("{GOOD}refresh:\n  tags: true\nguard:\n  max_remove: 10\n"), "spec.yaml:15:3"),
        case("depends_on_unknown", format!("{GOOD}depends_on: [membrs]\n"), "spec.yaml:14:14"),
        case("unknown_connection", good_with("connection: sandbox", "connection: prod"), "spec.yaml:6:15"),
        Case {
            name: "depends_on_cycle",
            files: vec![
                ("a.yaml", good_with("job: members", "job: a").replace("record:", "depends_on: [b]\nrecord:").into_bytes()),
                ("b.yaml", good_with("job: members", "job: b").replace("record:", "depends_on: [a]\nrecord:").into_bytes()),
            ],
            args: vec![],
            expect: "a.yaml:12:1",
        },
        Case {
            name: "duplicate_job",
            files: vec![("a.yaml", GOOD.into()), ("b.yaml", GOOD.into())],
            args: vec![],
            expect: "b.yaml:2:6",
        },
        Case {
            name: "project_unknown_field",
            files: vec![("spec.yaml", GOOD.into()), ("bulkspec.yaml", format!("{PROJECT}conections: {{}}\n").into_bytes())],
            args: vec![],
            expect: "bulkspec.yaml:6:1",
        },
        Case {
            name: "project_connection_missing_env",
            files: vec![
                ("spec.yaml", GOOD.into()),
                ("bulkspec.yaml", format!("{PROJECT}connections:\n  prod:\n    provider: marketo\n    url: https://x\n").into_bytes()),
            ],
            args: vec![],
            expect: "bulkspec.yaml:8:5",
        },
        Case {
            name: "project_bad_state_backend",
            files: vec![("spec.yaml", GOOD.into()), ("bulkspec.yaml", format!("{PROJECT}state:\n  backend: mysql\n").into_bytes())],
            args: vec![],
            expect: "bulkspec.yaml:7:12",
        },
        Case { name: "var_without_equals", files: vec![("spec.yaml", GOOD.into())], args: vec!["--var", "program"], expect: "--var" },
        Case {
            name: "var_file_not_mapping",
            files: vec![("spec.yaml", GOOD.into()), ("vars.yaml", b"- a\n- b\n".to_vec())],
            args: vec!["--var-file", "vars.yaml"],
            expect: "vars.yaml:1:1",
        },
    ];
    for c in &mut cases {
        if !c.files.iter().any(|(n, _)| *n == "bulkspec.yaml") {
            c.files.push(("bulkspec.yaml", PROJECT.into()));
        }
    }
    cases
}

fn run_case(dir: &Path, c: &Case) -> (i32, String) {
    for (name, bytes) in &c.files {
        std::fs::write(dir.join(name), bytes).unwrap();
    }
    let specs: Vec<&str> = c
        .files
        .iter()
        .map(|(n, _)| *n)
        .filter(|n| *n != "bulkspec.yaml" && *n != "vars.yaml")
        .collect();
    let out = Command::new(env!("CARGO_BIN_EXE_bulkspec"))
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("GITHUB_ACTIONS")
        .args(&c.args)
        .arg("validate")
        .args(&specs)
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout);
    (out.status.code().unwrap_or(-1), text)
}

#[test]
fn malformed_inputs_fail_with_located_diagnostics() {
    let cases = cases();
    assert!(cases.len() >= 40, "the issue asks for at least 40 cases");
    let mut failures = Vec::new();
    let mut outputs = Vec::new();
    for c in &cases {
        let dir = tempfile::tempdir().unwrap();
        let started = std::time::Instant::now();
        let (code, text) = run_case(dir.path(), c);
        assert!(
            started.elapsed().as_secs() < 20,
            "{}: took {:?}",
            c.name,
            started.elapsed()
        );
        if code != 1 || !text.contains(c.expect) || text.contains("panicked") {
            failures.push(format!(
                "--- {} (exit {code}, expected `{}`)\n{text}",
                c.name, c.expect
            ));
            continue;
        }
        outputs.push((c.name, text));
    }
    assert!(
        failures.is_empty(),
        "{} case(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    for (name, text) in outputs {
        insta::assert_snapshot!(name, text);
    }
}

//! Fuzz regressions: every input stored under `tests/fuzz_regressions/<target>/` (the inputs
//! that crashed a fuzz target, and a few nasty ones written by hand) goes through the very body
//! the fuzz target runs (`fuzz/fuzz_targets/common.rs`, included below) on the stable
//! toolchain. Each must return without a panic, and every error it reports must name where.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

#[path = "../fuzz/fuzz_targets/common.rs"]
mod common;

fn inputs(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fuzz_regressions")
        .join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no inputs in {}", dir.display());
    files
        .into_iter()
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap();
            (p, bytes)
        })
        .collect()
}

/// Every error of a spec load names its file, and the excerpt header names the same line.
fn check_spec_outcome(name: &Path, out: &common::SpecOutcome) {
    for d in out.diagnostics.iter().filter(|d| d.is_error) {
        let file = d.location.split(':').next().unwrap_or_default();
        assert!(
            ["spec.yaml", "bulkspec.yaml", "vars.yaml", "--var"].contains(&file),
            "{}: error without a known file: {:?}",
            name.display(),
            d
        );
        assert!(
            d.human.contains(file),
            "{}: rendering does not name {file}: {}",
            name.display(),
            d.human
        );
        let line_prefix: String = d
            .location
            .splitn(3, ':')
            .take(2)
            .collect::<Vec<_>>()
            .join(":");
        assert!(
            d.human.contains(&line_prefix),
            "{}: rendering does not point at {}: {}",
            name.display(),
            d.location,
            d.human
        );
    }
    for m in &out.mapped {
        check_source_outcome(name, m);
    }
}

/// Every error names the source file; every invalid row and duplicate names its line.
fn check_source_outcome(name: &Path, out: &common::SourceOutcome) {
    for e in &out.errors {
        assert!(
            e.contains(&out.file),
            "{}: source error does not name {}: {e}",
            name.display(),
            out.file
        );
    }
    for (line, reason) in &out.invalid {
        assert!(
            *line >= 1,
            "{}: invalid row without a line: {reason}",
            name.display()
        );
    }
    for (key, first, second) in &out.duplicates {
        assert!(
            *first >= 1 && second > first,
            "{}: duplicate `{key}` on lines {first} and {second}",
            name.display()
        );
    }
}

#[test]
fn spec_load_inputs_never_panic_and_errors_name_a_location() {
    for (path, bytes) in inputs("spec_load") {
        let out = common::spec_load(&bytes).unwrap();
        check_spec_outcome(&path, &out);
    }
}

#[test]
fn source_map_inputs_never_panic_and_errors_name_a_location() {
    for (path, bytes) in inputs("source_map") {
        let out = common::source_map(&bytes).unwrap();
        check_source_outcome(&path, &out);
    }
}

/// The harness reaches the mapping: a good spec loads and its fixed source shows the duplicate
/// and the invalid email that are in it.
#[test]
fn spec_load_harness_maps_a_good_spec() {
    let spec = include_bytes!("../examples/marketo-program-members.yaml");
    let out = common::spec_load(spec).unwrap();
    assert_eq!(
        out.loaded, 2,
        "as a spec, and the fixed spec under a var file: {:?}",
        out.diagnostics
    );
    let m = &out.mapped[0];
    assert!(m.errors.is_empty(), "{:?}", m.errors);
    assert_eq!(m.records, 2);
    assert_eq!(m.duplicates, vec![("b@example.com".to_owned(), 3, 4)]);
    assert_eq!(m.invalid.len(), 1);
    assert_eq!(m.invalid[0].0, 5);
    // As a project file the spec is wrong, and says where.
    assert!(
        out.diagnostics
            .iter()
            .any(|d| d.is_error && d.location.starts_with("bulkspec.yaml:"))
    );
}

/// The source harness reaches mapping in every mode: plain and gzip CSV, JSON Lines, no header.
#[test]
fn source_map_harness_finds_duplicates_and_invalid_rows() {
    let csv = b"id,email,name,total\n1,a@x.com,A,1\n1,a@x.com,A,1\n2,bad,B,2\n3,c@x.com\n";
    for sel in [0x00_u8, 0x10] {
        let mut input = vec![sel];
        input.extend_from_slice(csv);
        let out = common::source_map(&input).unwrap();
        assert!(out.errors.is_empty(), "{sel:#x}: {:?}", out.errors);
        assert_eq!(
            out.duplicates,
            vec![("a@x.com".to_owned(), 2, 3)],
            "{sel:#x}"
        );
        let lines: Vec<u64> = out.invalid.iter().map(|(l, _)| *l).collect();
        assert_eq!(lines, vec![4, 5], "{sel:#x}: {:?}", out.invalid);
    }
    let mut headerless = vec![0x40_u8];
    headerless.extend_from_slice(b"1,a@x.com,A,1\n2,b@x.com,B,2\n");
    assert_eq!(common::source_map(&headerless).unwrap().records, 2);
    // JSON Lines into Dotdigital (spec 2): a broken line is an invalid row, not the end.
    let mut jsonl = vec![0x0b_u8];
    jsonl.extend_from_slice(b"{\"id\":1,\"email\":\"a@x.com\",\"total\":2,\"name\":\"A\"}\n{oops\n{\"id\":2,\"email\":\"b@x.com\",\"total\":3,\"name\":\"B\"}\n");
    let out = common::source_map(&jsonl).unwrap();
    assert!(out.errors.is_empty(), "{:?}", out.errors);
    assert_eq!(out.records, 2, "{:?}", out.invalid);
    assert_eq!(
        out.invalid.iter().map(|(l, _)| *l).collect::<Vec<_>>(),
        vec![2]
    );
}

/// A template loop over huge ranges (seen while fuzzing: it kept `validate` busy for hours)
/// runs out of fuel: an error at the template, not a hang.
#[test]
fn a_runaway_template_loop_is_an_error_not_a_hang() {
    let started = std::time::Instant::now();
    let out = common::spec_load(include_bytes!(
        "fuzz_regressions/spec_load/template-runaway-loop.yaml"
    ))
    .unwrap();
    assert!(
        started.elapsed() < std::time::Duration::from_secs(60),
        "took {:?}",
        started.elapsed()
    );
    let text = format!("{:?}", out.diagnostics);
    assert!(text.contains("render::too-long"), "{text}");
}

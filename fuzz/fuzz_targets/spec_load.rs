//! Fuzz target: bytes as a spec file, a project file and a var file, through the real loading
//! path (YAML with spans, render, schema and semantic checks, diagnostics rendering), then the
//! mapping of any spec that loads. Must never panic. Body: `common::spec_load`.
#![no_main]

use libfuzzer_sys::fuzz_target;

mod common;

fuzz_target!(|data: &[u8]| {
    // An I/O error of the temporary folder is the machine's problem, not the input's.
    let _ = common::spec_load(data);
});

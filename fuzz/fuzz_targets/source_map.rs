//! Fuzz target: bytes as a source file (first byte: format, provider, gzip, header, encoding)
//! read by the real streaming readers and mapped by a provider's compiled `Mapper` through the
//! plan's diff, with every record built as apply builds it. Must never panic. Body:
//! `common::source_map`.
#![no_main]

use libfuzzer_sys::fuzz_target;

mod common;

fuzz_target!(|data: &[u8]| {
    if let Err(e) = common::source_map(data) {
        // The fixed specs must load: a harness bug, not a finding about the input.
        panic!("fuzz harness: {e}");
    }
});

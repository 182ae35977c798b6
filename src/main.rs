//! The `bulkspec` binary: everything is in the library's `cli` module.

// Apply builds and frees millions of small records; mimalloc keeps that cheap where the
// system allocator spends a third of the time consolidating free chunks.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    bulkspec::cli::main()
}

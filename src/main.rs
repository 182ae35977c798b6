//! The `bulkspec` binary: everything is in the library's `cli` module.

fn main() -> std::process::ExitCode {
    bulkspec::cli::main()
}

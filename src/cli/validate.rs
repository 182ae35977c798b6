//! `bulkspec validate [PATH...]`.

use std::path::PathBuf;

use super::{Context, Exit};
use crate::spec::Diagnostic;
use crate::spec::workspace;

pub fn run(cx: &Context, paths: &[PathBuf]) -> Exit {
    let (ws, mut diags) = workspace::load(&cx.load_options(paths));
    let files = ws.file_count(&diags);
    if files == 0 && !diags.has_errors() {
        diags.push(
            Diagnostic::file_error(
                "workspace::no-specs",
                paths
                    .first()
                    .cloned()
                    .unwrap_or_else(|| ws.project.specs.clone().into()),
                "no spec files found",
            )
            .with_hint("spec files end in .yaml or .yml; name them or the folders that hold them"),
        );
    }
    cx.out.diagnostics(&diags, files);
    if diags.has_errors() {
        Exit::Error
    } else {
        Exit::Ok
    }
}

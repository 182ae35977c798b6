//! `bulkspec render [PATH...]`: the specs after templates, as YAML (or JSON).

use std::path::PathBuf;

use serde_json::json;

use super::{Context, Exit};
use crate::output::{Format, yaml};
use crate::spec::workspace;

pub fn run(cx: &Context, paths: &[PathBuf]) -> Exit {
    let (ws, diags) = workspace::load(&cx.load_options(paths));
    if diags.has_errors() {
        cx.out.diagnostics(&diags, ws.file_count(&diags));
        return Exit::Error;
    }
    cx.out.warnings(&diags);
    match cx.out.format {
        Format::Json => {
            let docs: Vec<_> = ws
                .specs
                .iter()
                .map(|s| json!({"file": s.src.path(), "job": s.spec.job, "spec": s.rendered}))
                .collect();
            cx.out.json(&json!({"format_version": 1, "specs": docs}));
        }
        Format::Human | Format::Markdown => {
            let mut text = String::new();
            for s in &ws.specs {
                text.push_str(&format!("---\n# {}\n", s.src.path().display()));
                text.push_str(&yaml::to_yaml(&s.rendered));
            }
            cx.out.stdout(&text);
        }
    }
    Exit::Ok
}

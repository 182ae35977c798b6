//! Rendering diagnostics: for people (miette excerpts with a hint), for tools (JSON) and for
//! GitHub Actions (`::error file=..,line=..,col=..::msg` workflow commands).

use std::fmt::Write as _;

use miette::{
    GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteDiagnostic, NamedSource, Report,
};
use serde_json::json;

use crate::spec::{Diagnostic, Diagnostics, Severity};

/// One diagnostic as miette renders it: `× message`, `╭─[path:line:col]`, the excerpt with
/// the span underlined, and the hint.
pub fn human(d: &Diagnostic, color: bool) -> String {
    let theme = if color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme)
        .with_width(100)
        .with_links(false);
    let severity = match d.severity {
        Severity::Error => miette::Severity::Error,
        Severity::Warning => miette::Severity::Warning,
    };
    let mut md = MietteDiagnostic::new(d.message.clone())
        .with_code(d.code)
        .with_severity(severity);
    if let Some(h) = &d.hint {
        md = md.with_help(h.clone());
    }
    let mut out = String::new();
    match (&d.source, d.span) {
        (Some(src), Some(span)) => {
            let mut labels = vec![LabeledSpan::new_primary_with_span(
                Some("here".into()),
                (span.start.offset, label_len(src.text(), span)),
            )];
            if let Some(r) = d.related.as_ref().filter(|r| r.file == d.file) {
                labels.push(LabeledSpan::new_with_span(
                    Some(r.message.clone()),
                    (r.span.start.offset, label_len(src.text(), r.span)),
                ));
            }
            md = md.with_labels(labels);
            let report = Report::new(md).with_source_code(NamedSource::new(
                d.file.display().to_string(),
                src.text().to_string(),
            ));
            let _ = handler.render_report(&mut out, report.as_ref());
            if let Some(r) = d.related.as_ref().filter(|r| r.file != d.file) {
                let _ = writeln!(
                    out,
                    "  note: {} at {}:{}:{}",
                    r.message,
                    r.file.display(),
                    r.span.start.line,
                    r.span.start.col
                );
            }
        }
        _ => {
            md = md.with_help(d.hint.clone().unwrap_or_default());
            let _ = writeln!(out, "{}:", d.file.display());
            let _ = handler.render_report(&mut out, &md);
        }
    }
    out
}

/// Underline at most to the end of the span's first line, so an excerpt stays readable.
fn label_len(text: &str, span: crate::spec::Span) -> usize {
    let start = span.start.offset.min(text.len());
    let line_end = text
        .get(start..)
        .and_then(|t| t.find('\n'))
        .map_or(text.len(), |i| start + i);
    let end = span.end.offset.clamp(start, line_end.max(start));
    (end - start).max(if start < text.len() { 1 } else { 0 })
}

/// All diagnostics followed by a summary line.
pub fn human_all(diags: &Diagnostics, files: usize, color: bool) -> String {
    let mut out = String::new();
    for d in diags.iter() {
        out.push_str(&human(d, color));
        out.push('\n');
    }
    let errors = diags.error_count();
    let warnings = diags.iter().count() - errors;
    let _ = writeln!(
        out,
        "{} error{}, {} warning{} in {} file{}",
        errors,
        plural(errors),
        warnings,
        plural(warnings),
        files,
        plural(files)
    );
    out
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// The diagnostics as a JSON document for editors and bots.
pub fn json_doc(diags: &Diagnostics, files: usize) -> serde_json::Value {
    let items: Vec<serde_json::Value> = diags
        .iter()
        .map(|d| {
            json!({
                "severity": d.severity,
                "code": d.code,
                "file": d.file,
                "line": d.span.map(|s| s.start.line),
                "column": d.span.map(|s| s.start.col),
                "end_line": d.span.map(|s| s.end.line),
                "end_column": d.span.map(|s| s.end.col),
                "message": d.message,
                "hint": d.hint,
                "related": d.related,
            })
        })
        .collect();
    json!({
        "format_version": 1,
        "valid": !diags.has_errors(),
        "files": files,
        "errors": diags.error_count(),
        "diagnostics": items,
    })
}

/// GitHub Actions workflow commands, one line per diagnostic.
pub fn github(diags: &Diagnostics) -> String {
    let mut out = String::new();
    for d in diags.iter() {
        let level = if d.is_error() { "error" } else { "warning" };
        let mut props = format!("file={}", escape_property(&d.file.display().to_string()));
        if let Some(s) = d.span {
            let _ = write!(props, ",line={},col={}", s.start.line, s.start.col);
        }
        let _ = write!(props, ",title={}", escape_property(d.code));
        let mut msg = d.message.clone();
        if let Some(h) = &d.hint {
            msg.push_str(" (hint: ");
            msg.push_str(h);
            msg.push(')');
        }
        let _ = writeln!(out, "::{level} {props}::{}", escape_data(&msg));
    }
    out
}

fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

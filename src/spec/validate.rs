//! Validate a rendered document: first against the generated JSON Schema, then into the typed
//! struct. Each schema error becomes a diagnostic at the span of the offending path, with a
//! "did you mean" for unknown fields and enum values. Semantic checks live in `semantic`.

use serde::de::DeserializeOwned;
use serde_json::Value;

use super::diagnostic::{Diagnostic, Diagnostics, did_you_mean};
use super::render::SpanIndex;
use super::source_text::SourceText;

/// Validates `doc` against `schema` (whose text is `schema_doc`, for "did you mean") and, if
/// that passes, deserializes it. Every problem is pushed to `diags`.
pub fn validate_typed<T: DeserializeOwned>(
    validator: &jsonschema::Validator,
    schema_doc: &Value,
    doc: &Value,
    src: &SourceText,
    index: &SpanIndex,
    diags: &mut Diagnostics,
) -> Option<T> {
    let before = diags.error_count();
    for error in validator.iter_errors(doc) {
        report(&error, schema_doc, src, index, diags);
    }
    if diags.error_count() > before {
        return None;
    }
    match serde_path_to_error::deserialize::<_, T>(doc.clone()) {
        Ok(v) => Some(v),
        Err(e) => {
            let ptr = path_to_pointer(&e.path().to_string());
            let span = index.find(&ptr);
            diags.push(Diagnostic::error(
                "schema::invalid",
                src,
                span,
                format!("{}: {}", display_path(&ptr), e.inner()),
            ));
            None
        }
    }
}

fn report(
    error: &jsonschema::ValidationError<'_>,
    schema: &Value,
    src: &SourceText,
    index: &SpanIndex,
    diags: &mut Diagnostics,
) {
    use jsonschema::error::ValidationErrorKind as K;
    let ptr = error.instance_path().as_str().to_owned();
    let at = display_path(&ptr);
    let d = match error.kind() {
        K::AdditionalProperties { unexpected } => {
            let allowed = allowed_properties(schema, error.evaluation_path().as_str());
            for field in unexpected {
                let child = format!("{ptr}/{}", super::render::escape_pointer(field));
                let mut d = Diagnostic::error(
                    "schema::unknown-field",
                    src,
                    index.key(&child),
                    format!("unknown field `{field}` in {at}"),
                );
                d = match did_you_mean(field, allowed.iter().map(String::as_str)) {
                    Some(s) => d.with_hint(format!("did you mean `{s}`?")),
                    None if !allowed.is_empty() => {
                        d.with_hint(format!("expected one of: {}", allowed.join(", ")))
                    }
                    None => d,
                };
                diags.push(d);
            }
            return;
        }
        K::AnyOf { context } | K::OneOfNotValid { context } => {
            // `x: null`-able fields are `anyOf [T, null]`: report the errors of the T branch.
            if let Some(branch) = context
                .iter()
                .find(|b| !b.iter().all(|e| matches!(e.kind(), K::Type { .. })))
            {
                for e in branch {
                    report(e, schema, src, index, diags);
                }
                return;
            }
            Diagnostic::error(
                "schema::invalid",
                src,
                index.find(&ptr),
                format!("{at}: {}", plain(error)),
            )
        }
        K::Required { property } => {
            let name = property.as_str().unwrap_or_default();
            Diagnostic::error(
                "schema::missing-field",
                src,
                index.find(&ptr),
                format!("missing field `{name}` in {at}"),
            )
            .with_hint(format!(
                "add `{name}:`; see the spec reference in README.md"
            ))
        }
        K::Enum { options } => {
            let found = error.instance().as_str().unwrap_or_default().to_owned();
            let opts: Vec<&str> = options
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let d = Diagnostic::error(
                "schema::enum",
                src,
                index.find(&ptr),
                format!(
                    "{at}: `{}` is not one of: {}",
                    short(error.instance()),
                    opts.join(", ")
                ),
            );
            match did_you_mean(&found, opts.iter().copied()) {
                Some(s) => d.with_hint(format!("did you mean `{s}`?")),
                None if ptr == "/target/provider" => {
                    d.with_hint(object_hint(doc_object(error, index)))
                }
                None => d,
            }
        }
        K::Constant { expected_value } => Diagnostic::error(
            "schema::const",
            src,
            index.find(&ptr),
            format!(
                "{at}: expected `{}`, found `{}`",
                short(expected_value),
                short(error.instance())
            ),
        ),
        K::Type { kind } => {
            let d = Diagnostic::error(
                "schema::type",
                src,
                index.find(&ptr),
                format!(
                    "{at}: expected {}, found {}",
                    type_name(kind),
                    json_type(error.instance())
                ),
            );
            if error.instance().is_object() || error.instance().is_array() {
                d
            } else {
                d.with_hint("quote a value to make it a string; write numbers and true/false without quotes")
            }
        }
        _ => Diagnostic::error(
            "schema::invalid",
            src,
            index.find(&ptr),
            format!("{at}: {}", plain(error)),
        ),
    };
    diags.push(d);
}

/// The target's `object`, for the provider-mismatch hint.
fn doc_object(_error: &jsonschema::ValidationError<'_>, index: &SpanIndex) -> String {
    index.object.clone().unwrap_or_default()
}

fn object_hint(object: String) -> String {
    match super::types::target::provider_of_object(&object) {
        Some(p) => format!(
            "object `{object}` belongs to provider `{p}`; set provider: {p}, or pick an object of your provider"
        ),
        None => "set the provider the object belongs to".into(),
    }
}

fn plain(error: &jsonschema::ValidationError<'_>) -> String {
    error.to_string()
}

fn short(v: &Value) -> String {
    let s = match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    if s.chars().count() > 60 {
        format!("{}…", s.chars().take(60).collect::<String>())
    } else {
        s
    }
}

fn type_name(kind: &jsonschema::error::TypeKind) -> String {
    match kind {
        jsonschema::error::TypeKind::Single(t) => format!("{t}").replace("object", "a mapping"),
        jsonschema::error::TypeKind::Multiple(ts) => {
            let names: Vec<String> = ts
                .iter()
                .map(|t| t.to_string())
                .filter(|t| t != "null")
                .collect();
            names.join(" or ")
        }
    }
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "an integer",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

/// `/target/program_id` -> `target.program_id`; `` -> `the spec`.
pub fn display_path(ptr: &str) -> String {
    if ptr.is_empty() {
        return "the document".into();
    }
    ptr.trim_start_matches('/')
        .replace("~1", "/")
        .replace("~0", "~")
        .replace('/', ".")
}

/// serde_path_to_error's `a.b[0].c` -> `/a/b/0/c`.
fn path_to_pointer(path: &str) -> String {
    if path == "." {
        return String::new();
    }
    let mut out = String::new();
    for part in path.split('.') {
        for (i, seg) in part.split('[').enumerate() {
            let seg = if i > 0 {
                seg.trim_end_matches(']')
            } else {
                seg
            };
            if !seg.is_empty() {
                out.push('/');
                out.push_str(seg);
            }
        }
    }
    out
}

/// Property names allowed where an `additionalProperties` error was raised, found by walking
/// the schema along the evaluation path (following `$ref`s).
fn allowed_properties(schema: &Value, eval_path: &str) -> Vec<String> {
    let mut node = schema;
    let segments: Vec<&str> = eval_path.trim_start_matches('/').split('/').collect();
    let Some((_, parents)) = segments.split_last() else {
        return Vec::new();
    };
    for seg in parents {
        let seg = seg.replace("~1", "/").replace("~0", "~");
        node = if seg == "$ref" {
            match node
                .get("$ref")
                .and_then(Value::as_str)
                .and_then(|r| r.strip_prefix('#'))
            {
                Some(target) => match schema.pointer(target) {
                    Some(n) => n,
                    None => return Vec::new(),
                },
                None => return Vec::new(),
            }
        } else {
            match node
                .get(seg.as_str())
                .or_else(|| seg.parse::<usize>().ok().and_then(|i| node.get(i)))
            {
                Some(n) => n,
                None => return Vec::new(),
            }
        };
    }
    node.get("properties")
        .and_then(Value::as_object)
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default()
}

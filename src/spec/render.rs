//! Render: string leaves of the YAML tree are minijinja templates over `vars` and `env`.
//!
//! Templates are rendered per value, never over the raw text, so a variable cannot inject YAML
//! structure. A leaf that is exactly one `{{ expression }}` keeps the expression's type.
//! Undefined variables are errors. Subtrees that are templates over `row` (or Eloqua markup)
//! are left as written; `source::map` compiles them later. Output: a JSON value and, for every
//! JSON pointer, the span it came from.

use std::collections::{BTreeSet, HashMap};

use minijinja::{Environment, UndefinedBehavior};
use serde_json::{Map, Value as Json};

use super::diagnostic::{Diagnostic, Diagnostics};
use super::source_text::{SourceText, Span};
use super::yaml::{Node, Value};

/// Paths (JSON pointers) whose string leaves are not rendered here: templates over `row`, and
/// Eloqua markup that looks like a template.
pub const ROW_TEMPLATE_PATHS: &[&str] = &[
    "/record",
    "/key",
    "/target/contact_identifier",
    "/target/fields",
    "/target/sync_actions",
];

/// What templates may read.
#[derive(Debug, Clone, Default)]
pub struct RenderContext {
    /// Merged variables: project file, then `--var-file`s, then `--var`s.
    pub vars: Map<String, Json>,
    /// Environment variables named in the project's allow-list, with their values.
    pub env: Map<String, Json>,
    /// The allow-list itself, for error messages.
    pub env_allowed: BTreeSet<String>,
}

/// Where each part of a rendered document came from.
#[derive(Debug, Clone, Default)]
pub struct SpanIndex {
    /// JSON pointer -> span of the value.
    pub values: HashMap<String, Span>,
    /// JSON pointer -> span of the mapping key that holds the value.
    pub keys: HashMap<String, Span>,
    /// The document's `target.object`, for hints that depend on it.
    pub object: Option<String>,
}

impl SpanIndex {
    /// The span of `pointer`, or of its nearest ancestor that has one.
    pub fn find(&self, pointer: &str) -> Option<Span> {
        let mut p = pointer;
        loop {
            if let Some(s) = self.values.get(p) {
                return Some(*s);
            }
            match p.rfind('/') {
                Some(i) => p = &p[..i],
                None => return None,
            }
        }
    }

    /// The span of the key holding `pointer` (falls back to the value).
    pub fn key(&self, pointer: &str) -> Option<Span> {
        self.keys
            .get(pointer)
            .copied()
            .or_else(|| self.find(pointer))
    }
}

/// A template environment shared by every file of a run.
/// Template steps allowed for one rendered spec value.
pub const SPEC_FUEL: u64 = 1_000_000;

pub struct Renderer {
    env: Environment<'static>,
    ctx: minijinja::Value,
    allowed: BTreeSet<String>,
}

impl Renderer {
    pub fn new(context: &RenderContext) -> Self {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        // A spec's template is small; a loop over a huge range would hang `validate` (found
        // while fuzzing). A million steps per value is far more than any real spec needs.
        env.set_fuel(Some(SPEC_FUEL));
        let ctx = minijinja::context! {
            vars => minijinja::Value::from_serialize(&context.vars),
            env => minijinja::Value::from_serialize(&context.env),
        };
        Self {
            env,
            ctx,
            allowed: context.env_allowed.clone(),
        }
    }

    /// The minijinja environment (strict undefined), for compiling row templates.
    pub fn environment(&self) -> &Environment<'static> {
        &self.env
    }

    /// The `vars`/`env` context.
    pub fn context(&self) -> &minijinja::Value {
        &self.ctx
    }

    /// Renders a whole document. Collects every error.
    pub fn render(
        &self,
        src: &SourceText,
        root: &Node,
        diags: &mut Diagnostics,
    ) -> (Json, SpanIndex) {
        let mut index = SpanIndex::default();
        let value = self.node(src, root, "", true, &mut index, diags);
        index.object = value
            .pointer("/target/object")
            .and_then(Json::as_str)
            .map(str::to_owned);
        (value, index)
    }

    /// Converts a document without rendering any template (project and var files).
    pub fn plain(&self, src: &SourceText, root: &Node) -> (Json, SpanIndex) {
        let mut index = SpanIndex::default();
        let value = self.node(
            src,
            root,
            "",
            false,
            &mut index,
            &mut Diagnostics::default(),
        );
        (value, index)
    }

    fn node(
        &self,
        src: &SourceText,
        node: &Node,
        ptr: &str,
        templated: bool,
        index: &mut SpanIndex,
        diags: &mut Diagnostics,
    ) -> Json {
        index.values.insert(ptr.to_owned(), node.span);
        match &node.value {
            Value::Null => Json::Null,
            Value::Bool(b) => Json::Bool(*b),
            Value::Int(i) => Json::from(*i),
            Value::Float(f) => serde_json::Number::from_f64(*f).map_or(Json::Null, Json::Number),
            Value::Str { text, .. } => {
                if !templated || is_row_path(ptr) || !is_template(text) {
                    Json::String(text.clone())
                } else {
                    self.leaf(src, text, node.span, diags)
                }
            }
            Value::Seq(items) => Json::Array(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| {
                        self.node(src, item, &format!("{ptr}/{i}"), templated, index, diags)
                    })
                    .collect(),
            ),
            Value::Map(entries) => {
                let mut map = Map::with_capacity(entries.len());
                for (key, value) in entries {
                    let child = format!("{ptr}/{}", escape_pointer(&key.text));
                    index.keys.insert(child.clone(), key.span);
                    let v = self.node(src, value, &child, templated, index, diags);
                    map.insert(key.text.clone(), v);
                }
                Json::Object(map)
            }
        }
    }

    /// Renders one string leaf; on error records a diagnostic and returns the text unchanged.
    fn leaf(&self, src: &SourceText, text: &str, span: Span, diags: &mut Diagnostics) -> Json {
        if let Some(d) = self.check_env(src, text, span) {
            diags.push(d);
            return Json::String(text.to_owned());
        }
        match self.render_leaf(text) {
            Ok(v) => v,
            Err(e) => {
                diags.push(template_diagnostic(src, span, &e));
                Json::String(text.to_owned())
            }
        }
    }

    fn render_leaf(&self, text: &str) -> Result<Json, minijinja::Error> {
        if let Some(expr) = single_expression(text) {
            let value = self.env.compile_expression(expr)?.eval(&self.ctx)?;
            if value.is_undefined() {
                return Err(minijinja::Error::new(
                    minijinja::ErrorKind::UndefinedError,
                    format!("`{}` is undefined", expr.trim()),
                ));
            }
            return serde_json::to_value(&value).map_err(|e| {
                minijinja::Error::new(minijinja::ErrorKind::BadSerialization, e.to_string())
            });
        }
        self.env.render_str(text, &self.ctx).map(Json::String)
    }

    /// `env.NAME` for a NAME outside the allow-list is an error that names the allow-list.
    pub fn check_env(&self, src: &SourceText, text: &str, span: Span) -> Option<Diagnostic> {
        let name = env_references(text)
            .into_iter()
            .find(|n| !self.allowed.contains(*n))?;
        let allowed = if self.allowed.is_empty() {
            "the allow-list is empty".to_owned()
        } else {
            format!(
                "allowed: {}",
                self.allowed
                    .iter()
                    .map(String::as_str)
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        Some(
            Diagnostic::error(
                "render::env-not-allowed",
                src,
                Some(span),
                format!("environment variable `{name}` is not in the project's env allow-list ({allowed})"),
            )
            .with_hint(format!("add `{name}` under `env:` in bulkspec.yaml, or use a var instead")),
        )
    }
}

/// Whether a string holds template syntax.
pub fn is_template(text: &str) -> bool {
    text.contains("{{") || text.contains("{%") || text.contains("{#")
}

/// The expression inside a leaf that is exactly `{{ expression }}`.
pub fn single_expression(text: &str) -> Option<&str> {
    let inner = text.trim().strip_prefix("{{")?.strip_suffix("}}")?;
    let inner = inner.strip_prefix('-').unwrap_or(inner);
    let inner = inner.strip_suffix('-').unwrap_or(inner);
    (!inner.contains("{{") && !inner.contains("}}") && !inner.contains("{%")).then_some(inner)
}

fn is_row_path(ptr: &str) -> bool {
    ROW_TEMPLATE_PATHS.iter().any(|p| {
        ptr == *p
            || ptr
                .strip_prefix(p)
                .is_some_and(|rest| rest.starts_with('/'))
    })
}

/// Names read as `env.NAME`, `env["NAME"]` or `env['NAME']`.
fn env_references(text: &str) -> Vec<&str> {
    let mut names = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while let Some(found) = text.get(i..).and_then(|t| t.find("env")) {
        let at = i + found;
        i = at + 3;
        let before_ok = at == 0
            || !(bytes[at - 1].is_ascii_alphanumeric()
                || bytes[at - 1] == b'_'
                || bytes[at - 1] == b'.');
        if !before_ok {
            continue;
        }
        let rest = &text[i..];
        let name = if let Some(r) = rest.strip_prefix('.') {
            r.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .next()
        } else if let Some(r) = rest.strip_prefix("[\"").or_else(|| rest.strip_prefix("['")) {
            r.split(['"', '\'']).next()
        } else {
            None
        };
        if let Some(n) = name.filter(|n| !n.is_empty()) {
            names.push(n);
        }
    }
    names
}

/// A diagnostic for a minijinja error in the leaf at `span`.
pub fn template_diagnostic(src: &SourceText, span: Span, e: &minijinja::Error) -> Diagnostic {
    use minijinja::ErrorKind as K;
    let detail = e
        .detail()
        .map(str::to_owned)
        .unwrap_or_else(|| e.kind().to_string());
    let (code, hint) = match e.kind() {
        K::UndefinedError => (
            "render::undefined",
            "define it with `--var NAME=VALUE`, a `--var-file`, or under `vars:` in bulkspec.yaml",
        ),
        K::SyntaxError => (
            "render::syntax",
            "template syntax is `{{ expression }}`; check braces and quotes",
        ),
        K::UnknownFilter => (
            "render::unknown-filter",
            "see the minijinja built-in filters: upper, lower, default, trim, replace, ...",
        ),
        K::UnknownFunction => (
            "render::unknown-function",
            "only minijinja's built-in functions are available",
        ),
        K::UnknownTest => (
            "render::unknown-test",
            "only minijinja's built-in tests are available",
        ),
        K::OutOfFuel => (
            "render::too-long",
            "the template ran more than a million steps; shorten its loops",
        ),
        _ => ("render::error", "check the template expression"),
    };
    let message = match e.kind() {
        K::UndefinedError => format!("undefined value in template: {detail}"),
        _ => format!("template error: {detail}"),
    };
    Diagnostic::error(code, src, Some(span), message).with_hint(hint)
}

/// Escapes a key for a JSON pointer (RFC 6901).
pub fn escape_pointer(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

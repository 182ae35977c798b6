//! YAML loading with positions: text -> `Node` tree where every node knows its span.
//!
//! Built on saphyr-parser's event stream (a maintained YAML 1.2 parser; serde_yaml is archived)
//! so that we control what a spec may contain: duplicate keys are errors, aliases are expanded
//! under a budget, nesting depth and file size are bounded, and non-scalar keys are refused.
//! Scalars are resolved with the YAML 1.2 core schema. This module knows nothing of specs.

// A parse error ends the file's parse and happens once per file: its size does not matter.
#![allow(clippy::result_large_err)]

use super::diagnostic::Diagnostic;
use super::source_text::{SourceText, Span};

mod builder;
mod scalar;
mod scan_error;

pub use builder::parse;
pub use scalar::resolve_plain;

/// Limits against hostile or accidental input.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_bytes: usize,
    pub max_line_bytes: usize,
    pub max_depth: usize,
    /// Total nodes after alias expansion.
    pub max_nodes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_bytes: 8 << 20,
            max_line_bytes: 1 << 20,
            max_depth: 64,
            max_nodes: 200_000,
        }
    }
}

/// A YAML node and where it is.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub value: Value,
    pub span: Span,
}

/// The value of a node.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    /// A string; `quoted` tells whether it was written in quotes or as a block.
    Str {
        text: String,
        quoted: bool,
    },
    Seq(Vec<Node>),
    /// Keys are strings (anything else is refused at load time), in file order.
    Map(Vec<(Key, Node)>),
}

/// A mapping key.
#[derive(Debug, Clone, PartialEq)]
pub struct Key {
    pub text: String,
    pub span: Span,
}

impl Node {
    /// The value at `key` when this node is a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.value {
            Value::Map(entries) => entries.iter().find(|(k, _)| k.text == key).map(|(_, v)| v),
            _ => None,
        }
    }
}

/// Checks size, encoding and NUL bytes, then parses one YAML document.
pub fn load_bytes(
    path: &std::path::Path,
    bytes: &[u8],
    limits: Limits,
) -> Result<(SourceText, Node), Diagnostic> {
    if bytes.len() > limits.max_bytes {
        return Err(Diagnostic::file_error(
            "yaml::too-large",
            path,
            format!(
                "the file is {} long; a spec file may be at most {}",
                human(bytes.len()),
                human(limits.max_bytes)
            ),
        )
        .with_hint("keep data in the source file the spec points at, not in the spec"));
    }
    let text = match std::str::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            let good = String::from_utf8_lossy(&bytes[..e.valid_up_to()]).into_owned();
            let src = SourceText::new(path, good);
            let pos = src.pos_at(e.valid_up_to());
            return Err(Diagnostic::error(
                "yaml::not-utf8",
                &src,
                Some(Span::point(pos)),
                format!("invalid UTF-8 at byte {}", e.valid_up_to()),
            )
            .with_hint("spec files must be UTF-8; re-save the file as UTF-8"));
        }
    };
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let src = SourceText::new(path, text);
    if let Some(i) = text.find('\0') {
        return Err(Diagnostic::error(
            "yaml::nul-byte",
            &src,
            Some(Span::point(src.pos_at(i))),
            "NUL byte in a spec file",
        )
        .with_hint("the file looks binary or corrupted; spec files are UTF-8 text"));
    }
    if let Some((start, len)) = longest_line(text).filter(|(_, len)| *len > limits.max_line_bytes) {
        return Err(Diagnostic::error(
            "yaml::line-too-long",
            &src,
            Some(Span::point(src.pos_at(start))),
            format!(
                "this line is {} long; a line may be at most {}",
                human(len),
                human(limits.max_line_bytes)
            ),
        )
        .with_hint("keep data in the source file the spec points at, not in the spec"));
    }
    let node = parse(&src, limits)?;
    Ok((src, node))
}

fn longest_line(text: &str) -> Option<(usize, usize)> {
    let mut start = 0;
    let mut best: Option<(usize, usize)> = None;
    for line in text.split_inclusive('\n') {
        if best.is_none_or(|(_, l)| line.len() > l) {
            best = Some((start, line.len()));
        }
        start += line.len();
    }
    best
}

fn human(n: usize) -> String {
    bytesize::ByteSize(n as u64).display().iec().to_string()
}

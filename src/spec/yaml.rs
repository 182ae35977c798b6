//! YAML loading with positions: text -> `Node` tree where every node knows its span.
//!
//! Built on saphyr-parser's event stream (a maintained YAML 1.2 parser; serde_yaml is archived)
//! so that we control what a spec may contain: duplicate keys are errors, aliases are expanded
//! under a budget, nesting depth and file size are bounded, and non-scalar keys are refused.
//! Scalars are resolved with the YAML 1.2 core schema. This module knows nothing of specs.

// A parse error ends the file's parse and happens once per file: its size does not matter.
#![allow(clippy::result_large_err)]

use std::borrow::Cow;
use std::collections::HashMap;

use saphyr_parser::{Event, Parser, ScalarStyle, ScanError};

use super::diagnostic::Diagnostic;
use super::source_text::{Pos, SourceText, Span};

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

/// Parses the text into one document node.
pub fn parse(src: &SourceText, limits: Limits) -> Result<Node, Diagnostic> {
    let mut builder = Builder {
        src,
        limits,
        anchors: HashMap::new(),
        nodes: 0,
    };
    let mut parser = Parser::new_from_str(src.text());
    builder.document(&mut parser)
}

struct Builder<'s> {
    src: &'s SourceText,
    limits: Limits,
    anchors: HashMap<usize, (Node, usize)>,
    nodes: usize,
}

type Ev<'a> = (Event<'a>, saphyr_parser::Span);

impl<'s> Builder<'s> {
    fn next<'a>(
        &self,
        parser: &mut Parser<'a, saphyr_parser::StrInput<'a>>,
    ) -> Result<Ev<'a>, Diagnostic> {
        match parser.next_event() {
            Some(Ok(ev)) => Ok(ev),
            Some(Err(e)) => Err(self.scan_error(&e)),
            None => Err(self.err_at("yaml::syntax", self.end_pos(), "unexpected end of file")),
        }
    }

    fn document<'a>(
        &mut self,
        parser: &mut Parser<'a, saphyr_parser::StrInput<'a>>,
    ) -> Result<Node, Diagnostic> {
        let mut root: Option<Node> = None;
        loop {
            let (ev, span) = self.next(parser)?;
            match ev {
                Event::StreamStart | Event::DocumentEnd | Event::Nothing => {}
                Event::StreamEnd => break,
                Event::DocumentStart(_) => {
                    if root.is_some() {
                        let pos = self.pos(span.start);
                        return Err(self
                            .err_at(
                                "yaml::many-documents",
                                pos,
                                "a second YAML document in one file",
                            )
                            .with_hint(
                                "one spec file holds one job: move this document to its own file",
                            ));
                    }
                    let (ev, span) = self.next(parser)?;
                    if matches!(ev, Event::DocumentEnd) {
                        continue;
                    }
                    root = Some(self.node(parser, ev, span, 0)?);
                }
                _ => {}
            }
        }
        root.ok_or_else(|| {
            Diagnostic::error(
                "yaml::empty",
                self.src,
                None,
                "the file is empty (or holds only comments)",
            )
            .with_hint(
                "a spec needs at least `version`, `job`, `target`, `source`, `key` and `record`",
            )
        })
    }

    fn node<'a>(
        &mut self,
        parser: &mut Parser<'a, saphyr_parser::StrInput<'a>>,
        ev: Event<'a>,
        span: saphyr_parser::Span,
        depth: usize,
    ) -> Result<Node, Diagnostic> {
        let start = self.pos(span.start);
        if depth > self.limits.max_depth {
            return Err(self
                .err_at(
                    "yaml::too-deep",
                    start,
                    format!("nesting deeper than {} levels", self.limits.max_depth),
                )
                .with_hint(
                    "a spec never needs this depth; check for runaway indentation or brackets",
                ));
        }
        self.count(1, start)?;
        let (node, anchor) = match ev {
            Event::Scalar(text, style, anchor, tag) => {
                let span = Span {
                    start,
                    end: self.pos(span.end),
                };
                (
                    Node {
                        value: self.scalar(text, style, tag.as_deref(), start)?,
                        span,
                    },
                    anchor,
                )
            }
            Event::SequenceStart(anchor, _) => (self.sequence(parser, start, depth)?, anchor),
            Event::MappingStart(anchor, _) => (self.mapping(parser, start, depth)?, anchor),
            Event::Alias(id) => return self.alias(id, start),
            _ => return Err(self.err_at("yaml::syntax", start, "unexpected YAML structure")),
        };
        if anchor != 0 {
            let size = count_nodes(&node);
            self.anchors.insert(anchor, (node.clone(), size));
        }
        Ok(node)
    }

    fn alias(&mut self, id: usize, at: Pos) -> Result<Node, Diagnostic> {
        let Some((node, size)) = self.anchors.get(&id).cloned() else {
            return Err(self.err_at("yaml::alias", at, "alias to an unknown anchor"));
        };
        self.count(size, at)?;
        Ok(node)
    }

    fn count(&mut self, n: usize, at: Pos) -> Result<(), Diagnostic> {
        self.nodes += n;
        if self.nodes > self.limits.max_nodes {
            return Err(self
                .err_at(
                    "yaml::too-many-nodes",
                    at,
                    format!(
                        "the document expands to more than {} nodes (aliases included)",
                        self.limits.max_nodes
                    ),
                )
                .with_hint(
                    "this looks like an alias bomb; aliases (*name) may not multiply the document",
                ));
        }
        Ok(())
    }

    fn sequence<'a>(
        &mut self,
        parser: &mut Parser<'a, saphyr_parser::StrInput<'a>>,
        start: Pos,
        depth: usize,
    ) -> Result<Node, Diagnostic> {
        let mut items = Vec::new();
        loop {
            let (ev, span) = self.next(parser)?;
            if matches!(ev, Event::SequenceEnd) {
                return Ok(Node {
                    value: Value::Seq(items),
                    span: Span {
                        start,
                        end: self.pos(span.end),
                    },
                });
            }
            items.push(self.node(parser, ev, span, depth + 1)?);
        }
    }

    fn mapping<'a>(
        &mut self,
        parser: &mut Parser<'a, saphyr_parser::StrInput<'a>>,
        start: Pos,
        depth: usize,
    ) -> Result<Node, Diagnostic> {
        let mut entries: Vec<(Key, Node)> = Vec::new();
        loop {
            let (ev, span) = self.next(parser)?;
            if matches!(ev, Event::MappingEnd) {
                return Ok(Node {
                    value: Value::Map(entries),
                    span: Span {
                        start,
                        end: self.pos(span.end),
                    },
                });
            }
            let key_node = self.node(parser, ev, span, depth + 1)?;
            let key = self.key(key_node)?;
            if let Some((first, _)) = entries.iter().find(|(k, _)| k.text == key.text) {
                return Err(self
                    .err_span(
                        "yaml::duplicate-key",
                        key.span,
                        format!("duplicate key `{}`", key.text),
                    )
                    .with_related(first.span, "first defined here")
                    .with_hint("a key may appear once per mapping; remove or merge one of them"));
            }
            let (ev, span) = self.next(parser)?;
            let value = self.node(parser, ev, span, depth + 1)?;
            entries.push((key, value));
        }
    }

    fn key(&self, node: Node) -> Result<Key, Diagnostic> {
        match node.value {
            Value::Str { text, .. } => Ok(Key { text, span: node.span }),
            Value::Int(i) => Ok(Key { text: i.to_string(), span: node.span }),
            Value::Bool(b) => Ok(Key { text: b.to_string(), span: node.span }),
            Value::Null => Ok(Key { text: String::new(), span: node.span }),
            Value::Float(f) => Ok(Key { text: f.to_string(), span: node.span }),
            Value::Map(_) | Value::Seq(_) => Err(self
                .err_span("yaml::complex-key", node.span, "a mapping key must be a plain string")
                .with_hint("if this is a template, quote it: \"{{ vars.name }}\" (unquoted braces are YAML flow mappings)")),
        }
    }

    fn scalar(
        &self,
        text: Cow<'_, str>,
        style: ScalarStyle,
        tag: Option<&saphyr_parser::Tag>,
        at: Pos,
    ) -> Result<Value, Diagnostic> {
        if let Some(tag) = tag {
            return match (tag.handle.as_str(), tag.suffix.as_str()) {
                ("tag:yaml.org,2002:", "str") | ("!!", "str") => Ok(Value::Str {
                    text: text.into_owned(),
                    quoted: true,
                }),
                _ => Err(self
                    .err_at(
                        "yaml::tag",
                        at,
                        format!(
                            "YAML tags are not supported (`{}{}`)",
                            tag.handle, tag.suffix
                        ),
                    )
                    .with_hint("remove the tag; quote the value if it must be a string")),
            };
        }
        if style != ScalarStyle::Plain {
            return Ok(Value::Str {
                text: text.into_owned(),
                quoted: true,
            });
        }
        Ok(resolve_plain(&text))
    }

    fn scan_error(&self, e: &ScanError) -> Diagnostic {
        let m = e.marker();
        let mut pos = self.src.pos_at_line_char(m.line(), m.col());
        let info = e.info();
        // The scanner reports an unterminated quote where the file ends; users need the line
        // where the quote opens, so search back for it.
        if info.contains("quoted scalar")
            && let Some(open) = unclosed_quote_start(self.src.text(), pos.offset)
        {
            pos = self.src.pos_at(open);
        }
        // Unclosed `[`/`{` are reported where the file ends; point at the opening bracket.
        if (info.contains("flow sequence") || info.contains("flow mapping"))
            && let Some(open) = unclosed_bracket_start(self.src.text(), pos.offset)
        {
            pos = self.src.pos_at(open);
        }
        // The scanner reports a tab near the previous token; point at the tab itself.
        if info.contains("tab") {
            let text = self.src.text();
            let line_start = text
                .get(..pos.offset)
                .map_or(0, |t| t.rfind('\n').map_or(0, |i| i + 1));
            let window = text.get(line_start..).unwrap_or("");
            let window = &window[..window.find('\n').map_or(window.len(), |i| i + 1)];
            let tab = window.find('\t').or_else(|| {
                text.get(pos.offset..)
                    .and_then(|t| t.find('\t'))
                    .map(|i| i + pos.offset - line_start)
            });
            if let Some(tab) = tab {
                pos = self.src.pos_at(line_start + tab);
            }
        }
        let hint = syntax_hint(info, self.src.text(), pos.offset);
        let d = self.err_at("yaml::syntax", pos, format!("YAML syntax error: {info}"));
        match hint {
            Some(h) => d.with_hint(h),
            None => d,
        }
    }

    fn pos(&self, m: saphyr_parser::Marker) -> Pos {
        self.src.pos_at_line_char(m.line(), m.col())
    }

    fn end_pos(&self) -> Pos {
        self.src.pos_at(self.src.text().len())
    }

    fn err_at(&self, code: &'static str, pos: Pos, msg: impl Into<String>) -> Diagnostic {
        Diagnostic::error(code, self.src, Some(Span::point(pos)), msg)
    }

    fn err_span(&self, code: &'static str, span: Span, msg: impl Into<String>) -> Diagnostic {
        Diagnostic::error(code, self.src, Some(span), msg)
    }
}

/// The offset of the quote that is still open at `end`, scanning the text line by line.
fn unclosed_quote_start(text: &str, end: usize) -> Option<usize> {
    let mut open: Option<(usize, char)> = None;
    let mut chars = text.get(..end.min(text.len()))?.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match open {
            None if c == '#' => {
                // Skip comments so an apostrophe in them does not count.
                for (_, c) in chars.by_ref() {
                    if c == '\n' {
                        break;
                    }
                }
            }
            None if c == '"' || c == '\'' => open = Some((i, c)),
            Some((_, '"')) if c == '\\' => {
                chars.next();
            }
            Some((_, '\'')) if c == '\'' && chars.peek().is_some_and(|(_, n)| *n == '\'') => {
                chars.next();
            }
            Some((_, q)) if c == q => open = None,
            _ => {}
        }
    }
    open.map(|(i, _)| i)
}

/// The offset of the last `[` or `{` still open at `end`, outside quotes and comments.
fn unclosed_bracket_start(text: &str, end: usize) -> Option<usize> {
    let mut stack = Vec::new();
    let mut quote: Option<char> = None;
    let mut chars = text.get(..end.min(text.len()))?.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match (quote, c) {
            (Some('"'), '\\') => {
                chars.next();
            }
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '#') => {
                for (_, c) in chars.by_ref() {
                    if c == '\n' {
                        break;
                    }
                }
            }
            (None, '[' | '{') => stack.push(i),
            (None, ']' | '}') => {
                stack.pop();
            }
            _ => {}
        }
    }
    stack.pop()
}

fn syntax_hint(info: &str, text: &str, offset: usize) -> Option<String> {
    let line_start = text
        .get(..offset)
        .map_or(0, |t| t.rfind('\n').map_or(0, |i| i + 1));
    let line = text
        .get(line_start..)
        .and_then(|t| t.lines().next())
        .unwrap_or("");
    if line.starts_with('\t') || info.contains("tab") {
        return Some("YAML indentation must use spaces, not tabs".into());
    }
    if info.contains("quoted scalar") {
        return Some("close the quote on this value".into());
    }
    if info.contains("flow sequence") {
        return Some(
            "close this list with `]` (or write it as a block list with `- ` items)".into(),
        );
    }
    if info.contains("flow mapping") {
        return Some(
            "close this mapping with `}`; a template must be quoted: \"{{ ... }}\"".into(),
        );
    }
    if info.contains("mapping values are not allowed") {
        return Some("a value containing `: ` must be quoted, or the indentation is off".into());
    }
    if info.contains("did not find expected key") || info.contains("block") {
        return Some("check the indentation of this line against its siblings".into());
    }
    None
}

fn count_nodes(node: &Node) -> usize {
    1 + match &node.value {
        Value::Seq(items) => items.iter().map(count_nodes).sum(),
        Value::Map(entries) => entries.iter().map(|(_, v)| count_nodes(v)).sum(),
        _ => 0,
    }
}

/// Resolves a plain scalar with the YAML 1.2 core schema.
pub fn resolve_plain(text: &str) -> Value {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" => return Value::Float(f64::INFINITY),
        "-.inf" | "-.Inf" | "-.INF" => return Value::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Value::Float(f64::NAN),
        _ => {}
    }
    if let Some(i) = parse_int(text) {
        return Value::Int(i);
    }
    if looks_like_float(text)
        && let Ok(f) = text.parse::<f64>()
    {
        return Value::Float(f);
    }
    Value::Str {
        text: text.to_owned(),
        quoted: false,
    }
}

fn parse_int(text: &str) -> Option<i64> {
    if let Some(hex) = text.strip_prefix("0x") {
        return i64::from_str_radix(hex, 16).ok();
    }
    if let Some(oct) = text.strip_prefix("0o") {
        return i64::from_str_radix(oct, 8).ok();
    }
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        return text.parse().ok();
    }
    None
}

fn looks_like_float(text: &str) -> bool {
    let t = text.strip_prefix(['-', '+']).unwrap_or(text);
    !t.is_empty()
        && t.bytes().any(|b| b.is_ascii_digit())
        && t.bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'-' | b'+'))
        && t.bytes()
            .next()
            .is_some_and(|b| b.is_ascii_digit() || b == b'.')
}

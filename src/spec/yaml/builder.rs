//! Builds the `Node` tree from saphyr-parser's events: spans, duplicate keys, aliases under a
//! budget, depth limit, tags refused, scanner errors turned into located diagnostics.

// A parse error ends the file's parse and happens once per file: its size does not matter.
#![allow(clippy::result_large_err)]

use std::borrow::Cow;
use std::collections::HashMap;

use saphyr_parser::{Event, Parser, ScalarStyle, ScanError};

use super::scalar::resolve_plain;
use super::scan_error::{syntax_hint, unclosed_bracket_start, unclosed_quote_start};
use super::{Key, Limits, Node, Value};
use crate::spec::diagnostic::Diagnostic;
use crate::spec::source_text::{Pos, SourceText, Span};

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

fn count_nodes(node: &Node) -> usize {
    1 + match &node.value {
        Value::Seq(items) => items.iter().map(count_nodes).sum(),
        Value::Map(entries) => entries.iter().map(|(_, v)| count_nodes(v)).sum(),
        _ => 0,
    }
}

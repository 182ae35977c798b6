//! A spec or project file's text, with the conversions between byte offsets and line/column
//! that every diagnostic needs. Holds no parsing logic.

use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A position in a file: 1-based line and column (in characters) and the byte offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct Pos {
    pub line: usize,
    pub col: usize,
    pub offset: usize,
}

/// A range in a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct Span {
    pub start: Pos,
    pub end: Pos,
}

impl Span {
    /// Byte length, at least 1 so an excerpt always underlines something.
    pub fn len(&self) -> usize {
        self.end.offset.saturating_sub(self.start.offset).max(1)
    }

    pub fn is_empty(&self) -> bool {
        false
    }

    /// A one-character span at `pos`.
    pub fn point(pos: Pos) -> Self {
        Self {
            start: pos,
            end: pos,
        }
    }
}

/// The text of one file and its line index.
#[derive(Debug, Clone)]
pub struct SourceText {
    path: PathBuf,
    text: Arc<str>,
    line_starts: Arc<[usize]>,
}

impl SourceText {
    pub fn new(path: impl Into<PathBuf>, text: impl Into<Arc<str>>) -> Self {
        let text: Arc<str> = text.into();
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Self {
            path: path.into(),
            text,
            line_starts,
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn text(&self) -> &Arc<str> {
        &self.text
    }

    /// The position of a byte offset (clamped to the text).
    pub fn pos_at(&self, offset: usize) -> Pos {
        let offset = offset.min(self.text.len());
        let line_idx = match self.line_starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i.saturating_sub(1),
        };
        let start = self.line_starts.get(line_idx).copied().unwrap_or(0);
        let col = self
            .text
            .get(start..offset)
            .map_or(offset - start, |s| s.chars().count());
        Pos {
            line: line_idx + 1,
            col: col + 1,
            offset,
        }
    }

    /// The position of a 1-based line and 0-based character column (the YAML parser's markers).
    pub fn pos_at_line_char(&self, line: usize, char_col: usize) -> Pos {
        let start = self
            .line_starts
            .get(line.saturating_sub(1))
            .copied()
            .unwrap_or(self.text.len());
        let rest = self.text.get(start..).unwrap_or("");
        let byte = rest
            .char_indices()
            .nth(char_col)
            .map_or(rest.len(), |(i, _)| i);
        Pos {
            line: line.max(1),
            col: char_col + 1,
            offset: start + byte,
        }
    }

    /// Number of lines.
    pub fn line_count(&self) -> usize {
        self.line_starts.len()
    }
}

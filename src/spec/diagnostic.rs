//! Diagnostics: one problem in one file, with its position, a message and a hint. They are
//! collected (never thrown one at a time) so a user sees every problem of every file at once.
//! Rendering to a terminal, JSON or GitHub annotations lives in `crate::output`.

use std::path::PathBuf;

use serde::Serialize;

use super::source_text::{SourceText, Span};

/// How bad a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// One problem found while loading, rendering or validating a file.
#[derive(Debug, Clone, Serialize)]
pub struct Diagnostic {
    pub severity: Severity,
    /// A stable identifier, e.g. `yaml::duplicate-key`, for tools and docs.
    pub code: &'static str,
    pub file: PathBuf,
    /// Where the problem starts; `None` when it concerns the file as a whole.
    pub span: Option<Span>,
    pub message: String,
    /// What to do about it.
    pub hint: Option<String>,
    /// A second place that matters (e.g. where a duplicate key was first defined).
    pub related: Option<Related>,
    /// The file text, for excerpts. Not serialized.
    #[serde(skip)]
    pub source: Option<SourceText>,
}

/// A second position a diagnostic points at.
#[derive(Debug, Clone, Serialize)]
pub struct Related {
    pub file: PathBuf,
    pub span: Span,
    pub message: String,
}

impl Diagnostic {
    /// An error at `span` of `source`.
    pub fn error(
        code: &'static str,
        source: &SourceText,
        span: Option<Span>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            severity: Severity::Error,
            code,
            file: source.path().to_path_buf(),
            span,
            message: message.into(),
            hint: None,
            related: None,
            source: Some(source.clone()),
        }
    }

    /// An error about a file that has no usable text (unreadable, not UTF-8, too large).
    pub fn file_error(
        code: &'static str,
        file: impl Into<PathBuf>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            severity: Severity::Error,
            code,
            file: file.into(),
            span: None,
            message: message.into(),
            hint: None,
            related: None,
            source: None,
        }
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    pub fn with_related(mut self, span: Span, message: impl Into<String>) -> Self {
        self.related = Some(Related {
            file: self.file.clone(),
            span,
            message: message.into(),
        });
        self
    }

    pub fn warning(mut self) -> Self {
        self.severity = Severity::Warning;
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// `path:line:col` (or just `path`).
    pub fn location(&self) -> String {
        match self.span {
            Some(s) => format!("{}:{}:{}", self.file.display(), s.start.line, s.start.col),
            None => self.file.display().to_string(),
        }
    }
}

/// The diagnostics of a run, in the order found.
#[derive(Debug, Default, Clone)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    pub fn push(&mut self, d: Diagnostic) {
        self.0.push(d);
    }

    pub fn extend(&mut self, other: impl IntoIterator<Item = Diagnostic>) {
        self.0.extend(other);
    }

    pub fn has_errors(&self) -> bool {
        self.0.iter().any(Diagnostic::is_error)
    }

    pub fn error_count(&self) -> usize {
        self.0.iter().filter(|d| d.is_error()).count()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Diagnostic> {
        self.0.iter()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The closest candidate to `word`, for "did you mean" hints.
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(word, c), c))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

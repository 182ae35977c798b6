//! The spec language: types, load (YAML with positions), render, validate, project file.
//!
//! A spec goes through `load` (text -> `yaml::Node` with spans), `render` (templates ->
//! JSON value plus a span for every path) and `validate` (JSON Schema, then typed, then
//! semantic checks). Every problem becomes a `Diagnostic` pointing at `file:line:col`.

pub mod diagnostic;
pub mod project;
pub mod reference;
pub mod render;
pub mod schema;
pub mod semantic;
pub mod source_text;
pub mod types;
pub mod validate;
pub mod workspace;
pub mod yaml;

pub use diagnostic::{Diagnostic, Diagnostics, Severity};
pub use source_text::{Pos, SourceText, Span};

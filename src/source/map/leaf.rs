//! One leaf of a record template, compiled once per job: a literal, a plain column copy (which
//! never goes through the template engine), a single `{{ expression }}` (keeps its type) or a
//! full template (renders to a string).

use serde_json::Value as Json;

use crate::spec::render::{is_template, single_expression};

/// What a leaf is, before the session compiles its expressions.
#[derive(Debug, Clone, PartialEq)]
pub enum LeafKind {
    /// A value written as is in the spec.
    Literal(Json),
    /// `{{ row.NAME }}` or `{{ row["NAME"] }}`: the column's value, untouched.
    Column(String),
    /// One `{{ expression }}`; its value keeps its type.
    Expr(String),
    /// Any other template; renders to a string.
    Template(String),
}

impl LeafKind {
    /// Classifies a leaf of the spec's `record`/`key`.
    pub fn classify(value: &Json) -> LeafKind {
        let Json::String(text) = value else {
            return LeafKind::Literal(value.clone());
        };
        if !is_template(text) {
            return LeafKind::Literal(value.clone());
        }
        match single_expression(text) {
            Some(expr) => match plain_column(expr) {
                Some(col) => LeafKind::Column(col.to_owned()),
                None => LeafKind::Expr(expr.trim().to_owned()),
            },
            None => LeafKind::Template(text.clone()),
        }
    }

    /// The source columns this leaf reads; `None` when it reads the whole row.
    pub fn columns(&self) -> Option<Vec<String>> {
        match self {
            LeafKind::Literal(_) => Some(Vec::new()),
            LeafKind::Column(c) => Some(vec![c.clone()]),
            LeafKind::Expr(t) | LeafKind::Template(t) => row_references(t),
        }
    }
}

/// `row.NAME` / `row["NAME"]` / `row['NAME']` with nothing else around it.
fn plain_column(expr: &str) -> Option<&str> {
    let e = expr.trim();
    if let Some(name) = e.strip_prefix("row.") {
        return name
            .chars()
            .all(|c| c.is_alphanumeric() || c == '_')
            .then_some(name)
            .filter(|n| !n.is_empty());
    }
    let inner = e.strip_prefix("row[")?.strip_suffix(']')?;
    let name = inner
        .strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .or_else(|| inner.strip_prefix('\'').and_then(|s| s.strip_suffix('\'')))?;
    (!name.contains(['"', '\''])).then_some(name)
}

/// Columns a template reads as `row.X` or `row["X"]`; `None` if it uses `row` another way
/// (then every column is given to it).
pub fn row_references(text: &str) -> Option<Vec<String>> {
    let mut cols = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while let Some(found) = text.get(i..).and_then(|t| t.find("row")) {
        let at = i + found;
        i = at + 3;
        let before = at.checked_sub(1).map(|b| bytes[b]);
        if before.is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.') {
            continue;
        }
        let rest = &text[i..];
        if rest.starts_with(|c: char| c.is_alphanumeric() || c == '_') {
            continue; // `rows`, `row_count`: another name
        }
        if let Some(r) = rest.strip_prefix('.') {
            let name: String = r
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if name.is_empty() {
                return None;
            }
            cols.push(name);
        } else if let Some(r) = rest.strip_prefix("[\"").or_else(|| rest.strip_prefix("['")) {
            let name: String = r.chars().take_while(|c| *c != '"' && *c != '\'').collect();
            cols.push(name);
        } else {
            return None;
        }
    }
    Some(cols)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn classifies_leaves() {
        assert_eq!(
            LeafKind::classify(&json!("{{ row.email }}")),
            LeafKind::Column("email".into())
        );
        assert_eq!(
            LeafKind::classify(&json!("{{row[\"first name\"]}}")),
            LeafKind::Column("first name".into())
        );
        assert_eq!(
            LeafKind::classify(&json!("{{ row.email | lower }}")),
            LeafKind::Expr("row.email | lower".into())
        );
        assert_eq!(
            LeafKind::classify(&json!("{{ row.a }}-{{ row.b }}")),
            LeafKind::Template("{{ row.a }}-{{ row.b }}".into())
        );
        assert_eq!(
            LeafKind::classify(&json!("Retail")),
            LeafKind::Literal(json!("Retail"))
        );
        assert_eq!(
            LeafKind::classify(&json!(true)),
            LeafKind::Literal(json!(true))
        );
    }

    #[test]
    fn finds_row_references() {
        assert_eq!(
            row_references("{{ row.a ~ row['b c'] }} {{ rows.x }}"),
            Some(vec!["a".into(), "b c".into()])
        );
        assert_eq!(row_references("{{ row | tojson }}"), None);
        assert_eq!(row_references("{{ vars.row }}"), Some(vec![]));
    }
}

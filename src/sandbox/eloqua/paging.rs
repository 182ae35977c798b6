//! The paging envelope of every list endpoint (§6) and the `q` / `orderBy` query parameters.
//!
//! `limit` is 1–1000 (default 1000; `/data` endpoints allow 50 000), `offset` 0-based,
//! `totalResults=false` omits `totalResults`. Unknown query parameters are ignored (§13.4).
//! Items are filtered and sorted on their rendered JSON so every list shares one implementation.

use std::cmp::Ordering;
use std::collections::HashMap;

use serde_json::Value;

use super::errors::ApiError;
use super::wire::Page;

/// Query parameters, looked up case-insensitively by name.
#[derive(Debug, Default, Clone)]
pub struct Params(HashMap<String, String>);

impl Params {
    pub fn new(raw: HashMap<String, String>) -> Self {
        Self(
            raw.into_iter()
                .map(|(k, v)| (k.to_ascii_lowercase(), v))
                .collect(),
        )
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(&name.to_ascii_lowercase()).map(String::as_str)
    }
}

/// Filters, sorts and pages `items` as the request asks.
pub fn page(
    mut items: Vec<Value>,
    params: &Params,
    max_limit: u64,
) -> Result<Page<Value>, ApiError> {
    let limit = parse_number(params.get("limit"), "limit", 1000, 1, max_limit)?;
    let offset = parse_number(params.get("offset"), "offset", 0, 0, u64::MAX)?;
    let with_total = match params.get("totalResults") {
        None => true,
        Some(v) if v.eq_ignore_ascii_case("true") => true,
        Some(v) if v.eq_ignore_ascii_case("false") => false,
        Some(v) => {
            return Err(ApiError::invalid(
                "totalResults",
                v,
                "Must be a boolean value.",
            ));
        }
    };
    if let Some(q) = params.get("q").filter(|q| !q.trim().is_empty()) {
        let (term, pattern) = parse_q(q)?;
        items.retain(|item| {
            item.get(&term)
                .map(scalar_text)
                .is_some_and(|text| glob(&pattern, &text))
        });
    }
    if let Some(order) = params.get("orderBy").filter(|o| !o.trim().is_empty()) {
        let mut words = order.split_whitespace();
        let term = words.next().unwrap_or_default().to_string();
        let descending = words.next().is_some_and(|d| d.eq_ignore_ascii_case("desc"));
        items.sort_by(|a, b| {
            let ord = compare(a.get(&term), b.get(&term));
            if descending { ord.reverse() } else { ord }
        });
    }
    let total = u64::try_from(items.len()).unwrap_or(u64::MAX);
    let start = usize::try_from(offset)
        .unwrap_or(usize::MAX)
        .min(items.len());
    let end = start
        .saturating_add(usize::try_from(limit).unwrap_or(usize::MAX))
        .min(items.len());
    let page_items: Vec<Value> = items.drain(start..end).collect();
    let count = u64::try_from(page_items.len()).unwrap_or(u64::MAX);
    // Without totalResults, hasMore can only say whether the page came back full.
    let has_more = if with_total {
        offset.saturating_add(count) < total
    } else {
        count == limit
    };
    Ok(Page {
        items: page_items,
        total_results: with_total.then_some(total),
        limit,
        offset,
        count,
        has_more,
    })
}

fn parse_number(
    raw: Option<&str>,
    name: &str,
    default: u64,
    min: u64,
    max: u64,
) -> Result<u64, ApiError> {
    let Some(raw) = raw else { return Ok(default) };
    match raw.trim().parse::<u64>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(ApiError::invalid(
            name,
            raw,
            format!("Must be an integer between {min} and {max}."),
        )),
    }
}

/// Parses `term=value` (optionally wrapped in quotes) into the term and a glob pattern.
fn parse_q(q: &str) -> Result<(String, String), ApiError> {
    let trimmed = q.trim().trim_matches(|c| c == '"' || c == '\'');
    let Some((term, value)) = trimmed.split_once('=') else {
        return Err(ApiError::invalid("q", q, "Must be of the form term=value."));
    };
    let value = value.trim().trim_matches(|c| c == '"' || c == '\'');
    Ok((term.trim().to_string(), value.to_ascii_lowercase()))
}

fn scalar_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.to_ascii_lowercase(),
        other => other.to_string(),
    }
}

/// Glob match with `*` wildcards (case-insensitive: both sides are lower-cased).
fn glob(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let mut rest = text;
    for (i, part) in parts.iter().enumerate() {
        if i == 0 {
            let Some(r) = rest.strip_prefix(part) else {
                return false;
            };
            rest = r;
        } else if i == parts.len() - 1 {
            return rest.ends_with(part);
        } else {
            let Some(pos) = rest.find(part) else {
                return false;
            };
            rest = &rest[pos + part.len()..];
        }
    }
    true
}

fn compare(a: Option<&Value>, b: Option<&Value>) -> Ordering {
    match (a, b) {
        (Some(Value::Number(x)), Some(Value::Number(y))) => x
            .as_f64()
            .partial_cmp(&y.as_f64())
            .unwrap_or(Ordering::Equal),
        (Some(x), Some(y)) => scalar_text(x).cmp(&scalar_text(y)),
        (None, Some(_)) => Ordering::Less,
        (Some(_), None) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_matches_wildcards() {
        assert!(glob("*test*", "my test def"));
        assert!(glob("abc", "abc"));
        assert!(!glob("abc", "abcd"));
        assert!(glob("a*d", "abcd"));
        assert!(!glob("a*e", "abcd"));
    }
}

//! The per-row half of mapping: evaluates each leaf of a row, checks it, and feeds it to the
//! content hash and the wire size, without building the record. `record` builds the full
//! record (apply needs it, the plan does not).

use std::borrow::Cow;

use minijinja::{Expression, Template};
use serde_json::Value as Json;
use xxhash_rust::xxh3::{Xxh3, xxh3_64};

use super::leaf::LeafKind;
use super::rules::{Check, check_str};
use super::wire::{Wire, csv_len, json_str_len};
use super::{MapError, Mapper};
use crate::source::{Field, Row};

/// A row that mapped.
#[derive(Debug, Clone, Copy)]
pub struct Mapped<'s> {
    pub key: &'s str,
    pub key_hash: u64,
    pub content_hash: u64,
    /// The record's exact size in the provider's upload.
    pub wire_bytes: u64,
}

/// What became of one row.
#[derive(Debug)]
pub enum Outcome<'s> {
    Ok(Mapped<'s>),
    /// The row cannot be sent: the reason, and its key when that much mapped.
    Invalid {
        key: Option<&'s str>,
        reason: String,
    },
}

/// A job's mapping session: expressions compiled once, buffers reused for every row.
pub struct Session<'m> {
    pub(super) m: &'m Mapper,
    pub(super) exprs: Vec<Option<Expression<'m, 'm>>>,
    pub(super) templates: Vec<Option<Template<'m, 'm>>>,
    key: String,
    scratch: Vec<u8>,
}

/// A leaf's value for one row.
pub(super) enum Val<'a> {
    Str(Cow<'a, str>),
    Json(Cow<'a, Json>),
}

impl<'m> Session<'m> {
    pub(super) fn new(m: &'m Mapper) -> Result<Self, MapError> {
        let mut exprs = Vec::with_capacity(m.leaves.len());
        let mut templates = Vec::with_capacity(m.leaves.len());
        for l in &m.leaves {
            let err = |e: minijinja::Error| MapError::Template {
                path: l.path.clone(),
                message: e.to_string(),
            };
            exprs.push(match &l.kind {
                LeafKind::Expr(e) => Some(m.env.compile_expression(e).map_err(err)?),
                _ => None,
            });
            templates.push(match &l.kind {
                LeafKind::Template(t) => Some(m.env.template_from_str(t).map_err(err)?),
                _ => None,
            });
        }
        Ok(Session {
            m,
            exprs,
            templates,
            key: String::new(),
            scratch: Vec::with_capacity(256),
        })
    }

    /// Maps one row: key, content hash and wire size, or why it is invalid.
    pub fn map(&mut self, row: &Row<'_>) -> Outcome<'_> {
        let ctx = self.m.needs_context.then(|| self.context(row));
        let mut hasher = Xxh3::new();
        let mut bytes = self.m.overhead;
        let mut invalid: Option<String> = None;
        self.key.clear();
        for (i, leaf) in self.m.leaves.iter().enumerate() {
            let val = match eval(self.m, &self.exprs, &self.templates, i, row, ctx.as_ref()) {
                Ok(v) => v,
                Err(reason) => {
                    invalid.get_or_insert(reason);
                    continue;
                }
            };
            for check in &leaf.checks {
                if let Some(reason) = check_val(check, &leaf.label, &val) {
                    invalid.get_or_insert(reason);
                }
            }
            hasher.update(&(i as u32).to_le_bytes());
            match &val {
                Val::Str(s) => {
                    hasher.update(b"s");
                    hasher.update(s.as_bytes());
                }
                Val::Json(j) => {
                    hasher.update(b"j");
                    self.scratch.clear();
                    let _ = serde_json::to_writer(&mut self.scratch, j.as_ref());
                    hasher.update(&self.scratch);
                }
            }
            bytes += self.size(i, &val);
            if i == self.m.key_leaf {
                match &val {
                    Val::Str(s) => self.key.push_str(s),
                    Val::Json(j) => self.key.push_str(&j.to_string()),
                }
            }
        }
        let key_ok = invalid.is_none() || !self.key.is_empty();
        match invalid {
            Some(reason) => Outcome::Invalid {
                key: key_ok
                    .then_some(self.key.as_str())
                    .filter(|k| !k.is_empty()),
                reason,
            },
            None => Outcome::Ok(Mapped {
                key: &self.key,
                key_hash: xxh3_64(self.key.as_bytes()),
                content_hash: hasher.digest(),
                wire_bytes: bytes,
            }),
        }
    }

    /// The full record of a row, with its key and (Dotdigital) contact identifier.
    pub fn record(&mut self, row: &Row<'_>) -> Result<(String, Option<String>, Json), String> {
        let ctx = self.m.needs_context.then(|| self.context(row));
        let mut key = String::new();
        let mut contact = None;
        // Record leaves come in the skeleton's depth-first order (see `collect`), so the record
        // is built in one walk instead of a clone and a JSON-pointer lookup per leaf.
        let mut values = Vec::with_capacity(self.m.leaves.len());
        for (i, leaf) in self.m.leaves.iter().enumerate() {
            let val = eval(self.m, &self.exprs, &self.templates, i, row, ctx.as_ref())?;
            let json = match val {
                Val::Str(s) => Json::String(s.into_owned()),
                Val::Json(j) => j.into_owned(),
            };
            if i == self.m.key_leaf {
                key = json
                    .as_str()
                    .map_or_else(|| json.to_string(), str::to_owned);
            } else if Some(i) == self.m.contact_leaf {
                contact = Some(
                    json.as_str()
                        .map_or_else(|| json.to_string(), str::to_owned),
                );
            } else if leaf.in_record {
                values.push(json);
            }
        }
        let mut values = values.into_iter();
        let record = fill(&self.m.skeleton, &mut values);
        Ok((key, contact, record))
    }

    /// `row` (the columns the templates read), `vars` and `env` for one row.
    pub(super) fn context(&self, row: &Row<'_>) -> minijinja::Value {
        let cols = self.m.columns.iter().filter_map(|c| {
            let v = match row.get(c)? {
                Field::Str(s) => minijinja::Value::from(s),
                Field::Json(j) => minijinja::Value::from_serialize(j),
            };
            Some((c.name().to_owned(), v))
        });
        let row_value: minijinja::Value = cols
            .collect::<std::collections::BTreeMap<String, minijinja::Value>>()
            .into();
        minijinja::context! {
            row => row_value,
            vars => minijinja::Value::from_serialize(&self.m.base.vars),
            env => minijinja::Value::from_serialize(&self.m.base.env),
        }
    }

    fn size(&self, i: usize, val: &Val<'_>) -> u64 {
        let leaf = &self.m.leaves[i];
        let is_envelope = Some(i) == self.m.contact_leaf || i == self.m.key_leaf;
        if !(leaf.in_record || is_envelope && self.m.wire == Wire::JsonKeyed) {
            return 0;
        }
        if is_envelope {
            // Dotdigital's key and contact identifier are always sent as JSON strings.
            return match val {
                Val::Str(s) => json_str_len(s),
                Val::Json(j) => {
                    json_str_len(&j.as_str().map_or_else(|| j.to_string(), str::to_owned))
                }
            };
        }
        match (self.m.wire, val) {
            (Wire::Delimited { delimiter }, Val::Str(s)) => csv_len(s, delimiter),
            (Wire::Delimited { delimiter }, Val::Json(j)) => csv_len(&j.to_string(), delimiter),
            (_, Val::Str(s)) => json_str_len(s),
            (_, Val::Json(j)) => serde_json::to_string(j.as_ref()).map_or(0, |s| s.len() as u64),
        }
    }
}

pub(super) fn eval<'r>(
    m: &'r Mapper,
    exprs: &[Option<Expression<'_, '_>>],
    templates: &[Option<Template<'_, '_>>],
    i: usize,
    row: &Row<'r>,
    ctx: Option<&minijinja::Value>,
) -> Result<Val<'r>, String> {
    let leaf = &m.leaves[i];
    match &leaf.kind {
        LeafKind::Literal(Json::String(s)) => Ok(Val::Str(Cow::Borrowed(s))),
        LeafKind::Literal(j) => Ok(Val::Json(Cow::Borrowed(j))),
        LeafKind::Column(name) => {
            let col = leaf
                .column
                .and_then(|c| m.columns.get(c))
                .ok_or_else(|| format!("no column `{name}`"))?;
            match row.get(col) {
                Some(Field::Str(s)) => Ok(Val::Str(Cow::Borrowed(s))),
                Some(Field::Json(j)) => Ok(Val::Json(Cow::Borrowed(j))),
                None => Err(format!("the row has no value for `{name}`")),
            }
        }
        LeafKind::Expr(text) => {
            let expr = exprs[i].as_ref().ok_or("expression not compiled")?;
            let value = expr
                .eval(ctx)
                .map_err(|e| template_reason(&leaf.label, &e))?;
            if value.is_undefined() {
                return Err(format!(
                    "`{}`: `{}` is undefined for this row",
                    leaf.label,
                    text.trim()
                ));
            }
            match value.as_str() {
                Some(s) => Ok(Val::Str(Cow::Owned(s.to_owned()))),
                None => serde_json::to_value(&value)
                    .map(|j| Val::Json(Cow::Owned(j)))
                    .map_err(|e| format!("`{}`: {e}", leaf.label)),
            }
        }
        LeafKind::Template(_) => {
            let tpl = templates[i].as_ref().ok_or("template not compiled")?;
            tpl.render(ctx)
                .map(|s| Val::Str(Cow::Owned(s)))
                .map_err(|e| template_reason(&leaf.label, &e))
        }
    }
}

/// The skeleton with its leaves replaced, in depth-first order, by `values`.
fn fill(skeleton: &Json, values: &mut std::vec::IntoIter<Json>) -> Json {
    match skeleton {
        Json::Object(m) if !m.is_empty() => Json::Object(
            m.iter()
                .map(|(k, v)| (k.clone(), fill(v, values)))
                .collect(),
        ),
        Json::Array(a) if !a.is_empty() => Json::Array(a.iter().map(|v| fill(v, values)).collect()),
        leaf => values.next().unwrap_or_else(|| leaf.clone()),
    }
}

fn check_val(check: &Check, label: &str, val: &Val<'_>) -> Option<String> {
    match (check, val) {
        (Check::Scalar, Val::Json(j)) if j.is_array() || j.is_object() => Some(format!(
            "`{label}` is a list or object; this provider uploads a delimited file"
        )),
        (_, Val::Str(s)) => check_str(check, label, s),
        (Check::NonEmpty, Val::Json(j)) if j.is_null() => Some(format!("`{label}` is empty")),
        (Check::EmailOrId, Val::Json(j)) if j.as_u64().is_some_and(|n| n > 0) => None,
        (Check::Email | Check::EmailOrId, Val::Json(j)) if !j.is_null() => {
            Some(format!("`{label}` is not a valid email address"))
        }
        _ => None,
    }
}

fn template_reason(label: &str, e: &minijinja::Error) -> String {
    format!(
        "`{label}`: {}",
        e.detail()
            .map(str::to_owned)
            .unwrap_or_else(|| e.kind().to_string())
    )
}

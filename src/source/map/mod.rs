//! Mapping: a spec's `key`, `record` and contact identifier are compiled once per job into a
//! `Mapper`; a `Session` turns each source row into a key, a content hash and the record's
//! exact size on the wire, or an `invalid` reason. Plain column copies never go through the
//! template engine; nothing is allocated per row for them.
//!
//! It must not know about state or plans: it only maps rows.

pub mod body;
mod leaf;
mod rules;
mod session;
pub mod wire;
mod write;

use minijinja::{Environment, UndefinedBehavior};
use serde_json::Value as Json;

pub use body::RecordBody;
pub use leaf::LeafKind;
pub use rules::{Check, is_email};
pub use session::{Mapped, Outcome, Session};
pub use wire::Wire;

use super::{ColumnRef, SourceError, SourceReader};
use crate::spec::render::RenderContext;
use crate::spec::types::{Spec, Target, dotdigital};

/// Why a job's mapping cannot be compiled.
#[derive(Debug, thiserror::Error)]
pub enum MapError {
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error("{path}: template error: {message}")]
    Template { path: String, message: String },
    #[error("the record has no `{field}`, which {target} needs; add `{field}:` under record")]
    MissingField { field: String, target: String },
    #[error("`{path}` reads the whole `row`; JSON Lines sources need `row.NAME` references")]
    WholeRow { path: String },
}

/// One compiled leaf.
#[derive(Debug, Clone)]
pub(crate) struct Leaf {
    /// `/key`, `/contact_identifier` or `/record/...`.
    pub path: String,
    /// The field name used in messages (`email`, `AlternateIds/0/AlternateId`).
    pub label: String,
    pub kind: LeafKind,
    /// Index into `Mapper::columns` for `Column` leaves.
    pub column: Option<usize>,
    pub checks: Vec<Check>,
    /// Whether the value is part of the uploaded record (false for the key).
    pub in_record: bool,
}

/// A job's compiled mapping.
pub struct Mapper {
    pub(crate) env: Environment<'static>,
    pub(crate) base: RenderContext,
    pub(crate) leaves: Vec<Leaf>,
    pub(crate) columns: Vec<ColumnRef>,
    pub(crate) needs_context: bool,
    pub(crate) skeleton: Json,
    pub(crate) wire: Wire,
    /// Bytes a record takes on the wire besides its leaf values.
    pub(crate) overhead: u64,
    /// Bytes of the header line of each delimited upload.
    pub header_bytes: u64,
    pub(crate) key_leaf: usize,
    pub(crate) contact_leaf: Option<usize>,
    /// How many leaves are part of the uploaded record.
    pub(crate) record_leaves: usize,
}

impl std::fmt::Debug for Mapper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mapper")
            .field("leaves", &self.leaves.len())
            .field("wire", &self.wire)
            .finish_non_exhaustive()
    }
}

/// How a provider's records travel, for size computations.
pub fn wire_for(spec: &Spec) -> Wire {
    match &spec.target {
        Target::ProgramMembers(t) => Wire::Delimited {
            delimiter: upload_delimiter(t.format),
        },
        Target::Leads(t) => Wire::Delimited {
            delimiter: upload_delimiter(t.format),
        },
        Target::TransactionalData(_) => Wire::JsonKeyed,
        _ => Wire::Json,
    }
}

fn upload_delimiter(f: crate::spec::types::marketo::UploadFormat) -> u8 {
    use crate::spec::types::marketo::UploadFormat as U;
    match f {
        U::Csv => b',',
        U::Tsv => b'\t',
        U::Ssv => b';',
    }
}

impl Mapper {
    /// Compiles the spec's templates and resolves the columns they read in `reader`'s header.
    pub fn new(
        spec: &Spec,
        context: &RenderContext,
        reader: &SourceReader,
    ) -> Result<Mapper, MapError> {
        let wire = wire_for(spec);
        let mut leaves = vec![leaf("/key", "key", &Json::String(spec.key.clone()), false)];
        let contact_leaf = match &spec.target {
            Target::TransactionalData(t) => Some(match (&t.scope, &t.contact_identifier) {
                (dotdigital::Scope::Contact, Some(ci)) => leaf(
                    "/contact_identifier",
                    "contact_identifier",
                    &Json::String(ci.clone()),
                    false,
                ),
                _ => leaf(
                    "/contact_identifier",
                    "contact_identifier",
                    &Json::String("account".into()),
                    false,
                ),
            }),
            _ => None,
        };
        let contact_idx = contact_leaf.map(|l| {
            leaves.push(l);
            leaves.len() - 1
        });
        let skeleton = Json::Object(spec.record.clone());
        collect(&skeleton, "/record", &mut leaves);
        let paths: Vec<String> = leaves.iter().map(|l| l.path.clone()).collect();
        for (path, check) in rules::checks(spec, matches!(wire, Wire::Delimited { .. }), &paths) {
            match leaves.iter_mut().find(|l| l.path == path) {
                Some(l) => l.checks.push(check),
                None if check == Check::NonEmpty => {
                    return Err(MapError::MissingField {
                        field: path.trim_start_matches("/record/").to_owned(),
                        target: format!("{} {}", spec.target.provider(), spec.target.object()),
                    });
                }
                None => {}
            }
        }
        let columns = resolve_columns(&mut leaves, reader)?;
        let env = environment();
        for l in &leaves {
            compile_check(&env, l)?;
        }
        let needs_context = leaves
            .iter()
            .any(|l| matches!(l.kind, LeafKind::Expr(_) | LeafKind::Template(_)));
        let overhead = overhead(wire, &skeleton, &leaves);
        let mut header_bytes = header_bytes(wire, &leaves);
        if let Target::Profiles(_) = &spec.target {
            // MyPreferences stages `{"UserProfilePreferences":[...]}`, not a bare array.
            header_bytes += r#"{"UserProfilePreferences":}"#.len() as u64;
        }
        Ok(Mapper {
            env,
            base: context.clone(),
            columns,
            needs_context,
            skeleton,
            wire,
            overhead,
            header_bytes,
            key_leaf: 0,
            contact_leaf: contact_idx,
            record_leaves: leaves.iter().filter(|l| l.in_record).count(),
            leaves,
        })
    }

    /// A per-job mapping session (compiles the expressions once).
    pub fn session(&self) -> Result<Session<'_>, MapError> {
        Session::new(self)
    }

    pub fn wire(&self) -> Wire {
        self.wire
    }

    /// Column names of a delimited upload, in order.
    pub fn record_columns(&self) -> Vec<String> {
        self.leaves
            .iter()
            .filter(|l| l.in_record)
            .map(|l| l.label.clone())
            .collect()
    }
}

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    // Per row: a runaway loop in a row template makes that row invalid instead of hanging
    // the plan.
    env.set_fuel(Some(ROW_FUEL));
    env
}

/// Template steps allowed per leaf of one row.
pub const ROW_FUEL: u64 = 100_000;

fn leaf(path: &str, label: &str, value: &Json, in_record: bool) -> Leaf {
    Leaf {
        path: path.into(),
        label: label.into(),
        kind: LeafKind::classify(value),
        column: None,
        checks: Vec::new(),
        in_record,
    }
}

fn collect(v: &Json, ptr: &str, out: &mut Vec<Leaf>) {
    match v {
        Json::Object(m) if !m.is_empty() => {
            for (k, x) in m {
                collect(
                    x,
                    &format!("{ptr}/{}", crate::spec::render::escape_pointer(k)),
                    out,
                );
            }
        }
        Json::Array(a) if !a.is_empty() => {
            for (i, x) in a.iter().enumerate() {
                collect(x, &format!("{ptr}/{i}"), out);
            }
        }
        _ => {
            let label = ptr.trim_start_matches("/record/").to_owned();
            out.push(leaf(ptr, &label, v, true));
        }
    }
}

/// Resolves every column the leaves read, once; `Column` leaves get their index.
fn resolve_columns(leaves: &mut [Leaf], reader: &SourceReader) -> Result<Vec<ColumnRef>, MapError> {
    let mut names: Vec<String> = Vec::new();
    for l in leaves.iter() {
        match l.kind.columns() {
            Some(cols) => cols.into_iter().for_each(|c| {
                if !names.contains(&c) {
                    names.push(c);
                }
            }),
            None if reader.headers().is_empty() => {
                return Err(MapError::WholeRow {
                    path: l.path.clone(),
                });
            }
            None => reader.headers().iter().for_each(|h| {
                if !names.contains(h) {
                    names.push(h.clone());
                }
            }),
        }
    }
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let columns = reader.resolve(&refs)?;
    for l in leaves.iter_mut() {
        if let LeafKind::Column(c) = &l.kind {
            l.column = names.iter().position(|n| n == c);
        }
    }
    Ok(columns)
}

fn compile_check(env: &Environment<'static>, l: &Leaf) -> Result<(), MapError> {
    let err = |e: minijinja::Error| MapError::Template {
        path: l.path.clone(),
        message: e.to_string(),
    };
    match &l.kind {
        LeafKind::Expr(e) => env.compile_expression(e).map(|_| ()).map_err(err),
        LeafKind::Template(t) => env.template_from_str(t).map(|_| ()).map_err(err),
        _ => Ok(()),
    }
}

/// Wire bytes of a record besides its leaf values.
fn overhead(wire: Wire, skeleton: &Json, leaves: &[Leaf]) -> u64 {
    let in_record = leaves.iter().filter(|l| l.in_record).count() as u64;
    match wire {
        // Separators between fields and the line end.
        Wire::Delimited { .. } => in_record.saturating_sub(1) + 1,
        // The record with every leaf null, minus the nulls, plus the array comma.
        Wire::Json | Wire::JsonKeyed => {
            let nulls =
                serde_json::to_string(&null_skeleton(skeleton)).map_or(0, |s| s.len() as u64);
            let base = nulls - 4 * in_record + 1;
            if wire == Wire::JsonKeyed {
                base + r#"{"key":,"contactIdentifier":,"json":}"#.len() as u64
            } else {
                base
            }
        }
    }
}

fn null_skeleton(v: &Json) -> Json {
    match v {
        Json::Object(m) if !m.is_empty() => Json::Object(
            m.iter()
                .map(|(k, x)| (k.clone(), null_skeleton(x)))
                .collect(),
        ),
        Json::Array(a) if !a.is_empty() => Json::Array(a.iter().map(null_skeleton).collect()),
        _ => Json::Null,
    }
}

fn header_bytes(wire: Wire, leaves: &[Leaf]) -> u64 {
    match wire {
        Wire::Delimited { delimiter } => {
            let cols: Vec<&Leaf> = leaves.iter().filter(|l| l.in_record).collect();
            cols.iter()
                .map(|l| wire::csv_len(&l.label, delimiter))
                .sum::<u64>()
                + cols.len() as u64
        }
        // The array brackets (the last record's comma becomes the closing bracket).
        Wire::Json | Wire::JsonKeyed => 1,
    }
}

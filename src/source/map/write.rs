//! Apply's half of mapping: a row's record written straight into the bytes its provider
//! sends (a delimited line, or compact JSON walked from the record's skeleton), with no JSON
//! tree per row. The plan counts the same bytes with `wire`'s size functions.

use serde_json::Value as Json;

use super::body::{self, RecordBody};
use super::session::{Session, Val, eval};
use super::wire::Wire;
use crate::source::Row;

impl Session<'_> {
    /// The record of a row written as its provider sends it, with its key and (Dotdigital)
    /// contact identifier. A convenience over [`Session::record_into`].
    pub fn record_body(
        &mut self,
        row: &Row<'_>,
    ) -> Result<(String, Option<String>, RecordBody), String> {
        let mut out = Vec::new();
        let (key, contact) = self.record_into(row, &mut out)?;
        Ok((key, contact, self.body(bytes::Bytes::from(out))))
    }

    /// Wraps bytes that `record_into` wrote as the body this mapper's wire sends.
    pub fn body(&self, bytes: bytes::Bytes) -> RecordBody {
        match self.m.wire {
            Wire::Delimited { .. } => RecordBody::Line(bytes),
            Wire::Json | Wire::JsonKeyed => RecordBody::Json(bytes),
        }
    }

    /// Appends the record of a row to `out`, written as its provider sends it (a delimited
    /// line without its line break, or compact JSON), and returns its key and (Dotdigital)
    /// contact identifier. Apply's path: values go from the row to the bytes without a JSON
    /// tree. On error `out` is left as it was.
    pub fn record_into(
        &mut self,
        row: &Row<'_>,
        out: &mut Vec<u8>,
    ) -> Result<(String, Option<String>), String> {
        let start = out.len();
        let result = self.write_record(row, out);
        if result.is_err() {
            out.truncate(start);
        } else if let Err(e) = std::str::from_utf8(&out[start..]) {
            out.truncate(start);
            return Err(format!("the record is not UTF-8: {e}"));
        }
        result
    }

    fn write_record(
        &mut self,
        row: &Row<'_>,
        out: &mut Vec<u8>,
    ) -> Result<(String, Option<String>), String> {
        let ctx = self.m.needs_context.then(|| self.context(row));
        let m = self.m;
        let text = |v: Val<'_>| match v {
            Val::Str(s) => s.into_owned(),
            Val::Json(j) => j.as_str().map_or_else(|| j.to_string(), str::to_owned),
        };
        let key = text(eval(
            m,
            &self.exprs,
            &self.templates,
            m.key_leaf,
            row,
            ctx.as_ref(),
        )?);
        let contact = match m.contact_leaf {
            Some(i) => Some(text(eval(
                m,
                &self.exprs,
                &self.templates,
                i,
                row,
                ctx.as_ref(),
            )?)),
            None => None,
        };
        let mut next = m.leaves.iter().enumerate().filter(|(_, l)| l.in_record);
        let mut leaf_value = |out: &mut Vec<u8>, json: bool| -> Result<(), String> {
            let Some((i, _)) = next.next() else {
                return Ok(());
            };
            let val = eval(m, &self.exprs, &self.templates, i, row, ctx.as_ref())?;
            match (m.wire, val, json) {
                (_, Val::Str(s), true) => body::write_json_str(out, &s),
                (_, Val::Json(j), true) => serde_json::to_writer(&mut *out, j.as_ref())
                    .map_err(|e| format!("`{}`: {e}", m.leaves[i].label))?,
                (Wire::Delimited { delimiter }, Val::Str(s), false) => {
                    body::write_csv_field(out, &s, delimiter);
                }
                (Wire::Delimited { delimiter }, Val::Json(j), false) => {
                    body::write_csv_field(out, &j.to_string(), delimiter);
                }
                (_, _, false) => {}
            }
            Ok(())
        };
        match m.wire {
            Wire::Delimited { delimiter } => {
                for n in 0..m.record_leaves {
                    if n > 0 {
                        out.push(delimiter);
                    }
                    leaf_value(out, false)?;
                }
            }
            Wire::Json | Wire::JsonKeyed => write_json(&m.skeleton, out, &mut leaf_value)?,
        }
        Ok((key, contact))
    }
}

/// Writes the next leaf's value to the buffer, as JSON (`true`) or as a delimited field.
type LeafWriter<'a> = dyn FnMut(&mut Vec<u8>, bool) -> Result<(), String> + 'a;

/// Writes the skeleton as compact JSON (serde_json's), its leaves, in depth-first order, by
/// `leaf` - the text `fill` then `serde_json::to_writer` would give.
fn write_json(skeleton: &Json, out: &mut Vec<u8>, leaf: &mut LeafWriter<'_>) -> Result<(), String> {
    match skeleton {
        Json::Object(m) if !m.is_empty() => {
            out.push(b'{');
            for (n, (k, v)) in m.iter().enumerate() {
                if n > 0 {
                    out.push(b',');
                }
                body::write_json_str(out, k);
                out.push(b':');
                write_json(v, out, leaf)?;
            }
            out.push(b'}');
        }
        Json::Array(a) if !a.is_empty() => {
            out.push(b'[');
            for (n, v) in a.iter().enumerate() {
                if n > 0 {
                    out.push(b',');
                }
                write_json(v, out, leaf)?;
            }
            out.push(b']');
        }
        _ => leaf(out, true)?,
    }
    Ok(())
}

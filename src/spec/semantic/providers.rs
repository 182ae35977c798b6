//! Provider rules: Dotdigital collection names and scopes, Eloqua field maps and durations.

use std::collections::BTreeMap;

use super::Ctx;
use crate::spec::types::{Spec, dotdigital};

pub(super) fn check_dotdigital(spec: &Spec, t: &dotdigital::TransactionalData, cx: &mut Ctx<'_>) {
    if !dotdigital::collection_name_ok(&t.collection, t.allow_dashes) {
        cx.error(
            "semantic::collection-name",
            "/target/collection",
            format!("`{}` is not a valid collection name", t.collection),
            "use letters, digits and `_` only, not starting with a digit, at most 255 characters",
        );
    }
    match (t.scope, &t.contact_identifier) {
        (dotdigital::Scope::Contact, None) => cx.error(
            "semantic::contact-identifier",
            "/target",
            "a contact-scoped collection needs target.contact_identifier",
            "e.g. contact_identifier: \"{{ row.email }}\"",
        ),
        (dotdigital::Scope::Account, Some(_)) => cx.error(
            "semantic::contact-identifier",
            "/target/contact_identifier",
            "an account-scoped collection sends `account` as the contact identifier",
            "remove target.contact_identifier",
        ),
        _ => {}
    }
    let _ = spec;
}

pub(super) fn check_eloqua_fields(
    spec: &Spec,
    fields: &BTreeMap<String, String>,
    cx: &mut Ctx<'_>,
) {
    if fields.is_empty() || fields.len() > crate::spec::types::eloqua::MAX_FIELDS {
        cx.error(
            "semantic::eloqua-fields",
            "/target/fields",
            format!(
                "target.fields has {} entries; Eloqua needs 1 to 100",
                fields.len()
            ),
            "",
        );
    }
    for (col, stmt) in fields {
        let t = stmt.trim();
        if !(t.starts_with("{{") && t.ends_with("}}")) {
            cx.error(
                "semantic::eloqua-fields",
                &format!(
                    "/target/fields/{}",
                    crate::spec::render::escape_pointer(col)
                ),
                format!("`{stmt}` is not an Eloqua field statement"),
                "write e.g. \"{{Contact.Field(C_EmailAddress)}}\"",
            );
        }
        if !spec.record.contains_key(col) {
            cx.error(
                "semantic::eloqua-fields",
                &format!(
                    "/target/fields/{}",
                    crate::spec::render::escape_pointer(col)
                ),
                format!("column `{col}` of target.fields has no value in `record`"),
                format!("add `{col}:` under record"),
            );
        }
    }
    for col in spec.record.keys().filter(|c| !fields.contains_key(*c)) {
        cx.error(
            "semantic::eloqua-fields",
            &format!("/record/{}", crate::spec::render::escape_pointer(col)),
            format!("record column `{col}` is not in target.fields, so Eloqua would not import it"),
            format!("map it in target.fields, e.g. {col}: \"{{{{Contact.Field(...)}}}}\""),
        );
    }
}

/// `PT1H` .. `P14D` (eloqua.md §9).
pub(super) fn check_iso_duration(value: Option<&str>, cx: &mut Ctx<'_>) {
    let Some(v) = value else { return };
    match iso_duration_secs(v) {
        Some(s) if (3600..=14 * 86400).contains(&s) => {}
        Some(_) => cx.error(
            "semantic::duration",
            "/target/data_retention_duration",
            format!("`{v}` is outside PT1H..P14D"),
            "",
        ),
        None => cx.error(
            "semantic::duration",
            "/target/data_retention_duration",
            format!("`{v}` is not an ISO-8601 duration"),
            "write e.g. P7D or PT12H",
        ),
    }
}

fn iso_duration_secs(v: &str) -> Option<u64> {
    let rest = v.strip_prefix('P')?;
    let (date, time) = rest.split_once('T').unwrap_or((rest, ""));
    let mut total = 0u64;
    for (part, units) in [
        (date, &[('W', 604_800u64), ('D', 86_400)][..]),
        (time, &[('H', 3600), ('M', 60), ('S', 1)][..]),
    ] {
        let mut num = String::new();
        for c in part.chars() {
            if c.is_ascii_digit() {
                num.push(c);
            } else {
                let mul = units.iter().find(|(u, _)| *u == c)?.1;
                total += num.parse::<u64>().ok()? * mul;
                num.clear();
            }
        }
        if !num.is_empty() {
            return None;
        }
    }
    (v.len() > 1 && v != "PT").then_some(total)
}

/// Row templates (`key`, `record` leaves, contact identifier): syntax, and only `row`, `vars`
/// and `env` may be read.
#[cfg(test)]
mod tests {
    use super::iso_duration_secs;

    #[test]
    fn iso_durations() {
        assert_eq!(iso_duration_secs("PT1H"), Some(3600));
        assert_eq!(iso_duration_secs("P7D"), Some(7 * 86400));
        assert_eq!(iso_duration_secs("P1DT12H"), Some(86400 + 12 * 3600));
        assert_eq!(iso_duration_secs("7D"), None);
        assert_eq!(iso_duration_secs("PT"), None);
        assert_eq!(iso_duration_secs("P1X"), None);
    }
}

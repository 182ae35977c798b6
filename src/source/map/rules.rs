//! The checks a provider needs of each record before anything is sent: non-empty keys, valid
//! emails where the API needs one, contact identifiers, AlternateIds. A failing row is
//! `invalid` with its source line and reason, never dropped silently.

use crate::spec::types::{Spec, Target, dotdigital};

/// A check of one leaf's value.
#[derive(Debug, Clone, PartialEq)]
pub enum Check {
    NonEmpty,
    Email,
    /// An email address or a positive integer (Dotdigital contact identifiers).
    EmailOrId,
    /// At most this many characters.
    MaxLen(usize),
    /// A scalar: delimited uploads cannot carry lists or objects.
    Scalar,
}

/// The leaf pointers (`/key`, `/record/email`, `/contact_identifier`) a spec needs checked.
pub fn checks(spec: &Spec, scalar_only: bool, leaf_paths: &[String]) -> Vec<(String, Check)> {
    let mut out = vec![("/key".to_owned(), Check::NonEmpty)];
    let rec = |col: &str| format!("/record/{}", crate::spec::render::escape_pointer(col));
    match &spec.target {
        Target::ProgramMembers(_) => {
            out.push((rec("email"), Check::NonEmpty));
            out.push((rec("email"), Check::Email));
        }
        Target::Leads(_) => {
            let field = spec.marketo_match_column().unwrap_or("email");
            out.push((rec(field), Check::NonEmpty));
            out.push((rec("email"), Check::Email));
        }
        Target::Contacts(t) => {
            if let Some(f) = spec.match_on.as_ref().and_then(|m| m.field.as_ref()) {
                out.push((rec(f), Check::NonEmpty));
            }
            for (col, stmt) in &t.fields {
                if stmt.contains("C_EmailAddress") {
                    out.push((rec(col), Check::Email));
                }
            }
        }
        Target::OpportunityContacts(t) => {
            out.push((rec(&t.match_field_name), Check::NonEmpty));
            out.push((rec(&t.source_field), Check::NonEmpty));
            for (col, stmt) in &t.fields {
                if stmt.contains("C_EmailAddress") {
                    out.push((rec(col), Check::Email));
                }
            }
        }
        Target::TransactionalData(t) => {
            if t.scope == dotdigital::Scope::Contact {
                out.push(("/contact_identifier".into(), Check::EmailOrId));
            }
            out.push(("/key".into(), Check::MaxLen(255)));
        }
        Target::Profiles(_) => {
            for p in leaf_paths
                .iter()
                .filter(|p| p.starts_with("/record/Emails/") && p.ends_with("/EmailAddress"))
            {
                out.push((p.clone(), Check::Email));
                out.push((p.clone(), Check::MaxLen(256)));
            }
            for p in leaf_paths
                .iter()
                .filter(|p| p.starts_with("/record/AlternateIds/") && p.ends_with("/AlternateId"))
            {
                out.push((p.clone(), Check::NonEmpty));
            }
        }
    }
    if scalar_only {
        out.extend(
            leaf_paths
                .iter()
                .filter(|p| p.starts_with("/record/"))
                .map(|p| (p.clone(), Check::Scalar)),
        );
    }
    out
}

/// Whether `s` looks like an email address the APIs accept.
pub fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && s.len() <= 254
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !s
            .bytes()
            .any(|b| b.is_ascii_whitespace() || b.is_ascii_control())
}

/// Runs a check on a string value; the reason when it fails.
pub fn check_str(check: &Check, field: &str, value: &str) -> Option<String> {
    match check {
        Check::NonEmpty if value.trim().is_empty() => Some(format!("`{field}` is empty")),
        Check::Email if !value.is_empty() && !is_email(value) => {
            Some(format!("`{field}` is not a valid email address"))
        }
        Check::EmailOrId if !is_email(value) && !value.parse::<u64>().is_ok_and(|n| n > 0) => Some(
            format!("`{field}` is neither an email address nor a contact id"),
        ),
        Check::MaxLen(n) if value.chars().count() > *n => {
            Some(format!("`{field}` is longer than {n} characters"))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert!(is_email("ann@example.org"));
        assert!(!is_email("ann@example"));
        assert!(!is_email("ann example@x.org"));
        assert!(!is_email("@x.org"));
        assert!(!is_email("a@b@c.org"));
    }

    #[test]
    fn string_checks() {
        assert!(check_str(&Check::NonEmpty, "email", " ").is_some());
        assert!(check_str(&Check::EmailOrId, "c", "1234").is_none());
        assert!(check_str(&Check::EmailOrId, "c", "0").is_some());
        assert!(check_str(&Check::MaxLen(3), "k", "abcd").is_some());
    }
}

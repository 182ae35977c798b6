//! The field catalog of the emulated instance (standard lead fields plus seeded custom lead and
//! program-member fields) and the per-value checks of an import row (marketo.md §8, §14.13):
//! a value that does not parse for its type fails the row naming the field's display name; a
//! malformed email is only a warning.

use serde::{Deserialize, Serialize};

/// Marketo data types the emulator checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DataType {
    String,
    Text,
    Email,
    Phone,
    Url,
    Integer,
    Float,
    Currency,
    Date,
    Datetime,
    Boolean,
}

impl DataType {
    pub fn wire_name(self) -> &'static str {
        match self {
            DataType::String => "string",
            DataType::Text => "text",
            DataType::Email => "email",
            DataType::Phone => "phone",
            DataType::Url => "url",
            DataType::Integer => "integer",
            DataType::Float => "float",
            DataType::Currency => "currency",
            DataType::Date => "date",
            DataType::Datetime => "datetime",
            DataType::Boolean => "boolean",
        }
    }
}

/// Whether a field belongs to the lead or to the program membership.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub enum Scope {
    #[default]
    Lead,
    ProgramMember,
}

/// One field: REST API name (the header), display name (used in failure reasons), type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FieldDef {
    pub name: String,
    #[serde(default)]
    pub display_name: String,
    #[serde(default = "default_type")]
    pub data_type: DataType,
    #[serde(default)]
    pub scope: Scope,
}

fn default_type() -> DataType {
    DataType::String
}

/// Standard lead fields: (REST name, display name, type).
const STANDARD: &[(&str, &str, DataType)] = &[
    ("id", "Id", DataType::Integer),
    ("email", "Email Address", DataType::Email),
    ("firstName", "First Name", DataType::String),
    ("lastName", "Last Name", DataType::String),
    ("middleName", "Middle Name", DataType::String),
    ("salutation", "Salutation", DataType::String),
    ("title", "Job Title", DataType::String),
    ("company", "Company Name", DataType::String),
    ("phone", "Phone Number", DataType::Phone),
    ("mobilePhone", "Mobile Phone Number", DataType::Phone),
    ("fax", "Fax Number", DataType::Phone),
    ("address", "Address", DataType::Text),
    ("city", "City", DataType::String),
    ("state", "State", DataType::String),
    ("country", "Country", DataType::String),
    ("postalCode", "Postal Code", DataType::String),
    ("website", "Website", DataType::Url),
    ("industry", "Industry", DataType::String),
    ("leadSource", "Lead Source", DataType::String),
    ("leadStatus", "Lead Status", DataType::String),
    ("leadScore", "Lead Score", DataType::Integer),
    ("annualRevenue", "Annual Revenue", DataType::Currency),
    ("numberOfEmployees", "Num Employees", DataType::Integer),
    ("dateOfBirth", "Date of Birth", DataType::Date),
    ("unsubscribed", "Unsubscribed", DataType::Boolean),
    ("doNotCall", "Do Not Call", DataType::Boolean),
    ("cookies", "Cookies", DataType::String),
    ("twitterId", "Twitter Id", DataType::String),
    ("facebookId", "Facebook Id", DataType::String),
    ("linkedInId", "LinkedIn Id", DataType::String),
    ("sfdcAccountId", "SFDC Account Id", DataType::String),
    ("sfdcContactId", "SFDC Contact Id", DataType::String),
    ("sfdcLeadId", "SFDC Lead Id", DataType::String),
    ("sfdcLeadOwnerId", "SFDC Lead Owner Id", DataType::String),
    ("sfdcOpptyId", "SFDC Oppty Id", DataType::String),
    ("externalCompanyId", "External Company Id", DataType::String),
    (
        "externalSalesPersonId",
        "External Sales Person Id",
        DataType::String,
    ),
];

/// Lookup fields the lead import accepts besides custom string/email/integer fields (§6.3).
const LOOKUP_FIELDS: &[&str] = &[
    "id",
    "cookies",
    "email",
    "twitterId",
    "facebookId",
    "linkedInId",
    "sfdcAccountId",
    "sfdcContactId",
    "sfdcLeadId",
    "sfdcLeadOwnerId",
    "sfdcOpptyId",
];

/// The standard lead fields as definitions.
pub fn standard_fields() -> Vec<FieldDef> {
    STANDARD
        .iter()
        .map(|(name, display, t)| FieldDef {
            name: (*name).to_owned(),
            display_name: (*display).to_owned(),
            data_type: *t,
            scope: Scope::Lead,
        })
        .collect()
}

/// The canonical name of a supported `lookupField`, or `None` (→ 1011).
pub fn lookup_field(requested: &str, custom: &[FieldDef]) -> Option<String> {
    if let Some(f) = LOOKUP_FIELDS
        .iter()
        .find(|f| f.eq_ignore_ascii_case(requested))
    {
        return Some((*f).to_owned());
    }
    custom
        .iter()
        .filter(|f| f.scope == Scope::Lead)
        .filter(|f| {
            matches!(
                f.data_type,
                DataType::String | DataType::Email | DataType::Integer
            )
        })
        .find(|f| f.name.eq_ignore_ascii_case(requested))
        .map(|f| f.name.clone())
}

/// What a value check found.
pub enum Check {
    Ok,
    Warning(&'static str),
    Failure(String),
}

/// Checks one non-empty value against its field's type.
pub fn check_value(field: &FieldDef, value: &str) -> Check {
    let ok = match field.data_type {
        DataType::Email => {
            return if is_email(value) {
                Check::Ok
            } else {
                Check::Warning("Invalid email address")
            };
        }
        DataType::Integer => value.trim().parse::<i64>().is_ok(),
        DataType::Float | DataType::Currency => {
            value.trim().parse::<f64>().is_ok_and(f64::is_finite)
        }
        DataType::Date => is_date(value.trim()),
        DataType::Datetime => is_datetime(value.trim()),
        DataType::Boolean => is_boolean(value.trim()),
        DataType::String | DataType::Text | DataType::Phone | DataType::Url => true,
    };
    if ok {
        Check::Ok
    } else {
        Check::Failure(format!("Invalid data type in field {}", field.display_name))
    }
}

/// A plausible address: one `@`, a non-empty local part, a dotted domain without empty labels,
/// no whitespace. One pass over the bytes: it runs once per row of every import.
pub fn is_email(value: &str) -> bool {
    let b = value.as_bytes();
    let Some(at) = memchr::memchr(b'@', b) else {
        return false;
    };
    let (local, domain) = (&b[..at], &b[at + 1..]);
    if local.is_empty() || local.iter().any(u8::is_ascii_whitespace) {
        return false;
    }
    if domain.first() == Some(&b'.') || domain.last() == Some(&b'.') {
        return false;
    }
    let mut dotted = false;
    let mut prev = 0u8;
    for &c in domain {
        if c == b'@' || c.is_ascii_whitespace() || (c == b'.' && prev == b'.') {
            return false;
        }
        dotted |= c == b'.';
        prev = c;
    }
    dotted
}

fn is_boolean(v: &str) -> bool {
    ["true", "false", "1", "0", "yes", "no"]
        .iter()
        .any(|b| v.eq_ignore_ascii_case(b))
}

/// `YYYY-MM-DD` with a real month and day.
fn is_date(v: &str) -> bool {
    let mut parts = v.split('-');
    let (Some(y), Some(m), Some(d), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    if !(digits(y, 4) && digits(m, 2) && digits(d, 2)) {
        return false;
    }
    let (Ok(y), Ok(m), Ok(d)) = (y.parse::<u32>(), m.parse::<u32>(), d.parse::<u32>()) else {
        return false;
    };
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&d)
}

/// A date, optionally followed by `T` or a space and `HH:MM[:SS]` and an offset or `Z`.
fn is_datetime(v: &str) -> bool {
    if v.len() < 10 || !v.is_char_boundary(10) {
        return false;
    }
    let (date, rest) = v.split_at(10);
    if !is_date(date) {
        return false;
    }
    if rest.is_empty() {
        return true;
    }
    let Some(time) = rest.strip_prefix('T').or_else(|| rest.strip_prefix(' ')) else {
        return false;
    };
    let time = time.trim_end_matches('Z');
    let clock = time.split(['+', '-']).next().unwrap_or("");
    let fields: Vec<&str> = clock.split(':').collect();
    (2..=3).contains(&fields.len())
        && fields.iter().all(|f| {
            let f = f.split('.').next().unwrap_or("");
            f.len() == 2 && f.bytes().all(|b| b.is_ascii_digit())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert!(is_email("ann@example.org"));
        assert!(!is_email("ann@"));
        assert!(!is_email("ann example@x.org"));
        assert!(!is_email("ann@localhost"));
        for bad in [
            "a@b..c", "a@.b.c", "a@b.c.", "@b.c", "a@b@c.d", "a@b.c d", "a b@c.d", "a@",
        ] {
            assert!(!is_email(bad), "{bad}");
        }
        assert!(is_email("a.b+c@d-e.co.uk"));
    }

    #[test]
    fn dates() {
        assert!(is_date("2024-02-29"));
        assert!(!is_date("2023-02-29"));
        assert!(!is_date("2024-13-01"));
        assert!(is_datetime("2024-01-02T10:11:12Z"));
        assert!(is_datetime("2024-01-02 10:11:12+02:00"));
        assert!(!is_datetime("2024-01-02Tnoon"));
    }

    #[test]
    fn lookup_fields() {
        assert_eq!(lookup_field("EMAIL", &[]), Some("email".into()));
        assert_eq!(lookup_field("firstName", &[]), None);
    }
}

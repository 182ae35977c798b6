//! Where the Marketo API is and what a job sends to it: the endpoint of a project connection
//! (credentials read from the environment variables it names), the sandbox endpoint, the
//! client's rate budget, and a job's import settings taken from its spec.
//!
//! Nothing here talks to the network or reads a secret into a message.

use std::collections::BTreeMap;
use std::num::NonZeroU32;
use std::time::Duration;

use crate::providers::{Endpoint, ProviderError, Secret};
use crate::spec::project::Connection;
use crate::spec::types::marketo::UploadFormat;
use crate::spec::types::{Spec, Target};

/// Environment variable that points `sandbox` connections at a running `bulkspec sandbox`.
const SANDBOX_URL_ENV: &str = "BULKSPEC_SANDBOX_URL";

/// Marketo allows 100 calls in any sliding 20 s window per instance, shared with every other
/// integration (marketo.md §9). This client keeps to 80 of them: a burst of `BURST` calls, then
/// one call every `REPLENISH`, so that no 20 s window holds more than 40 + 20 s / 500 ms = 80.
/// The burst is what a whole import needs (a million rows are 7 uploads and as many polls), so a
/// run is not slowed by a budget it never exhausts; a long run settles at 2 calls per second.
const BURST: u32 = 40;
const REPLENISH: Duration = Duration::from_millis(500);

/// The client's rate budget for one set of credentials (see `BURST`).
pub fn quota() -> governor::Quota {
    let burst = NonZeroU32::new(BURST).unwrap_or(NonZeroU32::MIN);
    governor::Quota::with_period(REPLENISH)
        .unwrap_or_else(|| governor::Quota::per_second(NonZeroU32::MIN))
        .allow_burst(burst)
}

/// The embedded or a running sandbox: `{sandbox_url}/marketo` with the default sandbox
/// credentials (`sandbox`/`sandbox`, DESIGN.md).
pub fn sandbox_endpoint(sandbox_url: &str) -> Endpoint {
    let mut credentials = BTreeMap::new();
    credentials.insert("client_id", Secret::new("sandbox"));
    credentials.insert("client_secret", Secret::new("sandbox"));
    Endpoint {
        base_url: format!("{}/marketo", sandbox_url.trim_end_matches('/')),
        credentials,
    }
}

/// The endpoint of a project connection; credentials come from the environment variables the
/// connection names. The error names the variable (or the setting) that is missing.
pub fn endpoint(
    conn: &Connection,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Endpoint, String> {
    match conn {
        Connection::Marketo {
            url,
            client_id_env,
            client_secret_env,
        } => {
            let read = |name: &str| {
                env(name)
                    .filter(|v| !v.is_empty())
                    .map(Secret::new)
                    .ok_or_else(|| {
                        format!(
                            "environment variable `{name}` (Marketo client credentials) is not set"
                        )
                    })
            };
            let mut credentials = BTreeMap::new();
            credentials.insert("client_id", read(client_id_env)?);
            credentials.insert("client_secret", read(client_secret_env)?);
            Ok(Endpoint {
                base_url: instance_url(url),
                credentials,
            })
        }
        Connection::Sandbox { url } => match url
            .clone()
            .or_else(|| env(SANDBOX_URL_ENV))
            .filter(|u| !u.is_empty())
        {
            Some(u) => Ok(sandbox_endpoint(&u)),
            None => Err(format!(
                "the sandbox connection has no `url` and `{SANDBOX_URL_ENV}` is not set: start the embedded sandbox and use its address"
            )),
        },
        other => Err(format!(
            "a `{}` connection cannot serve a Marketo job",
            other.provider()
        )),
    }
}

/// The instance URL without a trailing slash and without the `/rest` or `/identity` suffix the
/// Admin UI shows (bulk calls live beside them, marketo.md §2).
fn instance_url(url: &str) -> String {
    let mut base = url.trim().trim_end_matches('/');
    for suffix in ["/rest", "/identity"] {
        if let Some(stripped) = base.strip_suffix(suffix) {
            base = stripped.trim_end_matches('/');
        }
    }
    base.to_owned()
}

/// Which import a job runs, with its parameters.
#[derive(Debug, Clone, PartialEq)]
pub enum Object {
    /// Import Program Members: matched by `email`.
    ProgramMembers { program_id: u64, status: String },
    /// Import Leads: matched by `lookup_field`.
    Leads {
        lookup_field: String,
        list_id: Option<u64>,
        partition: Option<String>,
    },
}

/// A job's import settings, resolved once from its spec.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub object: Object,
    pub format: UploadFormat,
    /// Upload columns: (header name, JSON pointer into the record), in `record:` order.
    pub columns: Vec<(String, String)>,
}

impl Settings {
    pub fn from_spec(spec: &Spec) -> Result<Settings, ProviderError> {
        let (object, format) = match &spec.target {
            Target::ProgramMembers(t) => (
                Object::ProgramMembers {
                    program_id: t.program_id,
                    status: t.program_member_status.clone(),
                },
                t.format,
            ),
            Target::Leads(t) => {
                let lookup_field = spec.marketo_match_column().unwrap_or("email").to_owned();
                (
                    Object::Leads {
                        lookup_field,
                        list_id: t.list_id,
                        partition: t.partition_name.clone(),
                    },
                    t.format,
                )
            }
            other => {
                return Err(ProviderError::Permanent {
                    message: format!(
                        "job `{}`: {} {} is not a Marketo object",
                        spec.job,
                        other.provider().as_str(),
                        other.object()
                    ),
                });
            }
        };
        let mut columns = Vec::new();
        collect_columns(
            &serde_json::Value::Object(spec.record.clone()),
            "",
            &mut columns,
        );
        Ok(Settings {
            object,
            format,
            columns,
        })
    }

    /// The field delimiter of the upload and of the failures file.
    pub fn delimiter(&self) -> u8 {
        match self.format {
            UploadFormat::Csv => b',',
            UploadFormat::Tsv => b'\t',
            UploadFormat::Ssv => b';',
        }
    }

    /// The `format` parameter.
    pub fn format_param(&self) -> &'static str {
        match self.format {
            UploadFormat::Csv => "csv",
            UploadFormat::Tsv => "tsv",
            UploadFormat::Ssv => "ssv",
        }
    }

    /// The column Marketo matches rows by, which the failures file echoes.
    pub fn match_column(&self) -> &str {
        match &self.object {
            Object::ProgramMembers { .. } => "email",
            Object::Leads { lookup_field, .. } => lookup_field,
        }
    }
}

/// The record's leaves in order, named like the plan's `Mapper` names them (the pointer below
/// `/record`), so the header has exactly the length the plan counted.
fn collect_columns(v: &serde_json::Value, ptr: &str, out: &mut Vec<(String, String)>) {
    match v {
        serde_json::Value::Object(m) if !m.is_empty() => {
            for (k, x) in m {
                collect_columns(
                    x,
                    &format!("{ptr}/{}", crate::spec::render::escape_pointer(k)),
                    out,
                );
            }
        }
        serde_json::Value::Array(a) if !a.is_empty() => {
            for (i, x) in a.iter().enumerate() {
                collect_columns(x, &format!("{ptr}/{i}"), out);
            }
        }
        _ => out.push((ptr.trim_start_matches('/').to_owned(), ptr.to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn marketo(url: &str) -> Connection {
        Connection::Marketo {
            url: url.into(),
            client_id_env: "MKTO_ID".into(),
            client_secret_env: "MKTO_SECRET".into(),
        }
    }

    #[test]
    fn endpoint_reads_the_named_variables_and_names_a_missing_one() {
        let env = |k: &str| match k {
            "MKTO_ID" => Some("id-1".to_owned()),
            "MKTO_SECRET" => Some("s3cret".to_owned()),
            _ => None,
        };
        let ep = endpoint(&marketo("https://123-ABC-456.mktorest.com/rest/"), &env).unwrap();
        assert_eq!(ep.base_url, "https://123-ABC-456.mktorest.com");
        assert_eq!(ep.credential("client_id").unwrap().expose(), "id-1");
        assert_eq!(ep.credential("client_secret").unwrap().expose(), "s3cret");

        let only_id = |k: &str| (k == "MKTO_ID").then(|| "id-1".to_owned());
        let err = endpoint(&marketo("https://x.mktorest.com"), &only_id).unwrap_err();
        assert!(err.contains("`MKTO_SECRET`"), "{err}");
    }

    #[test]
    fn sandbox_connections_use_the_url_or_the_environment() {
        let none = |_: &str| None;
        let ep = endpoint(
            &Connection::Sandbox {
                url: Some("http://127.0.0.1:8787/".into()),
            },
            &none,
        )
        .unwrap();
        assert_eq!(ep.base_url, "http://127.0.0.1:8787/marketo");
        assert_eq!(ep.credential("client_secret").unwrap().expose(), "sandbox");
        let from_env = |k: &str| (k == SANDBOX_URL_ENV).then(|| "http://127.0.0.1:9".to_owned());
        assert_eq!(
            endpoint(&Connection::Sandbox { url: None }, &from_env)
                .unwrap()
                .base_url,
            "http://127.0.0.1:9/marketo"
        );
        assert!(
            endpoint(&Connection::Sandbox { url: None }, &none)
                .unwrap_err()
                .contains(SANDBOX_URL_ENV)
        );
    }

    #[test]
    fn identity_suffix_is_stripped_too() {
        assert_eq!(
            instance_url("https://a.mktorest.com/identity"),
            "https://a.mktorest.com"
        );
        assert_eq!(
            instance_url("http://127.0.0.1:1/marketo"),
            "http://127.0.0.1:1/marketo"
        );
    }

    #[test]
    fn quota_stays_under_the_vendor_window() {
        // A client that calls as fast as the limiter lets it, for two minutes on a simulated
        // clock: no sliding 20 s window may hold more than 80 of its calls (Marketo's limit is
        // 100, shared with other integrations), and the first 40 go at once.
        let clock = governor::clock::FakeRelativeClock::default();
        let limiter = governor::RateLimiter::direct_with_clock(quota(), clock.clone());
        let step = Duration::from_millis(10);
        let mut calls: Vec<Duration> = Vec::new();
        let mut now = Duration::ZERO;
        while now < Duration::from_secs(120) {
            while limiter.check().is_ok() {
                calls.push(now);
            }
            clock.advance(step);
            now += step;
        }
        assert_eq!(calls.iter().filter(|t| t.is_zero()).count(), 40);
        let window = Duration::from_secs(20);
        let busiest = (0..calls.len())
            .map(|i| {
                calls[i..]
                    .iter()
                    .take_while(|t| **t < calls[i] + window)
                    .count()
            })
            .max()
            .unwrap_or(0);
        assert!(busiest <= 80, "{busiest} calls in one 20 s window");
        assert!(busiest >= 75, "the budget is used: {busiest}");
    }
}

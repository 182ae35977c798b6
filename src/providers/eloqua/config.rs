//! Where Eloqua is and who calls it: the endpoint from a project connection (credentials read
//! from the environment variables it names) or from a sandbox URL, and the request quota.
//!
//! `Endpoint::base_url` is Eloqua's *login service* (`https://login.eloqua.com`, or the
//! sandbox's `/eloqua`): the Bulk API base is discovered through its `/id` (eloqua.md §3.3).
//! This file makes no request and never shows a credential's value.

use std::collections::BTreeMap;
use std::num::NonZeroU32;

use governor::Quota;

use crate::providers::{Endpoint, Secret};
use crate::spec::project::Connection;

/// Eloqua's login service, used when the connection sets no `url`.
pub const DEFAULT_LOGIN_URL: &str = "https://login.eloqua.com";

/// Requests per second. Oracle documents no per-call limit for the Bulk API, only soft sync
/// rates (2000 import syncs per hour, §9); a few requests a second with a small burst stays
/// far from anything an instance would notice, and uploads are few (32 MB each).
const REQUESTS_PER_SECOND: u32 = 4;
const BURST: u32 = 8;

/// The quota of one set of Eloqua credentials (conservative: none is documented per call).
pub fn quota() -> Quota {
    let rate = NonZeroU32::new(REQUESTS_PER_SECOND).unwrap_or(NonZeroU32::MIN);
    let burst = NonZeroU32::new(BURST).unwrap_or(NonZeroU32::MIN);
    Quota::per_second(rate).allow_burst(burst)
}

/// The endpoint of a running sandbox (`http://127.0.0.1:PORT`) with its default credentials
/// `Sandbox\sandbox` / `sandbox`; its `/eloqua/id` answers URLs pointing back at it.
pub fn sandbox_endpoint(sandbox_url: &str) -> Endpoint {
    Endpoint {
        base_url: format!("{}/eloqua", sandbox_url.trim_end_matches('/')),
        credentials: credentials("Sandbox", "sandbox", "sandbox"),
    }
}

/// The endpoint of a project connection; `env` reads environment variables. The error names
/// the missing variable (never a value).
pub fn endpoint(
    conn: &Connection,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Endpoint, String> {
    match conn {
        Connection::Eloqua { url, site_env, user_env, password_env } => {
            let read = |name: &str, what: &str| {
                env(name)
                    .filter(|v| !v.is_empty())
                    .ok_or_else(|| format!("environment variable {name} (the Eloqua {what}) is not set"))
            };
            let site = read(site_env, "site name")?;
            let user = read(user_env, "user name")?;
            let password = read(password_env, "password")?;
            let login = url.as_deref().unwrap_or(DEFAULT_LOGIN_URL).trim_end_matches('/');
            if !(login.starts_with("https://") || login.starts_with("http://")) {
                return Err(format!("the Eloqua login URL `{login}` is not an http(s) URL"));
            }
            Ok(Endpoint { base_url: login.to_string(), credentials: credentials(&site, &user, &password) })
        }
        Connection::Sandbox { url: Some(url) } => Ok(sandbox_endpoint(url)),
        Connection::Sandbox { url: None } => {
            Err("the embedded sandbox has no URL until it is started; use its base URL with sandbox_endpoint".into())
        }
        other => Err(format!("the connection is for {}, not eloqua", other.provider())),
    }
}

fn credentials(site: &str, user: &str, password: &str) -> BTreeMap<&'static str, Secret> {
    BTreeMap::from([
        ("site", Secret::new(site)),
        ("user", Secret::new(user)),
        ("password", Secret::new(password)),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conn(url: Option<&str>) -> Connection {
        Connection::Eloqua {
            url: url.map(String::from),
            site_env: "ELQ_SITE".into(),
            user_env: "ELQ_USER".into(),
            password_env: "ELQ_PASS".into(),
        }
    }

    #[test]
    fn reads_credentials_from_the_named_variables() {
        let env = |name: &str| Some(format!("value-of-{name}"));
        let ep = endpoint(&conn(None), &env);
        let ep = ep.as_ref().map_err(String::as_str);
        assert_eq!(ep.map(|e| e.base_url.as_str()), Ok(DEFAULT_LOGIN_URL));
        let secret = ep
            .ok()
            .and_then(|e| e.credentials.get("password"))
            .map(Secret::expose);
        assert_eq!(secret, Some("value-of-ELQ_PASS"));
    }

    #[test]
    fn names_the_missing_variable() {
        let env = |name: &str| (name != "ELQ_USER").then(|| "x".to_string());
        let err = endpoint(&conn(Some("http://127.0.0.1:9/eloqua/")), &env).err();
        assert_eq!(
            err.as_deref(),
            Some("environment variable ELQ_USER (the Eloqua user name) is not set")
        );
    }

    #[test]
    fn sandbox_points_at_its_eloqua_prefix() {
        let ep = sandbox_endpoint("http://127.0.0.1:8787/");
        assert_eq!(ep.base_url, "http://127.0.0.1:8787/eloqua");
        assert_eq!(
            ep.credentials.get("site").map(Secret::expose),
            Some("Sandbox")
        );
        let via_conn = endpoint(
            &Connection::Sandbox {
                url: Some("http://127.0.0.1:1".into()),
            },
            &|_| None,
        );
        assert_eq!(
            via_conn.map(|e| e.base_url),
            Ok("http://127.0.0.1:1/eloqua".to_string())
        );
    }

    #[test]
    fn refuses_other_providers() {
        let other = Connection::Dotdigital {
            url: "https://r1".into(),
            user_env: "U".into(),
            password_env: "P".into(),
        };
        assert_eq!(
            endpoint(&other, &|_| None).err().as_deref(),
            Some("the connection is for dotdigital, not eloqua")
        );
    }
}

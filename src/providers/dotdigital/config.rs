//! Where the Dotdigital API is and with which credentials: the endpoint of a project
//! connection (region URL, API user and password read from the environment variables the
//! project file names), the sandbox endpoint, the call timeout and the rate quota
//! (../shared/providers/dotdigital.md §2, §3, §8).
//!
//! It must not make HTTP calls: `client.rs` does.

use std::collections::BTreeMap;
use std::num::NonZeroU32;
use std::time::Duration;

use governor::Quota;

use crate::providers::{Endpoint, Secret};
use crate::spec::project::Connection;

/// How long a call may take before we give up on it: the notes tell clients to allow 121 s.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(121);

/// Calls per minute of the Low tier on the Basic package (§8.1), the tier bulk imports are in.
/// Status and report polls are in a higher tier; counting every call against the lowest
/// allowance keeps us under any tier on any package.
const CALLS_PER_MINUTE: u32 = 35;

/// The API user the sandbox is seeded with (DESIGN.md, "Default sandbox credentials").
const SANDBOX_USER: &str = "sandbox";
const SANDBOX_PASSWORD: &str = "sandbox";

/// The rate limit of one API user: 35 calls per minute, no burst beyond that.
pub fn quota() -> Quota {
    Quota::per_minute(NonZeroU32::new(CALLS_PER_MINUTE).unwrap_or(NonZeroU32::MIN))
}

/// The emulator's Dotdigital API below `sandbox_url` (`http://127.0.0.1:PORT`), with the
/// sandbox's default API user.
pub fn sandbox_endpoint(sandbox_url: &str) -> Endpoint {
    basic_endpoint(
        format!("{}/dotdigital", sandbox_url.trim_end_matches('/')),
        Secret::new(SANDBOX_USER),
        Secret::new(SANDBOX_PASSWORD),
    )
}

/// The endpoint of a project connection. `env` looks up environment variables; the error
/// names the variable that is missing or empty, never a value.
pub fn endpoint(
    conn: &Connection,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Endpoint, String> {
    match conn {
        Connection::Dotdigital { url, user_env, password_env } => {
            let url = url.trim().trim_end_matches('/');
            if url.is_empty() {
                return Err("the dotdigital connection has an empty `url`; set the region's API URL, e.g. https://r1-api.dotdigital.com".into());
            }
            let user = read_var(env, user_env)?;
            let password = read_var(env, password_env)?;
            Ok(basic_endpoint(url.to_owned(), user, password))
        }
        Connection::Sandbox { url: Some(url) } => Ok(sandbox_endpoint(url)),
        Connection::Sandbox { url: None } => {
            Err("the embedded sandbox has no URL until it is started; use its base URL with `sandbox_endpoint`".into())
        }
        other => Err(format!("a `{}` connection cannot be used for dotdigital", other.provider())),
    }
}

fn read_var(env: &dyn Fn(&str) -> Option<String>, name: &str) -> Result<Secret, String> {
    match env(name) {
        Some(v) if !v.is_empty() => Ok(Secret::new(v)),
        Some(_) => Err(format!("environment variable `{name}` is empty")),
        None => Err(format!("environment variable `{name}` is not set")),
    }
}

fn basic_endpoint(base_url: String, user: Secret, password: Secret) -> Endpoint {
    let mut credentials = BTreeMap::new();
    credentials.insert("user", user);
    credentials.insert("password", password);
    Endpoint {
        base_url,
        credentials,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conn() -> Connection {
        Connection::Dotdigital {
            url: "https://r1-api.dotdigital.com/".into(),
            user_env: "DD_USER".into(),
            password_env: "DD_PASS".into(),
        }
    }

    #[test]
    fn connection_reads_the_named_variables() {
        let env = |name: &str| match name {
            "DD_USER" => Some("apiuser-1@apiconnector.com".to_owned()),
            "DD_PASS" => Some("s3cret!".to_owned()),
            _ => None,
        };
        let ep = endpoint(&conn(), &env).unwrap();
        assert_eq!(ep.base_url, "https://r1-api.dotdigital.com");
        assert_eq!(
            ep.credential("user").unwrap().expose(),
            "apiuser-1@apiconnector.com"
        );
        assert_eq!(ep.credential("password").unwrap().expose(), "s3cret!");
    }

    #[test]
    fn a_missing_variable_is_named_and_no_value_is_shown() {
        let env = |name: &str| (name == "DD_USER").then(|| "canary-user".to_owned());
        let err = endpoint(&conn(), &env).unwrap_err();
        assert_eq!(err, "environment variable `DD_PASS` is not set");
        let empty = |_: &str| Some(String::new());
        assert_eq!(
            endpoint(&conn(), &empty).unwrap_err(),
            "environment variable `DD_USER` is empty"
        );
    }

    #[test]
    fn sandbox_endpoints() {
        let ep = sandbox_endpoint("http://127.0.0.1:8787/");
        assert_eq!(ep.base_url, "http://127.0.0.1:8787/dotdigital");
        assert_eq!(ep.credential("user").unwrap().expose(), "sandbox");
        let running = Connection::Sandbox {
            url: Some("http://127.0.0.1:9".into()),
        };
        assert_eq!(
            endpoint(&running, &|_| None).unwrap().base_url,
            "http://127.0.0.1:9/dotdigital"
        );
        assert!(endpoint(&Connection::Sandbox { url: None }, &|_| None).is_err());
    }

    #[test]
    fn quota_is_the_low_tier() {
        assert_eq!(quota().burst_size().get(), 35);
        assert_eq!(quota().replenish_interval(), Duration::from_secs(60) / 35);
    }
}

//! Where the MyPreferences API is and how it is called: the endpoint from the project
//! connection (credentials read from the environment variables it names), the sandbox
//! endpoint, the rate limit, and the settings the provider notes mark as unconfirmed.
//!
//! The vendor pages do not show the bulk-import paths, the token endpoint or the names of the
//! Stage and Exceptions collections (notes §2, §4.2, §4.5), so they are `Settings` with the
//! notes' defaults rather than literals in the client. This module holds values only: no I/O.

use std::num::NonZeroU32;

use crate::providers::{Endpoint, Secret};
use crate::spec::project::Connection;

/// Import route templates, relative to the base URL. `{clientId}` is the account id and
/// `{accessToken}` the import's token; both are percent-encoded when substituted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Routes {
    /// OAuth 2.0 client-credentials token endpoint (its URL is not documented).
    pub token: String,
    pub initiate: String,
    pub stage: String,
    pub execute: String,
    pub status: String,
    pub exceptions: String,
}

impl Default for Routes {
    /// The notes' inferred table (§2), which the sandbox serves too.
    fn default() -> Self {
        let base = "/Profiles/v4/{clientId}/BulkImport";
        Self {
            token: "/oauth/token".to_owned(),
            initiate: base.to_owned(),
            stage: format!("{base}/{{accessToken}}/Stage"),
            execute: format!("{base}/{{accessToken}}/Execute"),
            status: format!("{base}/{{accessToken}}/Status"),
            exceptions: format!("{base}/{{accessToken}}/Exceptions"),
        }
    }
}

/// Settings of the client that the vendor has not confirmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub routes: Routes,
    /// Property holding the records of a Stage body (truncated on the vendor pages).
    pub stage_collection: String,
    /// Property holding the records of an Exceptions page (not shown by the vendor).
    pub exceptions_collection: String,
    /// Exceptions fetched per request (`limit`; the vendor's default is 1000).
    pub exceptions_page_size: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            routes: Routes::default(),
            stage_collection: "UserProfilePreferences".to_owned(),
            exceptions_collection: "UserProfilePreferences".to_owned(),
            exceptions_page_size: 1000,
        }
    }
}

/// Environment variables that override `Settings` (all optional), e.g. once the vendor's
/// Swagger document confirms the real paths.
pub const SETTINGS_ENV: [&str; 8] = [
    "BULKSPEC_MYPREFERENCES_TOKEN_PATH",
    "BULKSPEC_MYPREFERENCES_INITIATE_PATH",
    "BULKSPEC_MYPREFERENCES_STAGE_PATH",
    "BULKSPEC_MYPREFERENCES_EXECUTE_PATH",
    "BULKSPEC_MYPREFERENCES_STATUS_PATH",
    "BULKSPEC_MYPREFERENCES_EXCEPTIONS_PATH",
    "BULKSPEC_MYPREFERENCES_STAGE_COLLECTION",
    "BULKSPEC_MYPREFERENCES_EXCEPTIONS_COLLECTION",
];

impl Settings {
    /// The defaults, overridden by whichever of `SETTINGS_ENV` are set.
    pub fn from_env(env: &dyn Fn(&str) -> Option<String>) -> Self {
        let mut s = Self::default();
        let r = &mut s.routes;
        let slots: [&mut String; 8] = [
            &mut r.token,
            &mut r.initiate,
            &mut r.stage,
            &mut r.execute,
            &mut r.status,
            &mut r.exceptions,
            &mut s.stage_collection,
            &mut s.exceptions_collection,
        ];
        for (name, slot) in SETTINGS_ENV.iter().zip(slots) {
            if let Some(value) = env(name).filter(|v| !v.trim().is_empty()) {
                *slot = value.trim().to_owned();
            }
        }
        s
    }

    /// Refuses routes that cannot name what their call needs.
    pub fn check(&self) -> Result<(), String> {
        let r = &self.routes;
        let needs = [
            (&r.token, &[][..]),
            (&r.initiate, &["{clientId}"][..]),
            (&r.stage, &["{clientId}", "{accessToken}"][..]),
            (&r.execute, &["{clientId}", "{accessToken}"][..]),
            (&r.status, &["{clientId}", "{accessToken}"][..]),
            (&r.exceptions, &["{clientId}", "{accessToken}"][..]),
        ];
        for (path, params) in needs {
            if !path.starts_with('/') {
                return Err(format!("MyPreferences route {path:?} must start with '/'"));
            }
            if let Some(p) = params.iter().find(|p| !path.contains(*p)) {
                return Err(format!("MyPreferences route {path:?} lacks {p}"));
            }
        }
        if self.stage_collection.is_empty() || self.exceptions_collection.is_empty() {
            return Err("MyPreferences collection names must not be empty".to_owned());
        }
        Ok(())
    }

    /// Bytes a Stage body adds to its records besides the commas between them:
    /// `{"UserProfilePreferences":[` and `]}` (29 with the default collection name).
    pub fn stage_framing_bytes(&self) -> u64 {
        let name = serde_json::to_string(&self.stage_collection).map_or(0, |s| s.len());
        (name + 5) as u64
    }
}

/// The API publishes no request rate, only a per-account daily import quota: a conservative
/// five requests per second (bursts of five) keeps polling and staging polite.
pub fn quota() -> governor::Quota {
    const FIVE: NonZeroU32 = match NonZeroU32::new(5) {
        Some(n) => n,
        None => NonZeroU32::MIN,
    };
    governor::Quota::per_second(FIVE).allow_burst(FIVE)
}

/// The sandbox's MyPreferences API: account `sandbox`, token credentials `sandbox`/`sandbox`.
pub fn sandbox_endpoint(sandbox_url: &str) -> Endpoint {
    let credentials = [
        ("client_id", "sandbox"),
        ("user", "sandbox"),
        ("password", "sandbox"),
    ]
    .into_iter()
    .map(|(role, value)| (role, Secret::new(value)))
    .collect();
    Endpoint {
        base_url: format!("{}/mypreferences", sandbox_url.trim_end_matches('/')),
        credentials,
    }
}

/// The endpoint of a `mypreferences` connection, credentials read through `env`; the error
/// names the missing variable.
pub fn endpoint(
    conn: &Connection,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Endpoint, String> {
    match conn {
        Connection::Mypreferences {
            url,
            client_id_env,
            user_env,
            password_env,
        } => {
            let mut credentials = std::collections::BTreeMap::new();
            for (role, var) in [
                ("client_id", client_id_env),
                ("user", user_env),
                ("password", password_env),
            ] {
                let value = env(var).filter(|v| !v.is_empty()).ok_or_else(|| {
                    format!("environment variable {var} (the MyPreferences {role}) is not set")
                })?;
                credentials.insert(role, Secret::new(value));
            }
            Ok(Endpoint {
                base_url: url.trim_end_matches('/').to_owned(),
                credentials,
            })
        }
        Connection::Sandbox { url: Some(url) } => Ok(sandbox_endpoint(url)),
        Connection::Sandbox { url: None } => {
            Err("the embedded sandbox has no URL before it starts: use sandbox_endpoint".to_owned())
        }
        other => Err(format!(
            "a {} connection cannot be used for MyPreferences",
            other.provider()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conn() -> Connection {
        Connection::Mypreferences {
            url: "https://pmstg.mypreferences.com/".into(),
            client_id_env: "MP_CLIENT".into(),
            user_env: "MP_USER".into(),
            password_env: "MP_PASSWORD".into(),
        }
    }

    #[test]
    fn endpoint_reads_the_named_variables_and_names_the_missing_one() {
        let all = |name: &str| Some(format!("value-of-{name}"));
        let ep = endpoint(&conn(), &all).unwrap();
        assert_eq!(ep.base_url, "https://pmstg.mypreferences.com");
        assert_eq!(ep.credential("user").unwrap().expose(), "value-of-MP_USER");
        assert_eq!(
            ep.credential("client_id").unwrap().expose(),
            "value-of-MP_CLIENT"
        );
        let no_password = |name: &str| (name != "MP_PASSWORD").then(|| "x".to_owned());
        let err = endpoint(&conn(), &no_password).unwrap_err();
        assert!(err.contains("MP_PASSWORD"), "{err}");
        let wrong = Connection::Dotdigital {
            url: "u".into(),
            user_env: "a".into(),
            password_env: "b".into(),
        };
        assert!(endpoint(&wrong, &all).is_err());
    }

    #[test]
    fn quota_allows_bursts_of_five() {
        let limiter = governor::RateLimiter::direct(quota());
        assert!((0..5).all(|_| limiter.check().is_ok()));
        assert!(limiter.check().is_err());
    }

    #[test]
    fn sandbox_endpoint_and_settings_overrides() {
        let ep = sandbox_endpoint("http://127.0.0.1:8787/");
        assert_eq!(ep.base_url, "http://127.0.0.1:8787/mypreferences");
        assert_eq!(ep.credential("password").unwrap().expose(), "sandbox");
        let env = |name: &str| {
            (name == "BULKSPEC_MYPREFERENCES_STAGE_COLLECTION").then(|| "Records".to_owned())
        };
        let settings = Settings::from_env(&env);
        assert_eq!(settings.stage_collection, "Records");
        assert_eq!(settings.routes, Routes::default());
        assert_eq!(settings.check(), Ok(()));
        let bad = |name: &str| {
            (name == "BULKSPEC_MYPREFERENCES_STATUS_PATH")
                .then(|| "/x/{clientId}/Status".to_owned())
        };
        let err = Settings::from_env(&bad).check().unwrap_err();
        assert!(err.contains("{accessToken}"), "{err}");
        assert_eq!(
            Settings::default().stage_framing_bytes(),
            r#"{"UserProfilePreferences":[]}"#.len() as u64
        );
    }
}

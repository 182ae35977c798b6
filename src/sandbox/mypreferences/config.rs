//! Settings of the MyPreferences emulator: the import route table and every limit or policy
//! that the provider notes mark as inferred ([I]) or configurable.
//!
//! The vendor pages do not show the bulk-import paths, so they are a table here (defaults from
//! the notes, §2) rather than literals in the router. This module holds values only: no I/O,
//! no state.

use std::time::Duration;

use crate::sandbox::core::EmulatorError;

/// Hard ceiling of one Stage request body (vendor: "maximum allowed 28 MB").
pub const STAGE_HARD_MAX_BYTES: usize = 28 * 1024 * 1024;

/// Paths of the emulated API, relative to the `/mypreferences` mount point. `{clientId}` and
/// `{accessToken}` are axum path parameters and must appear where the defaults have them.
#[derive(Debug, Clone, PartialEq)]
pub struct Routes {
    /// OAuth 2.0 client-credentials token endpoint (URL not documented [—]).
    pub token: String,
    pub initiate: String,
    pub stage: String,
    pub execute: String,
    pub status: String,
    pub exceptions: String,
}

impl Default for Routes {
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

impl Routes {
    /// Checks that every template carries the parameters its handler reads.
    pub fn check(&self) -> Result<(), EmulatorError> {
        let need = |path: &str, params: &[&str]| -> Result<(), EmulatorError> {
            if !path.starts_with('/') {
                return Err(config_error(format!("route {path:?} must start with '/'")));
            }
            match params.iter().find(|p| !path.contains(&format!("{{{p}}}"))) {
                Some(p) => Err(config_error(format!("route {path:?} lacks {{{p}}}"))),
                None => Ok(()),
            }
        };
        need(&self.token, &[])?;
        need(&self.initiate, &["clientId"])?;
        for path in [&self.stage, &self.execute, &self.status, &self.exceptions] {
            need(path, &["clientId", "accessToken"])?;
        }
        Ok(())
    }
}

/// Emulator settings. `Default` gives the notes' best guesses.
#[derive(Debug, Clone)]
pub struct MyPrefConfig {
    pub routes: Routes,
    /// Account created at start-up and targeted by seeds without `client_id`.
    pub default_client_id: String,
    /// User of the default account (PNAUTHINFO3 `Credential=<UserId>/…`, OAuth scope suffix).
    pub default_user_id: String,
    /// OAuth client id and secret accepted by the token endpoint.
    pub oauth_client_id: String,
    pub oauth_client_secret: String,
    /// Lifetime of OAuth bearer tokens (not documented [—]).
    pub oauth_token_lifetime: Duration,
    /// Import access-token lifetime: the Initiate prose says 6 h, the `Expires` field 12 h.
    /// `Shared::token_lifetime` (faults) overrides it.
    pub import_token_lifetime: Duration,
    /// How long after its issued timestamp a PNAUTHINFO3 header is accepted.
    pub auth_header_validity: Duration,
    /// Largest Stage body accepted (vendor default 25 MB); clamped to [`STAGE_HARD_MAX_BYTES`].
    pub stage_max_bytes: usize,
    /// Records accepted per access token ("about 10 million").
    pub max_records_per_import: u64,
    /// Initiates allowed per account in a rolling 24 hours (number not published [I]).
    pub daily_import_quota: u32,
    /// Property holding the records of a Stage body (truncated on the vendor pages [I]).
    pub stage_collection: String,
    /// Property holding the records of an Exceptions page (not shown by the vendor [I]).
    pub exceptions_collection: String,
    /// Refuse (409) a Stage matching by AlternateId while another import of the account is
    /// `Queued`/`Processing` (the vendor's Stage page; its reason is cut off) [I for the 409].
    pub exclusive_alternate_id_staging: bool,
    /// Regular expression a staged `EmailAddress` must match (per account in the real service).
    pub email_regex: String,
}

impl Default for MyPrefConfig {
    fn default() -> Self {
        Self {
            routes: Routes::default(),
            default_client_id: "sandbox".to_owned(),
            default_user_id: "sandbox".to_owned(),
            oauth_client_id: "sandbox".to_owned(),
            oauth_client_secret: "sandbox".to_owned(),
            oauth_token_lifetime: Duration::from_secs(3600),
            import_token_lifetime: Duration::from_secs(6 * 3600),
            auth_header_validity: Duration::from_secs(15 * 60),
            stage_max_bytes: 25 * 1024 * 1024,
            max_records_per_import: 10_000_000,
            daily_import_quota: 500,
            stage_collection: "UserProfilePreferences".to_owned(),
            exceptions_collection: "UserProfilePreferences".to_owned(),
            exclusive_alternate_id_staging: true,
            email_regex: r"^[^@\s]+@[^@\s]+\.[^@\s]+$".to_owned(),
        }
    }
}

impl MyPrefConfig {
    /// Validates the settings and clamps the Stage limit to the vendor's ceiling.
    pub fn checked(mut self) -> Result<Self, EmulatorError> {
        self.routes.check()?;
        if let Err(e) = regex::Regex::new(&self.email_regex) {
            return Err(config_error(format!("email_regex: {e}")));
        }
        self.stage_max_bytes = self.stage_max_bytes.min(STAGE_HARD_MAX_BYTES);
        Ok(self)
    }
}

fn config_error(message: String) -> EmulatorError {
    EmulatorError {
        provider: "mypreferences",
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_follow_the_notes() {
        let config = MyPrefConfig::default().checked().unwrap();
        assert_eq!(config.routes.initiate, "/Profiles/v4/{clientId}/BulkImport");
        assert_eq!(
            config.routes.stage,
            "/Profiles/v4/{clientId}/BulkImport/{accessToken}/Stage"
        );
        assert_eq!(config.import_token_lifetime, Duration::from_secs(6 * 3600));
        assert_eq!(config.stage_max_bytes, 25 * 1024 * 1024);
    }

    #[test]
    fn stage_limit_is_clamped_and_bad_routes_refused() {
        let config = MyPrefConfig {
            stage_max_bytes: 40 << 20,
            ..Default::default()
        };
        assert_eq!(
            config.checked().unwrap().stage_max_bytes,
            STAGE_HARD_MAX_BYTES
        );
        let routes = Routes {
            status: "/x/{clientId}/Status".to_owned(),
            ..Default::default()
        };
        let config = MyPrefConfig {
            routes,
            ..Default::default()
        };
        assert!(config.checked().is_err());
    }
}

//! The emulator's switches (`Settings`: users, OAuth clients, limits and quotas, test knobs)
//! and issued OAuth tokens. Plain serializable data, part of the snapshot.

use serde::{Deserialize, Serialize};

use super::time::Nanos;

/// A Basic-auth user (`Site\User` + password).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct User {
    pub site: String,
    pub user: String,
    pub password: String,
}

/// An issued OAuth token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Token {
    pub site: String,
    pub user: String,
    pub expires_at: Nanos,
    pub refresh: bool,
}

/// Behaviour switches, set by seed (`"settings"`) or `POST /_sandbox/eloqua/settings`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Sandbox instances refuse new contacts beyond this count (updates still apply).
    pub contact_limit: usize,
    /// Staged bytes allowed across all definitions before uploads get 413.
    pub storage_quota_bytes: u64,
    /// Upload request size limit; above it the upload gets 404.
    pub upload_limit_bytes: u64,
    /// Uploads allowed per definition between two syncs; the next one gets 400.
    pub max_uploads_per_sync: u32,
    /// Import syncs allowed per hour before 429 (soft limit, §9).
    #[serde(alias = "syncs_per_hour")]
    pub import_syncs_per_hour: u32,
    /// Export syncs allowed per hour before 429.
    pub export_syncs_per_hour: u32,
    /// Sync-action syncs allowed per hour before 429.
    pub sync_action_syncs_per_hour: u32,
    /// Render the failure status as `errored` instead of `error`.
    pub errored_spelling: bool,
    /// Default of `isSyncTriggeredOnImport` when a definition omits it.
    pub sync_triggered_on_import_default: bool,
    /// The next N syncs fail as a whole (status `error`).
    pub fail_next_syncs: u32,
    /// Valid opportunity stages in strict mode.
    pub stages: Vec<String>,
    /// Existing `/imports/priorities/{id}` ids.
    pub import_priorities: Vec<u64>,
    pub users: Vec<User>,
    /// OAuth clients: (client id, client secret).
    pub clients: Vec<(String, String)>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            contact_limit: 10_000,
            // Licensed contacts x 50 KB (§9), for the sandbox's 10 000 contacts.
            storage_quota_bytes: 10_000 * 50 * 1024,
            upload_limit_bytes: 32 * 1024 * 1024,
            max_uploads_per_sync: 500,
            import_syncs_per_hour: 2000,
            export_syncs_per_hour: 2000,
            sync_action_syncs_per_hour: 4000,
            errored_spelling: false,
            sync_triggered_on_import_default: false,
            fail_next_syncs: 0,
            stages: [
                "Prospecting",
                "Qualification",
                "Proposal",
                "Negotiation",
                "Closed Won",
                "Closed Lost",
            ]
            .map(String::from)
            .to_vec(),
            import_priorities: vec![1, 2],
            users: vec![User {
                site: "Sandbox".into(),
                user: "sandbox".into(),
                password: "sandbox".into(),
            }],
            clients: vec![("sandbox".into(), "sandbox".into())],
        }
    }
}

impl Settings {
    /// The current name of a setting that was renamed (snapshots read the old names through
    /// serde aliases; partial updates are merged under the current name).
    pub fn current_name(key: &str) -> &str {
        match key {
            "syncs_per_hour" => "import_syncs_per_hour",
            other => other,
        }
    }
}

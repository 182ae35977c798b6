//! The project file `bulkspec.yaml`: named connections (credentials as env var *names*), the
//! state backend, default vars and the env allow-list. Found by walking up from the working
//! directory; `-C DIR` starts the walk elsewhere. Without one, defaults apply (the `sandbox`
//! connection and SQLite state under `.bulkspec/`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// File name of the project file.
pub const PROJECT_FILE: &str = "bulkspec.yaml";

/// The project file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "bulkspec project file")]
pub struct Project {
    /// Version of the project file format; always 1.
    #[serde(default = "one")]
    #[schemars(range(min = 1, max = 1))]
    pub version: u32,
    /// Folder of spec files used when no path is given, relative to the project file.
    #[serde(default = "default_specs")]
    pub specs: String,
    /// Named connections. A connection named `sandbox` always exists (the embedded emulator).
    #[serde(default)]
    pub connections: BTreeMap<String, Connection>,
    /// Where the state is kept.
    #[serde(default)]
    pub state: StateBackend,
    /// Default template variables (`{{ vars.NAME }}`); `--var-file` and `--var` override them.
    #[serde(default)]
    pub vars: serde_json::Map<String, serde_json::Value>,
    /// Environment variables templates may read as `{{ env.NAME }}`; any other is an error.
    #[serde(default)]
    pub env: Vec<String>,
}

fn one() -> u32 {
    1
}

fn default_specs() -> String {
    "specs".into()
}

impl Default for Project {
    fn default() -> Self {
        Self {
            version: 1,
            specs: default_specs(),
            connections: BTreeMap::new(),
            state: StateBackend::default(),
            vars: serde_json::Map::new(),
            env: Vec::new(),
        }
    }
}

/// A named connection to one account of one API. Credentials are given as the names of
/// environment variables, never as values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "provider", rename_all = "lowercase", deny_unknown_fields)]
pub enum Connection {
    /// The embedded emulator (or a running `bulkspec sandbox` when `url` is set).
    Sandbox {
        /// URL of a running `bulkspec sandbox`; unset starts one in-process.
        #[serde(default)]
        url: Option<String>,
    },
    /// Marketo: OAuth client credentials.
    Marketo {
        /// Instance URL, e.g. `https://123-ABC-456.mktorest.com`.
        url: String,
        /// Env var holding the client id.
        client_id_env: String,
        /// Env var holding the client secret.
        client_secret_env: String,
    },
    /// Eloqua: HTTP Basic `Site\User`; the base URL is discovered through `/id`.
    Eloqua {
        /// Login service URL (default `https://login.eloqua.com`).
        #[serde(default)]
        url: Option<String>,
        /// Env var holding the company (site) name.
        site_env: String,
        /// Env var holding the user name.
        user_env: String,
        /// Env var holding the password.
        password_env: String,
    },
    /// Dotdigital: HTTP Basic with an API user.
    Dotdigital {
        /// The region's API URL, e.g. `https://r1-api.dotdigital.com`.
        url: String,
        /// Env var holding the API user name.
        user_env: String,
        /// Env var holding the API user password.
        password_env: String,
    },
    /// MyPreferences: client id plus token credentials.
    Mypreferences {
        /// API URL.
        url: String,
        /// Env var holding the client id.
        client_id_env: String,
        /// Env var holding the user name.
        user_env: String,
        /// Env var holding the password.
        password_env: String,
    },
}

impl Connection {
    /// The provider name, or `sandbox`.
    pub fn provider(&self) -> &'static str {
        match self {
            Self::Sandbox { .. } => "sandbox",
            Self::Marketo { .. } => "marketo",
            Self::Eloqua { .. } => "eloqua",
            Self::Dotdigital { .. } => "dotdigital",
            Self::Mypreferences { .. } => "mypreferences",
        }
    }

    /// The env var names this connection reads credentials from.
    pub fn credential_envs(&self) -> Vec<&str> {
        match self {
            Self::Sandbox { .. } => vec![],
            Self::Marketo {
                client_id_env,
                client_secret_env,
                ..
            } => vec![client_id_env, client_secret_env],
            Self::Eloqua {
                site_env,
                user_env,
                password_env,
                ..
            } => vec![site_env, user_env, password_env],
            Self::Dotdigital {
                user_env,
                password_env,
                ..
            } => vec![user_env, password_env],
            Self::Mypreferences {
                client_id_env,
                user_env,
                password_env,
                ..
            } => {
                vec![client_id_env, user_env, password_env]
            }
        }
    }
}

/// Where the state lives.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "backend", rename_all = "lowercase", deny_unknown_fields)]
pub enum StateBackend {
    /// A SQLite file (default `.bulkspec/state.db`, relative to the project file).
    Sqlite {
        #[serde(default = "default_state_path")]
        path: String,
    },
    /// A PostgreSQL database shared by a team and its CI runners.
    Postgres {
        /// Env var holding the connection URL.
        url_env: String,
    },
}

fn default_state_path() -> String {
    ".bulkspec/state.db".into()
}

impl Default for StateBackend {
    fn default() -> Self {
        Self::Sqlite {
            path: default_state_path(),
        }
    }
}

/// Finds the project file: `start` and its ancestors.
pub fn find_project_file(start: &Path) -> Option<PathBuf> {
    start
        .ancestors()
        .map(|d| d.join(PROJECT_FILE))
        .find(|p| p.is_file())
}

//! Emulator policy knobs of the Dotdigital sandbox: API users, region, limits, rate-limit scheme
//! and processing mode. Defaults follow ../shared/providers/dotdigital.md; every value marked
//! [I] there is overridable through the `dotdigital` part of a seed (see `seed.rs`).
//!
//! This module holds data only; the rules that use it live in the other files.

use serde::{Deserialize, Serialize};

/// 50 MB, the current documented limit of the bulk insight import body.
pub const DEFAULT_MAX_REQUEST_BYTES: usize = 50 * 1024 * 1024;

/// A seeded API user (Basic credentials). The default is `sandbox` / `sandbox`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiUser {
    pub username: String,
    pub password: String,
    /// A disabled user is refused with the same 401 as wrong credentials.
    #[serde(default)]
    pub disabled: bool,
}

/// Which rate-limit scheme the API user is on (§8.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RateMode {
    Tiered,
    Flat,
}

/// How `X-RateLimit-Reset` is expressed (the sources disagree, §8.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ResetFormat {
    Seconds,
    Epoch,
}

/// Per-minute tier allowances and the flat hourly cap.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RateSettings {
    pub mode: RateMode,
    /// Low tier (bulk imports): 35/min, the help centre's Basic package figure.
    pub low: u32,
    /// Medium and High tier figures are not in the notes [I].
    pub medium: u32,
    pub high: u32,
    /// Flat scheme: calls per rolling hour (the error catalogue's 2000).
    pub flat_per_hour: u32,
    pub reset: ResetFormat,
}

impl Default for RateSettings {
    fn default() -> Self {
        Self {
            mode: RateMode::Tiered,
            low: 35,
            medium: 150,
            high: 500,
            flat_per_hour: 2000,
            reset: ResetFormat::Seconds,
        }
    }
}

/// Limits behind the `Json*` fault reasons (§11 item 7; all [I]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct JsonLimits {
    pub key_length: usize,
    pub string_length: usize,
    pub number_max: f64,
    pub distinct_properties: usize,
    /// Longest accepted record key (`InvalidClientKey` beyond).
    pub record_key_length: usize,
}

impl Default for JsonLimits {
    fn default() -> Self {
        Self {
            key_length: 64,
            string_length: 4000,
            number_max: 1e15,
            distinct_properties: 2000,
            record_key_length: 255,
        }
    }
}

/// Everything configurable about the emulated account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    pub account_id: u32,
    pub api_users: Vec<ApiUser>,
    /// `r1`, `r2` or `r3`; when set, a request whose host or `x-sandbox-region` header names
    /// another region gets 403.
    pub region: Option<String>,
    /// Compatibility switch: accept `-` in collection names (older docs and clients).
    pub allow_dashes: bool,
    /// In strict mode, still create an unknown collection on its first import (notes §11
    /// item 8) instead of rejecting every record with `MissingCollection`.
    pub create_collections_on_import: bool,
    /// Active (non-terminal) imports allowed at once; default 5 (§10 item 7).
    pub max_active_imports: usize,
    pub max_request_bytes: usize,
    pub rate: RateSettings,
    pub limits: JsonLimits,
    /// Manual clock: advance one status every N status polls instead of by time.
    pub polls_per_step: Option<u32>,
    /// The next N imports end `Failed` (fault injection, §11 item 6).
    pub fail_next_imports: u32,
    /// Share of imports (0.0..=1.0) that end `Failed`, drawn from the sandbox's seeded rng.
    pub import_failure_rate: f64,
    /// The next N accepted bulk imports run, but their 202 is lost: the connection is closed
    /// with no response (§11 item 15, exercises the runner's resume logic).
    #[serde(default)]
    pub drop_next_accepted: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            account_id: 100_001,
            api_users: vec![ApiUser {
                username: "sandbox".into(),
                password: "sandbox".into(),
                disabled: false,
            }],
            region: None,
            allow_dashes: false,
            create_collections_on_import: false,
            max_active_imports: 5,
            max_request_bytes: DEFAULT_MAX_REQUEST_BYTES,
            rate: RateSettings::default(),
            limits: JsonLimits::default(),
            polls_per_step: None,
            fail_next_imports: 0,
            import_failure_rate: 0.0,
            drop_next_accepted: 0,
        }
    }
}

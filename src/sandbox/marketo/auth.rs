//! Identity (marketo.md §3, §14.1-5): client-credentials tokens that live one hour (or the
//! faults' `token_lifetime_secs`), the same token returned until it expires, and the 600/601/602
//! answers for a missing, unknown or expired bearer token.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::http::{HeaderMap, header};
use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::sandbox::core::Shared;
use crate::sandbox::marketo::wire::TokenResponse;

/// The vendor's token lifetime.
pub const TOKEN_LIFETIME: Duration = Duration::from_secs(3600);

/// A custom service's credentials.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Client {
    pub id: String,
    pub secret: String,
    /// The owning API-only user, reported as `scope`.
    #[serde(default = "default_scope")]
    pub scope: String,
}

fn default_scope() -> String {
    "sandbox-api@example.com".into()
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Token {
    pub client_id: String,
    /// Milliseconds since the epoch on the sandbox clock.
    pub expires_at_ms: u64,
}

/// Clients and the tokens minted for them.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Auth {
    pub clients: Vec<Client>,
    pub tokens: HashMap<String, Token>,
    /// Client id -> its current token.
    pub current: BTreeMap<String, String>,
}

impl Default for Auth {
    fn default() -> Self {
        Self {
            clients: vec![Client {
                id: "sandbox".into(),
                secret: "sandbox".into(),
                scope: default_scope(),
            }],
            tokens: HashMap::new(),
            current: BTreeMap::new(),
        }
    }
}

pub fn millis(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Outcome of checking a request's bearer token.
pub enum TokenCheck {
    Valid,
    Missing,
    Invalid,
    Expired,
}

impl Auth {
    pub fn add_client(&mut self, client: Client) {
        self.clients.retain(|c| c.id != client.id);
        self.clients.push(client);
    }

    /// The identity endpoint: the current token while it lives, else a new one; `None` for bad
    /// credentials.
    pub fn issue(&mut self, shared: &Shared, id: &str, secret: &str) -> Option<TokenResponse> {
        let client = self
            .clients
            .iter()
            .find(|c| c.id == id && c.secret == secret)
            .cloned()?;
        let now = millis(shared.now());
        let live = self
            .current
            .get(id)
            .and_then(|t| self.tokens.get(t).map(|tok| (t.clone(), tok.expires_at_ms)))
            .filter(|(_, exp)| *exp > now);
        let (token, expires_at_ms) = match live {
            Some(t) => t,
            None => {
                let lifetime = shared.token_lifetime(TOKEN_LIFETIME);
                let token = new_token(shared);
                let expires_at_ms = now + lifetime.as_millis() as u64;
                // Expired tokens are kept a day, so they get 602 rather than 601.
                self.tokens
                    .retain(|_, t| t.expires_at_ms.saturating_add(86_400_000) > now);
                self.tokens.insert(
                    token.clone(),
                    Token {
                        client_id: id.to_owned(),
                        expires_at_ms,
                    },
                );
                self.current.insert(id.to_owned(), token.clone());
                (token, expires_at_ms)
            }
        };
        // A fresh token reports lifetime - 1, as the vendor's examples do.
        let remaining = expires_at_ms.saturating_sub(now) / 1000;
        Some(TokenResponse {
            access_token: token,
            token_type: "bearer",
            expires_in: remaining.saturating_sub(1),
            scope: client.scope,
        })
    }

    /// Checks a token taken from the request.
    pub fn check(&self, shared: &Shared, token: Option<&str>) -> TokenCheck {
        let Some(token) = token.filter(|t| !t.is_empty()) else {
            return TokenCheck::Missing;
        };
        match self.tokens.get(token) {
            None => TokenCheck::Invalid,
            Some(t) if t.expires_at_ms <= millis(shared.now()) => TokenCheck::Expired,
            Some(_) => TokenCheck::Valid,
        }
    }
}

/// `Authorization: Bearer X`, or the legacy `access_token` query parameter when allowed.
pub fn token_of<'a>(
    headers: &'a HeaderMap,
    query: Option<&'a str>,
    allow_param: bool,
) -> Option<String> {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| t.trim().to_owned());
    if bearer.is_some() || !allow_param {
        return bearer;
    }
    query?
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(k, _)| *k == "access_token")
        .map(|(_, v)| v.to_owned())
}

/// A UUID-shaped token with a `:`-suffix, drawn from the sandbox's seeded random source.
fn new_token(shared: &Shared) -> String {
    let (a, b): (u128, u8) = shared.with_rng(|rng| (rng.random(), rng.random()));
    let hex = format!("{a:032x}");
    let suffix = if b % 2 == 0 { "ab" } else { "sj" };
    format!(
        "{}-{}-4{}-a{}-{}:{suffix}",
        &hex[0..8],
        &hex[8..12],
        &hex[13..16],
        &hex[17..20],
        &hex[20..32]
    )
}

//! The `target:` section: one variant per provider object, told apart by `object`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{dotdigital, eloqua, marketo, mypreferences};

/// The API a job imports into.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "object", rename_all = "snake_case")]
pub enum Target {
    /// Marketo program members.
    ProgramMembers(marketo::ProgramMembers),
    /// Marketo leads.
    Leads(marketo::Leads),
    /// Eloqua opportunity-contact linkage.
    OpportunityContacts(eloqua::OpportunityContacts),
    /// Eloqua contacts.
    Contacts(eloqua::Contacts),
    /// Dotdigital transactional (insight) data.
    TransactionalData(dotdigital::TransactionalData),
    /// MyPreferences profiles.
    Profiles(mypreferences::Profiles),
}

/// A provider (API) name.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    Marketo,
    Eloqua,
    Dotdigital,
    Mypreferences,
}

impl Provider {
    pub const ALL: [Provider; 4] = [
        Self::Marketo,
        Self::Eloqua,
        Self::Dotdigital,
        Self::Mypreferences,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Marketo => "marketo",
            Self::Eloqua => "eloqua",
            Self::Dotdigital => "dotdigital",
            Self::Mypreferences => "mypreferences",
        }
    }

    /// The objects this provider imports.
    pub fn objects(self) -> &'static [&'static str] {
        match self {
            Self::Marketo => &["program_members", "leads"],
            Self::Eloqua => &["opportunity_contacts", "contacts"],
            Self::Dotdigital => &["transactional_data"],
            Self::Mypreferences => &["profiles"],
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == s)
    }

    /// Largest upload body the API accepts.
    pub fn max_request_bytes(self) -> u64 {
        match self {
            Self::Marketo => marketo::MAX_UPLOAD_BYTES,
            Self::Eloqua => eloqua::MAX_UPLOAD_BYTES,
            Self::Dotdigital => dotdigital::MAX_UPLOAD_BYTES,
            Self::Mypreferences => mypreferences::MAX_UPLOAD_BYTES,
        }
    }

    /// Upload body size used when the spec sets none.
    pub fn default_request_bytes(self) -> u64 {
        match self {
            Self::Marketo => marketo::MAX_UPLOAD_BYTES,
            Self::Eloqua => eloqua::MAX_UPLOAD_BYTES,
            Self::Dotdigital => dotdigital::DEFAULT_UPLOAD_BYTES,
            Self::Mypreferences => mypreferences::DEFAULT_UPLOAD_BYTES,
        }
    }

    /// Most remote jobs in flight per spec.
    pub fn max_concurrency(self) -> u32 {
        match self {
            Self::Marketo => marketo::MAX_CONCURRENCY,
            Self::Eloqua => eloqua::MAX_CONCURRENCY,
            Self::Dotdigital => dotdigital::MAX_CONCURRENCY,
            Self::Mypreferences => mypreferences::MAX_CONCURRENCY,
        }
    }
}

impl std::fmt::Display for Provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The provider that owns an object name.
pub fn provider_of_object(object: &str) -> Option<Provider> {
    Provider::ALL
        .into_iter()
        .find(|p| p.objects().contains(&object))
}

impl Target {
    pub fn provider(&self) -> Provider {
        match self {
            Self::ProgramMembers(_) | Self::Leads(_) => Provider::Marketo,
            Self::OpportunityContacts(_) | Self::Contacts(_) => Provider::Eloqua,
            Self::TransactionalData(_) => Provider::Dotdigital,
            Self::Profiles(_) => Provider::Mypreferences,
        }
    }

    pub fn object(&self) -> &'static str {
        match self {
            Self::ProgramMembers(_) => "program_members",
            Self::Leads(_) => "leads",
            Self::OpportunityContacts(_) => "opportunity_contacts",
            Self::Contacts(_) => "contacts",
            Self::TransactionalData(_) => "transactional_data",
            Self::Profiles(_) => "profiles",
        }
    }

    pub fn connection(&self) -> &str {
        match self {
            Self::ProgramMembers(t) => &t.connection,
            Self::Leads(t) => &t.connection,
            Self::OpportunityContacts(t) => &t.connection,
            Self::Contacts(t) => &t.connection,
            Self::TransactionalData(t) => &t.connection,
            Self::Profiles(t) => &t.connection,
        }
    }
}

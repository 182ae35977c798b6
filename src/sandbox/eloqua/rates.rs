//! The soft sync-rate counters (eloqua.md §9, §13.26). Eloqua counts, per instance, the syncs
//! started in the last hour by sync type: 2000 import syncs, 2000 export syncs and 4000
//! sync-action syncs (the type is that of the synced definition). The real service only slows
//! down beyond them; the emulator answers 429 to the sync that would exceed its type's limit,
//! so a client's handling of a throttled instance can be tested.
//!
//! Only counting lives here: which definition a sync belongs to is decided by `syncs`. The
//! emulator defines import definitions only (contacts, opportunities, linkage), so every sync
//! it starts is an import sync; export and sync-action syncs are counted under their own limits
//! the day their definitions are emulated.

use std::collections::{BTreeMap, VecDeque};

use serde::{Deserialize, Serialize};

use super::errors::ApiError;
use super::settings::Settings;
use super::store::Kind;
use super::time::Nanos;

const HOUR_NANOS: u64 = 3600 * 1_000_000_000;

/// The sync types of Eloqua's rate limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum SyncType {
    Import,
    Export,
    SyncAction,
}

impl SyncType {
    /// The type of a sync of a definition of `kind`.
    pub fn of(kind: Kind) -> Self {
        match kind {
            Kind::Contact | Kind::Opportunity | Kind::Linkage => SyncType::Import,
        }
    }

    /// Syncs of this type allowed per hour.
    fn per_hour(self, settings: &Settings) -> u32 {
        match self {
            SyncType::Import => settings.import_syncs_per_hour,
            SyncType::Export => settings.export_syncs_per_hour,
            SyncType::SyncAction => settings.sync_action_syncs_per_hour,
        }
    }
}

/// Start times of the syncs of the last hour, by type (part of the snapshot).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SyncRates {
    started: BTreeMap<SyncType, VecDeque<Nanos>>,
}

impl SyncRates {
    /// Counts a sync of type `ty` starting at `now`, or refuses it with 429 when the syncs of
    /// that type started in the hour before `now` already reach the limit (a refused sync is
    /// not counted).
    pub fn admit(&mut self, ty: SyncType, settings: &Settings, now: Nanos) -> Result<(), ApiError> {
        let started = self.started.entry(ty).or_default();
        while started
            .front()
            .is_some_and(|t| now.saturating_sub(*t) >= HOUR_NANOS)
        {
            started.pop_front();
        }
        let limit = usize::try_from(ty.per_hour(settings)).unwrap_or(usize::MAX);
        if started.len() >= limit {
            return Err(ApiError::TooManyRequests);
        }
        started.push_back(now);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_type_has_its_own_hourly_limit() {
        let settings = Settings {
            import_syncs_per_hour: 2,
            export_syncs_per_hour: 1,
            sync_action_syncs_per_hour: 0,
            ..Settings::default()
        };
        let mut rates = SyncRates::default();
        let t0 = 5 * HOUR_NANOS;
        assert!(rates.admit(SyncType::Import, &settings, t0).is_ok());
        assert!(rates.admit(SyncType::Export, &settings, t0).is_ok());
        assert!(rates.admit(SyncType::Import, &settings, t0 + 1).is_ok());
        let refused = rates.admit(SyncType::Import, &settings, t0 + 2);
        assert!(matches!(refused, Err(ApiError::TooManyRequests)));
        assert!(rates.admit(SyncType::Export, &settings, t0 + 2).is_err());
        assert!(rates.admit(SyncType::SyncAction, &settings, t0).is_err());
        // An hour after the first import sync, one slot is free again (and only one: the
        // refused sync was not counted).
        assert!(
            rates
                .admit(SyncType::Import, &settings, t0 + HOUR_NANOS)
                .is_ok()
        );
        assert!(
            rates
                .admit(SyncType::Import, &settings, t0 + HOUR_NANOS)
                .is_err()
        );
        assert_eq!(SyncType::of(Kind::Linkage), SyncType::Import);
    }
}

//! The asynchronous part of an import (§11 item 13): a spawned tokio task moves it
//! `Queued -> Processing -> Completed` over `Shared::processing_time()` (four equal steps: one
//! queued, three applying a third of the records each), so `Processed` grows while `Pending`
//! shrinks. An import chosen to fail ends `Failed` with nothing applied (all-or-nothing).
//!
//! The task only holds the emulator lock between sleeps, never across an await.

use std::sync::Arc;

use serde::Deserialize;

use super::Mypreferences;
use super::apply::{AltIndex, Outcome, apply_record};
use super::imports::{ExceptionRecord, Import, Status};
use super::store::Account;
use super::validate::Findings;
use super::wire::{ExceptionDefinition, ProfileRecord};

/// Whether an import still has processing ahead of it.
pub fn is_busy(status: Status) -> bool {
    matches!(status, Status::Queued | Status::Processing)
}

/// Starts the processing task of `token` unless one runs already or no runtime is present.
pub fn spawn(emu: &Arc<Mypreferences>, token: u64) {
    let Ok(handle) = tokio::runtime::Handle::try_current() else {
        return;
    };
    {
        let mut running = emu.running.lock().unwrap_or_else(|p| p.into_inner());
        if !running.insert(token) {
            return;
        }
    }
    let emu = Arc::clone(emu);
    handle.spawn(async move {
        let step = emu.shared.processing_time() / 4;
        loop {
            tokio::time::sleep(step).await;
            if !advance(&emu, token) {
                break;
            }
        }
        emu.running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&token);
    });
}

/// One step of the state machine; false once the import is terminal (or gone after a reset).
fn advance(emu: &Mypreferences, token: u64) -> bool {
    let mut state = emu.lock();
    let state = &mut *state;
    let Some(import) = state.imports.get_mut(&token) else {
        return false;
    };
    match import.status {
        Status::Queued => {
            import.status = Status::Processing;
            true
        }
        Status::Processing => match state.accounts.get_mut(&import.client_id) {
            Some(account) => process_chunk(import, account),
            None => {
                import.status = Status::Failed;
                false
            }
        },
        _ => false,
    }
}

/// Applies the next third of the staged records; returns whether more remain.
fn process_chunk(import: &mut Import, account: &mut Account) -> bool {
    let total = import.staged.len();
    let chunk = total.div_ceil(3).max(1);
    let end = (import.cursor + chunk).min(total);
    if import.doomed {
        import.cursor = end;
    } else {
        let create_date = import.create_date.clone().unwrap_or_default();
        let mut index = AltIndex::build(account);
        for at in import.cursor..end {
            let staged = &import.staged[at];
            // Staging validated the record, so it reads back; a failure is still reported.
            let outcome = match ProfileRecord::deserialize(&staged.raw) {
                Ok(record) => {
                    apply_record(account, &mut index, &import.settings, &record, &create_date)
                }
                Err(e) => {
                    Outcome::Exception(ExceptionDefinition::new("InvalidRecord", e.to_string()))
                }
            };
            let (seq, raw) = match outcome {
                Outcome::Exception(_) => (staged.seq, staged.raw.clone()),
                _ => (staged.seq, serde_json::Value::Null),
            };
            record_outcome(import, outcome, seq, &raw);
        }
        import.cursor = end;
    }
    if import.cursor < total {
        return true;
    }
    import.counters.pending = 0;
    import.status = if import.doomed {
        Status::Failed
    } else {
        Status::Completed
    };
    false
}

fn record_outcome(import: &mut Import, outcome: Outcome, seq: u64, raw: &serde_json::Value) {
    let counters = &mut import.counters;
    counters.pending = counters.pending.saturating_sub(1);
    match outcome {
        Outcome::Processed => counters.processed += 1,
        Outcome::NotHonored => counters.not_honored += 1,
        Outcome::Exception(definition) => {
            counters.exceptions += 1;
            let findings = Findings {
                record: vec![definition],
                emails: Vec::new(),
            };
            import.add_exception(ExceptionRecord {
                seq,
                record: findings.into_exception(raw, seq),
            });
        }
    }
}

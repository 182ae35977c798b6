//! The stateful half of processing a bulk insight import (notes §11 items 7-8): contact
//! existence, scope, keys owned by another contact, property types against the collection, and
//! the upsert itself. Produces the import report.
//!
//! Runs under the store lock, so it does lookups and inserts only; parsing and the stateless
//! checks were done by `rules.rs` beforehand.

use std::collections::HashSet;

use super::analyze::fold;
use super::rules::{Ident, Prepared, fault, is_email};
use super::store::{Collection, Owner, Scope, Store, StoredRecord};
use super::wire::{Fault, FaultReason, Report};

/// Applies prepared records to `collection` and returns the report. `strict` follows the real
/// service (unknown contacts are faults); otherwise well-formed unknown emails become contacts
/// so an unseeded quickstart works.
pub fn commit(
    store: &mut Store,
    collection: &str,
    prepared: Vec<Result<Prepared, Fault>>,
    strict: bool,
) -> Report {
    let total = prepared.len();
    let mut faults = Vec::new();
    if !ensure_collection(store, collection, &prepared, strict) {
        faults = prepared
            .into_iter()
            .map(|r| match r {
                Ok(p) => fault(Some(p.key), FaultReason::MissingCollection, None),
                Err(f) => f,
            })
            .collect();
    } else if let Some(mut coll) = store.collections.remove(collection) {
        // Taken out of the map while the records are applied, so each record costs no lookup.
        coll.records.reserve(prepared.len());
        let mut introduced = HashSet::new();
        for record in prepared {
            let outcome = record.and_then(|p| apply(store, &mut coll, p, strict, &mut introduced));
            if let Err(f) = outcome {
                faults.push(f);
            }
        }
        store.collections.insert(collection.to_string(), coll);
    } else {
        // A request whose every record failed the stateless rules creates no collection.
        faults = prepared.into_iter().filter_map(Result::err).collect();
    }
    report(total, faults)
}

/// Builds a report that obeys `totalImported + totalRejected == totalItems`.
pub fn report(total: usize, faults: Vec<Fault>) -> Report {
    let rejected = faults.len();
    Report {
        total_items: saturate(total),
        total_imported: saturate(total - rejected),
        total_rejected: saturate(rejected),
        faults,
    }
}

fn saturate(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Finds or creates the target collection; `false` when it is missing and may not be created.
fn ensure_collection(
    store: &mut Store,
    name: &str,
    prepared: &[Result<Prepared, Fault>],
    strict: bool,
) -> bool {
    if store.collections.contains_key(name) {
        return true;
    }
    if strict && !store.settings.create_collections_on_import {
        return false;
    }
    // The first usable record decides the scope of a new collection.
    let Some(first) = prepared.iter().flatten().next() else {
        return true;
    };
    let scope = if first.ident == Ident::Account {
        Scope::Account
    } else {
        Scope::Contact
    };
    store.create_collection(name, scope);
    true
}

fn apply(
    store: &mut Store,
    coll: &mut Collection,
    p: Prepared,
    strict: bool,
    introduced: &mut HashSet<String>,
) -> Result<(), Fault> {
    let reject = |p: &Prepared, reason| Err(fault(Some(p.key.clone()), reason, None));
    let owner = match (&p.ident, coll.scope) {
        (Ident::Account, Scope::Account) => Owner::Account,
        (Ident::Account, Scope::Contact) | (_, Scope::Account) => {
            return reject(&p, FaultReason::InvalidContactIdentifier);
        }
        (Ident::Id(id), Scope::Contact) => match store.contacts.contains_key(id) {
            true => Owner::Contact(*id),
            false => return reject(&p, FaultReason::ContactIdDoesNotExist),
        },
        (Ident::Email, Scope::Contact) => match store.contact_by_email(&p.identifier) {
            Some(id) => Owner::Contact(id),
            None if !strict && is_email(&p.identifier) => {
                Owner::Contact(store.upsert_contact(&p.identifier, None).0)
            }
            None => return reject(&p, FaultReason::ContactEmailDoesNotExist),
        },
    };
    let limit = store.settings.limits.distinct_properties;
    if let Some(existing) = coll.records.get(&p.key)
        && existing.owner != owner
    {
        return reject(&p, FaultReason::KeyExistingForDifferentContact);
    }
    if !coll.valid_shapes.contains(&p.shape) {
        if let Err((reason, detail)) = check_types(coll, &p, introduced, limit) {
            return Err(fault(Some(p.key), reason, Some(&detail)));
        }
        for (path, t) in p.props.iter() {
            if !coll.schema.contains_key(path) {
                introduced.insert(path.clone());
                coll.folded.insert(fold(path), path.clone());
                coll.schema.insert(path.clone(), *t);
            }
        }
        coll.valid_shapes.insert(p.shape);
    }
    let stored = StoredRecord {
        owner,
        identifier: p.identifier,
        json: p.text,
    };
    coll.records.insert(p.key, stored);
    Ok(())
}

/// Property types against the collection: a type first stored by an earlier import is
/// `JsonValueIncompatibleWithSchema`; one introduced by this import is `InconsistentTypes`.
fn check_types(
    coll: &Collection,
    p: &Prepared,
    introduced: &HashSet<String>,
    limit: usize,
) -> Result<(), (FaultReason, String)> {
    let mut new_paths = 0;
    for (path, t) in p.props.iter() {
        match coll.schema.get(path) {
            Some(known) if known != t && introduced.contains(path) => {
                return Err((FaultReason::InconsistentTypes, path.clone()));
            }
            Some(known) if known != t => {
                return Err((FaultReason::JsonValueIncompatibleWithSchema, path.clone()));
            }
            Some(_) => {}
            None => {
                if coll.folded.get(&fold(path)).is_some_and(|raw| raw != path) {
                    return Err((FaultReason::JsonContainsDashUnderscoreClash, path.clone()));
                }
                new_paths += 1;
            }
        }
    }
    if coll.schema.len() + new_paths > limit {
        return Err((
            FaultReason::TooManyDistinctKeyValuePairs,
            format!("more than {limit} properties"),
        ));
    }
    Ok(())
}

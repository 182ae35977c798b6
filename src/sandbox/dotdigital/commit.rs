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

#[cfg(test)]
mod bench {
    use std::fmt::Write;
    use std::time::Instant;

    use super::*;
    use crate::sandbox::dotdigital::request::parse_records;
    use crate::sandbox::dotdigital::rules::prepare;
    use crate::sandbox::dotdigital::settings::JsonLimits;

    /// Phases of a 48 MB import without HTTP:
    /// `cargo test --release --lib -- --ignored --nocapture phases`.
    #[test]
    #[ignore = "benchmark; run in release"]
    fn phases_of_a_large_import() {
        let mut body = String::from("[");
        let mut n = 0;
        while body.len() < 48 * 1024 * 1024 {
            if n > 0 {
                body.push(',');
            }
            let _ = write!(
                body,
                r#"{{"key":"ORD-{n:08}","contactIdentifier":"c{c}@example.org","json":{{"orderTotal":{t}.5,"currency":"EUR","placedAt":"2024-05-02T10:15:00Z","paid":true,"lines":[{{"sku":"A-{n}","qty":2,"price":9.99}},{{"sku":"B-{c}","qty":1,"price":20}}],"shipping":{{"method":"post","cost":4.5}}}}}}"#,
                c = n % 1000,
                t = n % 997
            );
            n += 1;
        }
        body.push(']');
        let mut store = Store::default();
        for c in 0..1000 {
            store.upsert_contact(&format!("c{c}@example.org"), None);
        }
        store.create_collection("Orders", Scope::Contact);
        let limits = JsonLimits::default();
        // Reference on this machine: serde_json only validating and skipping the same body.
        let skip = Instant::now();
        serde_json::from_slice::<serde::de::IgnoredAny>(body.as_bytes()).unwrap();
        let skip = skip.elapsed();
        let cpu0 = cpu_seconds();
        let t0 = Instant::now();
        let records = parse_records(body.as_bytes(), &limits).unwrap();
        let t1 = Instant::now();
        let prepared = prepare(records, &limits);
        let t2 = Instant::now();
        let report = commit(&mut store, "Orders", prepared, true);
        let t3 = Instant::now();
        let cpu = cpu_seconds() - cpu0;
        assert_eq!(report.total_imported as usize, n);
        let mb = body.len() as f64 / 1e6;
        let total = (t3 - t0).as_secs_f64();
        println!(
            "{mb:.1} MB, {n} records: parse+analyse {:?}, prepare {:?}, commit {:?}: {:.0} MB/s; \
             {cpu:.2} CPU s ({:.0} MB per CPU second); serde_json skipping alone: {skip:?}",
            t1 - t0,
            t2 - t1,
            t3 - t2,
            mb / total,
            mb / cpu
        );
    }

    /// User + system CPU time of this process (all threads), from /proc (Linux only).
    fn cpu_seconds() -> f64 {
        let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
        let after = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or("");
        let fields: Vec<&str> = after.split_whitespace().collect();
        let ticks = |i: usize| {
            fields
                .get(i)
                .and_then(|v| v.parse::<f64>().ok())
                .unwrap_or(0.0)
        };
        (ticks(11) + ticks(12)) / 100.0
    }
}

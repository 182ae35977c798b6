//! The index of leads by email: lower-cased email -> lead ids, oldest first. Keys are 128-bit
//! hashes of the address, trusted without reading the lead back: two of a million addresses
//! collide with odds of about 1 in 10^27, and confirming each match on the lead cost a cache
//! miss per row, the largest part of an import.
//!
//! The first id of each email sits in one of 64 tables of 24-byte entries, chosen by the key;
//! the rare further ids of a shared email are kept aside. Many small tables rather than one:
//! a batch of lookups or insertions (`first_many`, `insert_new`) goes table by table, and one
//! table of a million-lead index (about 800 KB) fits in a core's cache, where one random probe
//! of the whole index (50 MB) was one cache miss per row; a table that outgrows its room is
//! rehashed while an import waits, and a sixty-fourth of the index rehashes in a sixty-fourth
//! of the time.
//!
//! Only the index lives here; keeping it in step with the leads is `store`'s business.

use std::borrow::Cow;
use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::hash::{BuildHasherDefault, Hasher};

use crate::sandbox::marketo::parallel::both;

const SHARDS: usize = 64;

/// Batches at least this large are worked on two threads.
const PARALLEL: usize = 20_000;

/// The index key of an email: a 128-bit hash of its trimmed, lower-cased text, as two halves
/// (8-byte aligned, so an entry with its lead id is 24 bytes, not the 32 a `u128` pads to).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EmailKey(u64, u64);

impl EmailKey {
    pub fn of(email: &str) -> Self {
        let email = email.trim();
        let lower: Cow<'_, str> = if email.bytes().any(|b| b.is_ascii_uppercase()) {
            Cow::Owned(email.to_ascii_lowercase())
        } else {
            Cow::Borrowed(email)
        };
        let hash = xxhash_rust::xxh3::xxh3_128(lower.as_bytes());
        EmailKey(hash as u64, (hash >> 64) as u64)
    }

    fn shard(self) -> usize {
        (self.1 >> 58) as usize % SHARDS
    }
}

impl std::hash::Hash for EmailKey {
    /// The key is already a hash: one half of it is enough to place it.
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.0);
    }
}

/// Hasher for keys that are already hashes: one multiply, no per-byte work.
#[derive(Default, Clone, Copy)]
pub struct IntHasher(u64);

impl Hasher for IntHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(*b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_u64(&mut self, n: u64) {
        let x = n.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        self.0 = x ^ (x >> 29);
    }
}

type IntBuild = BuildHasherDefault<IntHasher>;

type Table = HashMap<EmailKey, u64, IntBuild>;

#[derive(Debug, Clone)]
pub struct EmailIndex {
    first: [Table; SHARDS],
    more: HashMap<EmailKey, Vec<u64>, IntBuild>,
}

impl Default for EmailIndex {
    fn default() -> Self {
        Self {
            first: std::array::from_fn(|_| Table::default()),
            more: HashMap::default(),
        }
    }
}

/// For `n` positions, of which `items` name some with their key (in position order): for each
/// named position, the first named position with the same key (its own when it is the first);
/// `u32::MAX` for the others. Worked out table by table, each table's keys in a small map that
/// stays in cache.
pub fn first_positions(n: usize, items: impl IntoIterator<Item = (EmailKey, u32)>) -> Vec<u32> {
    let mut out = vec![u32::MAX; n];
    let mut seen: HashMap<EmailKey, u32, IntBuild> = HashMap::default();
    for group in by_shard(items) {
        seen.clear();
        for (key, i) in group {
            let first = *seen.entry(key).or_insert(i);
            if let Some(slot) = out.get_mut(i as usize) {
                *slot = first;
            }
        }
    }
    out
}

/// Items grouped by the table of their key, each group in the order given.
fn by_shard<T>(items: impl IntoIterator<Item = (EmailKey, T)>) -> Vec<Vec<(EmailKey, T)>> {
    let mut groups: Vec<Vec<(EmailKey, T)>> = (0..SHARDS).map(|_| Vec::new()).collect();
    for (key, item) in items {
        if let Some(group) = groups.get_mut(key.shard()) {
            group.push((key, item));
        }
    }
    groups
}

impl EmailIndex {
    pub fn clear(&mut self) {
        self.first.iter_mut().for_each(HashMap::clear);
        self.more.clear();
    }

    /// The oldest lead with this key.
    pub fn first(&self, key: EmailKey) -> Option<u64> {
        self.first[key.shard()].get(&key).copied()
    }

    /// The oldest lead's slot, to read or fill in one probe.
    pub fn first_entry(&mut self, key: EmailKey) -> Entry<'_, EmailKey, u64> {
        self.first[key.shard()].entry(key)
    }

    /// The ids under `key`, oldest first.
    pub fn ids(&self, key: EmailKey) -> impl Iterator<Item = u64> + '_ {
        let first = self.first(key);
        // The second table is only read when the first id is not the one looked for.
        let more = first
            .into_iter()
            .flat_map(move |_| self.more.get(&key).into_iter().flatten().copied());
        first.into_iter().chain(more)
    }

    /// The oldest lead of each key (`None` for no key or an unknown one), looked up table by
    /// table (see the module docs), on two threads for a large batch.
    pub fn first_many(&self, keys: &[Option<EmailKey>]) -> Vec<Option<u64>> {
        let groups = by_shard(
            keys.iter()
                .enumerate()
                .filter_map(|(i, k)| k.map(|k| (k, i))),
        );
        let look = |tables: &[Table], groups: &[Vec<(EmailKey, usize)>]| {
            let mut found = Vec::new();
            for (table, group) in tables.iter().zip(groups) {
                found.extend(group.iter().filter_map(|(k, i)| Some((*i, *table.get(k)?))));
            }
            found
        };
        let found = if keys.len() < PARALLEL {
            look(&self.first, &groups)
        } else {
            let (ta, tb) = self.first.split_at(SHARDS / 2);
            let (ga, gb) = groups.split_at(SHARDS / 2);
            let (mut found, rest) = both(|| look(ta, ga), || look(tb, gb));
            found.extend(rest);
            found
        };
        let mut out = vec![None; keys.len()];
        for (i, id) in found {
            if let Some(slot) = out.get_mut(i) {
                *slot = Some(id);
            }
        }
        out
    }

    /// Adds many (key, id) at once, table by table (see the module docs), on two threads for
    /// a large batch. Meant for keys the index does not hold yet; a key it holds gets the id
    /// as a further one, as `push` would.
    pub fn insert_new(&mut self, entries: impl IntoIterator<Item = (EmailKey, u64)>) {
        let groups = by_shard(entries);
        let total: usize = groups.iter().map(Vec::len).sum();
        let fill = |tables: &mut [Table], groups: Vec<Vec<(EmailKey, u64)>>| {
            let mut taken = Vec::new();
            for (table, group) in tables.iter_mut().zip(groups) {
                table.reserve(group.len());
                for (key, id) in group {
                    match table.entry(key) {
                        Entry::Vacant(slot) => {
                            slot.insert(id);
                        }
                        Entry::Occupied(_) => taken.push((key, id)),
                    }
                }
            }
            taken
        };
        let taken = if total < PARALLEL {
            fill(&mut self.first, groups)
        } else {
            let (ta, tb) = self.first.split_at_mut(SHARDS / 2);
            let mut groups = groups;
            let gb = groups.split_off(SHARDS / 2);
            let (mut taken, rest) = both(|| fill(ta, groups), || fill(tb, gb));
            taken.extend(rest);
            taken
        };
        for (key, id) in taken {
            self.more.entry(key).or_default().push(id);
        }
    }

    pub fn push(&mut self, key: EmailKey, id: u64) {
        match self.first_entry(key) {
            Entry::Vacant(slot) => {
                slot.insert(id);
            }
            Entry::Occupied(_) => self.more.entry(key).or_default().push(id),
        }
    }

    pub fn remove(&mut self, key: EmailKey, id: u64) {
        let first = &mut self.first[key.shard()];
        if first.get(&key) == Some(&id) {
            // The next oldest id, if any, takes the first place.
            let next = self
                .more
                .get_mut(&key)
                .filter(|m| !m.is_empty())
                .map(|m| m.remove(0));
            match next {
                Some(next) => {
                    first.insert(key, next);
                }
                None => {
                    first.remove(&key);
                }
            }
        } else if let Some(more) = self.more.get_mut(&key) {
            more.retain(|i| *i != id);
        }
        if self.more.get(&key).is_some_and(Vec::is_empty) {
            self.more.remove(&key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_emails_keep_their_order_through_removals() {
        let mut index = EmailIndex::default();
        let key = EmailKey::of("  Ann@Example.org ");
        assert_eq!(key, EmailKey::of("ann@example.org"));
        for id in [4, 7, 9] {
            index.push(key, id);
        }
        assert_eq!(index.ids(key).collect::<Vec<_>>(), [4, 7, 9]);
        index.remove(key, 4);
        assert_eq!(index.first(key), Some(7));
        index.remove(key, 9);
        index.remove(key, 7);
        assert_eq!(index.ids(key).count(), 0);
        assert!(index.more.is_empty());
    }

    #[test]
    fn batches_agree_with_one_at_a_time() {
        // 30,000 keys: the two-thread paths; 100: the one-thread paths.
        for n in [100u64, 30_000] {
            let mut index = EmailIndex::default();
            let key = |i: u64| EmailKey::of(&format!("person{i}@example.org"));
            // Even ids one at a time, then every id in one batch: the odd ones are new, the
            // even ones already there and become further ids.
            for i in (0..n).step_by(2) {
                index.push(key(i), i);
            }
            index.insert_new((0..n).map(|i| (key(i), n + i)));
            let keys: Vec<Option<EmailKey>> =
                (0..n + 10).map(|i| Some(key(i))).chain([None]).collect();
            let found = index.first_many(&keys);
            for (i, got) in found.iter().enumerate() {
                let i = i as u64;
                let want = match i {
                    i if i >= n => None,
                    i if i % 2 == 0 => Some(i),
                    i => Some(n + i),
                };
                assert_eq!(*got, want, "key {i} of {n}");
                if i < n {
                    assert_eq!(index.first(key(i)), want);
                }
            }
            assert_eq!(index.ids(key(2)).collect::<Vec<_>>(), [2, n + 2]);
        }
    }

    #[test]
    fn first_positions_pair_rows_sharing_a_key() {
        let k = |e: &str| EmailKey::of(e);
        // Positions 1 and 2 are not named (an email that had a lead, no email): 5 is then
        // the first of "b".
        let named = [
            (k("a@x.org"), 0),
            (k("A@X.org"), 3),
            (k("c@x.org"), 4),
            (k("b@x.org"), 5),
        ];
        let first = first_positions(6, named);
        assert_eq!(first, [0, u32::MAX, u32::MAX, 0, 4, 5]);
    }
}

//! The index of leads by email: lower-cased email -> lead ids, oldest first. Keys are 128-bit
//! hashes of the address, trusted without reading the lead back: two of a million addresses
//! collide with odds of about 1 in 10^27, and confirming each match on the lead cost a cache
//! miss per row, the largest part of an import.
//!
//! The first id of each email sits in one of 16 tables of 24-byte entries, chosen by the key;
//! the rare further ids of a shared email are kept aside. Sixteen tables rather than one: a
//! table that outgrows its room is rehashed while an import waits, and a sixteenth of the
//! index rehashes in a sixteenth of the time.
//!
//! Only the index lives here; keeping it in step with the leads is `store`'s business.

use std::borrow::Cow;
use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::hash::{BuildHasherDefault, Hasher};

const SHARDS: usize = 16;

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
        (self.1 >> 60) as usize % SHARDS
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

#[derive(Debug, Clone, Default)]
pub struct EmailIndex {
    first: [HashMap<EmailKey, u64, IntBuild>; SHARDS],
    more: HashMap<EmailKey, Vec<u64>, IntBuild>,
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
}

//! Leads by id. Ids are handed out densely from 1 (seeds may name their own, usually small,
//! ids), so leads live in a vector indexed by id: finding a lead is one memory read, where a
//! B-tree walks several nodes and a hash map scatters neighbours. An id far beyond the dense
//! range (a seed with id 9,000,000,000) is kept aside in a B-tree, so a stray id cannot make
//! the vector huge.
//!
//! Only the container lives here; the email index and the invariants between leads and the
//! rest of the instance are `store`'s.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::sandbox::marketo::store::Lead;

/// How far beyond the dense range an id may be and still extend it (empty slots cost 32 bytes
/// each).
const MAX_GAP: u64 = 1 << 16;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct LeadMap {
    /// `dense[id]` is the lead with that id, if any.
    dense: Vec<Option<Lead>>,
    /// Leads whose ids are at or beyond `dense.len()`.
    sparse: BTreeMap<u64, Lead>,
}

impl LeadMap {
    pub fn get(&self, id: &u64) -> Option<&Lead> {
        match usize::try_from(*id).ok().and_then(|i| self.dense.get(i)) {
            Some(slot) => slot.as_ref(),
            None => self.sparse.get(id),
        }
    }

    pub fn get_mut(&mut self, id: &u64) -> Option<&mut Lead> {
        match usize::try_from(*id)
            .ok()
            .and_then(|i| self.dense.get_mut(i))
        {
            Some(slot) => slot.as_mut(),
            None => self.sparse.get_mut(id),
        }
    }

    pub fn contains_key(&self, id: &u64) -> bool {
        self.get(id).is_some()
    }

    /// Makes room for `n` more leads with consecutive new ids.
    pub fn reserve(&mut self, n: usize) {
        self.dense.reserve(n);
    }

    /// Inserts (or replaces) the lead with this id.
    pub fn insert(&mut self, id: u64, lead: Lead) -> Option<Lead> {
        let len = self.dense.len() as u64;
        if id == len {
            // The usual case: the next new id.
            self.dense.push(Some(lead));
            return self.sparse.remove(&id);
        }
        if id > len && id - len <= MAX_GAP {
            self.grow(id + 1);
        }
        match usize::try_from(id).ok().and_then(|i| self.dense.get_mut(i)) {
            Some(slot) => slot.replace(lead),
            None => self.sparse.insert(id, lead),
        }
    }

    /// Extends the dense range to `len` slots, taking in the kept-aside leads it now covers.
    fn grow(&mut self, len: u64) {
        let Ok(new_len) = usize::try_from(len) else {
            return;
        };
        self.dense.resize_with(new_len, || None);
        if self.sparse.is_empty() {
            return;
        }
        let beyond = self.sparse.split_off(&len);
        for (id, lead) in std::mem::replace(&mut self.sparse, beyond) {
            if let Some(slot) = usize::try_from(id).ok().and_then(|i| self.dense.get_mut(i)) {
                *slot = Some(lead);
            }
        }
    }

    /// Leads in id order.
    pub fn values(&self) -> impl Iterator<Item = &Lead> + '_ {
        self.dense.iter().flatten().chain(self.sparse.values())
    }
}

impl Serialize for LeadMap {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.values().map(|l| (l.id, l)))
    }
}

impl<'de> Deserialize<'de> for LeadMap {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut map = LeadMap::default();
        for (id, lead) in BTreeMap::<u64, Lead>::deserialize(d)? {
            map.insert(id, lead);
        }
        Ok(map)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sandbox::marketo::store::{Fields, Name};

    fn lead(id: u64) -> Lead {
        Lead {
            id,
            partition: Name::from("Default"),
            fields: Fields::default(),
        }
    }

    #[test]
    fn dense_and_far_ids_read_back_in_order() {
        let mut map = LeadMap::default();
        for id in [3, 1, 9_000_000_000, 2, 70_000] {
            assert!(map.insert(id, lead(id)).is_none());
        }
        assert!(map.insert(2, lead(2)).is_some(), "replaced, not added");
        let ids = |m: &LeadMap| m.values().map(|l| l.id).collect::<Vec<_>>();
        assert_eq!(ids(&map), [1, 2, 3, 70_000, 9_000_000_000]);
        assert!(map.contains_key(&9_000_000_000));
        assert!(!map.contains_key(&4));
        assert!(map.dense.len() < 100, "a far id stays aside");
        // Filling the gap up to a kept-aside id brings it into the dense range.
        for id in 4..=70_000 {
            map.insert(id, lead(id));
        }
        for id in 70_001..=140_001 {
            map.insert(id, lead(id));
        }
        assert_eq!(map.get(&70_000).map(|l| l.id), Some(70_000));
        assert_eq!(map.values().count(), 140_002);
        let json = serde_json::to_string(&map).unwrap();
        let back: LeadMap = serde_json::from_str(&json).unwrap();
        assert_eq!(ids(&back), ids(&map));
    }
}

//! Compact storage of imported values. `Name` is a field or status name shared by every record
//! that carries it; `Fields` keeps a record's values in one buffer beside the shared list of its
//! column names, so importing a row as a new lead copies the row's text once instead of
//! allocating one string per value. Empty values mean "absent".

use std::borrow::Borrow;
use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::sandbox::marketo::table::{RowRef, Table};

/// A field, partition or status name. Names are interned for the life of the process (they
/// are few: the instance's fields, partitions and program statuses), so a name is one pointer,
/// copied without touching a reference count. Counting references cost an atomic operation
/// per created lead and membership, each stalling on the import's outstanding cache misses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Name(&'static str);

impl Name {
    pub fn as_str(&self) -> &'static str {
        self.0
    }

    /// The same name; interned names answer without comparing text.
    pub fn same(&self, other: &Name) -> bool {
        std::ptr::eq(self.0, other.0) || self.0 == other.0
    }
}

impl From<&str> for Name {
    fn from(s: &str) -> Self {
        static NAMES: OnceLock<Mutex<HashSet<&'static str>>> = OnceLock::new();
        let mut names = NAMES
            .get_or_init(Mutex::default)
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(name) = names.get(s) {
            return Name(name);
        }
        let name: &'static str = Box::leak(Box::from(s));
        names.insert(name);
        Name(name)
    }
}

impl Borrow<str> for Name {
    fn borrow(&self) -> &str {
        self.0
    }
}

impl Serialize for Name {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.0)
    }
}

impl<'de> Deserialize<'de> for Name {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Name::from(String::deserialize(d)?.as_str()))
    }
}

/// One row's values: their text back to back and where each ends. Two allocations of exact
/// size, and two memory reads to get at a value.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Row {
    text: Box<str>,
    ends: Box<[u32]>,
}

impl Row {
    pub fn from_values<'a>(values: impl Iterator<Item = &'a str> + Clone) -> Self {
        let len: usize = values.clone().map(str::len).sum();
        let mut text = String::with_capacity(len);
        let mut ends = Vec::with_capacity(values.size_hint().0);
        for v in values {
            text.push_str(v);
            // Rows come from uploads of at most a few tens of MB: u32 offsets suffice.
            ends.push(u32::try_from(text.len()).unwrap_or(u32::MAX));
        }
        Row {
            text: text.into_boxed_str(),
            ends: ends.into_boxed_slice(),
        }
    }

    /// A row from its text and where each value ends in it (one copy of each).
    pub fn from_parts(text: &str, ends: impl Iterator<Item = u32>) -> Self {
        Row {
            text: Box::from(text),
            ends: ends.collect(),
        }
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Whether this is the same text in the same fields as a parsed row.
    fn same_as(&self, row: RowRef<'_>) -> bool {
        *self.text == *row.text() && self.ends.iter().copied().eq(row.ends())
    }

    pub fn get(&self, i: usize) -> Option<&str> {
        let end = *self.ends.get(i)? as usize;
        let start = if i == 0 {
            0
        } else {
            *self.ends.get(i - 1)? as usize
        };
        self.text.get(start..end)
    }

    #[cfg(test)]
    pub fn iter(&self) -> impl Iterator<Item = &str> + Clone {
        (0..self.len()).map(|i| self.get(i).unwrap_or(""))
    }
}

/// The rows of one upload with the names of their columns, shared by the leads created from
/// them: a lead made from a row points at it instead of copying it, so an import that creates
/// 150,000 leads allocates nothing per lead. The rows stay in memory while a lead points at
/// them (a lead that changes gets its own copy).
#[derive(Debug)]
pub struct SharedRows {
    pub names: Arc<[Name]>,
    pub table: Table,
}

/// Named values: `names[i]` names `values[i]`. Small (two words), so a lead or a membership
/// holding them is small; absent (no allocation at all) when there are no fields, the usual
/// case for program-member fields.
#[derive(Debug, Clone, Default)]
pub struct Fields(Repr);

#[derive(Debug, Clone, Default)]
enum Repr {
    #[default]
    Empty,
    /// Values of their own.
    Own(Box<Inner>),
    /// Row `.1` of an upload, as it was imported.
    Shared(Arc<SharedRows>, u32),
}

/// `names[i]` names `values[i]`.
#[derive(Debug, Clone, PartialEq)]
struct Inner {
    names: Arc<[Name]>,
    values: Row,
}

/// Equal when they hold the same names with the same non-empty values, in the same order,
/// however they are stored.
impl PartialEq for Fields {
    fn eq(&self, other: &Self) -> bool {
        self.iter()
            .map(|(n, v)| (n.as_str(), v))
            .eq(other.iter().map(|(n, v)| (n.as_str(), v)))
    }
}

impl Fields {
    /// Fields from a parsed row whose columns are `names` (shared, not copied).
    pub fn from_row(names: Arc<[Name]>, values: Row) -> Self {
        debug_assert_eq!(names.len(), values.len());
        Fields(Repr::Own(Box::new(Inner { names, values })))
    }

    /// Row `row` of an upload, pointed at rather than copied.
    pub fn shared(rows: &Arc<SharedRows>, row: usize) -> Self {
        match u32::try_from(row) {
            Ok(r) => Fields(Repr::Shared(rows.clone(), r)),
            Err(_) => Fields::from_row(rows.names.clone(), rows.table.row(row).to_row()),
        }
    }

    pub fn from_pairs<'a>(pairs: impl Iterator<Item = (&'a Name, &'a str)>) -> Self {
        let pairs: Vec<(&Name, &str)> = pairs.filter(|(_, v)| !v.is_empty()).collect();
        if pairs.is_empty() {
            return Fields(Repr::Empty);
        }
        let names: Arc<[Name]> = pairs.iter().map(|(n, _)| **n).collect();
        let values = Row::from_values(pairs.iter().map(|(_, v)| *v));
        Fields(Repr::Own(Box::new(Inner { names, values })))
    }

    fn names(&self) -> &[Name] {
        match &self.0 {
            Repr::Empty => &[],
            Repr::Own(inner) => &inner.names,
            Repr::Shared(rows, _) => &rows.names,
        }
    }

    /// Value `i`, empty or not.
    fn raw(&self, i: usize) -> Option<&str> {
        match &self.0 {
            Repr::Empty => None,
            Repr::Own(inner) => inner.values.get(i),
            Repr::Shared(rows, r) => rows.table.row(*r as usize).get(i),
        }
    }

    /// Whether these are exactly the values of `row` under the column list `names` (the same
    /// shared list, as the store interns it): then an update with that row changes nothing,
    /// which one comparison of the row's text tells.
    pub fn is_row(&self, names: &Arc<[Name]>, row: RowRef<'_>) -> bool {
        match &self.0 {
            Repr::Empty => false,
            Repr::Own(inner) => Arc::ptr_eq(&inner.names, names) && inner.values.same_as(row),
            Repr::Shared(rows, r) => {
                Arc::ptr_eq(&rows.names, names) && rows.table.row(*r as usize).same_as(row)
            }
        }
    }

    /// The non-empty value of a field.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.position(name, 0).and_then(|i| self.value(i))
    }

    /// Index of a field, trying `hint` first: records written from files with the same
    /// header have their fields in the same order.
    fn position(&self, name: &str, hint: usize) -> Option<usize> {
        let names = self.names();
        if names.get(hint).is_some_and(|n| n.as_str() == name) {
            return Some(hint);
        }
        names.iter().position(|n| n.as_str() == name)
    }

    /// `position` of a `Name`, recognising the hinted one without comparing text.
    fn position_of(&self, name: &Name, hint: usize) -> Option<usize> {
        if self.names().get(hint).is_some_and(|n| n.same(name)) {
            return Some(hint);
        }
        self.position(name.as_str(), hint)
    }

    fn value(&self, i: usize) -> Option<&str> {
        self.raw(i).filter(|v| !v.is_empty())
    }

    /// Non-empty values with their names.
    pub fn iter(&self) -> impl Iterator<Item = (&Name, &str)> + Clone {
        self.names()
            .iter()
            .enumerate()
            .filter_map(|(i, n)| self.value(i).map(|v| (n, v)))
    }

    /// Whether applying the non-empty `updates` would change anything.
    fn changes<'a>(&self, updates: impl Iterator<Item = (&'a Name, &'a str)>) -> bool {
        let mut hint = 0;
        for (n, v) in updates.filter(|(_, v)| !v.is_empty()) {
            match self.position_of(n, hint) {
                Some(i) if self.value(i) == Some(v) => hint = i + 1,
                _ => return true,
            }
        }
        false
    }

    /// These fields with the non-empty `updates` applied, or `None` when nothing changes.
    pub fn merged<'a>(
        &self,
        updates: impl Iterator<Item = (&'a Name, &'a str)> + Clone,
    ) -> Option<Fields> {
        if !self.changes(updates.clone()) {
            return None;
        }
        let mut merged: Vec<(&Name, &str)> = self.iter().collect();
        for (n, v) in updates.filter(|(_, v)| !v.is_empty()) {
            match merged.iter_mut().find(|(m, _)| m.as_str() == n.as_str()) {
                Some(slot) => slot.1 = v,
                None => merged.push((n, v)),
            }
        }
        Some(Fields::from_pairs(merged.into_iter()))
    }

    /// The fields as an ordered map (inspection output).
    pub fn to_map(&self) -> BTreeMap<String, String> {
        self.iter()
            .map(|(n, v)| (n.as_str().to_owned(), v.to_owned()))
            .collect()
    }
}

impl Serialize for Fields {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        for (n, v) in self.iter() {
            map.serialize_entry(n.as_str(), v)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for Fields {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let map = BTreeMap::<String, String>::deserialize(d)?;
        let pairs: Vec<(Name, String)> = map
            .into_iter()
            .map(|(k, v)| (Name::from(k.as_str()), v))
            .collect();
        Ok(Fields::from_pairs(
            pairs.iter().map(|(k, v)| (k, v.as_str())),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_changes_only_what_differs() {
        let names: Arc<[Name]> = Arc::from(vec![Name::from("email"), Name::from("firstName")]);
        let row = Row::from_values(["a@b.co", ""].into_iter());
        assert_eq!(row.iter().collect::<Vec<_>>(), ["a@b.co", ""]);
        let fields = Fields::from_row(names.clone(), row);
        assert_eq!(fields.get("email"), Some("a@b.co"));
        assert_eq!(fields.get("firstName"), None);
        let same = [(&names[0], "a@b.co"), (&names[1], "")];
        assert!(fields.merged(same.iter().copied()).is_none());
        let city = Name::from("city");
        let update = [(&names[1], "Ann"), (&city, "Oslo")];
        let merged = fields.merged(update.iter().copied()).unwrap();
        assert_eq!(merged.to_map().len(), 3);
        assert_eq!(serde_json::to_value(&merged).unwrap()["city"], "Oslo");
    }

    #[test]
    fn a_record_made_from_a_row_is_recognised_as_that_row() {
        use crate::sandbox::marketo::table::Table;
        let names: Arc<[Name]> = Arc::from(vec![Name::from("email"), Name::from("firstName")]);
        let mut table = Table::with_capacity(2, 64);
        for r in [["a@b.co", "Ann"], ["a@b.co", "An"], ["a@b.c", "oAnn"]] {
            table.push(r.into_iter()).unwrap();
        }
        let fields = Fields::from_row(names.clone(), table.row(0).to_row());
        assert!(fields.is_row(&names, table.row(0)));
        assert!(!fields.is_row(&names, table.row(1)), "other text");
        assert!(
            !fields.is_row(&names, table.row(2)),
            "same text, other fields"
        );
        let other: Arc<[Name]> = Arc::from(vec![Name::from("email"), Name::from("firstName")]);
        assert!(!fields.is_row(&other, table.row(0)), "another column list");
    }
}

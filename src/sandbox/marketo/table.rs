//! The rows of one parsed upload as a single table: the text of every field back to back in one
//! buffer, the end offset of each field, and the width every row shares (the file's header).
//! Parsing a 10 MB file costs two growing buffers instead of two allocations per row, and the
//! rows are read in file order from contiguous memory when the batch is applied.
//!
//! Only storage and read access live here; the checks of a row belong to `parse`.

use crate::sandbox::marketo::record::Row;

/// All rows of a file. Every row has exactly `width` fields (the parser refuses ragged files).
#[derive(Debug, Clone, Default)]
pub struct Table {
    text: String,
    ends: Vec<u32>,
    width: usize,
}

/// The table outgrew its 32-bit offsets (an upload of more than 4 GiB of text).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooLarge;

impl Table {
    /// An empty table for rows of `width` fields, sized for a file of `bytes` bytes.
    pub fn with_capacity(width: usize, bytes: usize) -> Self {
        Table {
            text: String::with_capacity(bytes),
            // A field of a typical import is a dozen bytes or more.
            ends: Vec::with_capacity(bytes / 12),
            width: width.max(1),
        }
    }

    /// Appends one row; it must have `width` fields.
    pub fn push<'a>(&mut self, fields: impl Iterator<Item = &'a str>) -> Result<(), TooLarge> {
        for field in fields {
            self.text.push_str(field);
            self.ends
                .push(u32::try_from(self.text.len()).map_err(|_| TooLarge)?);
        }
        debug_assert_eq!(self.ends.len() % self.width, 0);
        Ok(())
    }

    /// Appends the rows of another table of the same width.
    pub fn append(&mut self, next: Table) -> Result<(), TooLarge> {
        debug_assert_eq!(self.width, next.width);
        let base = u32::try_from(self.text.len()).map_err(|_| TooLarge)?;
        self.text.push_str(&next.text);
        for end in next.ends {
            self.ends.push(end.checked_add(base).ok_or(TooLarge)?);
        }
        Ok(())
    }

    pub fn len(&self) -> usize {
        self.ends.len() / self.width
    }

    /// Row `i` (a view; nothing is copied).
    pub fn row(&self, i: usize) -> RowRef<'_> {
        RowRef { table: self, i }
    }

    fn field(&self, row: usize, col: usize) -> Option<&str> {
        if col >= self.width {
            return None;
        }
        let k = row.checked_mul(self.width)?.checked_add(col)?;
        let end = *self.ends.get(k)? as usize;
        let start = match k.checked_sub(1) {
            Some(prev) => *self.ends.get(prev)? as usize,
            None => 0,
        };
        self.text.get(start..end)
    }
}

/// One row of a table.
#[derive(Debug, Clone, Copy)]
pub struct RowRef<'t> {
    table: &'t Table,
    i: usize,
}

impl<'t> RowRef<'t> {
    /// Position of the row in the file (0 = first row after the header).
    pub fn index(&self) -> usize {
        self.i
    }

    pub fn get(&self, col: usize) -> Option<&'t str> {
        self.table.field(self.i, col)
    }

    pub fn iter(&self) -> impl Iterator<Item = &'t str> + Clone + use<'t> {
        let row = *self;
        (0..self.table.width).map(move |c| row.get(c).unwrap_or(""))
    }

    /// The text of all the row's fields, back to back.
    pub fn text(&self) -> &'t str {
        let t = self.table;
        let first = self.i * t.width;
        let start = match first.checked_sub(1) {
            Some(prev) => t.ends.get(prev).map_or(0, |e| *e as usize),
            None => 0,
        };
        let end = t
            .ends
            .get(first + t.width - 1)
            .map_or(start, |e| *e as usize);
        t.text.get(start..end).unwrap_or("")
    }

    /// Where each field ends, counted from the start of the row's text.
    pub fn ends(&self) -> impl Iterator<Item = u32> + use<'t> {
        let t = self.table;
        let first = self.i * t.width;
        let start = first
            .checked_sub(1)
            .and_then(|prev| t.ends.get(prev))
            .copied()
            .unwrap_or(0);
        let ends = t.ends.get(first..first + t.width).unwrap_or(&[]);
        ends.iter().map(move |e| e - start)
    }

    /// Whether `other` holds the same text in the same fields.
    pub fn same_as(&self, other: RowRef<'_>) -> bool {
        (std::ptr::eq(self.table, other.table) && self.i == other.i)
            || (self.text() == other.text() && self.ends().eq(other.ends()))
    }

    /// An owned copy, for storing as a record's values.
    pub fn to_row(self) -> Row {
        Row::from_parts(self.text(), self.ends())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_read_back_as_pushed() {
        let mut t = Table::with_capacity(3, 64);
        t.push(["a@b.co", "", "Ann"].into_iter()).unwrap();
        t.push(["c@d.co", "Bo", ""].into_iter()).unwrap();
        assert_eq!(t.len(), 2);
        assert_eq!(t.row(0).iter().collect::<Vec<_>>(), ["a@b.co", "", "Ann"]);
        assert_eq!(t.row(1).get(1), Some("Bo"));
        assert_eq!(t.row(1).get(2), Some(""));
        assert_eq!(t.row(1).get(3), None);
        assert_eq!(t.row(2).get(0), None);
        assert_eq!(
            t.row(1).to_row().iter().collect::<Vec<_>>(),
            ["c@d.co", "Bo", ""]
        );
    }
}

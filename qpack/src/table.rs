//! The decoder's dynamic table (RFC 9204 §3.2): a FIFO of entries addressed by absolute
//! index, with a capacity in bytes and eviction from the oldest end.

use crate::field::entry_size;
use bytes::Bytes;
use std::collections::VecDeque;

/// One dynamic table entry. `Bytes` lets decoded field lines share the table's storage.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Name.
    pub name: Bytes,
    /// Value.
    pub value: Bytes,
}

impl Entry {
    /// RFC 9204 §3.2.1 size.
    pub fn size(&self) -> u64 {
        entry_size(&self.name, &self.value)
    }
}

/// The table; see RFC 9204 §3.2.4 for absolute indexing (the first entry ever inserted is 0).
#[derive(Debug, Default)]
pub struct DynamicTable {
    entries: VecDeque<Entry>,
    /// Absolute index of `entries[0]` = number of entries evicted so far.
    dropped: u64,
    size: u64,
    capacity: u64,
}

impl DynamicTable {
    /// Total number of insertions so far (RFC 9204 §3.2.4 "Insert Count").
    pub fn insert_count(&self) -> u64 {
        self.dropped + self.entries.len() as u64
    }

    /// Current capacity.
    pub fn capacity(&self) -> u64 {
        self.capacity
    }

    /// Sum of entry sizes.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Entry by absolute index, if it is still in the table.
    pub fn get(&self, absolute: u64) -> Option<&Entry> {
        let pos = absolute.checked_sub(self.dropped)?;
        self.entries.get(usize::try_from(pos).ok()?)
    }

    /// Entry by index relative to the insert count (encoder instructions, RFC 9204 §3.2.5).
    pub fn get_relative(&self, relative: u64) -> Option<&Entry> {
        let abs = self.insert_count().checked_sub(relative)?.checked_sub(1)?;
        self.get(abs)
    }

    /// Change the capacity, evicting as needed (RFC 9204 §3.2.2). The caller has checked it
    /// against the maximum.
    pub fn set_capacity(&mut self, capacity: u64) {
        self.capacity = capacity;
        self.evict_to(capacity);
    }

    fn evict_to(&mut self, target: u64) {
        while self.size > target {
            let e = self
                .entries
                .pop_front()
                .expect("size > 0 means entries exist");
            self.size -= e.size();
            self.dropped += 1;
        }
    }

    /// Insert, evicting older entries first. Returns `false` (and changes nothing) when the
    /// entry is larger than the capacity, which RFC 9204 §3.2.2 makes an error.
    pub fn insert(&mut self, entry: Entry) -> bool {
        let size = entry.size();
        if size > self.capacity {
            return false;
        }
        self.evict_to(self.capacity - size);
        self.size += size;
        self.entries.push_back(entry);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(n: &'static str, v: &'static str) -> Entry {
        Entry {
            name: Bytes::from_static(n.as_bytes()),
            value: Bytes::from_static(v.as_bytes()),
        }
    }

    #[test]
    fn eviction_and_indexing() {
        let mut t = DynamicTable::default();
        t.set_capacity(100);
        assert!(t.insert(e("a", "1"))); // 34
        assert!(t.insert(e("b", "2"))); // 68
        assert!(t.insert(e("c", "3"))); // 102 > 100: evicts a
        assert_eq!(t.insert_count(), 3);
        assert!(t.get(0).is_none());
        assert_eq!(&t.get(1).unwrap().name[..], b"b");
        assert_eq!(&t.get_relative(0).unwrap().name[..], b"c");
        assert!(!t.insert(e("x", "y")) || t.size() <= 100);
        t.set_capacity(0);
        assert_eq!(t.size(), 0);
        assert!(!t.insert(e("a", "1")));
    }
}

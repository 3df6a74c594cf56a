//! The encoder's view of the dynamic table: entries with reference counts from
//! unacknowledged field sections, lookups by name and by name + value, and the eviction rules
//! of RFC 9204 §2.1.1.

use crate::field::entry_size;
use bytes::Bytes;
use std::collections::{HashMap, VecDeque};

#[derive(Debug)]
pub(super) struct Entry {
    pub name: Bytes,
    pub value: Bytes,
    /// Unacknowledged field sections (including the one being encoded) referencing it.
    pub refs: u32,
}

impl Entry {
    fn size(&self) -> u64 {
        entry_size(&self.name, &self.value)
    }
}

#[derive(Debug, Default)]
struct NameSlot {
    /// Newest entry with this name.
    newest: u64,
    /// Newest entry per value.
    values: HashMap<Bytes, u64>,
}

#[derive(Debug, Default)]
pub(super) struct EncoderTable {
    entries: VecDeque<Entry>,
    dropped: u64,
    size: u64,
    capacity: u64,
    names: HashMap<Bytes, NameSlot>,
}

impl EncoderTable {
    pub fn insert_count(&self) -> u64 {
        self.dropped + self.entries.len() as u64
    }

    pub fn capacity(&self) -> u64 {
        self.capacity
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn get(&self, abs: u64) -> Option<&Entry> {
        let pos = abs.checked_sub(self.dropped)?;
        self.entries.get(usize::try_from(pos).ok()?)
    }

    fn get_mut(&mut self, abs: u64) -> Option<&mut Entry> {
        let pos = abs.checked_sub(self.dropped)?;
        self.entries.get_mut(usize::try_from(pos).ok()?)
    }

    pub fn add_ref(&mut self, abs: u64) {
        if let Some(e) = self.get_mut(abs) {
            e.refs += 1;
        }
    }

    pub fn release(&mut self, abs: u64) {
        if let Some(e) = self.get_mut(abs) {
            e.refs = e.refs.saturating_sub(1);
        }
    }

    /// Newest entry with this name and value.
    pub fn find_field(&self, name: &[u8], value: &[u8]) -> Option<u64> {
        self.names.get(name)?.values.get(value).copied()
    }

    /// Newest entry with this name.
    pub fn find_name(&self, name: &[u8]) -> Option<u64> {
        self.names.get(name).map(|s| s.newest)
    }

    /// RFC 9204 §2.1.1: an entry can be evicted once its insertion is acknowledged and no
    /// unacknowledged section references it.
    fn evictable(&self, pos: usize, known_received: u64) -> bool {
        let e = &self.entries[pos];
        e.refs == 0 && self.dropped + (pos as u64) < known_received
    }

    /// Whether `size` more bytes fit after evicting only evictable entries.
    pub fn can_fit(&self, size: u64, known_received: u64) -> bool {
        if size > self.capacity {
            return false;
        }
        let mut used = self.size;
        let mut pos = 0;
        while used + size > self.capacity {
            if !self.evictable(pos, known_received) {
                return false;
            }
            used -= self.entries[pos].size();
            pos += 1;
        }
        true
    }

    /// Whether the entry starts within the oldest `drain` bytes that the next insertions
    /// would evict (RFC 9204 §2.1.1.1's draining zone): new references to it would keep it
    /// pinned just when the table needs the room, so it is better duplicated.
    pub fn is_draining(&self, abs: u64, drain: u64) -> bool {
        let free = self.capacity - self.size;
        let Some(pos) = abs.checked_sub(self.dropped) else {
            return false;
        };
        let mut before = free;
        for e in self.entries.iter().take(pos as usize) {
            before += e.size();
            if before >= drain {
                return false;
            }
        }
        before < drain
    }

    /// Insert (the caller checked `can_fit`); returns the new absolute index.
    pub fn insert(&mut self, name: Bytes, value: Bytes) -> u64 {
        let size = entry_size(&name, &value);
        debug_assert!(size <= self.capacity);
        self.evict_to(self.capacity - size);
        let abs = self.insert_count();
        let slot = self.names.entry(name.clone()).or_default();
        slot.newest = abs;
        slot.values.insert(value.clone(), abs);
        self.size += size;
        self.entries.push_back(Entry {
            name,
            value,
            refs: 0,
        });
        abs
    }

    /// Change the capacity (the caller made sure only evictable entries go).
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
            let abs = self.dropped;
            self.dropped += 1;
            self.size -= e.size();
            if let Some(slot) = self.names.get_mut(&e.name) {
                if slot.values.get(&e.value) == Some(&abs) {
                    slot.values.remove(&e.value);
                }
                if slot.values.is_empty() {
                    self.names.remove(&e.name);
                }
            }
        }
    }
}

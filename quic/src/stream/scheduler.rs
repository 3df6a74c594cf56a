//! Which stream sends next: strict priority by urgency, round-robin among incremental streams
//! of the same urgency, stream-ID order among non-incremental ones (the RFC 9218 model, so
//! HTTP/3 priorities map onto it directly).

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use super::id::StreamId;

/// Scheduling priority of a stream's sending part.
///
/// Lower `urgency` is served first. Within an urgency, non-incremental streams are sent one at
/// a time in stream-ID order, then incremental streams share the link round-robin (RFC 9218
/// §4). The transport default is urgency 3 and incremental, i.e. plain round-robin; HTTP/3 sets
/// its own values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Priority {
    /// 0 (most urgent) to 7 by RFC 9218 convention; any `u8` works.
    pub urgency: u8,
    /// Whether the stream's data is useful in pieces, so it can be interleaved with others.
    pub incremental: bool,
}

impl Default for Priority {
    fn default() -> Self {
        Self {
            urgency: 3,
            incremental: true,
        }
    }
}

#[derive(Debug, Default)]
struct Level {
    sequential: BTreeSet<StreamId>,
    round_robin: VecDeque<StreamId>,
}

/// Streams with data to send. Each stream is in at most one place; the owner tracks membership
/// (`queued` flag on the stream) so pushes never duplicate.
#[derive(Debug, Default)]
pub(crate) struct Scheduler {
    levels: BTreeMap<u8, Level>,
    len: usize,
}

impl Scheduler {
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Adds a stream at the back of its level (it sent last, or just became ready).
    pub(crate) fn push(&mut self, id: StreamId, prio: Priority) {
        let level = self.levels.entry(prio.urgency).or_default();
        if prio.incremental {
            level.round_robin.push_back(id);
        } else {
            level.sequential.insert(id);
        }
        self.len += 1;
    }

    /// Puts a stream that was taken but not served back where it was: at the front of its
    /// level, so it keeps its turn (sequential streams are ordered by ID anyway).
    pub(crate) fn push_front(&mut self, id: StreamId, prio: Priority) {
        let level = self.levels.entry(prio.urgency).or_default();
        if prio.incremental {
            level.round_robin.push_front(id);
        } else {
            level.sequential.insert(id);
        }
        self.len += 1;
    }

    /// Takes the next stream to serve.
    pub(crate) fn pop(&mut self) -> Option<StreamId> {
        let mut entry = self.levels.first_entry()?;
        let level = entry.get_mut();
        let id = match level.sequential.pop_first() {
            Some(id) => id,
            None => level.round_robin.pop_front()?,
        };
        if level.sequential.is_empty() && level.round_robin.is_empty() {
            entry.remove();
        }
        self.len -= 1;
        Some(id)
    }

    /// Removes a stream (reset or closed) wherever it is. Linear in its level; rare.
    pub(crate) fn remove(&mut self, id: StreamId, prio: Priority) -> bool {
        let Some(level) = self.levels.get_mut(&prio.urgency) else {
            return false;
        };
        let removed = if prio.incremental {
            let before = level.round_robin.len();
            level.round_robin.retain(|&x| x != id);
            before != level.round_robin.len()
        } else {
            level.sequential.remove(&id)
        };
        if level.sequential.is_empty() && level.round_robin.is_empty() {
            self.levels.remove(&prio.urgency);
        }
        if removed {
            self.len -= 1;
        }
        removed
    }
}

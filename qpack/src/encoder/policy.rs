//! What to put in the dynamic table. Inserting costs about as much as a literal on the
//! encoder stream and takes room from other entries, so it pays only for fields that come
//! back: we index a field line when its name usually carries repeating values, or when the
//! same name and value were seen recently.

use std::collections::hash_map::DefaultHasher;
use std::collections::{HashMap, VecDeque};
use std::hash::{Hash, Hasher};

/// Names whose values are mostly unique per message: indexing them on first sight would
/// mostly evict useful entries.
const VOLATILE_NAMES: &[&[u8]] = &[
    b":path",
    b"content-length",
    b"content-range",
    b"date",
    b"etag",
    b"expires",
    b"if-modified-since",
    b"if-none-match",
    b"last-modified",
    b"location",
    b"referer",
    b"age",
    b"x-request-id",
    b"x-fb-trace-id",
    b"x-fb-debug",
    b"set-cookie",
];

/// Recently seen name + value hashes, a bounded window, and per-name counts of how often a
/// value repeated.
#[derive(Debug)]
pub(super) struct History {
    window: VecDeque<u64>,
    counts: HashMap<u64, u32>,
    limit: usize,
    /// name hash -> (fields seen, of which repeats)
    names: HashMap<u64, (u32, u32)>,
}

/// Bound on the per-name statistics (cleared when exceeded: memory stays bounded).
const MAX_NAMES: usize = 1024;

impl History {
    pub fn new(limit: usize) -> Self {
        History {
            window: VecDeque::with_capacity(limit),
            counts: HashMap::new(),
            limit,
            names: HashMap::new(),
        }
    }

    /// Whether values of this name have mostly been new so far (at least a few samples).
    pub fn name_volatile(&self, name: &[u8]) -> bool {
        let mut h = DefaultHasher::new();
        name.hash(&mut h);
        match self.names.get(&h.finish()) {
            Some(&(total, repeats)) => total >= 4 && repeats * 2 < total,
            None => false,
        }
    }

    /// Record a field; returns whether it was already in the window.
    pub fn record(&mut self, name: &[u8], value: &[u8]) -> bool {
        let mut h = DefaultHasher::new();
        name.hash(&mut h);
        value.hash(&mut h);
        let key = h.finish();
        let count = self.counts.entry(key).or_insert(0);
        let seen = *count > 0;
        *count += 1;
        let mut h = DefaultHasher::new();
        name.hash(&mut h);
        if self.names.len() >= MAX_NAMES {
            self.names.clear();
        }
        let stats = self.names.entry(h.finish()).or_insert((0, 0));
        stats.0 += 1;
        stats.1 += u32::from(seen);
        self.window.push_back(key);
        if self.window.len() > self.limit {
            let old = self.window.pop_front().expect("non-empty window");
            if let Some(c) = self.counts.get_mut(&old) {
                *c -= 1;
                if *c == 0 {
                    self.counts.remove(&old);
                }
            }
        }
        seen
    }
}

/// Whether values of this name usually differ between messages.
pub(super) fn is_volatile(name: &[u8]) -> bool {
    VOLATILE_NAMES.contains(&name)
}

/// Decide whether to insert a field of `size` bytes (RFC 9204 §3.2.1) into a table of
/// `capacity`, given whether the same name and value were seen recently.
pub(super) fn should_insert(
    history: &History,
    name: &[u8],
    size: u64,
    capacity: u64,
    seen: bool,
) -> bool {
    if size > capacity {
        return false;
    }
    if seen {
        // A repeat: worth it unless it would take over most of a small table.
        return size <= capacity * 3 / 4;
    }
    // First sight: only for names whose values tend to repeat, and only small entries, so
    // a one-off value does not push out entries that are in use. (Measured on the qifs
    // corpus: inserting larger first-seen entries churns 256- and 512-byte tables.)
    !is_volatile(name) && !history.name_volatile(name) && size * 16 <= capacity
}

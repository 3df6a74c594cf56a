//! A set of disjoint, non-adjacent half-open `u64` ranges: the bookkeeping behind acknowledged
//! and lost byte ranges of the send buffer.

use std::collections::BTreeMap;
use std::ops::Range;

/// Disjoint ranges keyed by start; adjacent or overlapping inserts are merged, so the map stays
/// as small as the number of holes.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct RangeSet {
    map: BTreeMap<u64, u64>,
}

impl RangeSet {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Number of disjoint ranges (not bytes).
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }

    /// Adds `r`; returns whether any value was new.
    pub(crate) fn insert(&mut self, r: Range<u64>) -> bool {
        if r.start >= r.end {
            return false;
        }
        let (mut start, mut end) = (r.start, r.end);
        if let Some((&s, &e)) = self.map.range(..=start).next_back() {
            if e >= end {
                return false;
            }
            if e >= start {
                start = s;
                self.map.remove(&s);
            }
        }
        while let Some((&s, &e)) = self.map.range(start..=end).next() {
            self.map.remove(&s);
            end = end.max(e);
        }
        self.map.insert(start, end);
        true
    }

    /// Removes every value in `r`.
    pub(crate) fn remove(&mut self, r: Range<u64>) {
        if r.start >= r.end {
            return;
        }
        if let Some((&s, &e)) = self.map.range(..r.start).next_back() {
            if e > r.start {
                self.map.insert(s, r.start);
                if e > r.end {
                    self.map.insert(r.end, e);
                    return;
                }
            }
        }
        while let Some((&s, &e)) = self.map.range(r.start..r.end).next() {
            self.map.remove(&s);
            if e > r.end {
                self.map.insert(r.end, e);
                break;
            }
        }
    }

    /// The lowest range.
    pub(crate) fn first(&self) -> Option<Range<u64>> {
        self.map.first_key_value().map(|(&s, &e)| s..e)
    }

    /// Removes and returns the lowest range.
    pub(crate) fn pop_first(&mut self) -> Option<Range<u64>> {
        self.map.pop_first().map(|(s, e)| s..e)
    }

    /// Whether `v` is in the set.
    #[cfg(test)]
    pub(crate) fn contains(&self, v: u64) -> bool {
        self.map
            .range(..=v)
            .next_back()
            .is_some_and(|(_, &e)| e > v)
    }

    /// Ranges intersecting `r`, clipped to it, in order.
    pub(crate) fn overlapping(&self, r: Range<u64>) -> impl Iterator<Item = Range<u64>> + '_ {
        let before = self
            .map
            .range(..r.start)
            .next_back()
            .filter(|(_, &e)| e > r.start)
            .map(|(&s, &e)| s..e);
        let rest = self.map.range(r.start..r.end).map(|(&s, &e)| s..e);
        let (lo, hi) = (r.start, r.end);
        before
            .into_iter()
            .chain(rest)
            .map(move |x| x.start.max(lo)..x.end.min(hi))
            .filter(|x| x.start < x.end)
    }

    /// All ranges, in order.
    #[cfg(any(test, fuzzing))]
    pub(crate) fn iter(&self) -> impl Iterator<Item = Range<u64>> + '_ {
        self.map.iter().map(|(&s, &e)| s..e)
    }

    /// Total number of values in the set.
    #[cfg(test)]
    pub(crate) fn total(&self) -> u64 {
        self.map.iter().map(|(s, e)| e - s).sum()
    }
}

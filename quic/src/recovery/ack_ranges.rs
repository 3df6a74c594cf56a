//! The receiver's record of packet numbers it has processed in one packet number space: a
//! bounded, sorted set of half-open ranges used both to build ACK frames and to discard
//! duplicates.
//!
//! RFC 9000 §13.2.3: "A receiver limits the number of ACK Ranges it remembers and sends in ACK
//! frames, both to limit the size of ACK frames and to avoid resource exhaustion." The set keeps
//! at most `max_ranges` ranges; when a new range would exceed that, the range with the smallest
//! packet numbers is forgotten and a floor is raised past it.
//!
//! RFC 9000 §13.2.3: "A receiver MUST retain an ACK Range unless it can ensure that it will not
//! subsequently accept packets with numbers in that range. Maintaining a minimum packet number
//! that increases as ranges are discarded is one way to achieve this with minimal state." That
//! floor is [`AckRanges::floor`]: every packet number below it is reported as a duplicate by
//! [`AckRanges::insert`], so forgetting a range can never let a replayed packet through
//! (RFC 9000 §12.3: a receiver "MUST discard a newly unprotected packet unless it is certain
//! that it has not processed another packet with the same packet number").

use std::ops::Range;

/// Default bound on the number of remembered ranges. 32 ranges fit comfortably in one ACK frame
/// (each range costs two varints, at most 16 bytes) and tolerate heavy reordering.
pub const DEFAULT_MAX_RANGES: usize = 32;

/// A bounded set of received packet numbers, kept as sorted, disjoint, non-adjacent half-open
/// ranges (the form [`crate::frame::AckEncoder::ascending`] expects).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AckRanges {
    /// Ascending, non-empty, separated by at least one missing packet number.
    ranges: Vec<Range<u64>>,
    max_ranges: usize,
    /// Packet numbers below this are treated as already seen (see the module documentation).
    floor: u64,
}

impl Default for AckRanges {
    fn default() -> Self {
        Self::new(DEFAULT_MAX_RANGES)
    }
}

impl AckRanges {
    /// An empty set that remembers at most `max_ranges` ranges (at least one).
    pub fn new(max_ranges: usize) -> Self {
        let max_ranges = max_ranges.max(1);
        Self {
            ranges: Vec::with_capacity(max_ranges + 1),
            max_ranges,
            floor: 0,
        }
    }

    /// Records `pn` as received. Returns `false` if it is a duplicate, or is below the floor and
    /// so might be one; the caller must then discard the packet (RFC 9000 §12.3).
    pub fn insert(&mut self, pn: u64) -> bool {
        if pn < self.floor {
            return false;
        }
        // Packet numbers are below 2^62 (RFC 9000 §12.3); refuse the one value whose successor
        // does not exist rather than overflow.
        let Some(next) = pn.checked_add(1) else {
            return false;
        };
        // First range that ends at or after `pn`: the one that contains `pn`, that `pn` extends
        // at its top, or the first range above `pn`.
        let idx = self.ranges.partition_point(|r| r.end < pn);
        match self.ranges.get_mut(idx) {
            Some(r) if r.start <= pn && pn < r.end => return false,
            Some(r) if r.end == pn => {
                r.end = next;
                // Filling the gap to the next range merges the two: a gap of zero packets
                // cannot be encoded (RFC 9000 §19.3.1).
                if self.ranges.get(idx + 1).is_some_and(|n| n.start == next) {
                    let upper = self.ranges.remove(idx + 1);
                    self.ranges[idx].end = upper.end;
                }
                return true;
            }
            // The previous range ends before `pn` (partition_point), so no merge downwards.
            Some(r) if r.start == next => {
                r.start = pn;
                return true;
            }
            _ => self.ranges.insert(idx, pn..next),
        }
        if self.ranges.len() > self.max_ranges {
            // RFC 9000 §13.2.3: "If it does not [fit], then older ranges (those with the
            // smallest packet numbers) are omitted." Forget the oldest and raise the floor so
            // that its packet numbers are never accepted again.
            let oldest = self.ranges.remove(0);
            self.floor = oldest.end;
        }
        true
    }

    /// Whether `pn` must be treated as already received: it is in a range or below the floor.
    pub fn contains(&self, pn: u64) -> bool {
        if pn < self.floor {
            return true;
        }
        let idx = self.ranges.partition_point(|r| r.end <= pn);
        self.ranges.get(idx).is_some_and(|r| r.start <= pn)
    }

    /// Whether every packet number in `range` is treated as received (in one range, or below the
    /// floor). An empty range is trivially covered.
    pub fn contains_all(&self, range: Range<u64>) -> bool {
        let start = range.start.max(self.floor);
        if start >= range.end {
            return true;
        }
        let idx = self.ranges.partition_point(|r| r.end <= start);
        self.ranges
            .get(idx)
            .is_some_and(|r| r.start <= start && range.end <= r.end)
    }

    /// Forgets every packet number up to and including `largest`, once an ACK frame reporting
    /// them has itself been acknowledged (RFC 9000 §13.2.4: "the receiver can stop acknowledging
    /// packets less than or equal to the Largest Acknowledged field in the sent ACK frame").
    /// The floor rises past `largest`, so those packet numbers stay duplicates.
    pub fn prune_through(&mut self, largest: u64) {
        let Some(new_floor) = largest.checked_add(1) else {
            self.ranges.clear();
            self.floor = u64::MAX;
            return;
        };
        if new_floor <= self.floor {
            return;
        }
        self.floor = new_floor;
        let drop = self.ranges.partition_point(|r| r.end <= new_floor);
        self.ranges.drain(..drop);
        if let Some(first) = self.ranges.first_mut() {
            first.start = first.start.max(new_floor);
        }
    }

    /// The remembered ranges, ascending, half-open, non-adjacent.
    pub fn as_slice(&self) -> &[Range<u64>] {
        &self.ranges
    }

    /// The remembered ranges from the highest packet numbers down.
    pub fn iter_desc(&self) -> impl DoubleEndedIterator<Item = Range<u64>> + '_ {
        self.ranges.iter().rev().cloned()
    }

    /// The largest remembered packet number.
    pub fn max(&self) -> Option<u64> {
        self.ranges.last().map(|r| r.end - 1)
    }

    /// Number of remembered ranges.
    pub fn len(&self) -> usize {
        self.ranges.len()
    }

    /// Whether no range is remembered.
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// The bound on remembered ranges.
    pub fn max_ranges(&self) -> usize {
        self.max_ranges
    }

    /// Packet numbers below this are reported as duplicates.
    pub fn floor(&self) -> u64 {
        self.floor
    }
}

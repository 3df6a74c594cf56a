//! ACK frames (RFC 9000 §19.3): validated, allocation-free decoding and encoding straight from a
//! receiver's range set.

use super::{put_type, type_len, FrameType, Invalid};
use crate::coding::{put_varint, varint_len, BufExt, VarInt};
use bytes::{BufMut, Bytes, BytesMut};
use std::fmt;
use std::ops::{Range, RangeInclusive};

/// The three ECN counters of an ACK frame of type 0x03 (RFC 9000 §19.3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct EcnCounts {
    /// Packets received with the ECT(0) codepoint.
    pub ect0: u64,
    /// Packets received with the ECT(1) codepoint.
    pub ect1: u64,
    /// Packets received with the ECN-CE codepoint.
    pub ce: u64,
}

impl EcnCounts {
    /// Bytes the three counters take on the wire. Each must be below 2^62.
    pub fn encoded_len(&self) -> usize {
        varint_len(self.ect0) + varint_len(self.ect1) + varint_len(self.ce)
    }

    /// Writes the three counters. Each must be below 2^62 (debug builds assert it).
    pub fn encode<B: BufMut>(&self, buf: &mut B) {
        put_varint(buf, self.ect0);
        put_varint(buf, self.ect1);
        put_varint(buf, self.ce);
    }

    fn decode(buf: &mut Bytes) -> Result<Self, Invalid> {
        Ok(Self {
            ect0: buf.get_var()?,
            ect1: buf.get_var()?,
            ce: buf.get_var()?,
        })
    }

    fn in_range(&self) -> bool {
        let max = VarInt::MAX.into_inner();
        self.ect0 <= max && self.ect1 <= max && self.ce <= max
    }
}

/// An ACK frame (RFC 9000 §19.3), as decoded or as built by [`AckEncoder::to_ack`].
///
/// The ranges stay in their wire form (a slice of the packet payload), and [`Ack::iter`] decodes
/// them lazily from the largest down, so decoding an ACK never allocates. Every range was checked
/// when the frame was decoded, so iterating cannot fail. Equality compares that wire form: two
/// ACKs of the same ranges with differently sized varints are not equal.
#[derive(Clone, PartialEq, Eq)]
pub struct Ack {
    largest: u64,
    delay: u64,
    /// The ACK Range Count field: ranges after the first.
    additional: u64,
    /// First ACK Range followed by `additional` (Gap, ACK Range Length) pairs, as on the wire.
    ranges: Bytes,
    ecn: Option<EcnCounts>,
}

impl Ack {
    /// ACK (0x02) or ACK_ECN (0x03).
    pub fn frame_type(&self) -> FrameType {
        if self.ecn.is_some() {
            FrameType::ACK_ECN
        } else {
            FrameType::ACK
        }
    }

    /// The Largest Acknowledged packet number.
    pub fn largest(&self) -> u64 {
        self.largest
    }

    /// The ACK Delay field as sent: microseconds divided by 2^ack_delay_exponent of the sender
    /// (RFC 9000 §19.3). Scaling it is the connection's job, since only it knows the exponent.
    pub fn delay(&self) -> u64 {
        self.delay
    }

    /// The ECN counts, present for frame type 0x03.
    pub fn ecn(&self) -> Option<EcnCounts> {
        self.ecn
    }

    /// The number of acknowledged ranges (ACK Range Count + 1).
    pub fn range_count(&self) -> u64 {
        self.additional.saturating_add(1)
    }

    /// The acknowledged ranges, inclusive, from the largest packet number down.
    pub fn iter(&self) -> AckIter<'_> {
        AckIter::new(self.largest, &self.ranges)
    }

    /// The acknowledged ranges as half-open ranges, from the largest packet number down.
    pub fn ranges(&self) -> impl Iterator<Item = Range<u64>> + '_ {
        // end() <= 2^62 - 1, so adding one cannot overflow.
        self.iter().map(|r| *r.start()..*r.end() + 1)
    }

    /// Bytes [`Ack::encode`] writes.
    pub fn encoded_len(&self) -> usize {
        type_len(self.frame_type())
            + varint_len(self.largest)
            + varint_len(self.delay)
            + varint_len(self.additional)
            + self.ranges.len()
            + self.ecn.map_or(0, |e| e.encoded_len())
    }

    /// Writes the frame.
    pub fn encode<B: BufMut>(&self, buf: &mut B) {
        put_type(buf, self.frame_type());
        put_varint(buf, self.largest);
        put_varint(buf, self.delay);
        put_varint(buf, self.additional);
        buf.put_slice(&self.ranges);
        if let Some(ecn) = &self.ecn {
            ecn.encode(buf);
        }
    }

    /// Decodes the body of an ACK frame (after the type), checking every range.
    pub(super) fn decode(buf: &mut Bytes, with_ecn: bool) -> Result<Self, Invalid> {
        let largest = buf.get_var()?;
        let delay = buf.get_var()?;
        let additional = buf.get_var()?;
        // Walk every range now, so that a decoded Ack is valid and iterating it later cannot
        // fail. The walk is bounded by the payload, not by the claimed count: each step reads at
        // least one byte and stops at the end of the input.
        let ranges_len = {
            let mut walk = AckIter::new(largest, buf);
            walk.step()?;
            for _ in 0..additional {
                walk.step()?;
            }
            buf.len() - walk.data.len()
        };
        let ranges = buf.split_to(ranges_len);
        let ecn = if with_ecn {
            Some(EcnCounts::decode(buf)?)
        } else {
            None
        };
        Ok(Self {
            largest,
            delay,
            additional,
            ranges,
            ecn,
        })
    }
}

impl fmt::Debug for Ack {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        struct Ranges<'a>(&'a Ack);
        impl fmt::Debug for Ranges<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_list().entries(self.0.iter()).finish()
            }
        }
        f.debug_struct("Ack")
            .field("largest", &self.largest)
            .field("delay", &self.delay)
            .field("ranges", &Ranges(self))
            .field("ecn", &self.ecn)
            .finish()
    }
}

/// The ranges of an [`Ack`], inclusive, from the largest packet number down.
#[derive(Debug, Clone)]
pub struct AckIter<'a> {
    data: &'a [u8],
    /// Largest Acknowledged, the top of the first range.
    largest: u64,
    /// Smallest packet number of the range before; `None` before the first range.
    prev_smallest: Option<u64>,
}

impl<'a> AckIter<'a> {
    fn new(largest: u64, data: &'a [u8]) -> Self {
        Self {
            data,
            largest,
            prev_smallest: None,
        }
    }

    /// Reads the next range: the First ACK Range the first time, then one (Gap, ACK Range
    /// Length) pair per call.
    fn step(&mut self) -> Result<RangeInclusive<u64>, Invalid> {
        let largest = match self.prev_smallest {
            None => self.largest,
            Some(prev) => {
                let gap = self.data.get_var()?;
                // RFC 9000 §19.3.1: largest = previous_smallest - gap - 2. "If any computed
                // packet number is negative, an endpoint MUST generate a connection error of
                // type FRAME_ENCODING_ERROR."
                prev.checked_sub(gap)
                    .and_then(|v| v.checked_sub(2))
                    .ok_or(Invalid("ACK gap below packet number 0"))?
            }
        };
        let len = self.data.get_var()?;
        // RFC 9000 §19.3.1: smallest = largest - ack_range; negative is FRAME_ENCODING_ERROR.
        let smallest = largest
            .checked_sub(len)
            .ok_or(Invalid("ACK range below packet number 0"))?;
        self.prev_smallest = Some(smallest);
        Ok(smallest..=largest)
    }
}

impl Iterator for AckIter<'_> {
    type Item = RangeInclusive<u64>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.data.is_empty() {
            return None;
        }
        match self.step() {
            Ok(range) => Some(range),
            Err(_) => {
                // Unreachable for a decoded Ack (validated on decode); stop rather than loop.
                self.data = &[];
                None
            }
        }
    }
}

impl std::iter::FusedIterator for AckIter<'_> {}

/// Writes an ACK frame straight from a receiver's set of acknowledged packet ranges, without
/// building an [`Ack`] first.
///
/// The ranges are half-open (`start..end`, as an ack-range tracker stores them), non-empty,
/// sorted, and separated by at least one missing packet (adjacent ranges must be merged: a Gap
/// cannot encode zero missing packets, RFC 9000 §19.3.1). Capping keeps the ranges with the
/// highest packet numbers, which are the ones the peer most needs (RFC 9000 §13.2.4).
///
/// ```
/// # use quic::frame::AckEncoder;
/// let ranges = [0..3, 5..6, 9..12]; // ascending, as a range set stores them
/// let ack = AckEncoder::ascending(&ranges, 0, None).unwrap().max_ranges(2);
/// let mut buf = Vec::new();
/// ack.encode(&mut buf);
/// assert_eq!(buf.len(), ack.encoded_len());
/// assert_eq!(ack.to_ack().ranges().collect::<Vec<_>>(), [9..12, 5..6]);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AckEncoder<'a> {
    ranges: &'a [Range<u64>],
    descending: bool,
    delay: u64,
    ecn: Option<EcnCounts>,
}

impl<'a> AckEncoder<'a> {
    /// An encoder for `ranges` sorted from the lowest packet numbers up. `delay` is the ACK Delay
    /// field (already divided by 2^ack_delay_exponent; values of 2^62 or more are clamped).
    /// `None` if `ranges` is empty or breaks the rules in the type's documentation, or if a
    /// packet number or ECN count is 2^62 or more.
    pub fn ascending(ranges: &'a [Range<u64>], delay: u64, ecn: Option<EcnCounts>) -> Option<Self> {
        Self::new(ranges, false, delay, ecn)
    }

    /// Like [`AckEncoder::ascending`], for `ranges` sorted from the highest packet numbers down.
    pub fn descending(
        ranges: &'a [Range<u64>],
        delay: u64,
        ecn: Option<EcnCounts>,
    ) -> Option<Self> {
        Self::new(ranges, true, delay, ecn)
    }

    fn new(
        ranges: &'a [Range<u64>],
        descending: bool,
        delay: u64,
        ecn: Option<EcnCounts>,
    ) -> Option<Self> {
        let enc = Self {
            ranges,
            descending,
            delay: delay.min(VarInt::MAX.into_inner()),
            ecn,
        };
        enc.is_valid().then_some(enc)
    }

    /// Checks the preconditions once, so that encoding needs no checks and cannot underflow.
    fn is_valid(&self) -> bool {
        let mut ranges = self.desc();
        let Some(first) = ranges.next() else {
            return false;
        };
        // Largest Acknowledged = first.end - 1 must be a varint.
        if first.start >= first.end || first.end > VarInt::MAX.into_inner() + 1 {
            return false;
        }
        let mut prev_start = first.start;
        for r in ranges {
            if r.start >= r.end || r.end >= prev_start {
                return false;
            }
            prev_start = r.start;
        }
        self.ecn.map_or(true, |e| e.in_range())
    }

    /// The ranges from the highest down.
    fn desc(&self) -> DescRanges<'a> {
        if self.descending {
            DescRanges::Forward(self.ranges.iter())
        } else {
            DescRanges::Backward(self.ranges.iter().rev())
        }
    }

    /// The highest range, which every valid encoder has.
    fn first(&self) -> Range<u64> {
        self.desc().next().cloned().unwrap_or(0..1)
    }

    /// ACK (0x02) or ACK_ECN (0x03).
    pub fn frame_type(&self) -> FrameType {
        if self.ecn.is_some() {
            FrameType::ACK_ECN
        } else {
            FrameType::ACK
        }
    }

    /// The number of ranges that will be written.
    pub fn range_count(&self) -> usize {
        self.ranges.len()
    }

    /// Keeps only the `n` ranges with the highest packet numbers (at least one is always kept).
    pub fn max_ranges(mut self, n: usize) -> Self {
        let n = n.clamp(1, self.ranges.len());
        self.ranges = if self.descending {
            self.ranges.split_at(n).0
        } else {
            self.ranges.split_at(self.ranges.len() - n).1
        };
        self
    }

    /// Keeps as many of the highest ranges as fit in `budget` bytes, or `None` if not even the
    /// frame with its highest range alone fits.
    pub fn fit(self, budget: usize) -> Option<Self> {
        let fixed = self.fixed_len();
        // With k ranges the ACK Range Count field holds k - 1; it is 0 (one byte) for k = 1.
        if fixed + 1 > budget {
            return None;
        }
        let mut ranges = self.desc();
        let mut prev_start = ranges.next()?.start;
        let (mut extra, mut k) = (0usize, 1usize);
        for r in ranges {
            let add = pair_len(prev_start, r);
            if fixed + varint_len(k as u64) + extra + add > budget {
                break;
            }
            extra += add;
            k += 1;
            prev_start = r.start;
        }
        Some(self.max_ranges(k))
    }

    /// Everything but the ACK Range Count field and the (Gap, Length) pairs.
    fn fixed_len(&self) -> usize {
        let first = self.first();
        type_len(self.frame_type())
            + varint_len(first.end - 1)
            + varint_len(self.delay)
            + varint_len(first.end - 1 - first.start)
            + self.ecn.map_or(0, |e| e.encoded_len())
    }

    /// Bytes [`AckEncoder::encode`] writes.
    pub fn encoded_len(&self) -> usize {
        let mut ranges = self.desc();
        let Some(first) = ranges.next() else { return 0 };
        let mut prev_start = first.start;
        let mut extra = 0;
        for r in ranges {
            extra += pair_len(prev_start, r);
            prev_start = r.start;
        }
        self.fixed_len() + varint_len(self.ranges.len() as u64 - 1) + extra
    }

    /// Writes the frame.
    pub fn encode<B: BufMut>(&self, buf: &mut B) {
        let first = self.first();
        put_type(buf, self.frame_type());
        put_varint(buf, first.end - 1);
        put_varint(buf, self.delay);
        put_varint(buf, self.ranges.len() as u64 - 1);
        self.put_ranges(buf);
        if let Some(ecn) = &self.ecn {
            ecn.encode(buf);
        }
    }

    /// Writes First ACK Range and the (Gap, ACK Range Length) pairs (RFC 9000 §19.3.1).
    fn put_ranges<B: BufMut>(&self, buf: &mut B) {
        let mut ranges = self.desc();
        let Some(first) = ranges.next() else { return };
        put_varint(buf, first.end - 1 - first.start);
        let mut prev_start = first.start;
        for r in ranges {
            // Gap: packets missing between the ranges, minus one: previous_smallest - largest
            // - 2 with largest = r.end - 1. `is_valid` made sure r.end < prev_start.
            put_varint(buf, prev_start - r.end - 1);
            put_varint(buf, r.end - 1 - r.start);
            prev_start = r.start;
        }
    }

    /// Builds the [`Ack`] this encoder writes (allocates the range bytes).
    pub fn to_ack(&self) -> Ack {
        let mut ranges = BytesMut::with_capacity(self.ranges.len() * 4);
        self.put_ranges(&mut ranges);
        Ack {
            largest: self.first().end - 1,
            delay: self.delay,
            additional: self.ranges.len() as u64 - 1,
            ranges: ranges.freeze(),
            ecn: self.ecn,
        }
    }
}

/// Bytes of the (Gap, ACK Range Length) pair for range `r` below a range starting at
/// `prev_start`.
fn pair_len(prev_start: u64, r: &Range<u64>) -> usize {
    varint_len(prev_start - r.end - 1) + varint_len(r.end - 1 - r.start)
}

/// A slice of ranges walked from the highest down, whichever way it is sorted.
enum DescRanges<'a> {
    Forward(std::slice::Iter<'a, Range<u64>>),
    Backward(std::iter::Rev<std::slice::Iter<'a, Range<u64>>>),
}

impl<'a> Iterator for DescRanges<'a> {
    type Item = &'a Range<u64>;

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            DescRanges::Forward(it) => it.next(),
            DescRanges::Backward(it) => it.next(),
        }
    }
}

//! The send buffer of one stream: application data from the first unacknowledged byte to the
//! last byte written, with the bookkeeping of what was sent, acknowledged and lost.
//!
//! `write_chunk` keeps the caller's `Bytes` as is; `write` copies slices into a growing tail
//! buffer so that many small writes still produce large frames. Memory is released as soon as
//! a prefix of the stream is acknowledged.

use std::collections::VecDeque;
use std::ops::Range;

use bytes::{Bytes, BytesMut};

use super::range_set::RangeSet;

#[derive(Debug, Default)]
pub(crate) struct SendBuffer {
    /// Frozen data, each with its stream offset, covering `[base, tail_start)` contiguously.
    chunks: VecDeque<(u64, Bytes)>,
    /// Bytes written with `write(&[u8])` after the last frozen chunk, at `tail_start`.
    tail: BytesMut,
    /// Offset of the first byte not yet acknowledged (everything below is released).
    base: u64,
    /// One past the largest offset ever sent (the next new byte to send).
    sent: u64,
    /// Acknowledged ranges above `base`.
    acked: RangeSet,
    /// Sent ranges declared lost and not acknowledged since: retransmitted before new data
    /// (RFC 9000 §13.3: "The data in STREAM frames is ... retransmitted in new STREAM frames").
    lost: RangeSet,
}

impl SendBuffer {
    /// One past the last byte written.
    pub(crate) fn end(&self) -> u64 {
        self.tail_start() + self.tail.len() as u64
    }

    fn tail_start(&self) -> u64 {
        self.chunks
            .back()
            .map_or(self.base, |(off, c)| off + c.len() as u64)
    }

    /// One past the largest offset sent.
    pub(crate) fn sent(&self) -> u64 {
        self.sent
    }

    /// Bytes held: written and not yet acknowledged as a prefix.
    pub(crate) fn buffered(&self) -> u64 {
        self.end() - self.base
    }

    /// Whether every written byte is acknowledged.
    pub(crate) fn is_fully_acked(&self) -> bool {
        self.base == self.end()
    }

    pub(crate) fn has_lost(&self) -> bool {
        !self.lost.is_empty()
    }

    pub(crate) fn has_unsent(&self) -> bool {
        self.sent < self.end()
    }

    /// Appends a copy of `data` to the tail.
    pub(crate) fn write(&mut self, data: &[u8]) {
        self.tail.extend_from_slice(data);
    }

    /// Appends `data` without copying it.
    pub(crate) fn write_chunk(&mut self, data: Bytes) {
        if data.is_empty() {
            return;
        }
        self.freeze_tail();
        let off = self.end();
        self.chunks.push_back((off, data));
    }

    fn freeze_tail(&mut self) {
        if !self.tail.is_empty() {
            let off = self.tail_start();
            let frozen = self.tail.split().freeze();
            self.chunks.push_back((off, frozen));
        }
    }

    /// The first lost range, clipped to `max_len` bytes.
    pub(crate) fn next_lost(&self, max_len: u64) -> Option<Range<u64>> {
        let r = self.lost.first()?;
        Some(r.start..r.end.min(r.start.saturating_add(max_len)))
    }

    /// Marks `range` (previously lost) as sent again.
    pub(crate) fn mark_retransmitted(&mut self, range: Range<u64>) {
        self.lost.remove(range);
    }

    /// Marks the next `len` new bytes as sent; returns their range.
    pub(crate) fn mark_sent_new(&mut self, len: u64) -> Range<u64> {
        let start = self.sent;
        self.sent = (start + len).min(self.end());
        start..self.sent
    }

    /// The bytes of `range`, which must lie in `[base, end)`. Zero-copy when the range is inside
    /// one chunk; a range that crosses chunk boundaries is copied into one buffer (bounded by a
    /// packet's worth of data) so that it goes out as a single frame.
    pub(crate) fn get(&mut self, range: Range<u64>) -> Bytes {
        debug_assert!(self.base <= range.start && range.end <= self.end());
        if range.end > self.tail_start() {
            self.freeze_tail();
        }
        let idx = self
            .chunks
            .partition_point(|(off, c)| off + c.len() as u64 <= range.start);
        let (off, chunk) = &self.chunks[idx];
        let rel = (range.start - off) as usize;
        let len = (range.end - range.start) as usize;
        if rel + len <= chunk.len() {
            return chunk.slice(rel..rel + len);
        }
        let mut out = BytesMut::with_capacity(len);
        let mut pos = range.start;
        for (off, chunk) in self.chunks.range(idx..) {
            if pos >= range.end {
                break;
            }
            let from = (pos - off) as usize;
            let to = ((range.end - off) as usize).min(chunk.len());
            out.extend_from_slice(&chunk[from..to]);
            pos = off + to as u64;
        }
        out.freeze()
    }

    /// Records an acknowledgment; returns the bytes of memory released.
    pub(crate) fn ack(&mut self, range: Range<u64>) -> u64 {
        let range = range.start.max(self.base)..range.end.min(self.sent);
        if range.start >= range.end {
            return 0;
        }
        self.lost.remove(range.clone());
        self.acked.insert(range);
        let old_base = self.base;
        while let Some(first) = self.acked.first() {
            if first.start > self.base {
                break;
            }
            self.base = self.base.max(first.end);
            self.acked.pop_first();
        }
        if self.base == old_base {
            return 0;
        }
        while let Some((off, chunk)) = self.chunks.front_mut() {
            let chunk_end = *off + chunk.len() as u64;
            if chunk_end <= self.base {
                self.chunks.pop_front();
            } else {
                if *off < self.base {
                    let _ = chunk.split_to((self.base - *off) as usize);
                    *off = self.base;
                }
                break;
            }
        }
        self.base - old_base
    }

    /// Records a loss: the parts of `range` not acknowledged since will be retransmitted.
    pub(crate) fn lose(&mut self, range: Range<u64>) {
        let range = range.start.max(self.base)..range.end.min(self.sent);
        if range.start >= range.end {
            return;
        }
        let acked: Vec<Range<u64>> = self.acked.overlapping(range.clone()).collect();
        self.lost.insert(range);
        for r in acked {
            self.lost.remove(r);
        }
    }

    /// Drops all data (after a reset); returns the bytes released.
    pub(crate) fn clear(&mut self) -> u64 {
        let released = self.buffered();
        let end = self.end();
        self.chunks.clear();
        self.tail = BytesMut::new();
        self.acked = RangeSet::new();
        self.lost = RangeSet::new();
        self.base = end;
        self.sent = self.sent.min(end);
        released
    }

    /// Checks internal consistency (tests and fuzzing).
    #[cfg(any(test, fuzzing))]
    pub(crate) fn check_invariants(&self) {
        assert!(self.base <= self.sent || self.buffered() == 0);
        assert!(self.sent <= self.end());
        let mut pos = self.base;
        for (off, c) in &self.chunks {
            assert_eq!(*off, pos, "send buffer chunks not contiguous");
            assert!(!c.is_empty());
            pos += c.len() as u64;
        }
        for r in self.lost.iter().chain(self.acked.iter()) {
            assert!(
                r.start >= self.base && r.end <= self.sent,
                "range {r:?} out of bounds"
            );
        }
        for r in self.lost.iter() {
            assert_eq!(
                self.acked.overlapping(r).count(),
                0,
                "lost and acked overlap"
            );
        }
    }
}

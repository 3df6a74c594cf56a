//! Reassembly of out-of-order stream data into an in-order byte stream.
//!
//! Chunks are kept as the `Bytes` the frame decoder handed us (zero-copy): overlaps with data
//! already buffered or already read are trimmed away by slicing, so every stream byte is stored
//! at most once. The caller enforces flow control before inserting, so the buffered bytes never
//! exceed the stream's receive window.

use std::collections::BTreeMap;

use bytes::{Bytes, BytesMut};

/// Below this average chunk size, buffered chunks are copied together (see [`Assembler::insert`]).
const SMALL_CHUNK: usize = 64;
/// Chunk count under which fragmentation is not worth a look.
const DEFRAG_MIN_CHUNKS: usize = 32;

/// Out-of-order buffer for one stream's receive side.
#[derive(Debug)]
pub(crate) struct Assembler {
    /// Disjoint chunks keyed by stream offset; every key is at or above `read`.
    chunks: BTreeMap<u64, Bytes>,
    /// Offset of the next byte the application will read.
    read: u64,
    /// Bytes held in `chunks`.
    buffered: u64,
    /// Chunk count that triggers the next defragmentation check.
    defrag_at: usize,
}

impl Default for Assembler {
    fn default() -> Self {
        Self {
            chunks: BTreeMap::new(),
            read: 0,
            buffered: 0,
            defrag_at: DEFRAG_MIN_CHUNKS,
        }
    }
}

impl Assembler {
    /// Offset of the next byte to be read.
    pub(crate) fn read_offset(&self) -> u64 {
        self.read
    }

    /// Bytes buffered (out of order or not yet read).
    pub(crate) fn buffered(&self) -> u64 {
        self.buffered
    }

    /// End of the contiguous data starting at the read offset.
    pub(crate) fn contiguous_end(&self) -> u64 {
        let mut end = self.read;
        for (&off, chunk) in self.chunks.range(self.read..) {
            if off != end {
                break;
            }
            end += chunk.len() as u64;
        }
        end
    }

    /// Whether data is ready at the read offset.
    pub(crate) fn has_readable(&self) -> bool {
        self.chunks
            .first_key_value()
            .is_some_and(|(&off, _)| off == self.read)
    }

    /// Adds `data` at `offset`, keeping only bytes not yet read nor buffered.
    /// Returns whether data became readable at the read offset because of it.
    pub(crate) fn insert(&mut self, offset: u64, mut data: Bytes) -> bool {
        let end = offset + data.len() as u64;
        if end <= self.read || data.is_empty() {
            return false;
        }
        let mut start = offset.max(self.read);
        // Trim against a buffered chunk that starts before us.
        if let Some((&s, c)) = self.chunks.range(..=start).next_back() {
            let ce = s + c.len() as u64;
            if ce >= end {
                return false; // a pure retransmission
            }
            start = start.max(ce);
        }
        let readable_before = self.has_readable();
        // Fill the gaps between later chunks that overlap [start, end).
        while start < end {
            let next = self
                .chunks
                .range(start..end)
                .next()
                .map(|(&s, c)| (s, s + c.len() as u64));
            let gap_end = next.map_or(end, |(s, _)| s);
            if gap_end > start {
                let piece = data.slice((start - offset) as usize..(gap_end - offset) as usize);
                self.buffered += piece.len() as u64;
                self.chunks.insert(start, piece);
            }
            start = next.map_or(end, |(_, ce)| ce);
        }
        // The original allocation may now be shared by slices; drop our handle early.
        data.clear();
        if self.chunks.len() > self.defrag_at {
            self.defragment();
        }
        !readable_before && self.has_readable()
    }

    /// Takes up to `max` contiguous bytes at the read offset.
    pub(crate) fn read(&mut self, max: usize) -> Option<Bytes> {
        if max == 0 {
            return None;
        }
        let entry = self.chunks.first_entry()?;
        if *entry.key() != self.read {
            return None;
        }
        let mut chunk = entry.remove();
        let out = if chunk.len() > max {
            let head = chunk.split_to(max);
            self.chunks.insert(self.read + max as u64, chunk);
            head
        } else {
            chunk
        };
        self.read += out.len() as u64;
        self.buffered -= out.len() as u64;
        Some(out)
    }

    /// Drops everything buffered and moves the read offset to `offset` (used when the
    /// application stops reading or the peer resets the stream).
    pub(crate) fn discard_to(&mut self, offset: u64) {
        self.chunks.clear();
        self.buffered = 0;
        self.read = self.read.max(offset);
    }

    /// Copies runs of small chunks into fresh buffers. A peer sending tiny frames would otherwise
    /// make each buffered byte pin a whole datagram and a map node; copying bounds memory to a
    /// small multiple of the buffered bytes. Runs only when the chunk count has doubled, so the
    /// copying is amortised.
    fn defragment(&mut self) {
        let avg = self.buffered as usize / self.chunks.len().max(1);
        if avg < SMALL_CHUNK {
            let old = std::mem::take(&mut self.chunks);
            let mut run: Option<(u64, BytesMut)> = None;
            for (off, chunk) in old {
                match &mut run {
                    Some((start, buf)) if *start + buf.len() as u64 == off => {
                        buf.extend_from_slice(&chunk)
                    }
                    _ => {
                        if let Some((start, buf)) = run.take() {
                            self.chunks.insert(start, buf.freeze());
                        }
                        run = Some((off, BytesMut::from(&chunk[..])));
                    }
                }
            }
            if let Some((start, buf)) = run {
                self.chunks.insert(start, buf.freeze());
            }
        }
        self.defrag_at = (self.chunks.len() * 2).max(DEFRAG_MIN_CHUNKS);
    }

    /// Checks internal consistency (tests and fuzzing).
    #[cfg(any(test, fuzzing))]
    pub(crate) fn check_invariants(&self) {
        let mut prev_end = self.read;
        let mut total = 0;
        for (&off, c) in &self.chunks {
            assert!(off >= prev_end, "overlapping or stale chunk at {off}");
            assert!(!c.is_empty(), "empty chunk at {off}");
            prev_end = off + c.len() as u64;
            total += c.len() as u64;
        }
        assert_eq!(total, self.buffered);
    }
}

//! Per packet-number-space state (RFC 9000 §12.3): keys, packet numbers, ACK generation, and
//! the CRYPTO stream of that encryption level in both directions.

use std::ops::Range;
use std::time::Duration;

use bytes::Bytes;

use crate::recovery::{AckRanges, AckState, PacketSpace};
use crate::stream::assembler::Assembler;
use crate::transport_error::TransportError;

/// Outgoing CRYPTO data of one level: everything TLS wrote, and which ranges still need
/// (re)sending. Handshake messages are a few KiB, so keeping them until the level's keys are
/// discarded is cheap and makes retransmission trivial (RFC 9000 §13.3: CRYPTO data is resent
/// in new frames, at any offset split).
#[derive(Debug, Default)]
pub struct CryptoSend {
    data: Vec<u8>,
    /// Ranges to send, in offset order, merged.
    pending: Vec<Range<u64>>,
}

impl CryptoSend {
    /// Appends handshake bytes from TLS.
    pub fn write(&mut self, bytes: &[u8]) {
        let start = self.data.len() as u64;
        self.data.extend_from_slice(bytes);
        self.push_pending(start..self.data.len() as u64);
    }

    /// Whether anything waits to be sent.
    pub fn has_pending(&self) -> bool {
        !self.pending.is_empty()
    }

    /// Offset of the next byte to send, if any.
    pub fn peek_offset(&self) -> Option<u64> {
        self.pending.first().map(|r| r.start)
    }

    /// Takes up to `max` bytes of the first pending range: `(offset, bytes)`.
    pub fn next(&mut self, max: usize) -> Option<(u64, &[u8])> {
        let range = self.pending.first_mut()?;
        let len = (range.end - range.start).min(max as u64);
        if len == 0 {
            return None;
        }
        let offset = range.start;
        range.start += len;
        if range.start == range.end {
            self.pending.remove(0);
        }
        Some((offset, &self.data[offset as usize..(offset + len) as usize]))
    }

    /// Puts a lost range back.
    pub fn on_lost(&mut self, range: Range<u64>) {
        self.push_pending(range);
    }

    /// Queues everything sent so far again (a probe with nothing new to send, RFC 9002 §6.2.4).
    pub fn resend_all(&mut self) {
        if !self.data.is_empty() {
            self.push_pending(0..self.data.len() as u64);
        }
    }

    fn push_pending(&mut self, range: Range<u64>) {
        if range.start >= range.end {
            return;
        }
        let pos = self.pending.partition_point(|r| r.end < range.start);
        let mut merged = range;
        while pos < self.pending.len() && self.pending[pos].start <= merged.end {
            let r = self.pending.remove(pos);
            merged = merged.start.min(r.start)..merged.end.max(r.end);
        }
        self.pending.insert(pos, merged);
    }
}

/// Incoming CRYPTO data of one level, reassembled in order, bounded.
#[derive(Debug, Default)]
pub struct CryptoRecv {
    assembler: Assembler,
}

impl CryptoRecv {
    /// Buffers a CRYPTO frame. RFC 9000 §7.5: data beyond what we are willing to buffer is a
    /// CRYPTO_BUFFER_EXCEEDED connection error.
    pub fn insert(&mut self, offset: u64, data: Bytes, limit: u64) -> Result<(), TransportError> {
        let end = offset.saturating_add(data.len() as u64);
        if end > self.assembler.read_offset().saturating_add(limit) {
            return Err(TransportError::crypto_buffer_exceeded(
                "CRYPTO data beyond the buffering limit",
            )
            .with_frame(0x06));
        }
        self.assembler.insert(offset, data);
        Ok(())
    }

    /// Takes the next in-order bytes.
    pub fn read(&mut self) -> Option<Bytes> {
        self.assembler.read(usize::MAX)
    }
}

/// Everything one packet number space holds.
pub struct Space {
    /// Which space.
    pub id: PacketSpace,
    /// Keys of this level, once TLS provided them (for 1-RTT: the current key phase).
    pub keys: Option<rustls::quic::Keys>,
    /// Next packet number to send.
    pub next_pn: u64,
    /// Largest packet number received and decrypted here, for packet number expansion.
    pub largest_received: Option<u64>,
    /// Acknowledgment generation for received packets.
    pub ack: AckState,
    /// Outgoing CRYPTO data.
    pub crypto_send: CryptoSend,
    /// Incoming CRYPTO data.
    pub crypto_recv: CryptoRecv,
    /// Whether the keys were discarded (RFC 9001 §4.9); nothing more is sent or accepted here.
    pub discarded: bool,
    /// An ack-eliciting packet must go out in this space (a probe, RFC 9002 §6.2.4).
    pub ping_pending: bool,
}

impl std::fmt::Debug for Space {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Space")
            .field("id", &self.id)
            .field("has_keys", &self.keys.is_some())
            .field("next_pn", &self.next_pn)
            .field("discarded", &self.discarded)
            .finish()
    }
}

impl Space {
    /// A fresh space.
    pub fn new(id: PacketSpace, max_ack_delay: Duration, max_ack_ranges: usize) -> Self {
        // RFC 9000 §13.2.1: Initial and Handshake packets are acknowledged without delay.
        let delay = if id == PacketSpace::Data {
            max_ack_delay
        } else {
            Duration::ZERO
        };
        Self {
            id,
            keys: None,
            next_pn: 0,
            largest_received: None,
            ack: AckState::with_ranges(id, delay, AckRanges::new(max_ack_ranges)),
            crypto_send: CryptoSend::default(),
            crypto_recv: CryptoRecv::default(),
            discarded: false,
            ping_pending: false,
        }
    }

    /// The packet number the next received packet is expected to have (RFC 9000 §17.1).
    pub fn expected_pn(&self) -> u64 {
        self.largest_received.map_or(0, |l| l + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crypto_send_retransmits_lost_ranges_first_in_offset_order() {
        let mut c = CryptoSend::default();
        c.write(&[1; 100]);
        assert_eq!(c.next(60).map(|(o, d)| (o, d.len())), Some((0, 60)));
        assert_eq!(c.next(60).map(|(o, d)| (o, d.len())), Some((60, 40)));
        assert!(c.next(10).is_none());
        c.on_lost(20..30);
        c.on_lost(0..10);
        c.on_lost(5..25);
        assert_eq!(c.next(100).map(|(o, d)| (o, d.len())), Some((0, 30)));
        assert!(!c.has_pending());
    }

    #[test]
    fn crypto_recv_is_bounded() {
        let mut r = CryptoRecv::default();
        r.insert(10, Bytes::from_static(b"world"), 100).unwrap();
        r.insert(0, Bytes::from_static(b"hello, wor"), 100).unwrap();
        assert_eq!(&r.read().unwrap()[..], b"hello, wor");
        assert_eq!(&r.read().unwrap()[..], b"world");
        let e = r.insert(200, Bytes::from_static(b"x"), 100).unwrap_err();
        assert_eq!(e.code, crate::TransportErrorCode::CRYPTO_BUFFER_EXCEEDED);
    }
}

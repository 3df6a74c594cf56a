//! Packet number encoding and decoding (RFC 9000 §17.1, Appendix A.2 and A.3).

use bytes::{Buf, BufMut};

use crate::coding::UnexpectedEnd;

/// A packet number truncated to the 1–4 bytes that go on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PacketNumber {
    /// One byte.
    U8(u8),
    /// Two bytes.
    U16(u16),
    /// Three bytes.
    U24(u32),
    /// Four bytes.
    U32(u32),
}

impl PacketNumber {
    /// Truncates `full_pn` to as few bytes as let the peer recover it, given the largest packet
    /// number the peer has acknowledged in this space (RFC 9000 §17.1, Appendix A.2).
    ///
    /// RFC 9000 §17.1: the sender MUST use a packet number size able to represent more than
    /// twice as large a range as the difference between the largest acknowledged packet number
    /// and the packet number being sent.
    pub fn encode(full_pn: u64, largest_acked: Option<u64>) -> Self {
        let num_unacked = match largest_acked {
            Some(acked) => full_pn.saturating_sub(acked),
            None => full_pn.saturating_add(1),
        };
        // Bits needed for twice the range, plus one (A.2: min_bits = log2(num_unacked) + 1).
        let min_bits = 64 - num_unacked.leading_zeros() + 1;
        match min_bits.div_ceil(8) {
            0 | 1 => PacketNumber::U8(full_pn as u8),
            2 => PacketNumber::U16(full_pn as u16),
            3 => PacketNumber::U24(full_pn as u32 & 0x00ff_ffff),
            _ => PacketNumber::U32(full_pn as u32),
        }
    }

    /// Bytes on the wire (1..=4).
    #[allow(clippy::len_without_is_empty)] // never empty: 1..=4 bytes
    pub fn len(self) -> usize {
        match self {
            PacketNumber::U8(_) => 1,
            PacketNumber::U16(_) => 2,
            PacketNumber::U24(_) => 3,
            PacketNumber::U32(_) => 4,
        }
    }

    /// The two low bits of the first header byte that carry `len() - 1`.
    pub fn tag(self) -> u8 {
        self.len() as u8 - 1
    }

    /// The truncated value.
    pub fn truncated(self) -> u32 {
        match self {
            PacketNumber::U8(v) => v.into(),
            PacketNumber::U16(v) => v.into(),
            PacketNumber::U24(v) | PacketNumber::U32(v) => v,
        }
    }

    /// Writes the truncated number.
    pub fn encode_to<B: BufMut>(self, buf: &mut B) {
        match self {
            PacketNumber::U8(v) => buf.put_u8(v),
            PacketNumber::U16(v) => buf.put_u16(v),
            PacketNumber::U24(v) => buf.put_uint(v.into(), 3),
            PacketNumber::U32(v) => buf.put_u32(v),
        }
    }

    /// Reads a truncated number of `len` bytes (1..=4, from the unprotected first byte).
    pub fn decode<B: Buf>(len: usize, buf: &mut B) -> Result<Self, UnexpectedEnd> {
        if buf.remaining() < len {
            return Err(UnexpectedEnd);
        }
        Ok(match len {
            1 => PacketNumber::U8(buf.get_u8()),
            2 => PacketNumber::U16(buf.get_u16()),
            3 => PacketNumber::U24(buf.get_uint(3) as u32),
            4 => PacketNumber::U32(buf.get_u32()),
            _ => return Err(UnexpectedEnd),
        })
    }

    /// Recovers the full packet number closest to `expected` (the largest packet number
    /// successfully processed in this space, plus one) (RFC 9000 §17.1, Appendix A.3).
    pub fn expand(self, expected: u64) -> u64 {
        let truncated = u64::from(self.truncated());
        let pn_nbits = self.len() as u32 * 8;
        let pn_win = 1u64 << pn_nbits;
        let pn_hwin = pn_win / 2;
        let pn_mask = pn_win - 1;
        // The candidate is the value with the truncated bits replaced, in the window of
        // `expected`; then step one window up or down if that is closer.
        let candidate = (expected & !pn_mask) | truncated;
        if expected >= pn_hwin
            && candidate <= expected - pn_hwin
            && candidate < (1u64 << 62) - pn_win
        {
            candidate + pn_win
        } else if candidate > expected.saturating_add(pn_hwin) && candidate >= pn_win {
            candidate - pn_win
        } else {
            candidate
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn rfc9000_appendix_a2_and_a3_examples() {
        // A.2: 0xac5c02 with 0xabe8b3 acked needs 16 bits; 0xace8fe needs 24.
        assert_eq!(PacketNumber::encode(0xac5c02, Some(0xabe8b3)).len(), 2);
        assert_eq!(PacketNumber::encode(0xace8fe, Some(0xabe8b3)).len(), 3);
        // A.3: largest 0xa82f30ea, truncated 0x9b32 (16 bits) -> 0xa82f9b32.
        assert_eq!(PacketNumber::U16(0x9b32).expand(0xa82f30ea + 1), 0xa82f9b32);
    }

    #[test]
    fn first_packet_and_edges() {
        assert_eq!(PacketNumber::encode(0, None), PacketNumber::U8(0));
        assert_eq!(PacketNumber::U8(0).expand(0), 0);
        assert_eq!(PacketNumber::U8(0xff).expand(0), 0xff);
        // Near the top of the packet number space the window must not wrap past 2^62.
        let top = (1u64 << 62) - 1;
        assert_eq!(PacketNumber::encode(top, Some(top - 1)).expand(top), top);
    }

    proptest! {
        #[test]
        fn encode_then_expand_recovers(largest_acked in 0u64..(1 << 40), gap in 1u64..(1 << 30)) {
            // Any packet the receiver could still be expecting is recovered exactly as long as
            // the receiver has seen at least the largest acknowledged packet.
            let pn = largest_acked + gap;
            let enc = PacketNumber::encode(pn, Some(largest_acked));
            let mut wire = Vec::new();
            enc.encode_to(&mut wire);
            prop_assert_eq!(wire.len(), enc.len());
            let dec = PacketNumber::decode(enc.len(), &mut &wire[..]).unwrap();
            prop_assert_eq!(dec, enc);
            prop_assert_eq!(dec.expand(largest_acked + 1), pn);
        }
    }
}

//! Packet headers (RFC 9000 §17, RFC 9369 §3.2), packet numbers and coalesced packets.
//!
//! Receiving is done in two steps, because header protection hides the packet number and some
//! first-byte bits until the right keys are chosen:
//!
//! 1. [`PartialDecode::new`] parses what is not protected (form, version, connection IDs,
//!    token, length) and splits a coalesced datagram (RFC 9000 §12.2) into this packet and the
//!    rest;
//! 2. [`PartialDecode::finish`] removes header protection with the space's header key, reads
//!    the packet number and checks the reserved bits, giving a [`Packet`] whose payload is still
//!    AEAD-protected and can be decrypted in place.
//!
//! Sending goes the other way: [`Header::encode`] writes a header into the send buffer and
//! returns a [`PartialEncode`] that knows where the length and packet number are, so the packet
//! can be finished and protected in place.

mod decode;
mod encode;
mod number;
mod version_negotiation;

pub use decode::{Packet, PacketDecodeError, PartialDecode, ProtectedHeader};
pub use encode::{Header, PartialEncode};
pub use number::PacketNumber;
pub use version_negotiation::{
    encode_version_negotiation, peek_invariant_header, InvariantHeader, VersionNegotiationIter,
};

use crate::Version;

/// The kinds of QUIC packet, independent of the version's type-bit encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PacketType {
    /// Initial (long header).
    Initial,
    /// 0-RTT (long header).
    ZeroRtt,
    /// Handshake (long header).
    Handshake,
    /// Retry (long header).
    Retry,
    /// Version Negotiation (long header, version 0).
    VersionNegotiation,
    /// 1-RTT (short header).
    OneRtt,
}

/// Header form bit: set for long headers (RFC 9000 §17.2).
pub const LONG_HEADER_FORM: u8 = 0x80;
/// The fixed bit, which MUST be 1 unless the peer allows greasing it (RFC 9000 §17.2, RFC 9287).
pub const FIXED_BIT: u8 = 0x40;
/// Short header spin bit (RFC 9000 §17.4).
pub const SPIN_BIT: u8 = 0x20;
/// Short header key phase bit (RFC 9000 §17.3.1), protected by header protection.
pub const KEY_PHASE_BIT: u8 = 0x04;
/// Reserved bits of a long header, protected; zero after unprotection (RFC 9000 §17.2).
pub const LONG_RESERVED_BITS: u8 = 0x0c;
/// Reserved bits of a short header, protected; zero after unprotection (RFC 9000 §17.3.1).
pub const SHORT_RESERVED_BITS: u8 = 0x18;
/// Low bits of the first byte carrying the packet-number length minus one.
pub const PN_LEN_MASK: u8 = 0x03;

/// The long-header packet types that have a Type field (everything but Version Negotiation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LongType {
    /// Initial.
    Initial,
    /// 0-RTT.
    ZeroRtt,
    /// Handshake.
    Handshake,
    /// Retry.
    Retry,
}

impl LongType {
    /// The two type bits for this packet type in `version` (RFC 9000 §17.2, RFC 9369 §3.2).
    pub const fn to_bits(self, version: Version) -> u8 {
        match (version, self) {
            (Version::V1, LongType::Initial) => 0b00,
            (Version::V1, LongType::ZeroRtt) => 0b01,
            (Version::V1, LongType::Handshake) => 0b10,
            (Version::V1, LongType::Retry) => 0b11,
            (Version::V2, LongType::Initial) => 0b01,
            (Version::V2, LongType::ZeroRtt) => 0b10,
            (Version::V2, LongType::Handshake) => 0b11,
            (Version::V2, LongType::Retry) => 0b00,
        }
    }

    /// The packet type for the two type bits in `version`.
    pub const fn from_bits(bits: u8, version: Version) -> Self {
        match (version, bits & 0b11) {
            (Version::V1, 0b00) | (Version::V2, 0b01) => LongType::Initial,
            (Version::V1, 0b01) | (Version::V2, 0b10) => LongType::ZeroRtt,
            (Version::V1, 0b10) | (Version::V2, 0b11) => LongType::Handshake,
            _ => LongType::Retry,
        }
    }

    /// The general packet type.
    pub const fn packet_type(self) -> PacketType {
        match self {
            LongType::Initial => PacketType::Initial,
            LongType::ZeroRtt => PacketType::ZeroRtt,
            LongType::Handshake => PacketType::Handshake,
            LongType::Retry => PacketType::Retry,
        }
    }
}

#[cfg(test)]
mod tests;

//! Packet headers (RFC 9000 §17, RFC 9369 §3.2), packet numbers and coalesced packets.

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

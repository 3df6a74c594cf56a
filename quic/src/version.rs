//! QUIC versions this stack speaks (RFC 9000 §15, RFC 9369 §3.1).

/// A QUIC version we implement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Version {
    /// QUIC version 1, 0x00000001 (RFC 9000).
    V1,
    /// QUIC version 2, 0x6b3343cf (RFC 9369).
    V2,
}

impl Version {
    /// Versions in order of preference for Version Negotiation packets.
    pub const SUPPORTED: [Version; 2] = [Version::V1, Version::V2];

    /// The 32-bit wire value.
    pub const fn to_u32(self) -> u32 {
        match self {
            Version::V1 => 0x0000_0001,
            Version::V2 => 0x6b33_43cf,
        }
    }

    /// The version for a wire value, if we implement it.
    pub const fn from_u32(v: u32) -> Option<Self> {
        match v {
            0x0000_0001 => Some(Version::V1),
            0x6b33_43cf => Some(Version::V2),
            _ => None,
        }
    }
}

/// Whether a version value is reserved for forcing version negotiation: 0x?a?a?a?a
/// (RFC 9000 §15).
pub const fn is_reserved_version(v: u32) -> bool {
    v & 0x0f0f_0f0f == 0x0a0a_0a0a
}

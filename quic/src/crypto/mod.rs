//! Packet protection (RFC 9001 §5, RFC 9369 §3) on `ring`.
//!
//! QUIC protects every packet except Version Negotiation in two layers:
//!
//! 1. the payload is sealed with the AEAD negotiated by TLS ([`PacketKey`]); the header up to
//!    and including the packet number is the associated data, and the nonce is the IV XOR the
//!    packet number (RFC 9001 §5.3);
//! 2. the low bits of the first byte and the packet number are then masked with a key stream
//!    computed from a sample of the ciphertext ([`HeaderKey`], RFC 9001 §5.4).
//!
//! Both keys of a direction are derived from one TLS traffic secret ([`TrafficSecret`]) with
//! version-specific HKDF labels ([`hkdf`]). Initial packets use secrets derived from the
//! client's first Destination Connection ID ([`initial_keys`]); 1-RTT packet keys (but not
//! header keys) roll over on key update ([`KeyUpdateSecrets`], RFC 9001 §6); Retry packets carry
//! an integrity tag under a fixed key ([`retry_integrity_tag`], RFC 9001 §5.8).
//!
//! Every per-packet operation works in place on the caller's buffer and allocates nothing, so the
//! send path can protect a packet right where it was written.

mod header_key;
pub mod hkdf;
mod initial;
mod key_update;
mod keys;
mod packet_key;
mod retry;
mod secret;
mod suite;

#[cfg(test)]
mod tests;

pub use header_key::{HeaderKey, SAMPLE_LEN};
pub use initial::{initial_keys, initial_secrets, INITIAL_SALT_V1, INITIAL_SALT_V2};
pub use key_update::KeyUpdateSecrets;
pub use keys::{DirectionalKeys, KeyPair, Keys, UnprotectedPacket};
pub use packet_key::{PacketKey, IV_LEN};
pub use retry::{retry_integrity_tag, verify_retry_integrity, RETRY_TAG_LEN};
pub use secret::TrafficSecret;
pub use suite::{Aead, CipherSuite};

/// Which end of a connection we are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    /// The endpoint that initiated the connection.
    Client,
    /// The endpoint that accepted it.
    Server,
}

impl Side {
    /// Whether this is the client.
    pub const fn is_client(self) -> bool {
        matches!(self, Side::Client)
    }

    /// The other end.
    pub const fn peer(self) -> Side {
        match self {
            Side::Client => Side::Server,
            Side::Server => Side::Client,
        }
    }
}

/// Why a packet could not be protected or unprotected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    /// The AEAD rejected the packet: it was corrupted, forged, or protected with other keys.
    /// RFC 9001 §5.5: such a packet is discarded, not treated as a connection error.
    #[error("packet decryption failed")]
    DecryptionFailed,
    /// The buffer is too short for the header-protection sample or the AEAD tag.
    #[error("packet too short to protect or unprotect")]
    PacketTooShort,
}

/// Key material of the wrong length for its algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("key material of {actual} bytes where {expected} are needed")]
pub struct InvalidKeyLength {
    /// The length the algorithm needs.
    pub expected: usize,
    /// The length given.
    pub actual: usize,
}

//! The AEADs and TLS 1.3 cipher suites QUIC can use, with their `ring` algorithms and the usage
//! limits of RFC 9001 §6.6.

use ring::{aead, hkdf};

/// An AEAD usable for QUIC packet protection.
///
/// RFC 9001 §5.3: any TLS 1.3 suite except TLS_AES_128_CCM_8_SHA256 may be used, and a suite
/// MUST NOT be negotiated without a header protection scheme. `ring` has no AES-CCM, so these
/// three are the ones we offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Aead {
    /// AEAD_AES_128_GCM (also the Initial and Retry AEAD, RFC 9001 §5).
    Aes128Gcm,
    /// AEAD_AES_256_GCM.
    Aes256Gcm,
    /// AEAD_CHACHA20_POLY1305.
    ChaCha20Poly1305,
}

impl Aead {
    /// All three, for tests and benchmarks.
    pub const ALL: [Aead; 3] = [Aead::Aes128Gcm, Aead::Aes256Gcm, Aead::ChaCha20Poly1305];

    /// Length of the packet protection key, and also of the header protection key: RFC 9001
    /// §5.4.3 uses AES of the AEAD's key size, §5.4.4 a 256-bit ChaCha20 key.
    pub const fn key_len(self) -> usize {
        match self {
            Aead::Aes128Gcm => 16,
            Aead::Aes256Gcm | Aead::ChaCha20Poly1305 => 32,
        }
    }

    /// Bytes the AEAD adds to a payload. RFC 9001 §5.3: 16 for every suite QUIC can use.
    pub const fn tag_len(self) -> usize {
        16
    }

    /// RFC 9001 §6.6: packets that may be encrypted under one key before a key update MUST be
    /// initiated. ChaCha20-Poly1305's limit exceeds the packet number space, so it is 2^62.
    pub const fn confidentiality_limit(self) -> u64 {
        match self {
            Aead::Aes128Gcm | Aead::Aes256Gcm => 1 << 23,
            Aead::ChaCha20Poly1305 => 1 << 62,
        }
    }

    /// RFC 9001 §6.6: packets failing authentication, over the whole connection and across all
    /// keys, after which the connection MUST be closed with AEAD_LIMIT_REACHED.
    pub const fn integrity_limit(self) -> u64 {
        match self {
            Aead::Aes128Gcm | Aead::Aes256Gcm => 1 << 52,
            Aead::ChaCha20Poly1305 => 1 << 36,
        }
    }

    pub(crate) fn ring_aead(self) -> &'static aead::Algorithm {
        match self {
            Aead::Aes128Gcm => &aead::AES_128_GCM,
            Aead::Aes256Gcm => &aead::AES_256_GCM,
            Aead::ChaCha20Poly1305 => &aead::CHACHA20_POLY1305,
        }
    }

    pub(crate) fn ring_header(self) -> &'static aead::quic::Algorithm {
        match self {
            Aead::Aes128Gcm => &aead::quic::AES_128,
            Aead::Aes256Gcm => &aead::quic::AES_256,
            Aead::ChaCha20Poly1305 => &aead::quic::CHACHA20,
        }
    }
}

/// A TLS 1.3 cipher suite: an AEAD plus the hash used for HKDF.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CipherSuite {
    /// TLS_AES_128_GCM_SHA256 (0x1301); also what Initial packets use (RFC 9001 §5.2).
    Aes128GcmSha256,
    /// TLS_AES_256_GCM_SHA384 (0x1302).
    Aes256GcmSha384,
    /// TLS_CHACHA20_POLY1305_SHA256 (0x1303).
    ChaCha20Poly1305Sha256,
}

impl CipherSuite {
    /// The suite's AEAD.
    pub const fn aead(self) -> Aead {
        match self {
            CipherSuite::Aes128GcmSha256 => Aead::Aes128Gcm,
            CipherSuite::Aes256GcmSha384 => Aead::Aes256Gcm,
            CipherSuite::ChaCha20Poly1305Sha256 => Aead::ChaCha20Poly1305,
        }
    }

    /// Hash output length: the length of the suite's traffic secrets.
    pub const fn hash_len(self) -> usize {
        match self {
            CipherSuite::Aes128GcmSha256 | CipherSuite::ChaCha20Poly1305Sha256 => 32,
            CipherSuite::Aes256GcmSha384 => 48,
        }
    }

    /// The TLS 1.3 cipher suite code point.
    pub const fn to_u16(self) -> u16 {
        match self {
            CipherSuite::Aes128GcmSha256 => 0x1301,
            CipherSuite::Aes256GcmSha384 => 0x1302,
            CipherSuite::ChaCha20Poly1305Sha256 => 0x1303,
        }
    }

    /// The suite for a TLS 1.3 code point, if QUIC can use it with `ring`.
    pub const fn from_u16(v: u16) -> Option<Self> {
        match v {
            0x1301 => Some(CipherSuite::Aes128GcmSha256),
            0x1302 => Some(CipherSuite::Aes256GcmSha384),
            0x1303 => Some(CipherSuite::ChaCha20Poly1305Sha256),
            _ => None,
        }
    }

    pub(crate) fn ring_hkdf(self) -> hkdf::Algorithm {
        match self {
            CipherSuite::Aes128GcmSha256 | CipherSuite::ChaCha20Poly1305Sha256 => hkdf::HKDF_SHA256,
            CipherSuite::Aes256GcmSha384 => hkdf::HKDF_SHA384,
        }
    }
}

//! Header protection (RFC 9001 §5.4): masking the packet number and the low bits of the first
//! byte with a key stream computed from a sample of the ciphertext.

use std::fmt;

use ring::aead::quic::HeaderProtectionKey;

use super::{Aead, CipherSuite, CryptoError, InvalidKeyLength, TrafficSecret};
use crate::Version;

/// Bytes of ciphertext sampled for header protection (RFC 9001 §5.4.3 and §5.4.4: 16 for every
/// AEAD QUIC uses).
pub const SAMPLE_LEN: usize = 16;

/// RFC 9001 §5.4.2: the sample starts 4 bytes after the packet number's start, as if the packet
/// number had its maximum encoded length, because a receiver does not know the length yet.
const SAMPLE_OFFSET: usize = 4;

/// Header form bit (RFC 9000 §17.2): set for long headers.
const LONG_HEADER_FORM: u8 = 0x80;

/// One direction's header protection key.
///
/// RFC 9001 §5.4: it stays the same for the whole connection; key updates do not change it.
pub struct HeaderKey {
    key: HeaderProtectionKey,
    aead: Aead,
}

impl HeaderKey {
    /// A key from raw bytes: AES-ECB with the AEAD's AES key size (RFC 9001 §5.4.3), or raw
    /// ChaCha20 with a 32-byte key (§5.4.4).
    pub fn new(aead: Aead, key: &[u8]) -> Result<Self, InvalidKeyLength> {
        // `ring` only rejects a key of the wrong length.
        let key =
            HeaderProtectionKey::new(aead.ring_header(), key).map_err(|_| InvalidKeyLength {
                expected: aead.key_len(),
                actual: key.len(),
            })?;
        Ok(Self { key, aead })
    }

    /// The key a TLS traffic secret gives for `version`: label "quic hp" in v1 (RFC 9001 §5.1),
    /// "quicv2 hp" in v2 (RFC 9369 §3.3.2).
    pub fn from_secret(
        suite: CipherSuite,
        version: Version,
        secret: &[u8],
    ) -> Result<Self, InvalidKeyLength> {
        Ok(TrafficSecret::new(suite, version, secret)?.header_key())
    }

    /// The AEAD this key goes with.
    pub fn aead(&self) -> Aead {
        self.aead
    }

    /// The 5-byte mask for a ciphertext sample (RFC 9001 §5.4.1).
    pub fn mask(&self, sample: &[u8; SAMPLE_LEN]) -> [u8; 5] {
        self.key
            .new_mask(sample)
            .expect("ring accepts any sample of SAMPLE_LEN bytes")
    }

    /// Applies header protection in place to a packet whose payload is already sealed
    /// (RFC 9001 §5.4.1: header protection comes after packet protection).
    ///
    /// `pn_offset` is where the packet number starts; its length is read from the still
    /// unprotected first byte. Fails if the packet is too short to hold a sample: RFC 9001
    /// §5.4.2 makes the sender pad so that it always is.
    pub fn protect(&self, pn_offset: usize, packet: &mut [u8]) -> Result<(), CryptoError> {
        let mask = self.packet_mask(pn_offset, packet)?;
        // Read the packet number length before the first byte is masked.
        let pn_len = pn_len(packet[0]);
        apply_mask(&mask, pn_offset, pn_len, packet);
        Ok(())
    }

    /// Removes header protection in place and returns the packet number length (1..=4); the
    /// packet number and first byte are then in the clear, the payload still sealed.
    ///
    /// RFC 9001 §5.4.2: a packet too short for a complete sample MUST be discarded; this
    /// reports [`CryptoError::PacketTooShort`] and leaves the buffer as it was.
    pub fn unprotect(&self, pn_offset: usize, packet: &mut [u8]) -> Result<usize, CryptoError> {
        let mask = self.packet_mask(pn_offset, packet)?;
        // The length bits are protected: unmask the first byte before reading them.
        packet[0] ^= mask[0] & first_byte_mask(packet[0]);
        let pn_len = pn_len(packet[0]);
        xor_pn(&mask, pn_offset, pn_len, packet);
        Ok(pn_len)
    }

    /// The mask for the sample of `packet` at `pn_offset` + 4, checking that it fits.
    fn packet_mask(&self, pn_offset: usize, packet: &[u8]) -> Result<[u8; 5], CryptoError> {
        let start = pn_offset
            .checked_add(SAMPLE_OFFSET)
            .ok_or(CryptoError::PacketTooShort)?;
        let sample = start
            .checked_add(SAMPLE_LEN)
            .and_then(|end| packet.get(start..end))
            .ok_or(CryptoError::PacketTooShort)?;
        // The sample lies after the packet number, so the first byte and the packet number
        // (at most 4 bytes from `pn_offset`) are in the buffer too.
        Ok(self.mask(sample.try_into().expect("slice of SAMPLE_LEN bytes")))
    }
}

impl fmt::Debug for HeaderKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HeaderKey")
            .field("aead", &self.aead)
            .finish_non_exhaustive()
    }
}

/// RFC 9001 §5.4.1: the low 4 bits of a long header's first byte are protected, the low 5 of a
/// short header's (which include the key phase). The form bit itself is never masked.
fn first_byte_mask(first: u8) -> u8 {
    if first & LONG_HEADER_FORM != 0 {
        0x0f
    } else {
        0x1f
    }
}

/// Packet number length from an unprotected first byte (RFC 9000 §17.2: low two bits + 1).
fn pn_len(first: u8) -> usize {
    usize::from(first & 0x03) + 1
}

fn apply_mask(mask: &[u8; 5], pn_offset: usize, pn_len: usize, packet: &mut [u8]) {
    packet[0] ^= mask[0] & first_byte_mask(packet[0]);
    xor_pn(mask, pn_offset, pn_len, packet);
}

/// RFC 9001 §5.4.1: the packet number is masked with the mask bytes after the first; mask
/// bytes beyond a shorter packet number are unused.
fn xor_pn(mask: &[u8; 5], pn_offset: usize, pn_len: usize, packet: &mut [u8]) {
    for (byte, m) in packet[pn_offset..pn_offset + pn_len]
        .iter_mut()
        .zip(&mask[1..])
    {
        *byte ^= m;
    }
}

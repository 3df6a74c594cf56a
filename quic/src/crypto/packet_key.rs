//! Payload protection with the negotiated AEAD (RFC 9001 §5.3).

use std::fmt;

use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, NONCE_LEN};

use super::{Aead, CipherSuite, CryptoError, InvalidKeyLength, TrafficSecret};
use crate::Version;

/// Length of the packet protection IV. RFC 9001 §5.1: the larger of 8 bytes and the AEAD's
/// minimum nonce length, which is 12 for every AEAD QUIC uses.
pub const IV_LEN: usize = NONCE_LEN;

/// One direction's AEAD key and IV for one key phase.
///
/// Sealing and opening work in place on a whole packet buffer and allocate nothing.
pub struct PacketKey {
    key: LessSafeKey,
    iv: [u8; IV_LEN],
    aead: Aead,
}

impl PacketKey {
    /// A key from raw key and IV bytes, as a TLS stack hands them over.
    pub fn new(aead: Aead, key: &[u8], iv: &[u8]) -> Result<Self, InvalidKeyLength> {
        let invalid = |expected, actual| InvalidKeyLength { expected, actual };
        if key.len() != aead.key_len() {
            return Err(invalid(aead.key_len(), key.len()));
        }
        let iv: [u8; IV_LEN] = iv.try_into().map_err(|_| invalid(IV_LEN, iv.len()))?;
        // `ring` only rejects a key of the wrong length, which was checked above.
        let key = UnboundKey::new(aead.ring_aead(), key)
            .map_err(|_| invalid(aead.key_len(), key.len()))?;
        Ok(Self {
            key: LessSafeKey::new(key),
            iv,
            aead,
        })
    }

    /// The key a TLS traffic secret gives for `version`: "quic key"/"quic iv" in v1 (RFC 9001
    /// §5.1), "quicv2 key"/"quicv2 iv" in v2 (RFC 9369 §3.3.2). The secret must be one hash
    /// length of `suite`.
    pub fn from_secret(
        suite: CipherSuite,
        version: Version,
        secret: &[u8],
    ) -> Result<Self, InvalidKeyLength> {
        Ok(TrafficSecret::new(suite, version, secret)?.packet_key())
    }

    /// The AEAD.
    pub fn aead(&self) -> Aead {
        self.aead
    }

    /// Bytes the AEAD tag adds after the payload; the buffer given to
    /// [`encrypt_in_place`](Self::encrypt_in_place) keeps this much room at its end.
    pub fn tag_len(&self) -> usize {
        self.aead.tag_len()
    }

    /// Packets this key may encrypt before a key update (RFC 9001 §6.6).
    pub fn confidentiality_limit(&self) -> u64 {
        self.aead.confidentiality_limit()
    }

    /// Failed decryptions a connection using this AEAD may see before closing (RFC 9001 §6.6).
    pub fn integrity_limit(&self) -> u64 {
        self.aead.integrity_limit()
    }

    /// Seals a packet in place.
    ///
    /// `packet` is the header (`header_len` bytes, ending with the unprotected packet number),
    /// then the plaintext payload, then [`tag_len`](Self::tag_len) spare bytes that receive the
    /// tag. Header protection is applied afterwards (RFC 9001 §5.3: AEAD first).
    pub fn encrypt_in_place(
        &self,
        packet_number: u64,
        header_len: usize,
        packet: &mut [u8],
    ) -> Result<(), CryptoError> {
        let tag_start = packet
            .len()
            .checked_sub(self.tag_len())
            .filter(|&start| start >= header_len)
            .ok_or(CryptoError::PacketTooShort)?;
        let (rest, tag_out) = packet.split_at_mut(tag_start);
        let (header, payload) = rest.split_at_mut(header_len);
        let tag = self.seal_separate(packet_number, header, payload)?;
        tag_out.copy_from_slice(&tag);
        Ok(())
    }

    /// Opens a packet in place whose header protection has been removed: `packet` is the
    /// header (`header_len` bytes), the ciphertext and the tag. Returns the plaintext length;
    /// the plaintext replaces the start of the ciphertext.
    pub fn decrypt_in_place(
        &self,
        packet_number: u64,
        header_len: usize,
        packet: &mut [u8],
    ) -> Result<usize, CryptoError> {
        if packet.len() < header_len {
            return Err(CryptoError::PacketTooShort);
        }
        let (header, payload_and_tag) = packet.split_at_mut(header_len);
        self.open_separate(packet_number, header, payload_and_tag)
    }

    /// Seals `payload` in place with `header` as associated data and returns the tag, for
    /// callers whose header and payload are separate slices (rustls's `quic::PacketKey`).
    pub fn seal_separate(
        &self,
        packet_number: u64,
        header: &[u8],
        payload: &mut [u8],
    ) -> Result<[u8; 16], CryptoError> {
        // RFC 9001 §5.3: the associated data is the header up to and including the packet
        // number.
        let tag = self
            .key
            .seal_in_place_separate_tag(self.nonce(packet_number), Aad::from(header), payload)
            // `ring` fails only for payloads far beyond any datagram (GCM's 64 GiB limit).
            .map_err(|_| CryptoError::PacketTooShort)?;
        let mut out = [0; 16];
        out.copy_from_slice(tag.as_ref());
        Ok(out)
    }

    /// Opens `payload_and_tag` in place with `header` as associated data; returns the
    /// plaintext length (the plaintext is at the start of the slice).
    pub fn open_separate(
        &self,
        packet_number: u64,
        header: &[u8],
        payload_and_tag: &mut [u8],
    ) -> Result<usize, CryptoError> {
        if payload_and_tag.len() < self.tag_len() {
            return Err(CryptoError::PacketTooShort);
        }
        let plaintext = self
            .key
            .open_in_place(
                self.nonce(packet_number),
                Aad::from(header),
                payload_and_tag,
            )
            .map_err(|_| CryptoError::DecryptionFailed)?;
        Ok(plaintext.len())
    }

    fn nonce(&self, packet_number: u64) -> Nonce {
        Nonce::assume_unique_for_key(self.nonce_bytes(packet_number))
    }

    /// RFC 9001 §5.3: the nonce is the IV XOR the packet number in network byte order,
    /// left-padded with zeros to the IV length.
    pub(crate) fn nonce_bytes(&self, packet_number: u64) -> [u8; IV_LEN] {
        let mut nonce = self.iv;
        for (n, p) in nonce[IV_LEN - 8..]
            .iter_mut()
            .zip(packet_number.to_be_bytes())
        {
            *n ^= p;
        }
        nonce
    }
}

impl fmt::Debug for PacketKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print key material.
        f.debug_struct("PacketKey")
            .field("aead", &self.aead)
            .finish_non_exhaustive()
    }
}

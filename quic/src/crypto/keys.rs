//! Packet and header keys grouped by direction, with whole-packet protect/unprotect helpers.

use super::{CryptoError, HeaderKey, PacketKey, TrafficSecret, SAMPLE_LEN};
use crate::packet::PacketNumber;

/// Something we hold once for sending (`local`) and once for receiving (`remote`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyPair<T> {
    /// Protects what we send.
    pub local: T,
    /// Unprotects what the peer sends.
    pub remote: T,
}

/// Packet and header protection keys for both directions of one encryption level.
pub type Keys = KeyPair<DirectionalKeys>;

impl Keys {
    /// Keys derived from the two traffic secrets of an encryption level.
    pub fn from_secrets(local: &TrafficSecret, remote: &TrafficSecret) -> Self {
        KeyPair {
            local: DirectionalKeys::from_secret(local),
            remote: DirectionalKeys::from_secret(remote),
        }
    }
}

/// The packet protection key and the header protection key of one direction.
#[derive(Debug)]
pub struct DirectionalKeys {
    /// AEAD key and IV for payloads (RFC 9001 §5.3).
    pub packet: PacketKey,
    /// Header protection key (RFC 9001 §5.4).
    pub header: HeaderKey,
}

/// What [`DirectionalKeys::unprotect`] recovered from a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnprotectedPacket {
    /// The full packet number.
    pub number: u64,
    /// Header length including the packet number; the plaintext starts here.
    pub header_len: usize,
    /// Plaintext payload length.
    pub payload_len: usize,
}

impl DirectionalKeys {
    /// Both keys derived from one traffic secret.
    pub fn from_secret(secret: &TrafficSecret) -> Self {
        Self {
            packet: secret.packet_key(),
            header: secret.header_key(),
        }
    }

    /// Protects a whole packet in place: seals the payload, then applies header protection
    /// (RFC 9001 §5.3 and §5.4.1 fix this order).
    ///
    /// `packet` holds the header with the unprotected packet number at `pn_offset` (its length
    /// in the first byte's low two bits), the payload, and [`PacketKey::tag_len`] spare bytes.
    /// Nothing is changed if the packet is too short for the tag or the header protection
    /// sample.
    pub fn protect(
        &self,
        packet_number: u64,
        pn_offset: usize,
        packet: &mut [u8],
    ) -> Result<(), CryptoError> {
        // RFC 9001 §5.4.2: the sender pads so that a sample is always available; check before
        // sealing so a failure leaves the buffer untouched.
        if packet.len() < pn_offset.saturating_add(4 + SAMPLE_LEN) {
            return Err(CryptoError::PacketTooShort);
        }
        let header_len = pn_offset + usize::from(packet[0] & 0x03) + 1;
        self.packet
            .encrypt_in_place(packet_number, header_len, packet)?;
        self.header.protect(pn_offset, packet)
    }

    /// Unprotects a whole packet in place: removes header protection, recovers the full packet
    /// number from `expected_pn` (the largest packet number received in this space plus one,
    /// RFC 9000 §17.1) and opens the payload.
    ///
    /// On [`CryptoError::DecryptionFailed`] the header is left unmasked and the payload bytes
    /// are unspecified; RFC 9001 §5.5 has the caller discard the packet.
    pub fn unprotect(
        &self,
        pn_offset: usize,
        expected_pn: u64,
        packet: &mut [u8],
    ) -> Result<UnprotectedPacket, CryptoError> {
        let pn_len = self.header.unprotect(pn_offset, packet)?;
        let header_len = pn_offset + pn_len;
        let truncated = PacketNumber::decode(pn_len, &mut &packet[pn_offset..header_len])
            .map_err(|_| CryptoError::PacketTooShort)?;
        let number = truncated.expand(expected_pn);
        let payload_len = self.packet.decrypt_in_place(number, header_len, packet)?;
        Ok(UnprotectedPacket {
            number,
            header_len,
            payload_len,
        })
    }
}

//! The Retry Integrity Tag (RFC 9001 §5.8, RFC 9369 §3.3.3).
//!
//! A Retry carries a tag computed with AES-128-GCM under a key and nonce fixed by each version,
//! over a pseudo-packet that prepends the client's original Destination Connection ID. It
//! proves only that the sender saw the client's Initial, not who the sender is.

use ring::aead::{self, Aad, LessSafeKey, Nonce, UnboundKey};
use smallvec::SmallVec;

use crate::{ConnectionId, Version};

/// Length of the Retry Integrity Tag at the end of every Retry packet.
pub const RETRY_TAG_LEN: usize = 16;

/// RFC 9001 §5.8: the v1 key, HKDF-Expand-Label(secret, "quic key") of the fixed v1 secret.
pub(super) const RETRY_KEY_V1: [u8; 16] = [
    0xbe, 0x0c, 0x69, 0x0b, 0x9f, 0x66, 0x57, 0x5a, 0x1d, 0x76, 0x6b, 0x54, 0xe3, 0x68, 0xc8, 0x4e,
];
/// RFC 9001 §5.8: the v1 nonce ("quic iv" of the same secret).
pub(super) const RETRY_NONCE_V1: [u8; 12] = [
    0x46, 0x15, 0x99, 0xd3, 0x5d, 0x63, 0x2b, 0xf2, 0x23, 0x98, 0x25, 0xbb,
];
/// RFC 9369 §3.3.3: the v2 key ("quicv2 key" of the v2 retry secret).
pub(super) const RETRY_KEY_V2: [u8; 16] = [
    0x8f, 0xb4, 0xb0, 0x1b, 0x56, 0xac, 0x48, 0xe2, 0x60, 0xfb, 0xcb, 0xce, 0xad, 0x7c, 0xcc, 0x92,
];
/// RFC 9369 §3.3.3: the v2 nonce ("quicv2 iv").
pub(super) const RETRY_NONCE_V2: [u8; 12] = [
    0xd8, 0x69, 0x69, 0xbc, 0x2d, 0x7c, 0x6d, 0x99, 0x90, 0xef, 0xb0, 0x4a,
];

/// Pseudo-packets up to this size are built on the stack; a Retry with a longer token (rare,
/// and not on the hot path) spills to the heap.
const INLINE_PSEUDO_PACKET: usize = 512;

/// The Retry Integrity Tag for `retry_without_tag` (a Retry packet from its first byte through
/// the token), answering an Initial whose Destination Connection ID was `original_dcid`.
pub fn retry_integrity_tag(
    version: Version,
    original_dcid: &ConnectionId,
    retry_without_tag: &[u8],
) -> [u8; RETRY_TAG_LEN] {
    let (key, nonce) = key_and_nonce(version);
    let pseudo = pseudo_packet(original_dcid, retry_without_tag);
    // RFC 9001 §5.8: the plaintext is empty and the pseudo-packet is the associated data, so the
    // output is the tag alone.
    let tag = key
        .seal_in_place_separate_tag(nonce, Aad::from(&pseudo[..]), &mut [])
        .expect("sealing an empty plaintext cannot fail");
    let mut out = [0; RETRY_TAG_LEN];
    out.copy_from_slice(tag.as_ref());
    out
}

/// Whether the last [`RETRY_TAG_LEN`] bytes of `retry_packet` are a valid Retry Integrity Tag
/// for a Retry answering an Initial sent to `original_dcid`.
///
/// RFC 9000 §17.2.5.2: a client MUST discard a Retry whose tag does not verify. The comparison
/// is the AEAD's own constant-time tag check.
pub fn verify_retry_integrity(
    version: Version,
    original_dcid: &ConnectionId,
    retry_packet: &[u8],
) -> bool {
    let Some(tag_start) = retry_packet.len().checked_sub(RETRY_TAG_LEN) else {
        return false;
    };
    let (body, tag) = retry_packet.split_at(tag_start);
    let (key, nonce) = key_and_nonce(version);
    let pseudo = pseudo_packet(original_dcid, body);
    let mut tag: [u8; RETRY_TAG_LEN] = tag.try_into().expect("split at tag length");
    // Opening "empty ciphertext ‖ tag" checks the tag against the pseudo-packet.
    key.open_in_place(nonce, Aad::from(&pseudo[..]), &mut tag)
        .is_ok()
}

fn key_and_nonce(version: Version) -> (LessSafeKey, Nonce) {
    let (key, nonce) = match version {
        Version::V1 => (&RETRY_KEY_V1, RETRY_NONCE_V1),
        Version::V2 => (&RETRY_KEY_V2, RETRY_NONCE_V2),
    };
    let key = UnboundKey::new(&aead::AES_128_GCM, key).expect("16-byte AES-128 key");
    (LessSafeKey::new(key), Nonce::assume_unique_for_key(nonce))
}

/// RFC 9001 §5.8 (Figure 8): ODCID Length (8 bits) ‖ ODCID ‖ the Retry packet without its tag.
fn pseudo_packet(
    original_dcid: &ConnectionId,
    retry_without_tag: &[u8],
) -> SmallVec<[u8; INLINE_PSEUDO_PACKET]> {
    let mut pseudo = SmallVec::new();
    // A ConnectionId holds at most 20 bytes, so its length fits the 8-bit field.
    pseudo.push(original_dcid.len() as u8);
    pseudo.extend_from_slice(original_dcid);
    pseudo.extend_from_slice(retry_without_tag);
    pseudo
}

//! Initial secrets and keys (RFC 9001 §5.2, RFC 9369 §3.3.1), derived from the Destination
//! Connection ID of the client's first Initial packet.

use ring::hkdf::{Prk, HKDF_SHA256};
use ring::hmac;

use super::{CipherSuite, Keys, Side, TrafficSecret};
use crate::{ConnectionId, Version};

/// The QUIC v1 Initial salt (RFC 9001 §5.2).
pub const INITIAL_SALT_V1: [u8; 20] = [
    0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34, 0xb3, 0x4d, 0x17, 0x9a, 0xe6, 0xa4, 0xc8, 0x0c, 0xad,
    0xcc, 0xbb, 0x7f, 0x0a,
];

/// The QUIC v2 Initial salt (RFC 9369 §3.3.1).
pub const INITIAL_SALT_V2: [u8; 20] = [
    0x0d, 0xed, 0xe3, 0xde, 0xf7, 0x00, 0xa6, 0xdb, 0x81, 0x93, 0x81, 0xbe, 0x6e, 0x26, 0x9d, 0xcb,
    0xf9, 0xbd, 0x2e, 0xd9,
];

/// RFC 9001 §5.2: Initial packets are protected as with TLS_AES_128_GCM_SHA256 (AES-128-GCM
/// with SHA-256 for HKDF), whatever TLS later negotiates.
const INITIAL_SUITE: CipherSuite = CipherSuite::Aes128GcmSha256;

/// The Initial traffic secrets `(client, server)` for a client's first Destination
/// Connection ID (or the one a Retry chose: RFC 9001 §5.2).
pub fn initial_secrets(version: Version, client_dcid: &[u8]) -> (TrafficSecret, TrafficSecret) {
    let prk = Prk::new_less_safe(HKDF_SHA256, &initial_secret(version, client_dcid));
    // RFC 9001 §5.2: the TLS 1.3 HKDF-Expand-Label MUST be used, with these labels, producing
    // 32-byte (Hash.length) secrets.
    let client = TrafficSecret::expand(&prk, b"client in", INITIAL_SUITE, version);
    let server = TrafficSecret::expand(&prk, b"server in", INITIAL_SUITE, version);
    (client, server)
}

/// The Initial keys of `side`: local keys protect what it sends, remote keys what the peer
/// sends.
pub fn initial_keys(version: Version, client_dcid: &ConnectionId, side: Side) -> Keys {
    let (client, server) = initial_secrets(version, client_dcid);
    match side {
        Side::Client => Keys::from_secrets(&client, &server),
        Side::Server => Keys::from_secrets(&server, &client),
    }
}

/// initial_secret = HKDF-Extract(initial_salt, client_dst_connection_id) (RFC 9001 §5.2).
///
/// HKDF-Extract is HMAC(salt, IKM) (RFC 5869 §2.2); computing it through `ring::hmac` rather
/// than `ring::hkdf::Salt` keeps the bytes visible so tests can check them against the RFC.
pub(crate) fn initial_secret(version: Version, client_dcid: &[u8]) -> [u8; 32] {
    let salt = match version {
        Version::V1 => &INITIAL_SALT_V1,
        Version::V2 => &INITIAL_SALT_V2,
    };
    let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, salt), client_dcid);
    tag.as_ref()
        .try_into()
        .expect("HMAC-SHA256 output is 32 bytes")
}

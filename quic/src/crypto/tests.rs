//! Tests for packet protection: every sample in RFC 9001 Appendix A and RFC 9369 Appendix A
//! reproduced byte for byte, tampering, short packets, and round-trip property tests.

use proptest::prelude::*;

use super::hkdf::{expand_label, Labels};
use super::retry::{RETRY_KEY_V1, RETRY_KEY_V2, RETRY_NONCE_V1, RETRY_NONCE_V2};
use super::*;
use crate::{ConnectionId, Version};

fn h(s: &str) -> Vec<u8> {
    hex::decode(s).expect("test vector is hex")
}

/// The client-chosen Destination Connection ID of both appendices.
fn dcid() -> ConnectionId {
    ConnectionId::new(&h("8394c8f03e515708")).unwrap()
}

/// Derived values for one direction of Appendix A.1.
struct Direction {
    secret: &'static str,
    key: &'static str,
    iv: &'static str,
    hp: &'static str,
}

/// One of the Initial packets of Appendix A.2 / A.3.
struct InitialPacket {
    /// Unprotected header, ending with the packet number.
    header: &'static str,
    packet_number: u64,
    /// Payload before padding and the length it is padded to with zero bytes (PADDING frames).
    payload: &'static str,
    padded_len: usize,
    sample: &'static str,
    mask: &'static str,
    protected: &'static str,
}

/// Appendix A.1 to A.4 of one version.
struct InitialVectors {
    version: Version,
    initial_secret: &'static str,
    client: Direction,
    server: Direction,
    client_initial: InitialPacket,
    server_initial: InitialPacket,
    retry: &'static str,
}

/// Appendix A.5 of one version: a ChaCha20-Poly1305 1-RTT packet with a PING frame.
struct ChaChaVectors {
    version: Version,
    key: &'static str,
    iv: &'static str,
    hp: &'static str,
    ku: &'static str,
    nonce: &'static str,
    ciphertext: &'static str,
    sample: &'static str,
    mask: &'static str,
    protected_header: &'static str,
}

/// The secret TLS exported in Appendix A.5 (the same in both RFCs).
const CHACHA_SECRET: &str = "9ac312a7f877468ebe69422748ad00a15443f18203a07d6060f688f30f21632b";
/// Appendix A.5: packet number 654360564, sent as the 3 bytes 0x00bff4 after 0x42.
const CHACHA_PN: u64 = 654_360_564;
const CHACHA_HEADER: &str = "4200bff4";

fn v1() -> InitialVectors {
    InitialVectors {
        version: Version::V1,
        initial_secret: "7db5df06e7a69e432496adedb00851923595221596ae2ae9fb8115c1e9ed0a44",
        client: Direction {
            secret: "c00cf151ca5be075ed0ebfb5c80323c42d6b7db67881289af4008f1f6c357aea",
            key: "1f369613dd76d5467730efcbe3b1a22d",
            iv: "fa044b2f42a3fd3b46fb255c",
            hp: "9f50449e04a0e810283a1e9933adedd2",
        },
        server: Direction {
            secret: "3c199828fd139efd216c155ad844cc81fb82fa8d7446fa7d78be803acdda951b",
            key: "cf3a5331653c364c88f0f379b6067e37",
            iv: "0ac1493ca1905853b0bba03e",
            hp: "c206b8d9b9f0f37644430b490eeaa314",
        },
        client_initial: InitialPacket {
            header: "c300000001088394c8f03e5157080000449e00000002",
            packet_number: 2,
            payload: CLIENT_CRYPTO_FRAME,
            padded_len: 1162,
            sample: "d1b1c98dd7689fb8ec11d242b123dc9b",
            mask: "437b9aec36",
            protected: V1_CLIENT_INITIAL,
        },
        server_initial: InitialPacket {
            header: "c1000000010008f067a5502a4262b50040750001",
            packet_number: 1,
            payload: SERVER_PAYLOAD,
            padded_len: 99,
            sample: "2cd0991cd25b0aac406a5816b6394100",
            mask: "2ec0d8356a",
            protected: V1_SERVER_INITIAL,
        },
        retry: V1_RETRY,
    }
}

fn v2() -> InitialVectors {
    InitialVectors {
        version: Version::V2,
        initial_secret: "2062e8b3cd8d52092614b8071d0aa1fb7c2e3ac193f78b280e72d8f5751f6aba",
        client: Direction {
            secret: "14ec9d6eb9fd7af83bf5a668bc17a7e283766aade7ecd0891f70f9ff7f4bf47b",
            key: "8b1a0bc121284290a29e0971b5cd045d",
            iv: "91f73e2351d8fa91660e909f",
            hp: "45b95e15235d6f45a6b19cbcb0294ba9",
        },
        server: Direction {
            secret: "0263db1782731bf4588e7e4d93b7463907cb8cd8200b5da55a8bd488eafc37c1",
            key: "82db637861d55e1d011f19ea71d5d2a7",
            iv: "dd13c276499c0249d3310652",
            hp: "edf6d05c83121201b436e16877593c3a",
        },
        client_initial: InitialPacket {
            header: "d36b3343cf088394c8f03e5157080000449e00000002",
            packet_number: 2,
            payload: CLIENT_CRYPTO_FRAME,
            padded_len: 1162,
            sample: "ffe67b6abcdb4298b485dd04de806071",
            mask: "94a0c95e80",
            protected: V2_CLIENT_INITIAL,
        },
        server_initial: InitialPacket {
            header: "d16b3343cf0008f067a5502a4262b50040750001",
            packet_number: 1,
            payload: SERVER_PAYLOAD,
            padded_len: 99,
            sample: "6f05d8a4398c47089698baeea26b91eb",
            mask: "4dd92e91ea",
            protected: V2_SERVER_INITIAL,
        },
        retry: V2_RETRY,
    }
}

fn chacha_v1() -> ChaChaVectors {
    ChaChaVectors {
        version: Version::V1,
        key: "c6d98ff3441c3fe1b2182094f69caa2ed4b716b65488960a7a984979fb23e1c8",
        iv: "e0459b3474bdd0e44a41c144",
        hp: "25a282b9e82f06f21f488917a4fc8f1b73573685608597d0efcb076b0ab7a7a4",
        ku: "1223504755036d556342ee9361d253421a826c9ecdf3c7148684b36b714881f9",
        nonce: "e0459b3474bdd0e46d417eb0",
        ciphertext: "655e5cd55c41f69080575d7999c25a5bfb",
        sample: "5e5cd55c41f69080575d7999c25a5bfb",
        mask: "aefefe7d03",
        protected_header: "4cfe4189",
    }
}

fn chacha_v2() -> ChaChaVectors {
    ChaChaVectors {
        version: Version::V2,
        key: "3bfcddd72bcf02541d7fa0dd1f5f9eeea817e09a6963a0e6c7df0f9a1bab90f2",
        iv: "a6b5bc6ab7dafce30ffff5dd",
        hp: "d659760d2ba434a226fd37b35c69e2da8211d10c4f12538787d65645d5d1b8e2",
        ku: "c69374c49e3d2a9466fa689e49d476db5d0dfbc87d32ceeaa6343fd0ae4c7d88",
        nonce: "a6b5bc6ab7dafce328ff4a29",
        ciphertext: "0ae7b6b932bc27d786f4bc2bb20f2162ba",
        sample: "e7b6b932bc27d786f4bc2bb20f2162ba",
        mask: "97580e32bf",
        protected_header: "5558b1c6",
    }
}

/// HKDF-Expand-Label with one of `version`'s labels, as the code derives it.
fn expand(secret: &TrafficSecret, label: &[u8], len: usize) -> Vec<u8> {
    let mut out = vec![0; len];
    expand_label(&secret.prk(), label, &[], &mut out);
    out
}

fn pn_offset(header: &[u8]) -> usize {
    header.len() - usize::from(header[0] & 0x03) - 1
}

// ---- Appendix A.1: keys ----

fn check_direction(version: Version, secret: &TrafficSecret, expected: &Direction) {
    let labels = Labels::for_version(version);
    assert_eq!(secret.as_bytes(), h(expected.secret));
    assert_eq!(expand(secret, labels.key, 16), h(expected.key));
    assert_eq!(expand(secret, labels.iv, 12), h(expected.iv));
    assert_eq!(expand(secret, labels.hp, 16), h(expected.hp));
    // The keys built from the secret behave like the keys built from the RFC's raw bytes.
    let raw = PacketKey::new(Aead::Aes128Gcm, &h(expected.key), &h(expected.iv)).unwrap();
    let derived = secret.packet_key();
    let mut a = [7u8; 40];
    let mut b = a;
    raw.encrypt_in_place(9, 8, &mut a).unwrap();
    derived.encrypt_in_place(9, 8, &mut b).unwrap();
    assert_eq!(a, b);
    let sample = [0x5a; SAMPLE_LEN];
    let raw_hp = HeaderKey::new(Aead::Aes128Gcm, &h(expected.hp)).unwrap();
    assert_eq!(secret.header_key().mask(&sample), raw_hp.mask(&sample));
}

fn check_keys(vectors: &InitialVectors) {
    let version = vectors.version;
    assert_eq!(
        initial::initial_secret(version, &dcid()),
        h(vectors.initial_secret)[..]
    );
    let (client, server) = initial_secrets(version, &dcid());
    assert_eq!(client.suite(), CipherSuite::Aes128GcmSha256);
    check_direction(version, &client, &vectors.client);
    check_direction(version, &server, &vectors.server);
}

#[test]
fn v1_initial_keys() {
    check_keys(&v1());
}

#[test]
fn v2_initial_keys() {
    check_keys(&v2());
}

/// Appendix A.1 lists the HkdfLabel structures; check that our labels encode to them.
#[test]
fn hkdf_label_encoding() {
    // Expanding with `ring` directly from the RFC's HkdfLabel bytes must match expand_label.
    let secret = TrafficSecret::new(CipherSuite::Aes128GcmSha256, Version::V1, &[3; 32]).unwrap();
    let cases: [(&[u8], &str, usize); 8] = [
        (b"client in", "00200f746c73313320636c69656e7420696e00", 32),
        (b"server in", "00200f746c7331332073657276657220696e00", 32),
        (b"quic key", "00100e746c7331332071756963206b657900", 16),
        (b"quic iv", "000c0d746c733133207175696320697600", 12),
        (b"quic hp", "00100d746c733133207175696320687000", 16),
        (
            b"quicv2 key",
            "001010746c73313320717569637632206b657900",
            16,
        ),
        (b"quicv2 iv", "000c0f746c7331332071756963763220697600", 12),
        (b"quicv2 hp", "00100f746c7331332071756963763220687000", 16),
    ];
    struct Len(usize);
    impl ring::hkdf::KeyType for Len {
        fn len(&self) -> usize {
            self.0
        }
    }
    for (label, info, len) in cases {
        let info = h(info);
        let mut direct = vec![0; len];
        secret
            .prk()
            .expand(&[&info], Len(len))
            .unwrap()
            .fill(&mut direct)
            .unwrap();
        assert_eq!(expand(&secret, label, len), direct, "{label:?}");
    }
}

// ---- Appendix A.2 and A.3: Initial packets ----

/// Protects `packet` as `sender` and compares with the RFC, then unprotects it as `receiver`.
fn check_initial(
    version: Version,
    packet: &InitialPacket,
    sender: &DirectionalKeys,
    receiver: &DirectionalKeys,
) {
    let header = h(packet.header);
    let pn_offset = pn_offset(&header);
    // The payload padded with PADDING (zero) frames to the stated size, then room for the tag.
    let mut payload = h(packet.payload);
    payload.resize(packet.padded_len, 0);
    let mut buf = [header.clone(), payload.clone(), vec![0; 16]].concat();

    sender
        .packet
        .encrypt_in_place(packet.packet_number, header.len(), &mut buf)
        .unwrap();
    // RFC 9001 §5.4.2: the sample starts 4 bytes after the packet number's start.
    let sample: [u8; SAMPLE_LEN] = buf[pn_offset + 4..][..SAMPLE_LEN].try_into().unwrap();
    assert_eq!(sample[..], h(packet.sample)[..], "{version:?} sample");
    assert_eq!(
        sender.header.mask(&sample)[..],
        h(packet.mask)[..],
        "{version:?} mask"
    );
    sender.header.protect(pn_offset, &mut buf).unwrap();
    assert_eq!(
        hex::encode(&buf),
        packet.protected,
        "{version:?} protected packet"
    );

    // The same in one call.
    let mut again = [header.clone(), payload.clone(), vec![0; 16]].concat();
    sender
        .protect(packet.packet_number, pn_offset, &mut again)
        .unwrap();
    assert_eq!(again, buf);

    // And back, as the peer: the packet number is recovered from the truncated encoding.
    let opened = receiver.unprotect(pn_offset, 0, &mut buf).unwrap();
    assert_eq!(
        opened,
        UnprotectedPacket {
            number: packet.packet_number,
            header_len: header.len(),
            payload_len: packet.padded_len,
        }
    );
    assert_eq!(buf[..header.len()], header[..]);
    assert_eq!(buf[header.len()..][..packet.padded_len], payload[..]);
}

fn check_initials(vectors: &InitialVectors) {
    let version = vectors.version;
    let client = initial_keys(version, &dcid(), Side::Client);
    let server = initial_keys(version, &dcid(), Side::Server);
    check_initial(
        version,
        &vectors.client_initial,
        &client.local,
        &server.remote,
    );
    check_initial(
        version,
        &vectors.server_initial,
        &server.local,
        &client.remote,
    );
}

#[test]
fn v1_client_and_server_initial() {
    check_initials(&v1());
}

#[test]
fn v2_client_and_server_initial() {
    check_initials(&v2());
}

// ---- Appendix A.4: Retry ----

fn check_retry(version: Version, retry: &str) {
    let packet = h(retry);
    let (body, tag) = packet.split_at(packet.len() - RETRY_TAG_LEN);
    assert_eq!(retry_integrity_tag(version, &dcid(), body)[..], tag[..]);
    assert!(verify_retry_integrity(version, &dcid(), &packet));
    // The tag binds the original Destination Connection ID, the version and every byte.
    let other = ConnectionId::new(&h("8394c8f03e515709")).unwrap();
    assert!(!verify_retry_integrity(version, &other, &packet));
    assert!(!verify_retry_integrity(
        match version {
            Version::V1 => Version::V2,
            Version::V2 => Version::V1,
        },
        &dcid(),
        &packet
    ));
    for i in 0..packet.len() {
        let mut bad = packet.clone();
        bad[i] ^= 0x01;
        assert!(!verify_retry_integrity(version, &dcid(), &bad), "byte {i}");
    }
    assert!(!verify_retry_integrity(
        version,
        &dcid(),
        &packet[..RETRY_TAG_LEN - 1]
    ));
    assert!(!verify_retry_integrity(version, &dcid(), &[]));
}

#[test]
fn v1_retry() {
    check_retry(Version::V1, v1().retry);
}

#[test]
fn v2_retry() {
    check_retry(Version::V2, v2().retry);
}

/// A token longer than the inline pseudo-packet buffer takes the heap path and still works.
#[test]
fn retry_with_long_token() {
    let mut packet = h(V1_RETRY);
    packet.truncate(packet.len() - RETRY_TAG_LEN);
    packet.extend_from_slice(&[0xab; 1000]);
    let tag = retry_integrity_tag(Version::V1, &dcid(), &packet);
    packet.extend_from_slice(&tag);
    assert!(verify_retry_integrity(Version::V1, &dcid(), &packet));
}

/// RFC 9001 §5.8 and RFC 9369 §3.3.3: the fixed key and nonce are derived from fixed secrets.
#[test]
fn retry_key_and_nonce_derivation() {
    let cases = [
        (
            Version::V1,
            "d9c9943e6101fd200021506bcc02814c73030f25c79d71ce876eca876e6fca8e",
            &RETRY_KEY_V1,
            &RETRY_NONCE_V1,
        ),
        (
            Version::V2,
            "c4dd2484d681aefa4ff4d69c2c20299984a765a5d3c31982f38fc74162155e9f",
            &RETRY_KEY_V2,
            &RETRY_NONCE_V2,
        ),
    ];
    for (version, secret, key, nonce) in cases {
        let secret = TrafficSecret::new(CipherSuite::Aes128GcmSha256, version, &h(secret)).unwrap();
        let labels = Labels::for_version(version);
        assert_eq!(expand(&secret, labels.key, 16), key[..]);
        assert_eq!(expand(&secret, labels.iv, 12), nonce[..]);
    }
}

// ---- Appendix A.5: ChaCha20-Poly1305 short header packet, and key update ----

fn check_chacha(v: &ChaChaVectors) {
    let suite = CipherSuite::ChaCha20Poly1305Sha256;
    let secret = TrafficSecret::new(suite, v.version, &h(CHACHA_SECRET)).unwrap();
    let labels = Labels::for_version(v.version);
    assert_eq!(expand(&secret, labels.key, 32), h(v.key));
    assert_eq!(expand(&secret, labels.iv, 12), h(v.iv));
    assert_eq!(expand(&secret, labels.hp, 32), h(v.hp));
    // RFC 9001 §6.1: the next generation's secret, with "quic ku" / "quicv2 ku".
    assert_eq!(secret.next_generation().as_bytes(), h(v.ku));

    let keys = DirectionalKeys::from_secret(&secret);
    assert_eq!(keys.packet.aead(), Aead::ChaCha20Poly1305);
    assert_eq!(keys.packet.nonce_bytes(CHACHA_PN)[..], h(v.nonce)[..]);
    let raw_packet = PacketKey::new(Aead::ChaCha20Poly1305, &h(v.key), &h(v.iv)).unwrap();
    let raw_header = HeaderKey::new(Aead::ChaCha20Poly1305, &h(v.hp)).unwrap();

    let header = h(CHACHA_HEADER);
    // A single PING frame (0x01) and room for the tag: the smallest possible packet, 21 bytes.
    let plain = [header.clone(), vec![0x01], vec![0; 16]].concat();
    for packet_key in [&keys.packet, &raw_packet] {
        let mut buf = plain.clone();
        packet_key
            .encrypt_in_place(CHACHA_PN, header.len(), &mut buf)
            .unwrap();
        assert_eq!(buf[header.len()..], h(v.ciphertext)[..]);
    }
    let sample: [u8; SAMPLE_LEN] = h(v.sample).try_into().unwrap();
    assert_eq!(keys.header.mask(&sample)[..], h(v.mask)[..]);
    assert_eq!(raw_header.mask(&sample)[..], h(v.mask)[..]);

    let mut buf = plain.clone();
    keys.protect(CHACHA_PN, 1, &mut buf).unwrap();
    let expected = [h(v.protected_header), h(v.ciphertext)].concat();
    assert_eq!(buf, expected);
    assert_eq!(buf.len(), 21);

    let opened = keys.unprotect(1, CHACHA_PN - 7, &mut buf).unwrap();
    assert_eq!(opened.number, CHACHA_PN);
    assert_eq!(opened.header_len, 4);
    assert_eq!(buf[..5], plain[..5]);
}

#[test]
fn v1_chacha20_short_header() {
    check_chacha(&chacha_v1());
}

#[test]
fn v2_chacha20_short_header() {
    check_chacha(&chacha_v2());
}

#[test]
fn v1_protected_chacha_packet_matches_rfc() {
    // RFC 9001 A.5 gives the whole packet as one value too.
    let secret = TrafficSecret::new(
        CipherSuite::ChaCha20Poly1305Sha256,
        Version::V1,
        &h(CHACHA_SECRET),
    )
    .unwrap();
    let mut buf = [h(CHACHA_HEADER), vec![0x01], vec![0; 16]].concat();
    DirectionalKeys::from_secret(&secret)
        .protect(CHACHA_PN, 1, &mut buf)
        .unwrap();
    assert_eq!(
        hex::encode(buf),
        "4cfe4189655e5cd55c41f69080575d7999c25a5bfb"
    );
}

/// Key update: both directions move to the "ku" secrets; the packet keys follow, and each
/// generation differs from the last.
#[test]
fn key_update_generations() {
    for v in [chacha_v1(), chacha_v2()] {
        let suite = CipherSuite::ChaCha20Poly1305Sha256;
        let local = TrafficSecret::new(suite, v.version, &h(CHACHA_SECRET)).unwrap();
        let remote = local.next_generation().next_generation();
        let mut secrets = KeyUpdateSecrets::new(local.clone(), remote.clone());
        let next = secrets.next_packet_keys();
        assert_eq!(secrets.current().local.as_bytes(), h(v.ku));
        assert_eq!(
            secrets.current().remote.as_bytes(),
            remote.next_generation().as_bytes()
        );

        // The returned keys are the ones derived from the "ku" secret, not the old ones.
        let ku = TrafficSecret::new(suite, v.version, &h(v.ku)).unwrap();
        let seal = |key: &PacketKey| {
            let mut buf = [h(CHACHA_HEADER), vec![0x01], vec![0; 16]].concat();
            key.encrypt_in_place(CHACHA_PN, 4, &mut buf).unwrap();
            buf
        };
        assert_eq!(seal(&next.local), seal(&ku.packet_key()));
        assert_ne!(seal(&next.local), seal(&local.packet_key()));
        let mut sealed = seal(&next.local);
        assert_eq!(
            local
                .packet_key()
                .decrypt_in_place(CHACHA_PN, 4, &mut sealed),
            Err(CryptoError::DecryptionFailed)
        );

        let mut secret = local.clone();
        secret.update();
        assert_eq!(secret.as_bytes(), h(v.ku));
        assert_eq!(secret.suite(), suite);
        assert_eq!(secret.version(), v.version);
    }
}

/// SHA-384 suites keep 48-byte secrets across updates.
#[test]
fn aes256_secret_lengths() {
    let suite = CipherSuite::Aes256GcmSha384;
    assert_eq!(
        TrafficSecret::new(suite, Version::V1, &[1; 32]).unwrap_err(),
        InvalidKeyLength {
            expected: 48,
            actual: 32
        }
    );
    let secret = TrafficSecret::new(suite, Version::V1, &[1; 48]).unwrap();
    let next = secret.next_generation();
    assert_eq!(next.as_bytes().len(), 48);
    assert_ne!(next.as_bytes(), secret.as_bytes());
    assert_eq!(secret.packet_key().aead(), Aead::Aes256Gcm);
    assert_eq!(secret.header_key().aead(), Aead::Aes256Gcm);
}

// ---- Failure handling ----

/// Flipping any bit of a protected packet must make unprotection fail (never succeed with
/// altered content, never panic).
fn check_tampering(
    protected: &[u8],
    pn_offset: usize,
    expected_pn: u64,
    receiver: &DirectionalKeys,
) {
    let mut good = protected.to_vec();
    receiver
        .unprotect(pn_offset, expected_pn, &mut good)
        .unwrap();
    for i in 0..protected.len() {
        for bit in [0x01, 0x80] {
            let mut bad = protected.to_vec();
            bad[i] ^= bit;
            let result = receiver.unprotect(pn_offset, expected_pn, &mut bad);
            assert!(
                result.is_err(),
                "flipping bit {bit:#x} of byte {i} went unnoticed"
            );
        }
    }
}

#[test]
fn tampering_fails_decryption() {
    for vectors in [v1(), v2()] {
        let client = initial_keys(vectors.version, &dcid(), Side::Client);
        let server = initial_keys(vectors.version, &dcid(), Side::Server);
        let c = &vectors.client_initial;
        check_tampering(&h(c.protected), pn_offset(&h(c.header)), 0, &server.remote);
        let s = &vectors.server_initial;
        check_tampering(&h(s.protected), pn_offset(&h(s.header)), 0, &client.remote);
    }
    let secret = TrafficSecret::new(
        CipherSuite::ChaCha20Poly1305Sha256,
        Version::V1,
        &h(CHACHA_SECRET),
    )
    .unwrap();
    let packet = h("4cfe4189655e5cd55c41f69080575d7999c25a5bfb");
    check_tampering(
        &packet,
        1,
        CHACHA_PN,
        &DirectionalKeys::from_secret(&secret),
    );
}

#[test]
fn decrypt_reports_errors() {
    let client = initial_keys(Version::V1, &dcid(), Side::Client);
    let server = initial_keys(Version::V1, &dcid(), Side::Server);
    let mut buf = [0u8; 40];
    assert_eq!(
        server.remote.packet.decrypt_in_place(0, 8, &mut buf),
        Err(CryptoError::DecryptionFailed)
    );
    // Shorter than header + tag.
    assert_eq!(
        server.remote.packet.decrypt_in_place(0, 25, &mut buf),
        Err(CryptoError::PacketTooShort)
    );
    assert_eq!(
        server.remote.packet.decrypt_in_place(0, 0, &mut buf[..15]),
        Err(CryptoError::PacketTooShort)
    );
    assert_eq!(
        client.local.packet.encrypt_in_place(0, 30, &mut buf),
        Err(CryptoError::PacketTooShort)
    );
    // An empty payload is still authenticated.
    let mut empty = [0u8; 24];
    client
        .local
        .packet
        .encrypt_in_place(5, 8, &mut empty)
        .unwrap();
    assert_eq!(
        server.remote.packet.decrypt_in_place(5, 8, &mut empty),
        Ok(0)
    );
    // Keys of the wrong direction do not open it.
    client
        .local
        .packet
        .encrypt_in_place(6, 8, &mut empty)
        .unwrap();
    assert_eq!(
        client.remote.packet.decrypt_in_place(6, 8, &mut empty),
        Err(CryptoError::DecryptionFailed)
    );
}

/// The separate-slice entry points (used by the rustls bridge) agree with the in-place ones.
#[test]
fn separate_slices_match_in_place() {
    let client = initial_keys(Version::V1, &dcid(), Side::Client);
    let server = initial_keys(Version::V1, &dcid(), Side::Server);
    let mut whole = [0x5cu8; 64];
    client
        .local
        .packet
        .encrypt_in_place(3, 10, &mut whole)
        .unwrap();
    let mut payload = [0x5cu8; 54 - 16];
    let tag = client
        .local
        .packet
        .seal_separate(3, &[0x5c; 10], &mut payload)
        .unwrap();
    assert_eq!(whole[10..48], payload);
    assert_eq!(whole[48..], tag);
    let mut body = whole[10..].to_vec();
    assert_eq!(
        server
            .remote
            .packet
            .open_separate(3, &whole[..10], &mut body),
        Ok(38)
    );
    assert_eq!(body[..38], [0x5c; 38]);
    assert_eq!(
        server
            .remote
            .packet
            .open_separate(3, &whole[..10], &mut body[..15]),
        Err(CryptoError::PacketTooShort)
    );
}

/// RFC 9001 §5.4.2: packets too short for a full sample are rejected, not sliced out of bounds.
#[test]
fn short_packets_fail_header_protection() {
    let keys = initial_keys(Version::V1, &dcid(), Side::Client);
    for pn_offset in [0, 1, 9, 18, usize::MAX - 3, usize::MAX] {
        let needed = pn_offset.saturating_add(4 + SAMPLE_LEN);
        for len in 0..needed.min(64) {
            let mut buf = vec![0xc3; len];
            assert_eq!(
                keys.remote.header.unprotect(pn_offset, &mut buf),
                Err(CryptoError::PacketTooShort)
            );
            assert!(buf.iter().all(|&b| b == 0xc3), "buffer changed on failure");
            assert_eq!(
                keys.local.header.protect(pn_offset, &mut buf),
                Err(CryptoError::PacketTooShort)
            );
            assert_eq!(
                keys.local.protect(0, pn_offset, &mut buf),
                Err(CryptoError::PacketTooShort)
            );
            assert!(buf.iter().all(|&b| b == 0xc3), "buffer changed on failure");
            assert_eq!(
                keys.remote.unprotect(pn_offset, 0, &mut buf),
                Err(CryptoError::PacketTooShort)
            );
        }
    }
    // Exactly long enough: a 1-byte packet number and 3 bytes of payload (RFC 9001 §5.4.2).
    let server = initial_keys(Version::V1, &dcid(), Side::Server);
    let mut buf = [0x40, 0, 1, 2, 3]
        .iter()
        .copied()
        .chain([0; 16])
        .collect::<Vec<_>>();
    keys.local.protect(0, 1, &mut buf).unwrap();
    assert_eq!(
        server.remote.unprotect(1, 0, &mut buf).unwrap().payload_len,
        3
    );
}

#[test]
fn raw_key_lengths_are_checked() {
    for aead in Aead::ALL {
        let wrong = aead.key_len() + 1;
        assert_eq!(
            PacketKey::new(aead, &vec![0; wrong], &[0; 12]).unwrap_err(),
            InvalidKeyLength {
                expected: aead.key_len(),
                actual: wrong
            }
        );
        assert!(PacketKey::new(aead, &vec![0; aead.key_len()], &[0; 8]).is_err());
        assert!(HeaderKey::new(aead, &vec![0; wrong]).is_err());
        assert!(HeaderKey::new(aead, &vec![0; aead.key_len()]).is_ok());
    }
    assert!(PacketKey::from_secret(CipherSuite::Aes128GcmSha256, Version::V1, &[0; 31]).is_err());
    assert!(HeaderKey::from_secret(CipherSuite::Aes128GcmSha256, Version::V2, &[0; 32]).is_ok());
}

#[test]
fn aead_limits() {
    // RFC 9001 §6.6.
    let key = |aead: Aead| PacketKey::new(aead, &vec![0; aead.key_len()], &[0; 12]).unwrap();
    for aead in [Aead::Aes128Gcm, Aead::Aes256Gcm] {
        assert_eq!(key(aead).confidentiality_limit(), 1 << 23);
        assert_eq!(key(aead).integrity_limit(), 1 << 52);
    }
    let chacha = key(Aead::ChaCha20Poly1305);
    assert_eq!(chacha.confidentiality_limit(), 1 << 62);
    assert_eq!(chacha.integrity_limit(), 1 << 36);
    assert!(Aead::ALL.iter().all(|&a| key(a).tag_len() == 16));
}

#[test]
fn side_and_suite_codes() {
    assert!(Side::Client.is_client());
    assert_eq!(Side::Client.peer(), Side::Server);
    for suite in [
        CipherSuite::Aes128GcmSha256,
        CipherSuite::Aes256GcmSha384,
        CipherSuite::ChaCha20Poly1305Sha256,
    ] {
        assert_eq!(CipherSuite::from_u16(suite.to_u16()), Some(suite));
    }
    assert_eq!(CipherSuite::from_u16(0x1305), None); // TLS_AES_128_CCM_8_SHA256
}

// ---- Property tests ----

fn aead() -> impl Strategy<Value = Aead> {
    prop_oneof![
        Just(Aead::Aes128Gcm),
        Just(Aead::Aes256Gcm),
        Just(Aead::ChaCha20Poly1305)
    ]
}

proptest! {
    /// Protecting then unprotecting any header, payload and packet number gives them back, for
    /// every AEAD; the bits header protection must leave alone stay in the clear.
    #[test]
    fn protect_unprotect_round_trip(
        aead in aead(),
        key_seed in any::<[u8; 32]>(),
        iv in any::<[u8; 12]>(),
        hp_seed in any::<[u8; 32]>(),
        first in any::<u8>(),
        middle in proptest::collection::vec(any::<u8>(), 0..48),
        packet_number in 0u64..(1 << 62),
        payload in proptest::collection::vec(any::<u8>(), 3..1400),
    ) {
        let keys = DirectionalKeys {
            packet: PacketKey::new(aead, &key_seed[..aead.key_len()], &iv).unwrap(),
            header: HeaderKey::new(aead, &hp_seed[..aead.key_len()]).unwrap(),
        };
        let pn_len = usize::from(first & 0x03) + 1;
        let pn_bytes = &packet_number.to_be_bytes()[8 - pn_len..];
        let header = [&[first][..], &middle, pn_bytes].concat();
        let pn_offset = 1 + middle.len();
        // RFC 9001 §5.4.2: at least 4 bytes of packet number and payload before the sample.
        let mut payload = payload;
        if payload.len() + pn_len < 4 {
            payload.resize(4 - pn_len, 0);
        }
        let mut buf = [&header[..], &payload, &[0; 16]].concat();
        keys.protect(packet_number, pn_offset, &mut buf).unwrap();

        let kept = if first & 0x80 != 0 { 0xf0 } else { 0xe0 };
        prop_assert_eq!(buf[0] & kept, first & kept);
        prop_assert_eq!(&buf[1..pn_offset], &middle[..]);

        let opened = keys.unprotect(pn_offset, packet_number, &mut buf).unwrap();
        prop_assert_eq!(opened.number, packet_number);
        prop_assert_eq!(opened.header_len, header.len());
        prop_assert_eq!(opened.payload_len, payload.len());
        prop_assert_eq!(&buf[..header.len()], &header[..]);
        prop_assert_eq!(&buf[header.len()..][..payload.len()], &payload[..]);
    }

    /// A packet sealed with one packet number does not open with another (the nonce differs).
    #[test]
    fn wrong_packet_number_fails(aead in aead(), pn in 0u64..(1 << 62), delta in 1u64..1000) {
        let key = PacketKey::new(aead, &vec![9; aead.key_len()], &[3; 12]).unwrap();
        let mut buf = [0x41u8; 64];
        key.encrypt_in_place(pn, 10, &mut buf).unwrap();
        prop_assert_eq!(
            key.decrypt_in_place(pn ^ delta, 10, &mut buf),
            Err(CryptoError::DecryptionFailed)
        );
    }
}

/// Appendix A.2 (both RFCs): the CRYPTO frame of the client Initial.
const CLIENT_CRYPTO_FRAME: &str = "\
    060040f1010000ed0303ebf8fa56f12939b9584a3896472ec40bb863cfd3e868\
    04fe3a47f06a2b69484c00000413011302010000c000000010000e00000b6578\
    616d706c652e636f6dff01000100000a00080006001d00170018001000070005\
    04616c706e000500050100000000003300260024001d00209370b2c9caa47fba\
    baf4559fedba753de171fa71f50f1ce15d43e994ec74d748002b000302030400\
    0d0010000e0403050306030203080408050806002d00020101001c0002400100\
    3900320408ffffffffffffffff05048000ffff07048000ffff08011001048000\
    75300901100f088394c8f03e51570806048000ffff";

/// Appendix A.3 (both RFCs): the server Initial payload (ACK and CRYPTO frames).
const SERVER_PAYLOAD: &str = "\
    02000000000600405a020000560303eefce7f7b37ba1d1632e96677825ddf739\
    88cfc79825df566dc5430b9a045a1200130100002e00330024001d00209d3c94\
    0d89690b84d08a60993c144eca684d1081287c834d5311bcf32bb9da1a002b00\
    020304";

/// RFC 9001 Appendix A.2: the protected client Initial.
const V1_CLIENT_INITIAL: &str = "\
    c000000001088394c8f03e5157080000449e7b9aec34d1b1c98dd7689fb8ec11\
    d242b123dc9bd8bab936b47d92ec356c0bab7df5976d27cd449f63300099f399\
    1c260ec4c60d17b31f8429157bb35a1282a643a8d2262cad67500cadb8e7378c\
    8eb7539ec4d4905fed1bee1fc8aafba17c750e2c7ace01e6005f80fcb7df6212\
    30c83711b39343fa028cea7f7fb5ff89eac2308249a02252155e2347b63d58c5\
    457afd84d05dfffdb20392844ae812154682e9cf012f9021a6f0be17ddd0c208\
    4dce25ff9b06cde535d0f920a2db1bf362c23e596d11a4f5a6cf3948838a3aec\
    4e15daf8500a6ef69ec4e3feb6b1d98e610ac8b7ec3faf6ad760b7bad1db4ba3\
    485e8a94dc250ae3fdb41ed15fb6a8e5eba0fc3dd60bc8e30c5c4287e53805db\
    059ae0648db2f64264ed5e39be2e20d82df566da8dd5998ccabdae053060ae6c\
    7b4378e846d29f37ed7b4ea9ec5d82e7961b7f25a9323851f681d582363aa5f8\
    9937f5a67258bf63ad6f1a0b1d96dbd4faddfcefc5266ba6611722395c906556\
    be52afe3f565636ad1b17d508b73d8743eeb524be22b3dcbc2c7468d54119c74\
    68449a13d8e3b95811a198f3491de3e7fe942b330407abf82a4ed7c1b311663a\
    c69890f4157015853d91e923037c227a33cdd5ec281ca3f79c44546b9d90ca00\
    f064c99e3dd97911d39fe9c5d0b23a229a234cb36186c4819e8b9c5927726632\
    291d6a418211cc2962e20fe47feb3edf330f2c603a9d48c0fcb5699dbfe58964\
    25c5bac4aee82e57a85aaf4e2513e4f05796b07ba2ee47d80506f8d2c25e50fd\
    14de71e6c418559302f939b0e1abd576f279c4b2e0feb85c1f28ff18f58891ff\
    ef132eef2fa09346aee33c28eb130ff28f5b766953334113211996d20011a198\
    e3fc433f9f2541010ae17c1bf202580f6047472fb36857fe843b19f5984009dd\
    c324044e847a4f4a0ab34f719595de37252d6235365e9b84392b061085349d73\
    203a4a13e96f5432ec0fd4a1ee65accdd5e3904df54c1da510b0ff20dcc0c77f\
    cb2c0e0eb605cb0504db87632cf3d8b4dae6e705769d1de354270123cb11450e\
    fc60ac47683d7b8d0f811365565fd98c4c8eb936bcab8d069fc33bd801b03ade\
    a2e1fbc5aa463d08ca19896d2bf59a071b851e6c239052172f296bfb5e724047\
    90a2181014f3b94a4e97d117b438130368cc39dbb2d198065ae3986547926cd2\
    162f40a29f0c3c8745c0f50fba3852e566d44575c29d39a03f0cda721984b6f4\
    40591f355e12d439ff150aab7613499dbd49adabc8676eef023b15b65bfc5ca0\
    6948109f23f350db82123535eb8a7433bdabcb909271a6ecbcb58b936a88cd4e\
    8f2e6ff5800175f113253d8fa9ca8885c2f552e657dc603f252e1a8e308f76f0\
    be79e2fb8f5d5fbbe2e30ecadd220723c8c0aea8078cdfcb3868263ff8f09400\
    54da48781893a7e49ad5aff4af300cd804a6b6279ab3ff3afb64491c85194aab\
    760d58a606654f9f4400e8b38591356fbf6425aca26dc85244259ff2b19c41b9\
    f96f3ca9ec1dde434da7d2d392b905ddf3d1f9af93d1af5950bd493f5aa731b4\
    056df31bd267b6b90a079831aaf579be0a39013137aac6d404f518cfd4684064\
    7e78bfe706ca4cf5e9c5453e9f7cfd2b8b4c8d169a44e55c88d4a9a7f9474241\
    e221af44860018ab0856972e194cd934";

/// RFC 9001 Appendix A.3: the protected server Initial.
const V1_SERVER_INITIAL: &str = "\
    cf000000010008f067a5502a4262b5004075c0d95a482cd0991cd25b0aac406a\
    5816b6394100f37a1c69797554780bb38cc5a99f5ede4cf73c3ec2493a1839b3\
    dbcba3f6ea46c5b7684df3548e7ddeb9c3bf9c73cc3f3bded74b562bfb19fb84\
    022f8ef4cdd93795d77d06edbb7aaf2f58891850abbdca3d20398c276456cbc4\
    2158407dd074ee";

/// RFC 9001 Appendix A.4: the Retry packet, tag included.
const V1_RETRY: &str = "\
    ff000000010008f067a5502a4262b5746f6b656e04a265ba2eff4d829058fb3f\
    0f2496ba";

/// RFC 9369 Appendix A.2: the protected client Initial.
const V2_CLIENT_INITIAL: &str = "\
    d76b3343cf088394c8f03e5157080000449ea0c95e82ffe67b6abcdb4298b485\
    dd04de806071bf03dceebfa162e75d6c96058bdbfb127cdfcbf903388e99ad04\
    9f9a3dd4425ae4d0992cfff18ecf0fdb5a842d09747052f17ac2053d21f57c5d\
    250f2c4f0e0202b70785b7946e992e58a59ac52dea6774d4f03b55545243cf1a\
    12834e3f249a78d395e0d18f4d766004f1a2674802a747eaa901c3f10cda5500\
    cb9122faa9f1df66c392079a1b40f0de1c6054196a11cbea40afb6ef5253cd68\
    18f6625efce3b6def6ba7e4b37a40f7732e093daa7d52190935b8da58976ff33\
    12ae50b187c1433c0f028edcc4c2838b6a9bfc226ca4b4530e7a4ccee1bfa2a3\
    d396ae5a3fb512384b2fdd851f784a65e03f2c4fbe11a53c7777c023462239dd\
    6f7521a3f6c7d5dd3ec9b3f233773d4b46d23cc375eb198c63301c21801f6520\
    bcfb7966fc49b393f0061d974a2706df8c4a9449f11d7f3d2dcbb90c6b877045\
    636e7c0c0fe4eb0f697545460c806910d2c355f1d253bc9d2452aaa549e27a1f\
    ac7cf4ed77f322e8fa894b6a83810a34b361901751a6f5eb65a0326e07de7c12\
    16ccce2d0193f958bb3850a833f7ae432b65bc5a53975c155aa4bcb4f7b2c4e5\
    4df16efaf6ddea94e2c50b4cd1dfe06017e0e9d02900cffe1935e0491d77ffb4\
    fdf85290fdd893d577b1131a610ef6a5c32b2ee0293617a37cbb08b847741c3b\
    8017c25ca9052ca1079d8b78aebd47876d330a30f6a8c6d61dd1ab5589329de7\
    14d19d61370f8149748c72f132f0fc99f34d766c6938597040d8f9e2bb522ff9\
    9c63a344d6a2ae8aa8e51b7b90a4a806105fcbca31506c446151adfeceb51b91\
    abfe43960977c87471cf9ad4074d30e10d6a7f03c63bd5d4317f68ff325ba3bd\
    80bf4dc8b52a0ba031758022eb025cdd770b44d6d6cf0670f4e990b22347a7db\
    848265e3e5eb72dfe8299ad7481a408322cac55786e52f633b2fb6b614eaed18\
    d703dd84045a274ae8bfa73379661388d6991fe39b0d93debb41700b41f90a15\
    c4d526250235ddcd6776fc77bc97e7a417ebcb31600d01e57f32162a8560cacc\
    7e27a096d37a1a86952ec71bd89a3e9a30a2a26162984d7740f81193e8238e61\
    f6b5b984d4d3dfa033c1bb7e4f0037febf406d91c0dccf32acf423cfa1e70710\
    10d3f270121b493ce85054ef58bada42310138fe081adb04e2bd901f2f13458b\
    3d6758158197107c14ebb193230cd1157380aa79cae1374a7c1e5bbcb80ee23e\
    06ebfde206bfb0fcbc0edc4ebec309661bdd908d532eb0c6adc38b7ca7331dce\
    8dfce39ab71e7c32d318d136b6100671a1ae6a6600e3899f31f0eed19e3417d1\
    34b90c9058f8632c798d4490da4987307cba922d61c39805d072b589bd52fdf1\
    e86215c2d54e6670e07383a27bbffb5addf47d66aa85a0c6f9f32e59d85a44dd\
    5d3b22dc2be80919b490437ae4f36a0ae55edf1d0b5cb4e9a3ecabee93dfc6e3\
    8d209d0fa6536d27a5d6fbb17641cde27525d61093f1b28072d111b2b4ae5f89\
    d5974ee12e5cf7d5da4d6a31123041f33e61407e76cffcdcfd7e19ba58cf4b53\
    6f4c4938ae79324dc402894b44faf8afbab35282ab659d13c93f70412e85cb19\
    9a37ddec600545473cfb5a05e08d0b209973b2172b4d21fb69745a262ccde96b\
    a18b2faa745b6fe189cf772a9f84cbfc";

/// RFC 9369 Appendix A.3: the protected server Initial.
const V2_SERVER_INITIAL: &str = "\
    dc6b3343cf0008f067a5502a4262b5004075d92faaf16f05d8a4398c47089698\
    baeea26b91eb761d9b89237bbf87263017915358230035f7fd3945d88965cf17\
    f9af6e16886c61bfc703106fbaf3cb4cfa52382dd16a393e42757507698075b2\
    c984c707f0a0812d8cd5a6881eaf21ceda98f4bd23f6fe1a3e2c43edd9ce7ca8\
    4bed8521e2e140";

/// RFC 9369 Appendix A.4: the Retry packet, tag included.
const V2_RETRY: &str = "\
    cf6b3343cf0008f067a5502a4262b5746f6b656ec8646ce8bfe33952d9555436\
    65dcc7b6";

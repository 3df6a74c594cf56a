//! The TLS layer on its own: rustls handshakes between our client and server sessions, with
//! packet protection from our provider, exchanging handshake bytes directly (no packets).

use std::path::PathBuf;

use rustls::quic::{KeyChange, Keys};

use super::*;
use crate::transport_error::{TransportError, TransportErrorCode};
use crate::Version;

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

struct Side {
    session: TlsSession,
    one_rtt: Option<Keys>,
}

impl Side {
    /// Moves everything this side wants to send to `peer`, returning whether anything moved.
    fn flush_to(&mut self, peer: &mut Side) -> Result<bool, TransportError> {
        let mut moved = false;
        loop {
            let mut buf = Vec::new();
            let change = self.session.write_handshake(&mut buf);
            if !buf.is_empty() {
                moved = true;
                peer.session.read_handshake(&buf)?;
            }
            match change {
                Some(KeyChange::OneRtt { keys, .. }) => self.one_rtt = Some(keys),
                Some(KeyChange::Handshake { .. }) => {}
                None => return Ok(moved),
            }
        }
    }
}

fn handshake(
    client: Arc<rustls::ClientConfig>,
    server: Arc<rustls::ServerConfig>,
    version: Version,
) -> Result<(Side, Side), TransportError> {
    let mut c = Side {
        session: TlsSession::client(client, "localhost", version, b"client params".to_vec())?,
        one_rtt: None,
    };
    let mut s = Side {
        session: TlsSession::server(server, version, b"server params".to_vec())?,
        one_rtt: None,
    };
    for _ in 0..10 {
        let a = c.flush_to(&mut s)?;
        let b = s.flush_to(&mut c)?;
        if !a && !b {
            break;
        }
    }
    Ok((c, s))
}

use std::sync::Arc;

fn server(
    cert: &str,
    key: &str,
    alpn: &[&[u8]],
    suites: CipherSuites,
) -> Arc<rustls::ServerConfig> {
    server_config_from_pem_files(&data(cert), &data(key), alpn, suites).unwrap()
}

fn ca() -> ServerVerification {
    ServerVerification::CaFile(data("ca.crt"))
}

/// Seals a packet with one side's 1-RTT key and opens it with the other's: both ends derived
/// the same secrets through rustls and protect with our code.
fn assert_keys_interoperate(a: &Keys, b: &Keys) {
    let header = [0x40u8, 1, 2, 3, 4, 5, 6, 7, 8, 0x2a];
    let mut payload = b"hello from one side to the other".to_vec();
    let plain = payload.clone();
    let tag = a
        .local
        .packet
        .encrypt_in_place(42, &header, &mut payload)
        .unwrap();
    assert_ne!(payload, plain);
    payload.extend_from_slice(tag.as_ref());
    let opened = b
        .remote
        .packet
        .decrypt_in_place(42, &header, &mut payload)
        .unwrap();
    assert_eq!(opened, &plain[..]);
}

#[test]
fn ecdsa_handshake_with_sec1_key_and_ca_verification() {
    for version in [Version::V1, Version::V2] {
        let client = client_config(&ca(), &[b"h3"], CipherSuites::All).unwrap();
        let server = server(
            "ec.crt",
            "ec_sec1_with_params.key",
            &[b"h3"],
            CipherSuites::All,
        );
        let (c, s) = handshake(client, server, version).unwrap();
        assert!(!c.session.is_handshaking() && !s.session.is_handshaking());
        assert_eq!(c.session.alpn(), Some(&b"h3"[..]));
        assert_eq!(s.session.server_name(), Some("localhost"));
        assert_eq!(
            c.session.peer_transport_params(),
            Some(&b"server params"[..])
        );
        assert_eq!(
            s.session.peer_transport_params(),
            Some(&b"client params"[..])
        );
        assert_keys_interoperate(c.one_rtt.as_ref().unwrap(), s.one_rtt.as_ref().unwrap());
        assert_keys_interoperate(s.one_rtt.as_ref().unwrap(), c.one_rtt.as_ref().unwrap());
    }
}

#[test]
fn rsa_pkcs1_and_pkcs8_keys_load() {
    let client = client_config(&ca(), &[b"hq-interop"], CipherSuites::All).unwrap();
    let server = server(
        "rsa.crt",
        "rsa_pkcs1.key",
        &[b"hq-interop"],
        CipherSuites::All,
    );
    let (c, s) = handshake(client, server, Version::V1).unwrap();
    assert_keys_interoperate(c.one_rtt.as_ref().unwrap(), s.one_rtt.as_ref().unwrap());
    assert!(load_private_key(&data("ec_pkcs8.key")).is_ok());
}

#[test]
fn chacha20_only() {
    let client = client_config(&ca(), &[b"h3"], CipherSuites::ChaCha20Only).unwrap();
    let server = server(
        "ec.crt",
        "ec_pkcs8.key",
        &[b"h3"],
        CipherSuites::ChaCha20Only,
    );
    let (c, s) = handshake(client, server, Version::V1).unwrap();
    let suite = c.session.cipher_suite().unwrap().suite();
    assert_eq!(suite, rustls::CipherSuite::TLS13_CHACHA20_POLY1305_SHA256);
    assert_keys_interoperate(c.one_rtt.as_ref().unwrap(), s.one_rtt.as_ref().unwrap());
}

#[test]
fn alpn_mismatch_is_no_application_protocol_alert() {
    let client = client_config(&ca(), &[b"h3"], CipherSuites::All).unwrap();
    let server = server(
        "ec.crt",
        "ec_pkcs8.key",
        &[b"hq-interop"],
        CipherSuites::All,
    );
    let err = handshake(client, server, Version::V1)
        .err()
        .expect("handshake must fail");
    // RFC 9001 §8.1: no_application_protocol (120) -> CRYPTO_ERROR 0x178.
    assert_eq!(err.code, TransportErrorCode::crypto(120));
}

#[test]
fn untrusted_certificate_fails_and_insecure_mode_accepts_it() {
    let other_ca = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let verification = ServerVerification::CaCerts(vec![other_ca.cert.der().clone()]);
    let client = client_config(&verification, &[b"h3"], CipherSuites::All).unwrap();
    let srv = server("ec.crt", "ec_pkcs8.key", &[b"h3"], CipherSuites::All);
    let err = handshake(client, srv.clone(), Version::V1)
        .err()
        .expect("must not verify");
    // bad_certificate (42) or unknown_ca (48), both CRYPTO_ERRORs.
    assert!(err.code.tls_alert().is_some(), "{err}");

    let insecure = client_config(
        &ServerVerification::InsecureSkipVerify,
        &[b"h3"],
        CipherSuites::All,
    )
    .unwrap();
    let (c, _) = handshake(insecure, srv, Version::V1).unwrap();
    assert!(!c.session.is_handshaking());
}

#[test]
fn pem_errors_name_the_file() {
    let err = load_certs(&data("missing.crt")).unwrap_err().to_string();
    assert!(err.contains("missing.crt"), "{err}");
    let err = load_certs(&data("ec_pkcs8.key")).unwrap_err().to_string();
    assert!(err.contains("no CERTIFICATE"), "{err}");
}

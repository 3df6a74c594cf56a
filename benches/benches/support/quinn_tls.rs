//! quinn's TLS configuration for the benches that run it next to ours: the same test
//! certificate, CA and cipher-suite order as our side, so that both negotiate
//! TLS_AES_128_GCM_SHA256. Included by bench targets with `#[path]` (a subdirectory, so cargo does not take it for a bench).

use std::path::PathBuf;
use std::sync::Arc;

use quinn_proto::crypto::rustls::{QuicClientConfig, QuicServerConfig};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

/// A file of `quic/tests/data` (the certificates our own tests use).
pub fn test_data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../quic/tests/data")
        .join(name)
}

/// ring's provider with AES-128-GCM first, as ours orders its suites, so both negotiate it.
fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    use rustls::crypto::ring::{cipher_suite, default_provider};
    Arc::new(rustls::crypto::CryptoProvider {
        cipher_suites: vec![
            cipher_suite::TLS13_AES_128_GCM_SHA256,
            cipher_suite::TLS13_AES_256_GCM_SHA384,
            cipher_suite::TLS13_CHACHA20_POLY1305_SHA256,
        ],
        ..default_provider()
    })
}

/// The server side: the ECDSA test certificate, `alpn`, no 0-RTT.
pub fn server_crypto(alpn: &[u8]) -> Arc<QuicServerConfig> {
    let certs = CertificateDer::pem_file_iter(test_data("ec.crt"))
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .expect("test certificate");
    let key = PrivateKeyDer::from_pem_file(test_data("ec_sec1_with_params.key")).expect("key");
    let mut tls = rustls::ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .expect("TLS 1.3")
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .expect("certificate and key");
    tls.alpn_protocols = vec![alpn.to_vec()];
    tls.max_early_data_size = 0;
    Arc::new(QuicServerConfig::try_from(tls).expect("QUIC TLS"))
}

/// The client side: trusts the test CA, offers `alpn`, and never resumes, so that every
/// handshake is a full one (certificate and signature).
pub fn client_crypto(alpn: &[u8]) -> Arc<QuicClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(test_data("ca.crt")).expect("CA") {
        roots.add(cert.expect("CA certificate")).expect("CA added");
    }
    let mut tls = rustls::ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .expect("TLS 1.3")
        .with_root_certificates(roots)
        .with_no_client_auth();
    tls.alpn_protocols = vec![alpn.to_vec()];
    tls.resumption = rustls::client::Resumption::disabled();
    Arc::new(QuicClientConfig::try_from(tls).expect("QUIC TLS"))
}

//! TLS 1.3 configuration for QUIC: certificates and keys from PEM files, server verification
//! (a CA file, the system roots, or an explicit insecure mode for tests), ALPN, and the cipher
//! suites whose QUIC packet protection is ours (see [`super::provider`]).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};

use super::provider::{crypto_provider, CipherSuites};

/// Why a TLS configuration could not be built.
#[derive(Debug, thiserror::Error)]
pub enum TlsConfigError {
    /// A PEM file could not be read or parsed.
    #[error("{path}: {reason}")]
    Pem {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// rustls rejected the configuration (for example, a key that does not match).
    #[error("TLS configuration: {0}")]
    Rustls(#[from] rustls::Error),
    /// No usable trust anchors were found.
    #[error("no trust anchors: {0}")]
    NoTrustAnchors(String),
}

fn pem_error(path: &Path, reason: impl ToString) -> TlsConfigError {
    TlsConfigError::Pem {
        path: path.to_owned(),
        reason: reason.to_string(),
    }
}

/// Reads every certificate from a PEM file (leaf first, then the chain).
pub fn load_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsConfigError> {
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| pem_error(path, e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| pem_error(path, e))?;
    if certs.is_empty() {
        return Err(pem_error(path, "no CERTIFICATE block found"));
    }
    Ok(certs)
}

/// Reads the first private key from a PEM file: PKCS#8 (`PRIVATE KEY`), PKCS#1 (`RSA PRIVATE
/// KEY`) or SEC1 (`EC PRIVATE KEY`). Other blocks, such as the `EC PARAMETERS` block that
/// `openssl ecparam -genkey` writes before the key (and the interop runner ships), are skipped.
pub fn load_private_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsConfigError> {
    PrivateKeyDer::from_pem_file(path).map_err(|e| pem_error(path, e))
}

/// Parses certificates from PEM text in memory.
pub fn parse_certs(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, TlsConfigError> {
    let path = Path::new("<memory>");
    CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| pem_error(path, e))
}

/// Parses a private key from PEM text in memory.
pub fn parse_private_key(pem: &[u8]) -> Result<PrivateKeyDer<'static>, TlsConfigError> {
    PrivateKeyDer::from_pem_slice(pem).map_err(|e| pem_error(Path::new("<memory>"), e))
}

/// How a client decides whether to trust the server's certificate.
#[derive(Debug, Clone)]
pub enum ServerVerification {
    /// Trust anchors from a PEM file of CA certificates.
    CaFile(PathBuf),
    /// Trust anchors given directly.
    CaCerts(Vec<CertificateDer<'static>>),
    /// The operating system's trust store.
    SystemRoots,
    /// Accept any certificate (signatures over the handshake are still checked). For tests and
    /// `--insecure` only: it gives no authentication of the server.
    InsecureSkipVerify,
}

/// Builds a rustls client configuration for QUIC (TLS 1.3 only, RFC 9001 §4.2).
pub fn client_config(
    verification: &ServerVerification,
    alpn: &[&[u8]],
    suites: CipherSuites,
) -> Result<Arc<rustls::ClientConfig>, TlsConfigError> {
    let provider = crypto_provider(suites);
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&rustls::version::TLS13])?;
    let mut config = match verification {
        ServerVerification::InsecureSkipVerify => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate(provider)))
            .with_no_client_auth(),
        other => {
            let mut roots = rustls::RootCertStore::empty();
            match other {
                ServerVerification::CaFile(path) => {
                    for cert in load_certs(path)? {
                        roots.add(cert).map_err(|e| pem_error(path, e))?;
                    }
                }
                ServerVerification::CaCerts(certs) => {
                    for cert in certs {
                        roots.add(cert.clone())?;
                    }
                }
                _ => {
                    let found = rustls_native_certs::load_native_certs();
                    let (added, _ignored) = roots.add_parsable_certificates(found.certs);
                    if added == 0 {
                        return Err(TlsConfigError::NoTrustAnchors(format!(
                            "the system trust store has no usable certificates ({} errors)",
                            found.errors.len()
                        )));
                    }
                }
            }
            builder.with_root_certificates(roots).with_no_client_auth()
        }
    };
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    config.enable_early_data = false;
    Ok(Arc::new(config))
}

/// Builds a rustls server configuration for QUIC from a certificate chain and key.
pub fn server_config(
    certs: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    alpn: &[&[u8]],
    suites: CipherSuites,
) -> Result<Arc<rustls::ServerConfig>, TlsConfigError> {
    let mut config = rustls::ServerConfig::builder_with_provider(crypto_provider(suites))
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .with_no_client_auth()
        .with_single_cert(certs, key)?;
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    // RFC 9001 §4.6.1: QUIC requires max_early_data_size of 0 or 0xffffffff; 0-RTT is not
    // offered yet.
    config.max_early_data_size = 0;
    Ok(Arc::new(config))
}

/// Builds a server configuration from PEM files.
pub fn server_config_from_pem_files(
    cert_chain: &Path,
    key: &Path,
    alpn: &[&[u8]],
    suites: CipherSuites,
) -> Result<Arc<rustls::ServerConfig>, TlsConfigError> {
    server_config(
        load_certs(cert_chain)?,
        load_private_key(key)?,
        alpn,
        suites,
    )
}

/// Accepts any server certificate but still verifies the handshake signatures, so the TLS
/// handshake itself stays honest.
#[derive(Debug)]
struct AcceptAnyCertificate(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

//! The TLS 1.3 handshake of one connection, through rustls's QUIC API (RFC 9001 §4).
//!
//! rustls consumes and produces handshake bytes per encryption level; the connection carries
//! them in CRYPTO frames and installs the keys rustls hands back. Packet protection under those
//! keys is ours (see [`super::provider`]).

use std::sync::Arc;

use rustls::pki_types::ServerName;
use rustls::quic::{self, KeyChange};

use crate::transport_error::{TransportError, TransportErrorCode};
use crate::Version;

/// One side of a TLS handshake for QUIC.
pub struct TlsSession {
    inner: quic::Connection,
}

impl std::fmt::Debug for TlsSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsSession")
            .field("handshaking", &self.inner.is_handshaking())
            .finish()
    }
}

fn rustls_version(version: Version) -> quic::Version {
    match version {
        Version::V1 => quic::Version::V1,
        Version::V2 => quic::Version::V2,
    }
}

impl TlsSession {
    /// Starts a client handshake to `server_name`, sending our encoded transport parameters.
    pub fn client(
        config: Arc<rustls::ClientConfig>,
        server_name: &str,
        version: Version,
        transport_params: Vec<u8>,
    ) -> Result<Self, TransportError> {
        let name = ServerName::try_from(server_name.to_owned()).map_err(|_| {
            TransportError::internal_error(format!("invalid server name {server_name:?}"))
        })?;
        let conn =
            quic::ClientConnection::new(config, rustls_version(version), name, transport_params)
                .map_err(|e| TransportError::internal_error(format!("TLS client: {e}")))?;
        Ok(Self { inner: conn.into() })
    }

    /// Starts a server handshake.
    pub fn server(
        config: Arc<rustls::ServerConfig>,
        version: Version,
        transport_params: Vec<u8>,
    ) -> Result<Self, TransportError> {
        let conn = quic::ServerConnection::new(config, rustls_version(version), transport_params)
            .map_err(|e| TransportError::internal_error(format!("TLS server: {e}")))?;
        Ok(Self { inner: conn.into() })
    }

    /// Feeds handshake bytes received in CRYPTO frames at the current read level.
    ///
    /// RFC 9001 §4.8: a TLS alert becomes a CRYPTO_ERROR, 0x0100 + the alert code.
    pub fn read_handshake(&mut self, data: &[u8]) -> Result<(), TransportError> {
        self.inner.read_hs(data).map_err(|e| {
            let code = match self.inner.alert() {
                Some(alert) => TransportErrorCode::crypto(u8::from(alert)),
                // rustls failed without an alert to send: report a generic handshake failure
                // (alert 40) so the peer still learns the handshake is over.
                None => TransportErrorCode::crypto(40),
            };
            TransportError::new(code, format!("TLS: {e}"))
        })
    }

    /// Collects handshake bytes to send at the current write level; a key change means the
    /// bytes written after it belong to the next level.
    pub fn write_handshake(&mut self, buf: &mut Vec<u8>) -> Option<KeyChange> {
        self.inner.write_hs(buf)
    }

    /// The peer's encoded transport parameters, once received.
    pub fn peer_transport_params(&self) -> Option<&[u8]> {
        self.inner.quic_transport_parameters()
    }

    /// Whether the handshake is still in progress.
    pub fn is_handshaking(&self) -> bool {
        self.inner.is_handshaking()
    }

    /// The negotiated application protocol.
    pub fn alpn(&self) -> Option<&[u8]> {
        self.inner.alpn_protocol()
    }

    /// The server name the client sent (server side).
    pub fn server_name(&self) -> Option<&str> {
        match &self.inner {
            quic::Connection::Server(s) => s.server_name(),
            quic::Connection::Client(_) => None,
        }
    }

    /// The negotiated cipher suite.
    pub fn cipher_suite(&self) -> Option<rustls::SupportedCipherSuite> {
        self.inner.negotiated_cipher_suite()
    }

    /// The peer's certificate chain.
    pub fn peer_certificates(&self) -> Option<&[rustls::pki_types::CertificateDer<'static>]> {
        self.inner.peer_certificates()
    }
}

//! TLS for the listeners: certificates chosen by SNI from the configuration in force.
//!
//! The same resolver serves TCP (ALPN h2, http/1.1) and QUIC (ALPN h3): a reload changes the
//! certificates of new handshakes without touching established connections.

use crate::service::GatewayService;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls::ServerConfig;
use std::sync::Arc;

pub const ALPN_TCP: [&[u8]; 2] = [b"h2", b"http/1.1"];
pub const ALPN_H3: [&[u8]; 1] = [b"h3"];

/// Picks the certificate of the most specific server on `port` whose hosts match the SNI;
/// without SNI (or without a match) the port's first certificate, as Envoy's default chain.
pub struct SniResolver {
    service: GatewayService,
    port: u16,
}

impl std::fmt::Debug for SniResolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SniResolver(port {})", self.port)
    }
}

impl SniResolver {
    pub fn new(service: GatewayService, port: u16) -> Self {
        SniResolver { service, port }
    }

    pub fn resolve_name(&self, sni: Option<&str>) -> Option<Arc<CertifiedKey>> {
        let snap = self.service.snapshot();
        if let Some(name) = sni {
            let name = name.to_ascii_lowercase();
            if let Some(key) = snap
                .table
                .servers_for(self.port, &name)
                .into_iter()
                .find_map(|s| s.certificate.clone())
            {
                return Some(key);
            }
        }
        snap.table
            .port(self.port)?
            .servers
            .iter()
            .find_map(|s| s.certificate.clone())
    }
}

impl ResolvesServerCert for SniResolver {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.resolve_name(hello.server_name())
    }
}

/// A rustls server configuration (ring provider, TLS 1.2 and 1.3) with SNI selection.
pub fn server_config(resolver: Arc<SniResolver>, alpn: &[&[u8]]) -> Arc<ServerConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("ring supports the default protocol versions")
        .with_no_client_auth()
        .with_cert_resolver(resolver);
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Arc::new(config)
}

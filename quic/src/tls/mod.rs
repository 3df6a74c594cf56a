//! TLS 1.3 for QUIC through rustls (RFC 9001 §4): configuration, the crypto provider that plugs
//! our packet protection under rustls's key schedule, and the per-connection session.

pub mod config;
pub mod provider;
pub mod session;

pub use config::{
    client_config, load_certs, load_private_key, parse_certs, parse_private_key, server_config,
    server_config_from_pem_files, ServerVerification, TlsConfigError,
};
pub use provider::{crypto_provider, initial_suite, CipherSuites};
pub use session::TlsSession;

#[cfg(test)]
mod tests;

//! Per-connection settings: transport limits and timers, and the client and server
//! configurations that pair them with TLS.

use std::sync::Arc;
use std::time::Duration;

use crate::congestion::CongestionConfig;
use crate::stream::StreamsConfig;
use crate::Version;

/// Transport settings shared by client and server connections.
#[derive(Debug, Clone)]
pub struct TransportConfig {
    /// Idle timeout we advertise (RFC 9000 §10.1); zero disables ours.
    pub max_idle_timeout: Duration,
    /// Send a PING when nothing was sent for this long, to keep the connection (and NAT
    /// bindings) alive.
    pub keep_alive_interval: Option<Duration>,
    /// Stream limits and windows.
    pub streams: StreamsConfig,
    /// Our max_ack_delay (RFC 9000 §18.2), how long we may delay acknowledgments.
    pub max_ack_delay: Duration,
    /// Our ack_delay_exponent.
    pub ack_delay_exponent: u8,
    /// How many of the peer's connection IDs we store (active_connection_id_limit).
    pub active_connection_id_limit: u64,
    /// The largest UDP payload we accept (max_udp_payload_size).
    pub max_udp_payload_size: u16,
    /// The UDP payload size we send once the handshake is confirmed; 1200 is always safe
    /// (RFC 9000 §14), loopback and most networks carry 1452.
    pub max_datagram_size: u16,
    /// The congestion controller.
    pub congestion: CongestionConfig,
    /// Initial RTT estimate (RFC 9002 §6.2.2).
    pub initial_rtt: Duration,
    /// CRYPTO bytes buffered out of order per encryption level before the connection fails with
    /// CRYPTO_BUFFER_EXCEEDED (RFC 9000 §7.5).
    pub max_crypto_buffer: u64,
    /// ACK ranges remembered per packet number space (RFC 9000 §13.2.3).
    pub max_ack_ranges: usize,
    /// Largest DATAGRAM frame we accept (RFC 9221); 0 disables the extension.
    pub max_datagram_frame_size: u64,
    /// Mark outgoing packets ECT(0) and react to the peer's ECN-CE counts once the path is
    /// validated (RFC 9000 §13.4). Received marks are reported either way (§13.4.1).
    pub ecn: bool,
}

impl Default for TransportConfig {
    fn default() -> Self {
        Self {
            max_idle_timeout: Duration::from_secs(30),
            keep_alive_interval: None,
            streams: StreamsConfig::default(),
            max_ack_delay: Duration::from_millis(25),
            ack_delay_exponent: 3,
            active_connection_id_limit: 4,
            max_udp_payload_size: 1472,
            max_datagram_size: 1200,
            congestion: CongestionConfig::default(),
            initial_rtt: crate::recovery::INITIAL_RTT,
            max_crypto_buffer: 64 * 1024,
            max_ack_ranges: 32,
            max_datagram_frame_size: 0,
            ecn: true,
        }
    }
}

/// What a client connection needs.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// rustls configuration (see [`crate::tls::client_config`]).
    pub tls: Arc<rustls::ClientConfig>,
    /// Transport settings.
    pub transport: Arc<TransportConfig>,
    /// The version to start with.
    pub version: Version,
}

impl ClientConfig {
    /// A client configuration with default transport settings and QUIC v1.
    pub fn new(tls: Arc<rustls::ClientConfig>) -> Self {
        Self {
            tls,
            transport: Arc::new(TransportConfig::default()),
            version: Version::V1,
        }
    }
}

/// What a server connection needs.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// rustls configuration (see [`crate::tls::server_config`]).
    pub tls: Arc<rustls::ServerConfig>,
    /// Transport settings.
    pub transport: Arc<TransportConfig>,
}

impl ServerConfig {
    /// A server configuration with default transport settings.
    pub fn new(tls: Arc<rustls::ServerConfig>) -> Self {
        Self {
            tls,
            transport: Arc::new(TransportConfig::default()),
        }
    }
}

//! The HTTP/3 (UDP) listener seam.
//!
//! For each HTTPS server port, with QUIC listeners enabled (settings `enableQuicListeners`,
//! env `PILOT_ENABLE_QUIC_LISTENERS`), the gateway asks an [`Http3Runtime`] to start a
//! listener on the same port number over UDP. The runtime is the async HTTP/3 server built on
//! our `quic` tokio runtime and `h3` ([`super::h3_runtime::QuicHttp3Runtime`], which the binary
//! and the demo link); without a runtime the gateway logs that the UDP side is not served
//! (alt-svc is advertised anyway, so clients fall back to TCP, as they must whenever UDP is
//! blocked).
//!
//! What a runtime must do, per connection and request:
//! - TLS: use [`Http3ListenerSpec::tls`] (ALPN `h3`, certificates by SNI from the live
//!   configuration, shared with the TCP listener on that port).
//! - Count the connection with `spec.service.metrics().connection("quic")` (keep the guard
//!   for the connection's life), report `quic_handshake_failed()` and
//!   `quic_connection_closed(code)`.
//! - Per request: build `http::Request<Body>` with `version(Version::HTTP_3)`, the `:scheme`
//!   and `:authority` in the URI, headers as validated by `h3`, and the request stream boxed
//!   with [`crate::body::boxed`]; call [`crate::GatewayService::handle`] with a
//!   [`crate::service::RequestContext`] (`port: spec.port`, `tls: true`, peer, local, SNI);
//!   apply [`super::add_alt_svc`] with `spec.alt_svc` (Envoy keeps alt-svc on HTTP/3
//!   responses); stream the response body frames and trailers.
//! - [`super::RunningListener::begin_shutdown`]: stop accepting and send GOAWAY at once;
//!   `drained()` resolves when in-flight requests are done.
//!
//! Reload needs nothing from the runtime: `handle` and the SNI resolver read the configuration
//! in force at each request and handshake.

use super::tls::{server_config, SniResolver, ALPN_H3};
use super::RunningListener;
use crate::service::GatewayService;
use http::HeaderValue;
use std::net::SocketAddr;
use std::sync::Arc;

/// Everything an HTTP/3 listener needs.
#[derive(Clone)]
pub struct Http3ListenerSpec {
    /// UDP address to bind (the same port number as the TCP listener).
    pub bind: SocketAddr,
    /// The manifest port (for [`crate::service::RequestContext::port`]).
    pub port: u16,
    pub tls: Arc<rustls::ServerConfig>,
    pub service: GatewayService,
    /// `h3=":<public port>"; ma=86400`.
    pub alt_svc: Option<HeaderValue>,
}

impl Http3ListenerSpec {
    pub fn new(
        bind: SocketAddr,
        port: u16,
        service: GatewayService,
        alt_svc: Option<HeaderValue>,
    ) -> Self {
        let resolver = Arc::new(SniResolver::new(service.clone(), port));
        Http3ListenerSpec {
            bind,
            port,
            tls: server_config(resolver, &ALPN_H3),
            service,
            alt_svc,
        }
    }
}

/// Starts UDP/HTTP/3 listeners. Implemented by [`super::h3_runtime::QuicHttp3Runtime`].
pub trait Http3Runtime: Send + Sync {
    fn start(&self, spec: Http3ListenerSpec) -> std::io::Result<Box<dyn RunningListener>>;
}

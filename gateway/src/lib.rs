//! An Istio-style ingress gateway.
//!
//! It reads Istio `Gateway` and `VirtualService` manifests as users already write them and
//! serves them: HTTPS over TCP (HTTP/1.1 and HTTP/2 through hyper and rustls) and, on the same
//! port over UDP, HTTP/3 through our `quic` and `h3` crates.
//!
//! The layers, from the socket inwards:
//! - [`listeners`]: one listener per bound port and transport. TCP (plain or TLS with SNI
//!   certificate selection) is implemented here; the UDP/HTTP/3 listener plugs in through the
//!   [`listeners::http3`] seam. Listeners add `alt-svc` to every response.
//! - [`service::GatewayService`]: the protocol-agnostic request handler,
//!   `http::Request<Body> -> http::Response<Body>`, that every listener calls the same way.
//! - [`routing`]: host and route matching, weights, rewrites, redirects, header rules.
//! - [`proxy`]: the pooled HTTP/1.1 upstream client, retries, timeouts, added headers, errors.
//! - [`ops`]: status port, Prometheus metrics, access log.
//! - [`config`]: manifests, the settings file, validation with precise errors.
#![forbid(unsafe_code)]

pub mod body;
pub mod config;
pub mod demo;
pub mod listeners;
pub mod ops;
pub mod proxy;
pub mod routing;
pub mod server;
pub mod service;

pub use body::Body;
pub use server::{Gateway, GatewayHandle};
pub use service::GatewayService;

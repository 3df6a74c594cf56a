//! Listeners: one per manifest port and transport.
//!
//! - [`tcp`]: TCP, plain HTTP or TLS with SNI ([`tls`]); HTTP/1.1 and HTTP/2 through hyper.
//! - [`http3`]: the seam where the UDP/HTTP/3 listener plugs in ([`http3::Http3Runtime`]).
//!
//! Every listener implements [`RunningListener`], which is all the gateway needs to reload and
//! shut down, and adds `alt-svc` at the listener level with [`add_alt_svc`].

pub mod h3_runtime;
pub mod http3;
pub mod tcp;
pub mod tls;

use crate::body::Body;
use http::{HeaderValue, Response};
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ListenerKind {
    /// TCP: HTTP/1.1 and HTTP/2, TLS or plain.
    Tcp,
    /// UDP: HTTP/3 over QUIC.
    Quic,
}

/// A started listener.
pub trait RunningListener: Send + Sync {
    fn kind(&self) -> ListenerKind;
    fn local_addr(&self) -> SocketAddr;
    /// Stops accepting and asks clients to go away: GOAWAY on HTTP/2 and HTTP/3 at once,
    /// `connection: close` after the in-flight response on HTTP/1.1.
    fn begin_shutdown(&self);
    /// Resolves when every connection has finished.
    fn drained(&self) -> Pin<Box<dyn Future<Output = ()> + Send + 'static>>;
}

/// Adds the listener's `alt-svc` to a response (kept on HTTP/3 responses too, as Envoy does).
pub fn add_alt_svc(resp: &mut Response<Body>, alt_svc: Option<&HeaderValue>) {
    if let Some(v) = alt_svc {
        resp.headers_mut().insert(http::header::ALT_SVC, v.clone());
    }
}

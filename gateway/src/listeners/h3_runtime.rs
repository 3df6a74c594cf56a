//! The HTTP/3 (UDP) listener: our `quic` tokio runtime and `h3::asynch` behind the
//! [`super::http3::Http3Runtime`] seam.

use super::http3::{Http3ListenerSpec, Http3Runtime};
use super::{add_alt_svc, ListenerKind, RunningListener};
use crate::body::{self, BoxError};
use crate::service::RequestContext;
use http::{Request, Response, Version};
use http_body_util::{BodyExt, StreamBody};
use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::watch;

/// Starts HTTP/3 listeners on `quic::runtime` endpoints.
#[derive(Debug, Default, Clone, Copy)]
pub struct QuicHttp3Runtime;

impl Http3Runtime for QuicHttp3Runtime {
    fn start(&self, spec: Http3ListenerSpec) -> std::io::Result<Box<dyn RunningListener>> {
        Ok(Box::new(H3Listener::start(spec)?))
    }
}

/// The QUIC TLS configuration: our crypto provider (TLS 1.3, QUIC suites), no early data,
/// ALPN `h3`, certificates from the listener's SNI resolver.
fn quic_tls(spec: &Http3ListenerSpec) -> std::io::Result<Arc<rustls::ServerConfig>> {
    let provider = quic::tls::crypto_provider(quic::tls::CipherSuites::All);
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(std::io::Error::other)?
        .with_no_client_auth()
        .with_cert_resolver(spec.tls.cert_resolver.clone());
    config.alpn_protocols = vec![b"h3".to_vec()];
    config.max_early_data_size = 0;
    Ok(Arc::new(config))
}

struct Shared {
    live: Mutex<HashMap<u64, h3::asynch::Server>>,
    next_id: AtomicU64,
    shutting_down: AtomicBool,
    /// The number of live connections (0 once drained, after shutdown began).
    count: watch::Sender<usize>,
    runtime: tokio::runtime::Handle,
}

impl Shared {
    fn register(&self, server: &h3::asynch::Server) -> u64 {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        self.live.lock().unwrap().insert(id, server.clone());
        self.count.send_modify(|c| *c += 1);
        id
    }

    fn unregister(&self, id: u64) {
        self.live.lock().unwrap().remove(&id);
        self.count.send_modify(|c| *c = c.saturating_sub(1));
    }
}

/// A running UDP/HTTP/3 listener.
pub struct H3Listener {
    local: SocketAddr,
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
}

impl H3Listener {
    pub fn start(spec: Http3ListenerSpec) -> std::io::Result<Self> {
        let runtime = tokio::runtime::Handle::try_current().map_err(std::io::Error::other)?;
        let config = quic::connection::ServerConfig::new(quic_tls(&spec)?);
        let endpoint = quic::runtime::Endpoint::server(spec.bind, config)?;
        let local = endpoint.local_addr();
        tracing::info!("HTTP/3 listener for port {} on UDP {local}", spec.port);
        let (count, _) = watch::channel(0usize);
        let shared = Arc::new(Shared {
            live: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(0),
            shutting_down: AtomicBool::new(false),
            count,
            runtime: runtime.clone(),
        });
        let (stop, stop_rx) = watch::channel(false);
        runtime.spawn(accept_loop(endpoint, spec, shared.clone(), stop_rx, local));
        Ok(H3Listener {
            local,
            shared,
            stop,
        })
    }
}

async fn accept_loop(
    endpoint: quic::runtime::Endpoint,
    spec: Http3ListenerSpec,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
    local: SocketAddr,
) {
    let spec = Arc::new(spec);
    loop {
        let conn = tokio::select! {
            c = endpoint.accept() => c,
            _ = stop.wait_for(|s| *s) => break,
        };
        let Some(conn) = conn else { break };
        if conn.alpn().as_deref() != Some(b"h3") {
            spec.service.metrics().quic_handshake_failed();
            conn.close(quic::VarInt::from_u32(0x0110), b"h3 only");
            continue;
        }
        tokio::spawn(connection(conn, spec.clone(), shared.clone(), local));
    }
    // Stop taking new connections; established ones finish (GOAWAY is sent by
    // begin_shutdown). The endpoint lives until every connection is done.
    let mut count = shared.count.subscribe();
    let _ = count.wait_for(|c| *c == 0).await;
    endpoint.close(quic::VarInt::from_u32(0x0100), b"");
    endpoint.wait_idle().await;
}

async fn connection(
    conn: quic::runtime::Connection,
    spec: Arc<Http3ListenerSpec>,
    shared: Arc<Shared>,
    local: SocketAddr,
) {
    let metrics = spec.service.metrics().clone();
    let _guard = metrics.connection("quic");
    let peer = conn.remote_address();
    // The TLS server name, for the access log (as on TCP); known once accepted.
    let sni: Option<Arc<str>> = conn.server_name().map(|s| s.to_ascii_lowercase().into());
    let server = h3::asynch::Server::new(conn.clone(), h3::Config::default());
    let id = shared.register(&server);
    if shared.shutting_down.load(Ordering::Relaxed) {
        let s = server.clone();
        tokio::spawn(async move { s.shutdown().await });
    }
    loop {
        match server.accept().await {
            Ok(Some((req, stream))) => {
                let spec = spec.clone();
                let sni = sni.clone();
                tokio::spawn(async move {
                    request(req, Arc::new(stream), spec, peer, local, sni).await;
                });
            }
            Ok(None) => break,
            Err(e) => {
                tracing::debug!("HTTP/3 connection from {peer}: {e}");
                break;
            }
        }
    }
    let reason = conn.closed().await;
    let code = match &reason {
        quic::connection::ConnectionError::ApplicationClosed { code, .. } => {
            format!("{:#x}", code.into_inner())
        }
        quic::connection::ConnectionError::TimedOut => "idle_timeout".into(),
        quic::connection::ConnectionError::LocalTransport(_)
        | quic::connection::ConnectionError::PeerTransport(_) => "transport_error".into(),
        _ => "other".into(),
    };
    metrics.quic_connection_closed(&code);
    shared.unregister(id);
}

/// The request body, streamed from the request stream (data, then trailers).
fn request_body(stream: Arc<h3::asynch::RequestStream>) -> body::Body {
    let frames = futures_util::stream::unfold(Some(stream), |state| async move {
        let stream = state?;
        match stream.recv_data().await {
            Ok(Some(data)) => Some((Ok(http_body::Frame::data(data)), Some(stream))),
            Ok(None) => match stream.recv_trailers().await {
                Ok(Some(t)) => Some((Ok(http_body::Frame::trailers(t)), None)),
                Ok(None) => None,
                Err(e) => Some((Err(Box::new(e) as BoxError), None)),
            },
            Err(e) => Some((Err(Box::new(e) as BoxError), None)),
        }
    });
    body::boxed(StreamBody::new(frames))
}

async fn request(
    req: Request<()>,
    stream: Arc<h3::asynch::RequestStream>,
    spec: Arc<Http3ListenerSpec>,
    peer: SocketAddr,
    local: SocketAddr,
    sni: Option<Arc<str>>,
) {
    let (mut parts, ()) = req.into_parts();
    parts.version = Version::HTTP_3;
    let req = Request::from_parts(parts, request_body(stream.clone()));
    let ctx = RequestContext {
        port: spec.port,
        tls: true,
        peer,
        local,
        sni: sni.map(|s| s.to_string()),
    };
    let mut resp = spec.service.handle(req, ctx).await;
    add_alt_svc(&mut resp, spec.alt_svc.as_ref());
    if let Err(e) = respond(&stream, resp).await {
        tracing::debug!("HTTP/3 response to {peer}: {e}");
        stream.reset(h3::Code::H3_INTERNAL_ERROR);
    }
}

async fn respond(
    stream: &h3::asynch::RequestStream,
    resp: Response<body::Body>,
) -> Result<(), BoxError> {
    let (parts, mut body) = resp.into_parts();
    let mut head = Response::from_parts(parts, ());
    // Connection-specific headers are not allowed in HTTP/3 (RFC 9114 §4.2).
    for h in [
        http::header::CONNECTION,
        http::header::TRANSFER_ENCODING,
        http::header::UPGRADE,
    ] {
        head.headers_mut().remove(h);
    }
    head.headers_mut().remove("keep-alive");
    head.headers_mut().remove("proxy-connection");
    *head.version_mut() = Version::HTTP_3;
    stream.send_response(head)?;
    while let Some(frame) = body.frame().await {
        let frame = frame?;
        match frame.into_data() {
            Ok(data) => {
                if !data.is_empty() {
                    stream.send_data(data).await?;
                }
            }
            Err(frame) => {
                if let Ok(trailers) = frame.into_trailers() {
                    stream.send_trailers(trailers)?;
                }
            }
        }
    }
    stream.finish()?;
    Ok(())
}

impl RunningListener for H3Listener {
    fn kind(&self) -> ListenerKind {
        ListenerKind::Quic
    }

    fn local_addr(&self) -> SocketAddr {
        self.local
    }

    fn begin_shutdown(&self) {
        if self.shared.shutting_down.swap(true, Ordering::Relaxed) {
            return;
        }
        let _ = self.stop.send(true);
        let live: Vec<_> = self.shared.live.lock().unwrap().values().cloned().collect();
        for server in live {
            self.shared
                .runtime
                .spawn(async move { server.shutdown().await });
        }
    }

    fn drained(&self) -> Pin<Box<dyn Future<Output = ()> + Send + 'static>> {
        let mut count = self.shared.count.subscribe();
        Box::pin(async move {
            let wait = async move {
                let _ = count.wait_for(|c| *c == 0).await;
            };
            // Bounded: clients that never finish are cut off by the caller's drain timeout,
            // and at the latest here.
            let _ = tokio::time::timeout(std::time::Duration::from_secs(300), wait).await;
        })
    }
}

impl Drop for H3Listener {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

//! The TCP listener: plain HTTP or TLS (rustls, SNI, ALPN h2 / http/1.1), served by hyper's
//! auto (HTTP/1.1 + HTTP/2) connection builder, with graceful shutdown.
//!
//! Whether a port speaks TLS and which alt-svc it advertises are read from the configuration
//! in force when each connection is accepted, so a reload applies to new connections while
//! established ones keep serving.

use super::tls::{server_config, SniResolver, ALPN_TCP};
use super::{add_alt_svc, ListenerKind, RunningListener};
use crate::body;
use crate::config::ServerProtocol;
use crate::service::{GatewayService, RequestContext};
use http::Request;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;

const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

pub struct TcpListenerHandle {
    addr: SocketAddr,
    stop: watch::Sender<bool>,
    done: watch::Receiver<bool>,
}

impl TcpListenerHandle {
    /// Binds `bind` and serves the manifest port `port`.
    pub async fn start(
        bind: SocketAddr,
        port: u16,
        service: GatewayService,
    ) -> std::io::Result<TcpListenerHandle> {
        let listener = TcpListener::bind(bind).await?;
        let addr = listener.local_addr()?;
        let (stop, mut stopped) = watch::channel(false);
        let (done_tx, done) = watch::channel(false);
        let acceptor = TlsAcceptor::from(server_config(
            Arc::new(SniResolver::new(service.clone(), port)),
            &ALPN_TCP,
        ));
        tokio::spawn(async move {
            let graceful = GracefulShutdown::new();
            loop {
                let (stream, peer) = tokio::select! {
                    r = listener.accept() => match r {
                        Ok(s) => s,
                        Err(e) => {
                            tracing::warn!("accept on {addr}: {e}");
                            tokio::time::sleep(Duration::from_millis(50)).await;
                            continue;
                        }
                    },
                    _ = stopped.changed() => break,
                };
                let _ = stream.set_nodelay(true);
                tokio::spawn(connection(
                    stream,
                    peer,
                    addr,
                    port,
                    service.clone(),
                    acceptor.clone(),
                    graceful.watcher(),
                ));
            }
            drop(listener);
            tracing::info!("listener {addr} (port {port}) stopped accepting; draining");
            graceful.shutdown().await;
            let _ = done_tx.send(true);
        });
        Ok(TcpListenerHandle { addr, stop, done })
    }
}

impl RunningListener for TcpListenerHandle {
    fn kind(&self) -> ListenerKind {
        ListenerKind::Tcp
    }

    fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    fn begin_shutdown(&self) {
        let _ = self.stop.send(true);
    }

    fn drained(&self) -> Pin<Box<dyn Future<Output = ()> + Send + 'static>> {
        let mut done = self.done.clone();
        Box::pin(async move {
            let _ = done.wait_for(|d| *d).await;
        })
    }
}

async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    local: SocketAddr,
    port: u16,
    service: GatewayService,
    acceptor: TlsAcceptor,
    watcher: Watcher,
) {
    let _guard = service.metrics().connection("tcp");
    let snap = service.snapshot();
    let Some(port_config) = snap.table.port(port) else {
        return;
    };
    let alt_svc = port_config.alt_svc(snap.settings.enable_quic);
    let tls = port_config.protocol == ServerProtocol::Https;
    drop(snap);
    let mut ctx = RequestContext {
        port,
        tls,
        peer,
        local,
        sni: None,
    };
    if tls {
        let stream =
            match tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                Ok(Ok(s)) => s,
                Ok(Err(e)) => {
                    service.metrics().tls_handshake_failed();
                    tracing::debug!(%peer, "TLS handshake failed: {e}");
                    return;
                }
                Err(_) => {
                    service.metrics().tls_handshake_failed();
                    tracing::debug!(%peer, "TLS handshake timed out");
                    return;
                }
            };
        ctx.sni = stream.get_ref().1.server_name().map(str::to_owned);
        serve(stream, service, ctx, alt_svc, watcher).await;
    } else {
        serve(stream, service, ctx, alt_svc, watcher).await;
    }
}

async fn serve<I>(
    io: I,
    service: GatewayService,
    ctx: RequestContext,
    alt_svc: Option<http::HeaderValue>,
    watcher: Watcher,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let peer = ctx.peer;
    let svc = service_fn(move |req: Request<Incoming>| {
        let service = service.clone();
        let ctx = ctx.clone();
        let alt_svc = alt_svc.clone();
        async move {
            let mut resp = service.handle(req.map(body::boxed), ctx).await;
            add_alt_svc(&mut resp, alt_svc.as_ref());
            Ok::<_, std::convert::Infallible>(resp)
        }
    });
    let mut builder = auto::Builder::new(TokioExecutor::new());
    // The timer enables hyper's header read timeout (slow-loris defence) on HTTP/1.1.
    builder.http1().timer(TokioTimer::new());
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(250);
    let conn = builder.serve_connection(TokioIo::new(io), svc);
    if let Err(e) = watcher.watch(conn).await {
        tracing::debug!(%peer, "connection ended: {e}");
    }
}

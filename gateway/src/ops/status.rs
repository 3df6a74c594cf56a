//! The status port (Istio's 15021): `/healthz/ready` (503 while draining) and the Prometheus
//! exposition at `/stats/prometheus` and `/metrics`.

use super::metrics::Metrics;
use crate::body::{self, Body};
use http::{header, Request, Response, StatusCode};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::watch;

pub struct StatusServer {
    pub addr: SocketAddr,
    stop: watch::Sender<bool>,
}

impl StatusServer {
    pub async fn start(
        addr: SocketAddr,
        metrics: Arc<Metrics>,
        ready: Arc<AtomicBool>,
    ) -> std::io::Result<StatusServer> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let (stop, mut stopped) = watch::channel(false);
        tokio::spawn(async move {
            loop {
                let (stream, _) = tokio::select! {
                    r = listener.accept() => match r {
                        Ok(s) => s,
                        Err(e) => { tracing::warn!("status port accept: {e}"); continue; }
                    },
                    _ = stopped.changed() => break,
                };
                let metrics = metrics.clone();
                let ready = ready.clone();
                tokio::spawn(async move {
                    let svc = service_fn(move |req: Request<Incoming>| {
                        let r = respond(&req, &metrics, &ready);
                        async move { Ok::<_, std::convert::Infallible>(r) }
                    });
                    let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
        Ok(StatusServer { addr, stop })
    }

    pub fn stop(&self) {
        let _ = self.stop.send(true);
    }
}

fn respond(req: &Request<Incoming>, metrics: &Metrics, ready: &AtomicBool) -> Response<Body> {
    let (status, ctype, text) = match req.uri().path() {
        "/healthz/ready" if ready.load(Ordering::Relaxed) => {
            (StatusCode::OK, "text/plain", String::new())
        }
        "/healthz/ready" => (
            StatusCode::SERVICE_UNAVAILABLE,
            "text/plain",
            "draining\n".into(),
        ),
        "/stats/prometheus" | "/metrics" => (
            StatusCode::OK,
            "text/plain; version=0.0.4; charset=utf-8",
            metrics.encode(),
        ),
        _ => (StatusCode::NOT_FOUND, "text/plain", "not found\n".into()),
    };
    let mut resp = Response::new(body::full(text));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static(ctype),
    );
    resp
}

//! The protocol-agnostic request handler: `http::Request<Body> -> http::Response<Body>`.
//!
//! Every listener (HTTP/1.1 and HTTP/2 over TCP today, HTTP/3 over QUIC through the
//! [`crate::listeners::http3`] seam) converts its request into `Request<Body>`, sets the
//! request's `version` (that is how the protocol reaches the access log and the metrics), calls
//! [`GatewayService::handle`] with a [`RequestContext`], adds `alt-svc`, and streams the
//! response back. The service never fails: errors become short 4xx/5xx responses.

use crate::body::{self, Body};
use crate::config::{Action, Config, Settings};
use crate::ops::access_log::{AccessLogEntry, CountingBody, LoggedBody};
use crate::ops::Metrics;
use crate::proxy::{self, headers as ph, Outgoing, ProxyError, UpstreamClient};
use crate::routing::{headers::apply, host_of, rewrite, Decision, RequestView, RouteTable};
use http::{header, HeaderValue, Request, Response, StatusCode, Version};
use std::net::SocketAddr;
use std::sync::{Arc, RwLock};
use std::time::{Instant, SystemTime};

/// One configuration generation: replaced whole on reload, read by each request.
#[derive(Debug)]
pub struct Snapshot {
    pub table: RouteTable,
    pub settings: Settings,
    pub server_header: HeaderValue,
}

impl Snapshot {
    pub fn new(config: &Config) -> Self {
        Snapshot {
            table: RouteTable::new(config),
            settings: config.settings.clone(),
            server_header: HeaderValue::from_str(&config.settings.server_header)
                .unwrap_or_else(|_| HeaderValue::from_static("istio-envoy")),
        }
    }
}

struct Shared {
    snapshot: RwLock<Arc<Snapshot>>,
    client: UpstreamClient,
    metrics: Arc<Metrics>,
}

/// Where a request arrived; filled in by the listener.
#[derive(Debug, Clone)]
pub struct RequestContext {
    /// The manifest port of the listener (not the bound port).
    pub port: u16,
    /// Whether the downstream connection is encrypted (TLS over TCP, or QUIC).
    pub tls: bool,
    pub peer: SocketAddr,
    pub local: SocketAddr,
    /// The TLS server name the client sent.
    pub sni: Option<String>,
}

/// The gateway's request handler; cheap to clone.
#[derive(Clone)]
pub struct GatewayService {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for GatewayService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("GatewayService")
    }
}

/// The protocol as the access log and metrics name it.
pub fn protocol_name(version: Version) -> &'static str {
    match version {
        Version::HTTP_09 => "HTTP/0.9",
        Version::HTTP_10 => "HTTP/1.0",
        Version::HTTP_2 => "HTTP/2",
        Version::HTTP_3 => "HTTP/3",
        _ => "HTTP/1.1",
    }
}

impl GatewayService {
    pub fn new(config: &Config, metrics: Arc<Metrics>) -> Self {
        GatewayService {
            shared: Arc::new(Shared {
                snapshot: RwLock::new(Arc::new(Snapshot::new(config))),
                client: UpstreamClient::new(config.settings.connect_timeout),
                metrics,
            }),
        }
    }

    /// The configuration in force.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.shared
            .snapshot
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Applies a new configuration to the next requests (and TLS handshakes).
    pub fn update(&self, config: &Config) {
        let snap = Arc::new(Snapshot::new(config));
        *self
            .shared
            .snapshot
            .write()
            .unwrap_or_else(|e| e.into_inner()) = snap;
    }

    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.shared.metrics
    }

    /// Handles one request. Never fails: errors become short 4xx/5xx responses.
    pub async fn handle(&self, req: Request<Body>, ctx: RequestContext) -> Response<Body> {
        let started = Instant::now();
        let snap = self.snapshot();
        let protocol = protocol_name(req.version());
        let (parts, body) = req.into_parts();
        let (body, received) = CountingBody::new(body);
        let body = body::boxed(body);
        let text = |name: header::HeaderName| {
            parts
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let authority = parts
            .uri
            .authority()
            .map(|a| a.as_str().to_owned())
            .or_else(|| text(header::HOST));
        let mut entry = AccessLogEntry {
            start: Some(SystemTime::now()),
            method: parts.method.to_string(),
            path: parts
                .uri
                .path_and_query()
                .map(|p| p.as_str().to_owned())
                .unwrap_or_else(|| "/".into()),
            protocol,
            flags: "-",
            details: "via_upstream",
            forwarded_for: text(ph::X_FORWARDED_FOR),
            user_agent: text(header::USER_AGENT),
            request_id: text(ph::X_REQUEST_ID),
            authority: authority.clone(),
            local: Some(ctx.local.to_string()),
            peer: Some(ctx.peer.to_string()),
            sni: ctx.sni.clone(),
            ..Default::default()
        };
        let (mut resp, route_name) = match authority {
            None => (
                self.error(
                    &mut entry,
                    ProxyError::BadRequest("no :authority or Host".into()),
                ),
                "-".to_owned(),
            ),
            Some(authority) => {
                self.route(&snap, parts, body, authority, &ctx, &mut entry)
                    .await
            }
        };
        resp.headers_mut()
            .insert(header::SERVER, snap.server_header.clone());
        entry.status = resp.status().as_u16();
        entry.route = Some(route_name.clone());
        self.shared
            .metrics
            .request(protocol, &route_name, entry.status);
        if entry.status >= 500 {
            tracing::warn!(
                status = entry.status,
                flags = entry.flags,
                route = %route_name,
                path = %entry.path,
                "request failed"
            );
        }
        resp.map(|b| body::boxed(LoggedBody::new(b, entry, started, received)))
    }

    fn error(&self, entry: &mut AccessLogEntry, e: ProxyError) -> Response<Body> {
        entry.flags = e.flags();
        entry.details = match e {
            ProxyError::NoRoute => "route_not_found",
            ProxyError::Timeout => "response_timeout",
            ProxyError::BadRequest(_) => "downstream_protocol_error",
            _ => "upstream_failure",
        };
        if !matches!(e, ProxyError::NoRoute) {
            tracing::debug!("{e}");
        }
        e.response()
    }

    async fn route(
        &self,
        snap: &Snapshot,
        parts: http::request::Parts,
        body: Body,
        authority: String,
        ctx: &RequestContext,
        entry: &mut AccessLogEntry,
    ) -> (Response<Body>, String) {
        let host = host_of(&authority);
        let gateways = snap.table.gateways_for(ctx.port, &host);
        let scheme = if ctx.tls { "https" } else { "http" };
        let view = RequestView {
            parts: &parts,
            authority: &authority,
            host,
            scheme,
            port: ctx.port,
            gateways: &gateways,
        };
        let decision = snap.table.decide(&view, ctx.tls);
        let (route, matched) = match decision {
            Decision::NoRoute => return (self.error(entry, ProxyError::NoRoute), "-".into()),
            Decision::HttpsRedirect(location) => {
                entry.details = "direct_response";
                return (
                    redirect(StatusCode::MOVED_PERMANENTLY, &location),
                    "-".into(),
                );
            }
            Decision::Route { route, matched, .. } => (route, matched),
        };
        let dests = match &route.action {
            Action::Redirect(r) => {
                entry.details = "direct_response";
                let mut resp = redirect(r.code, &rewrite::redirect_location(r, &view));
                apply(&route.headers.response, resp.headers_mut());
                return (resp, route.name.clone());
            }
            Action::Forward(dests) => dests,
        };
        let total = rewrite::total_weight(dests);
        let dest = rewrite::pick_weighted(dests, rand::random::<u64>() % total.max(1));
        let original = view.path_and_query().to_owned();
        let path_and_query = match &route.rewrite {
            Some(rw) => rewrite::rewrite_path(rw, matched, &original),
            None => original.clone(),
        };
        let out_authority = route
            .rewrite
            .as_ref()
            .and_then(|r| r.authority.clone())
            .unwrap_or_else(|| authority.clone());
        drop(view);

        let mut headers = parts.headers;
        ph::strip_hop_by_hop(&mut headers);
        headers.remove(header::HOST);
        ph::forwarded(&mut headers, ctx.peer.ip(), scheme);
        entry.request_id = Some(ph::ensure_request_id(&mut headers));
        ph::propagate_trace(&mut headers);
        if path_and_query != original {
            if let Ok(v) = HeaderValue::from_str(&original) {
                headers.insert(ph::X_ORIGINAL_PATH, v);
            }
        }
        apply(&route.headers.request, &mut headers);
        apply(&dest.headers.request, &mut headers);
        entry.upstream_cluster = Some(format!("outbound|{}||{}", dest.port, dest.host));

        let out = Outgoing {
            method: parts.method,
            headers,
            path_and_query,
            authority: out_authority,
            body,
        };
        let result = proxy::forward(
            &self.shared.client,
            &snap.settings.upstreams,
            route,
            dest,
            out,
        )
        .await;
        match result {
            Ok(f) => {
                entry.attempts = f.attempts;
                entry.upstream = Some(f.upstream.to_string());
                entry.upstream_service_time_ms = Some(f.service_time.as_millis());
                self.shared
                    .metrics
                    .upstream_latency(&route.name, f.service_time.as_secs_f64());
                let mut resp = f.response.map(body::boxed);
                ph::strip_hop_by_hop(resp.headers_mut());
                resp.headers_mut().insert(
                    ph::X_UPSTREAM_SERVICE_TIME,
                    HeaderValue::from(f.service_time.as_millis() as u64),
                );
                apply(&dest.headers.response, resp.headers_mut());
                apply(&route.headers.response, resp.headers_mut());
                (resp, route.name.clone())
            }
            Err(fail) => {
                entry.attempts = fail.attempts;
                entry.upstream = fail.upstream.map(|u| u.to_string());
                let mut resp = self.error(entry, fail.error);
                apply(&route.headers.response, resp.headers_mut());
                (resp, route.name.clone())
            }
        }
    }
}

fn redirect(code: StatusCode, location: &str) -> Response<Body> {
    let mut resp = Response::new(body::empty());
    *resp.status_mut() = code;
    match HeaderValue::from_str(location) {
        Ok(v) => {
            resp.headers_mut().insert(header::LOCATION, v);
        }
        Err(_) => *resp.status_mut() = StatusCode::BAD_REQUEST,
    }
    resp
}

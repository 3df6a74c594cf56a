//! Prometheus metrics (prometheus-client): requests by listener protocol, route and status
//! class; upstream latency; active TCP and QUIC connections; QUIC handshake failures and
//! close codes (recorded by the HTTP/3 listener through [`Metrics::quic_connection_closed`]
//! and [`Metrics::quic_handshake_failed`]).

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    /// `HTTP/1.1`, `HTTP/2` or `HTTP/3`.
    pub protocol: String,
    pub route: String,
    /// `2xx`, `4xx`, ...
    pub status_class: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    pub route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TransportLabels {
    /// `tcp` or `quic`.
    pub transport: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CloseLabels {
    /// The QUIC transport or application error code, e.g. `0x0` or `H3_NO_ERROR`.
    pub code: String,
}

type HistogramFamily = Family<RouteLabels, Histogram, fn() -> Histogram>;

fn latency_histogram() -> Histogram {
    // 1 ms .. ~33 s
    Histogram::new(exponential_buckets(0.001, 2.0, 16))
}

pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    upstream_latency: HistogramFamily,
    connections: Family<TransportLabels, Gauge>,
    tls_handshake_failures: Counter,
    quic_handshake_failures: Counter,
    quic_closes: Family<CloseLabels, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("gateway");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "requests",
            "Requests by listener protocol, route and status class",
            requests.clone(),
        );
        let upstream_latency: HistogramFamily =
            Family::new_with_constructor(latency_histogram as fn() -> Histogram);
        registry.register(
            "upstream_rq_time_seconds",
            "Time from sending a request upstream to its response headers",
            upstream_latency.clone(),
        );
        let connections = Family::<TransportLabels, Gauge>::default();
        registry.register(
            "downstream_cx_active",
            "Active downstream connections by transport",
            connections.clone(),
        );
        let tls_handshake_failures = Counter::default();
        registry.register(
            "tls_handshake_failures",
            "Failed TLS handshakes on TCP listeners",
            tls_handshake_failures.clone(),
        );
        let quic_handshake_failures = Counter::default();
        registry.register(
            "quic_handshake_failures",
            "Failed QUIC handshakes",
            quic_handshake_failures.clone(),
        );
        let quic_closes = Family::<CloseLabels, Counter>::default();
        registry.register(
            "quic_connection_close",
            "Closed QUIC connections by error code",
            quic_closes.clone(),
        );
        // Both transports appear from the start, at zero.
        for t in ["tcp", "quic"] {
            let _ = connections.get_or_create(&TransportLabels {
                transport: t.into(),
            });
        }
        Metrics {
            registry,
            requests,
            upstream_latency,
            connections,
            tls_handshake_failures,
            quic_handshake_failures,
            quic_closes,
        }
    }

    pub fn request(&self, protocol: &str, route: &str, status: u16) {
        self.requests
            .get_or_create(&RequestLabels {
                protocol: protocol.into(),
                route: route.into(),
                status_class: format!("{}xx", status / 100),
            })
            .inc();
    }

    pub fn upstream_latency(&self, route: &str, seconds: f64) {
        self.upstream_latency
            .get_or_create(&RouteLabels {
                route: route.into(),
            })
            .observe(seconds);
    }

    /// Counts a connection as active until the guard drops.
    pub fn connection(self: &std::sync::Arc<Self>, transport: &'static str) -> ConnectionGuard {
        self.connections
            .get_or_create(&TransportLabels {
                transport: transport.into(),
            })
            .inc();
        ConnectionGuard {
            metrics: self.clone(),
            transport,
        }
    }

    pub fn active_connections(&self, transport: &str) -> i64 {
        self.connections
            .get_or_create(&TransportLabels {
                transport: transport.into(),
            })
            .get()
    }

    pub fn tls_handshake_failed(&self) {
        self.tls_handshake_failures.inc();
    }

    pub fn quic_handshake_failed(&self) {
        self.quic_handshake_failures.inc();
    }

    pub fn quic_connection_closed(&self, code: &str) {
        self.quic_closes
            .get_or_create(&CloseLabels { code: code.into() })
            .inc();
    }

    /// The Prometheus text exposition.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)
            .expect("writing to a String cannot fail");
        out
    }
}

pub struct ConnectionGuard {
    metrics: std::sync::Arc<Metrics>,
    transport: &'static str,
}

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        self.metrics
            .connections
            .get_or_create(&TransportLabels {
                transport: self.transport.into(),
            })
            .dec();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exposition_has_every_family() {
        let m = std::sync::Arc::new(Metrics::new());
        m.request("HTTP/2", "httpbin.0", 200);
        m.upstream_latency("httpbin.0", 0.01);
        let g = m.connection("tcp");
        assert_eq!(m.active_connections("tcp"), 1);
        drop(g);
        m.quic_connection_closed("0x0");
        let text = m.encode();
        for want in [
            "gateway_requests_total{protocol=\"HTTP/2\",route=\"httpbin.0\",status_class=\"2xx\"} 1",
            "gateway_upstream_rq_time_seconds_bucket",
            "gateway_downstream_cx_active{transport=\"tcp\"} 0",
            "gateway_downstream_cx_active{transport=\"quic\"} 0",
            "gateway_quic_handshake_failures_total 0",
            "gateway_quic_connection_close_total{code=\"0x0\"} 1",
        ] {
            assert!(text.contains(want), "{want} missing in\n{text}");
        }
    }
}

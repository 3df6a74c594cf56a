//! The validated configuration the gateway serves: compiled from the manifests.

use super::settings::Settings;
use http::{HeaderName, HeaderValue};
use regex::Regex;
use rustls::sign::CertifiedKey;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// Everything needed to serve; built only from a configuration without errors.
#[derive(Debug, Clone)]
pub struct Config {
    pub settings: Settings,
    /// One entry per manifest port, sorted by port.
    pub ports: Vec<PortConfig>,
    /// Virtual services in load order (routes of services sharing a host are tried in that order).
    pub virtual_services: Vec<VirtualService>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ServerProtocol {
    Http,
    Https,
}

/// All servers of all gateways on one port.
#[derive(Debug, Clone)]
pub struct PortConfig {
    /// The port in the manifests (and the port clients reach, advertised in alt-svc).
    pub port: u16,
    /// The port actually bound (settings `ports`), as a Service's targetPort.
    pub bind_port: u16,
    pub protocol: ServerProtocol,
    pub servers: Vec<ServerConfig>,
}

impl PortConfig {
    /// The `alt-svc` value advertised on this port's TCP responses, when it has an HTTP/3 mirror.
    pub fn alt_svc(&self, quic_enabled: bool) -> Option<HeaderValue> {
        (quic_enabled && self.protocol == ServerProtocol::Https).then(|| {
            HeaderValue::from_str(&format!("h3=\":{}\"; ma=86400", self.port))
                .expect("alt-svc value is ASCII")
        })
    }
}

/// One `servers[]` entry of a Gateway.
#[derive(Clone)]
pub struct ServerConfig {
    /// `namespace/name` of the Gateway.
    pub gateway: String,
    pub hosts: Vec<HostPattern>,
    pub https_redirect: bool,
    /// The certificate for HTTPS servers.
    pub certificate: Option<Arc<CertifiedKey>>,
    /// Where the certificate came from (for logs).
    pub credential: Option<String>,
}

impl fmt::Debug for ServerConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerConfig")
            .field("gateway", &self.gateway)
            .field("hosts", &self.hosts)
            .field("https_redirect", &self.https_redirect)
            .field("credential", &self.credential)
            .finish()
    }
}

/// A host as written in `hosts`: `*`, `*.example.com` or `example.com` (lower case).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostPattern {
    Any,
    /// `*.example.com`, kept as `.example.com`.
    Suffix(String),
    Exact(String),
}

impl HostPattern {
    /// Parses a host, dropping a `namespace/` prefix (Gateway hosts may carry one).
    pub fn parse(text: &str) -> Result<HostPattern, String> {
        let host = text.rsplit('/').next().unwrap_or(text).to_ascii_lowercase();
        if host == "*" {
            return Ok(HostPattern::Any);
        }
        if let Some(rest) = host.strip_prefix("*.") {
            if rest.is_empty() || rest.contains('*') {
                return Err(format!("`{text}` is not a valid host"));
            }
            return Ok(HostPattern::Suffix(format!(".{rest}")));
        }
        if host.is_empty()
            || host.contains('*')
            || !host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ':'))
        {
            return Err(format!("`{text}` is not a valid host"));
        }
        Ok(HostPattern::Exact(host))
    }

    pub fn matches(&self, host: &str) -> bool {
        match self {
            HostPattern::Any => true,
            HostPattern::Suffix(s) => host.len() > s.len() && host.ends_with(s.as_str()),
            HostPattern::Exact(e) => e == host,
        }
    }

    /// Higher is more specific: exact beats longer suffixes beats `*`.
    pub fn specificity(&self) -> usize {
        match self {
            HostPattern::Any => 0,
            HostPattern::Suffix(s) => s.len(),
            HostPattern::Exact(_) => usize::MAX,
        }
    }
}

#[derive(Debug, Clone)]
pub struct VirtualService {
    /// `namespace/name`.
    pub id: String,
    pub namespace: String,
    pub hosts: Vec<HostPattern>,
    /// `namespace/name` of the Gateways it binds to.
    pub gateways: Vec<String>,
    pub routes: Vec<Route>,
}

#[derive(Debug, Clone)]
pub struct Route {
    /// The route's `name`, or `<virtual service>.<index>`: used in metrics and the access log.
    pub name: String,
    /// Alternatives: any may match. Empty matches everything.
    pub matches: Vec<Match>,
    pub action: Action,
    pub rewrite: Option<Rewrite>,
    pub headers: HeaderRules,
    pub timeout: Option<Duration>,
    pub retries: RetryPolicy,
}

#[derive(Debug, Clone)]
pub enum Action {
    Forward(Vec<WeightedDestination>),
    Redirect(Redirect),
}

#[derive(Debug, Clone)]
pub struct WeightedDestination {
    /// The host as written (`httpbin`, `httpbin.default.svc.cluster.local`, `example.org`).
    pub host: String,
    pub port: u16,
    pub weight: u32,
    /// Namespace of the VirtualService, to expand short names (`httpbin` -> `httpbin.NS.svc...`).
    pub namespace: String,
    pub headers: HeaderRules,
}

#[derive(Debug, Clone, Default)]
pub struct Match {
    pub uri: Option<StrMatch>,
    pub ignore_uri_case: bool,
    pub scheme: Option<StrMatch>,
    pub method: Option<StrMatch>,
    pub authority: Option<StrMatch>,
    pub headers: Vec<(HeaderName, StrMatch)>,
    pub without_headers: Vec<(HeaderName, StrMatch)>,
    pub query_params: Vec<(String, StrMatch)>,
    pub port: Option<u16>,
    pub gateways: Vec<String>,
}

#[derive(Debug, Clone)]
pub enum StrMatch {
    Exact(String),
    Prefix(String),
    /// Anchored: the whole value must match (RE2 semantics, as Envoy applies them).
    Regex(Regex),
}

impl StrMatch {
    pub fn matches(&self, value: &str) -> bool {
        match self {
            StrMatch::Exact(e) => value == e,
            StrMatch::Prefix(p) => value.starts_with(p.as_str()),
            StrMatch::Regex(r) => r.is_match(value),
        }
    }

    pub fn matches_ignore_case(&self, value: &str) -> bool {
        match self {
            StrMatch::Exact(e) => value.eq_ignore_ascii_case(e),
            StrMatch::Prefix(p) => {
                value.len() >= p.len()
                    && value.as_bytes()[..p.len()].eq_ignore_ascii_case(p.as_bytes())
            }
            StrMatch::Regex(r) => r.is_match(value),
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct Rewrite {
    pub uri: Option<String>,
    pub authority: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Redirect {
    pub uri: Option<String>,
    pub authority: Option<String>,
    pub port: Option<u16>,
    pub scheme: Option<String>,
    pub code: http::StatusCode,
}

/// `headers` of a route or destination: operations on the request and on the response.
#[derive(Debug, Clone, Default)]
pub struct HeaderRules {
    pub request: HeaderOps,
    pub response: HeaderOps,
}

#[derive(Debug, Clone, Default)]
pub struct HeaderOps {
    pub set: Vec<(HeaderName, HeaderValue)>,
    pub add: Vec<(HeaderName, HeaderValue)>,
    pub remove: Vec<HeaderName>,
}

impl HeaderOps {
    pub fn is_empty(&self) -> bool {
        self.set.is_empty() && self.add.is_empty() && self.remove.is_empty()
    }
}

/// When a failed attempt is tried again (Envoy's `retry_on`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RetryOn {
    pub five_xx: bool,
    pub gateway_error: bool,
    pub reset: bool,
    pub connect_failure: bool,
    pub refused_stream: bool,
    pub retriable_4xx: bool,
    /// `retriable-status-codes` and bare numeric codes.
    pub status_codes: Vec<u16>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub attempts: u32,
    pub per_try_timeout: Option<Duration>,
    pub on: RetryOn,
}

impl Default for RetryPolicy {
    /// Istio's default: 2 retries on connect-failure, refused-stream and 503.
    fn default() -> Self {
        RetryPolicy {
            attempts: 2,
            per_try_timeout: None,
            on: RetryOn {
                connect_failure: true,
                refused_stream: true,
                status_codes: vec![503],
                ..RetryOn::default()
            },
        }
    }
}

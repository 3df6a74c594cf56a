//! Request matching (`HTTPMatchRequest`): all conditions of one match must hold.

use crate::config::{HostPattern, Match};
use http::request::Parts;

/// What matching looks at, computed once per request.
pub struct RequestView<'a> {
    pub parts: &'a Parts,
    /// `:authority` or `Host`, as sent.
    pub authority: &'a str,
    /// The host part of the authority, lower case, without port.
    pub host: String,
    /// `http` or `https`.
    pub scheme: &'a str,
    /// The port the request arrived on (the manifest port).
    pub port: u16,
    /// The gateway ids (`namespace/name`) whose servers accepted this host on this port.
    pub gateways: &'a [String],
}

impl RequestView<'_> {
    pub fn path(&self) -> &str {
        self.parts.uri.path()
    }

    pub fn path_and_query(&self) -> &str {
        self.parts
            .uri
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("/")
    }
}

/// The host part of an authority: `Example.com:8443` -> `example.com`, `[::1]:443` -> `[::1]`.
pub fn host_of(authority: &str) -> String {
    let host = if authority.starts_with('[') {
        match authority.find(']') {
            Some(end) => &authority[..=end],
            None => authority,
        }
    } else {
        authority.split(':').next().unwrap_or(authority)
    };
    host.trim_end_matches('.').to_ascii_lowercase()
}

/// The most specific pattern in `patterns` matching `host`, as its specificity.
pub fn best_host_match(patterns: &[HostPattern], host: &str) -> Option<usize> {
    patterns
        .iter()
        .filter(|p| p.matches(host))
        .map(HostPattern::specificity)
        .max()
}

impl Match {
    /// Envoy's semantics: `prefix` compares against the whole `:path` (query included);
    /// `exact` and `regex` against the path with the query string removed.
    pub fn matches(&self, req: &RequestView<'_>) -> bool {
        if let Some(uri) = &self.uri {
            let value = match uri {
                crate::config::StrMatch::Prefix(_) => req.path_and_query(),
                _ => req.path(),
            };
            let ok = if self.ignore_uri_case {
                uri.matches_ignore_case(value)
            } else {
                uri.matches(value)
            };
            if !ok {
                return false;
            }
        }
        if let Some(m) = &self.scheme {
            if !m.matches(req.scheme) {
                return false;
            }
        }
        if let Some(m) = &self.method {
            if !m.matches(req.parts.method.as_str()) {
                return false;
            }
        }
        if let Some(m) = &self.authority {
            if !m.matches(req.authority) {
                return false;
            }
        }
        if let Some(p) = self.port {
            if p != req.port {
                return false;
            }
        }
        if !self.gateways.is_empty() && !self.gateways.iter().any(|g| req.gateways.contains(g)) {
            return false;
        }
        for (name, m) in &self.headers {
            let matched = req
                .parts
                .headers
                .get_all(name)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .any(|v| m.matches(v));
            if !matched {
                return false;
            }
        }
        for (name, m) in &self.without_headers {
            let present = req
                .parts
                .headers
                .get_all(name)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .any(|v| m.matches(v));
            if present {
                return false;
            }
        }
        if !self.query_params.is_empty() {
            let query = req.parts.uri.query().unwrap_or("");
            for (name, m) in &self.query_params {
                let found = query.split('&').any(|pair| {
                    let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                    k == name && m.matches(v)
                });
                if !found {
                    return false;
                }
            }
        }
        true
    }
}

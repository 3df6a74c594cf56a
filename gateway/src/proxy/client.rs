//! The pooled HTTP/1.1 upstream client and destination resolution.

use super::error::ProxyError;
use crate::body::Body;
use crate::config::{Settings, WeightedDestination};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// hyper's pooled client (keep-alive connections per upstream address).
#[derive(Clone)]
pub struct UpstreamClient {
    client: Client<HttpConnector, Body>,
    next: std::sync::Arc<AtomicUsize>,
}

impl UpstreamClient {
    pub fn new(connect_timeout: Duration) -> Self {
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(connect_timeout));
        connector.set_nodelay(true);
        connector.enforce_http(true);
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(60))
            .pool_max_idle_per_host(64)
            .build(connector);
        UpstreamClient {
            client,
            next: Default::default(),
        }
    }

    pub fn inner(&self) -> &Client<HttpConnector, Body> {
        &self.client
    }

    /// Picks one of `addrs` round-robin.
    pub fn pick(&self, addrs: &[SocketAddr]) -> SocketAddr {
        addrs[self.next.fetch_add(1, Ordering::Relaxed) % addrs.len()]
    }
}

/// The names under which a destination may appear in the settings' `upstreams`, most specific
/// first: as written, then the Kubernetes service FQDN for short names.
pub fn candidate_names(dest: &WeightedDestination) -> Vec<String> {
    let mut names = vec![format!("{}:{}", dest.host, dest.port), dest.host.clone()];
    let fqdn = if !dest.host.contains('.') {
        Some(format!(
            "{}.{}.svc.cluster.local",
            dest.host, dest.namespace
        ))
    } else if dest.host.split('.').count() == 2 {
        // `name.namespace`
        Some(format!("{}.svc.cluster.local", dest.host))
    } else {
        None
    };
    if let Some(f) = fqdn {
        names.push(format!("{f}:{}", dest.port));
        names.push(f);
    }
    names
}

/// Resolves a destination: the settings' mapping first, then DNS. No address is 503.
pub async fn resolve(
    dest: &WeightedDestination,
    upstreams: &BTreeMap<String, String>,
) -> Result<Vec<SocketAddr>, ProxyError> {
    let names = candidate_names(dest);
    let target = names
        .iter()
        .find_map(|n| upstreams.get(n).cloned())
        .unwrap_or_else(|| format!("{}:{}", dest.host, dest.port));
    if let Ok(addr) = target.parse::<SocketAddr>() {
        return Ok(vec![addr]);
    }
    let looked_up = tokio::net::lookup_host(target.as_str())
        .await
        .map(|a| a.collect::<Vec<SocketAddr>>());
    match looked_up {
        Ok(addrs) => {
            if addrs.is_empty() {
                Err(ProxyError::NoHealthyUpstream(format!(
                    "{target}: no address"
                )))
            } else {
                Ok(addrs)
            }
        }
        Err(e) => Err(ProxyError::NoHealthyUpstream(format!("{target}: {e}"))),
    }
}

/// Settings-only view used by tests and the service.
pub fn upstreams(settings: &Settings) -> &BTreeMap<String, String> {
    &settings.upstreams
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::HeaderRules;

    fn dest(host: &str) -> WeightedDestination {
        WeightedDestination {
            host: host.into(),
            port: 8000,
            weight: 100,
            namespace: "default".into(),
            headers: HeaderRules::default(),
        }
    }

    #[test]
    fn short_names_expand_to_service_fqdn() {
        assert_eq!(
            candidate_names(&dest("httpbin")),
            vec![
                "httpbin:8000",
                "httpbin",
                "httpbin.default.svc.cluster.local:8000",
                "httpbin.default.svc.cluster.local"
            ]
        );
        assert_eq!(
            candidate_names(&dest("httpbin.web"))[2],
            "httpbin.web.svc.cluster.local:8000"
        );
    }

    #[tokio::test]
    async fn mapping_wins_and_unknown_is_503() {
        let mut map = BTreeMap::new();
        map.insert(
            "httpbin.default.svc.cluster.local:8000".to_string(),
            "127.0.0.1:9".to_string(),
        );
        assert_eq!(
            resolve(&dest("httpbin"), &map).await.unwrap(),
            vec!["127.0.0.1:9".parse().unwrap()]
        );
        let e = resolve(&dest("no-such-host.invalid"), &map)
            .await
            .unwrap_err();
        assert_eq!(e.status(), http::StatusCode::SERVICE_UNAVAILABLE);
    }
}

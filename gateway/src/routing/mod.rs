//! Routing: from a request on a port to a gateway server, a virtual service and a route.

pub mod headers;
pub mod matching;
pub mod rewrite;

#[cfg(test)]
mod tests;

use crate::config::{Config, Match, PortConfig, Route, ServerConfig, VirtualService};
pub use matching::{host_of, RequestView};

/// The routing view of a configuration, shared read-only by every request.
#[derive(Debug)]
pub struct RouteTable {
    ports: Vec<PortConfig>,
    virtual_services: Vec<VirtualService>,
}

/// What to do with a request.
#[derive(Debug)]
pub enum Decision<'a> {
    /// No server on this port accepts the host, or no route matches: 404.
    NoRoute,
    /// `tls.httpsRedirect` on a plain HTTP server: 301 to this location.
    HttpsRedirect(String),
    Route {
        route: &'a Route,
        /// The match alternative that matched (None when the route has no `match`).
        matched: Option<&'a Match>,
        virtual_service: &'a VirtualService,
    },
}

impl RouteTable {
    pub fn new(config: &Config) -> Self {
        RouteTable {
            ports: config.ports.clone(),
            virtual_services: config.virtual_services.clone(),
        }
    }

    pub fn port(&self, port: u16) -> Option<&PortConfig> {
        self.ports.iter().find(|p| p.port == port)
    }

    /// The servers on `port` accepting `host`, most specific host first.
    pub fn servers_for(&self, port: u16, host: &str) -> Vec<&ServerConfig> {
        let Some(p) = self.port(port) else {
            return Vec::new();
        };
        let mut found: Vec<(usize, &ServerConfig)> = p
            .servers
            .iter()
            .filter_map(|s| matching::best_host_match(&s.hosts, host).map(|sp| (sp, s)))
            .collect();
        found.sort_by_key(|(sp, _)| std::cmp::Reverse(*sp));
        found.into_iter().map(|(_, s)| s).collect()
    }

    /// The gateway ids whose servers on `port` accept `host`.
    pub fn gateways_for(&self, port: u16, host: &str) -> Vec<String> {
        let mut ids: Vec<String> = self
            .servers_for(port, host)
            .into_iter()
            .map(|s| s.gateway.clone())
            .collect();
        ids.dedup();
        ids
    }

    /// Chooses what to do with `req` (whose `gateways` come from [`Self::gateways_for`]).
    ///
    /// Virtual services bound to those gateways are considered by host specificity (an exact
    /// host beats `*.example.com` beats `*`); among equally specific ones their routes are
    /// tried in load order, as Istio merges them. The first matching route wins.
    pub fn decide<'a>(&'a self, req: &RequestView<'_>, tls: bool) -> Decision<'a> {
        let servers = self.servers_for(req.port, &req.host);
        let Some(server) = servers.first() else {
            return Decision::NoRoute;
        };
        if server.https_redirect && !tls {
            return Decision::HttpsRedirect(rewrite::https_redirect_location(req));
        }
        let candidates: Vec<(usize, &VirtualService)> = self
            .virtual_services
            .iter()
            .filter(|vs| vs.gateways.iter().any(|g| req.gateways.contains(g)))
            .filter_map(|vs| matching::best_host_match(&vs.hosts, &req.host).map(|s| (s, vs)))
            .collect();
        let Some(best) = candidates.iter().map(|(s, _)| *s).max() else {
            return Decision::NoRoute;
        };
        for (_, vs) in candidates.iter().filter(|(s, _)| *s == best) {
            for route in &vs.routes {
                if route.matches.is_empty() {
                    return Decision::Route {
                        route,
                        matched: None,
                        virtual_service: vs,
                    };
                }
                if let Some(m) = route.matches.iter().find(|m| m.matches(req)) {
                    return Decision::Route {
                        route,
                        matched: Some(m),
                        virtual_service: vs,
                    };
                }
            }
        }
        Decision::NoRoute
    }
}

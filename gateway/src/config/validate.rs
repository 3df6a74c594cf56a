//! Validation: manifests -> [`Config`], with every problem reported by file, resource and field.

use super::credentials;
use super::duration::parse_duration;
use super::error::{ConfigError, Origin, Reporter};
use super::load::Manifests;
use super::manifest::{self as m, ObjectMeta};
use super::model::*;
use super::settings::Settings;
use http::{HeaderName, HeaderValue, StatusCode};
use regex::Regex;
use std::collections::{BTreeMap, HashSet};

const DEFAULT_NAMESPACE: &str = "default";

fn namespace(meta: &ObjectMeta) -> String {
    meta.namespace
        .clone()
        .unwrap_or_else(|| DEFAULT_NAMESPACE.to_owned())
}

fn resource_name(kind: &str, meta: &ObjectMeta) -> String {
    match &meta.namespace {
        Some(ns) => format!("{kind} {ns}/{}", meta.name),
        None => format!("{kind} {}", meta.name),
    }
}

/// Compiles the manifests; returns every error found.
pub fn compile(manifests: &Manifests, settings: &Settings) -> Result<Config, Vec<ConfigError>> {
    let mut errors = Vec::new();
    let mut ports: BTreeMap<u16, PortConfig> = BTreeMap::new();
    let mut gateway_ids = HashSet::new();

    for (origin, gw) in &manifests.gateways {
        let ns = namespace(&gw.metadata);
        let id = format!("{ns}/{}", gw.metadata.name);
        let mut r = Reporter {
            origin,
            resource: resource_name("Gateway", &gw.metadata),
            errors: &mut errors,
        };
        if !gateway_ids.insert(id.clone()) {
            r.error(
                "metadata.name",
                format!("a Gateway named `{id}` is already defined"),
            );
        }
        if gw.spec.servers.is_empty() {
            r.error("spec.servers", "at least one server is required");
        }
        for (i, server) in gw.spec.servers.iter().enumerate() {
            if let Some((port, cfg)) =
                compile_server(&mut r, i, server, &id, &ns, manifests, settings)
            {
                match ports.get_mut(&port) {
                    Some(existing) if existing.protocol != cfg.0 => r.error(
                        format!("spec.servers[{i}].port.protocol"),
                        format!(
                            "port {port} is already served as {:?} by another server; one port has one protocol",
                            existing.protocol
                        ),
                    ),
                    Some(existing) => existing.servers.push(cfg.1),
                    None => {
                        ports.insert(
                            port,
                            PortConfig {
                                port,
                                bind_port: settings.bound_port(port),
                                protocol: cfg.0,
                                servers: vec![cfg.1],
                            },
                        );
                    }
                }
            }
        }
    }

    let mut virtual_services = Vec::new();
    for (origin, vs) in &manifests.virtual_services {
        let mut r = Reporter {
            origin,
            resource: resource_name("VirtualService", &vs.metadata),
            errors: &mut errors,
        };
        if let Some(v) = compile_virtual_service(&mut r, vs, &gateway_ids) {
            virtual_services.push(v);
        }
    }

    // Bound ports must be distinct (two manifest ports mapped onto one socket would collide).
    let mut bound = BTreeMap::new();
    for p in ports.values() {
        if let Some(other) = bound.insert(p.bind_port, p.port) {
            if p.bind_port != 0 {
                errors.push(ConfigError {
                    origin: Origin::file_only(std::path::Path::new("<settings>")),
                    resource: Some("settings".into()),
                    field: Some("ports".into()),
                    message: format!(
                        "manifest ports {other} and {} are both bound to port {}",
                        p.port, p.bind_port
                    ),
                });
            }
        }
    }

    if errors.is_empty() {
        Ok(Config {
            settings: settings.clone(),
            ports: ports.into_values().collect(),
            virtual_services,
        })
    } else {
        Err(errors)
    }
}

fn compile_server(
    r: &mut Reporter<'_>,
    i: usize,
    server: &m::Server,
    gateway_id: &str,
    namespace: &str,
    manifests: &Manifests,
    settings: &Settings,
) -> Option<(u16, (ServerProtocol, ServerConfig))> {
    let at = |f: &str| format!("spec.servers[{i}].{f}");
    let mut ok = true;
    let port = match u16::try_from(server.port.number) {
        Ok(p) if p != 0 => p,
        _ => {
            r.error(
                at("port.number"),
                format!("{} is not a port number (1-65535)", server.port.number),
            );
            ok = false;
            0
        }
    };
    let protocol = match server.port.protocol.to_ascii_uppercase().as_str() {
        "HTTP" | "HTTP2" => ServerProtocol::Http,
        "HTTPS" => ServerProtocol::Https,
        other => {
            r.error(
                at("port.protocol"),
                format!("`{other}` is not supported by this gateway (HTTP, HTTP2 or HTTPS)"),
            );
            return None;
        }
    };
    if server.bind.is_some() {
        tracing::warn!(
            "{}: {}: spec.servers[{i}].bind is ignored; the gateway binds settings.bindAddress",
            r.origin,
            r.resource
        );
    }
    if server.hosts.is_empty() {
        r.error(at("hosts"), "at least one host is required");
        ok = false;
    }
    let mut hosts = Vec::new();
    for (j, h) in server.hosts.iter().enumerate() {
        match HostPattern::parse(h) {
            Ok(p) => hosts.push(p),
            Err(e) => {
                r.error(at(&format!("hosts[{j}]")), e);
                ok = false;
            }
        }
    }
    let tls = server.tls.clone().unwrap_or_default();
    let mut certificate = None;
    let mut credential = None;
    match protocol {
        ServerProtocol::Https => {
            if server.tls.is_none() {
                r.error(
                    at("tls"),
                    "HTTPS servers need tls (mode: SIMPLE with a credentialName)",
                );
                return None;
            }
            match tls.mode.as_deref() {
                Some("SIMPLE") => {}
                Some(other) => {
                    r.error(
                        at("tls.mode"),
                        format!("`{other}` is not supported: this gateway terminates TLS (SIMPLE)"),
                    );
                    ok = false;
                }
                None => {
                    r.error(at("tls.mode"), "missing: HTTPS servers need mode: SIMPLE");
                    ok = false;
                }
            }
            for (field, value) in [
                ("minProtocolVersion", &tls.min_protocol_version),
                ("maxProtocolVersion", &tls.max_protocol_version),
            ] {
                if let Some(v) = value {
                    if !matches!(v.as_str(), "TLS_AUTO" | "TLSV1_2" | "TLSV1_3") {
                        r.error(
                            at(&format!("tls.{field}")),
                            format!("`{v}` is not supported (TLS_AUTO, TLSV1_2, TLSV1_3)"),
                        );
                        ok = false;
                    }
                }
            }
            match (
                &tls.credential_name,
                &tls.server_certificate,
                &tls.private_key,
            ) {
                (Some(name), None, None) => {
                    match credentials::resolve(
                        name,
                        namespace,
                        &manifests.secrets,
                        settings.credential_directory.as_deref(),
                    ) {
                        Ok(found) => {
                            certificate = Some(found.key);
                            credential = Some(found.source);
                        }
                        Err(e) => {
                            r.error(at("tls.credentialName"), e);
                            ok = false;
                        }
                    }
                }
                (None, Some(cert), Some(key)) => {
                    let read = |p: &str| std::fs::read(p).map_err(|e| format!("{p}: {e}"));
                    match read(cert)
                        .and_then(|c| read(key).and_then(|k| credentials::certified_key(&c, &k)))
                    {
                        Ok(k) => {
                            certificate = Some(k);
                            credential = Some(cert.clone());
                        }
                        Err(e) => {
                            r.error(at("tls.serverCertificate"), e);
                            ok = false;
                        }
                    }
                }
                (Some(_), _, _) => {
                    r.error(
                        at("tls.credentialName"),
                        "give either credentialName or serverCertificate + privateKey, not both",
                    );
                    ok = false;
                }
                _ => {
                    r.error(
                        at("tls.credentialName"),
                        "missing: HTTPS servers need a credentialName (or serverCertificate + privateKey)",
                    );
                    ok = false;
                }
            }
        }
        ServerProtocol::Http => {
            if tls.mode.is_some()
                || tls.credential_name.is_some()
                || tls.server_certificate.is_some()
            {
                r.error(
                    at("tls"),
                    "an HTTP server only takes tls.httpsRedirect; use protocol HTTPS to terminate TLS",
                );
                ok = false;
            }
        }
    }
    ok.then(|| {
        (
            port,
            (
                protocol,
                ServerConfig {
                    gateway: gateway_id.to_owned(),
                    hosts,
                    https_redirect: tls.https_redirect,
                    certificate,
                    credential,
                },
            ),
        )
    })
}

fn compile_virtual_service(
    r: &mut Reporter<'_>,
    vs: &m::VirtualServiceManifest,
    gateway_ids: &HashSet<String>,
) -> Option<VirtualService> {
    let ns = namespace(&vs.metadata);
    let id = format!("{ns}/{}", vs.metadata.name);
    let before = r.errors.len();
    if vs.spec.hosts.is_empty() {
        r.error("spec.hosts", "at least one host is required");
    }
    let mut hosts = Vec::new();
    for (i, h) in vs.spec.hosts.iter().enumerate() {
        match HostPattern::parse(h) {
            Ok(p) => hosts.push(p),
            Err(e) => r.error(format!("spec.hosts[{i}]"), e),
        }
    }
    let gateways = gateway_refs(r, "spec.gateways", &vs.spec.gateways, &ns, gateway_ids);
    if vs.spec.gateways.is_empty() {
        tracing::warn!(
            "{}: {}: no spec.gateways, so it applies to the mesh only (as in Istio) and this gateway does not serve it",
            r.origin, r.resource
        );
    }
    let mut routes = Vec::new();
    for (i, route) in vs.spec.http.iter().enumerate() {
        if let Some(rt) = compile_route(
            r,
            &format!("spec.http[{i}]"),
            route,
            &id,
            i,
            &ns,
            gateway_ids,
        ) {
            routes.push(rt);
        }
    }
    (r.errors.len() == before).then_some(VirtualService {
        id,
        namespace: ns,
        hosts,
        gateways,
        routes,
    })
}

fn gateway_refs(
    r: &mut Reporter<'_>,
    field: &str,
    refs: &[String],
    ns: &str,
    gateway_ids: &HashSet<String>,
) -> Vec<String> {
    let mut out = Vec::new();
    for (i, g) in refs.iter().enumerate() {
        if g == "mesh" {
            continue;
        }
        let id = if g.contains('/') {
            g.clone()
        } else {
            format!("{ns}/{g}")
        };
        if !gateway_ids.contains(&id) {
            r.error(
                format!("{field}[{i}]"),
                format!("gateway `{g}` ({id}) is not defined in the configuration"),
            );
        }
        out.push(id);
    }
    out
}

fn compile_route(
    r: &mut Reporter<'_>,
    at: &str,
    route: &m::HttpRoute,
    vs_id: &str,
    index: usize,
    ns: &str,
    gateway_ids: &HashSet<String>,
) -> Option<Route> {
    let before = r.errors.len();
    let mut matches = Vec::new();
    for (i, mr) in route.matches.iter().enumerate() {
        matches.push(compile_match(
            r,
            &format!("{at}.match[{i}]"),
            mr,
            ns,
            gateway_ids,
        ));
    }
    let action = match (&route.redirect, route.route.is_empty()) {
        (Some(_), false) => {
            r.error(
                format!("{at}.redirect"),
                "a route has either `route` or `redirect`, not both",
            );
            None
        }
        (None, true) => {
            r.error(
                format!("{at}.route"),
                "missing: a route needs `route` destinations or a `redirect`",
            );
            None
        }
        (Some(red), true) => {
            compile_redirect(r, &format!("{at}.redirect"), red).map(Action::Redirect)
        }
        (None, false) => {
            let mut dests = Vec::new();
            for (i, d) in route.route.iter().enumerate() {
                let f = format!("{at}.route[{i}]");
                if d.destination.host.is_empty() {
                    r.error(format!("{f}.destination.host"), "must not be empty");
                }
                if let Some(s) = &d.destination.subset {
                    r.error(
                        format!("{f}.destination.subset"),
                        format!("subset `{s}` needs a DestinationRule, which this gateway does not read"),
                    );
                }
                let port = match &d.destination.port {
                    Some(p) => match u16::try_from(p.number) {
                        Ok(p) if p != 0 => p,
                        _ => {
                            r.error(
                                format!("{f}.destination.port.number"),
                                format!("{} is not a port number", p.number),
                            );
                            0
                        }
                    },
                    None => 80,
                };
                let weight = match d.weight {
                    None if route.route.len() == 1 => 100,
                    None => 0,
                    Some(w) if (0..=i64::from(u32::MAX)).contains(&w) => w as u32,
                    Some(w) => {
                        r.error(
                            format!("{f}.weight"),
                            format!("{w} is negative or too large"),
                        );
                        0
                    }
                };
                let headers = compile_headers(r, &format!("{f}.headers"), d.headers.as_ref());
                dests.push(WeightedDestination {
                    host: d.destination.host.to_ascii_lowercase(),
                    port,
                    weight,
                    namespace: ns.to_owned(),
                    headers,
                });
            }
            if dests.len() > 1 && dests.iter().all(|d| d.weight == 0) {
                r.error(
                    format!("{at}.route"),
                    "with several destinations, weights must not all be 0",
                );
            }
            Some(Action::Forward(dests))
        }
    };
    let rewrite = route.rewrite.as_ref().map(|rw| {
        if let Some(u) = &rw.uri {
            if !u.starts_with('/') {
                r.error(
                    format!("{at}.rewrite.uri"),
                    format!("`{u}` must start with /"),
                );
            }
        }
        if let Some(a) = &rw.authority {
            if a.parse::<http::uri::Authority>().is_err() {
                r.error(
                    format!("{at}.rewrite.authority"),
                    format!("`{a}` is not a valid authority"),
                );
            }
        }
        Rewrite {
            uri: rw.uri.clone(),
            authority: rw.authority.clone(),
        }
    });
    if route.redirect.is_some() && route.rewrite.is_some() {
        r.error(
            format!("{at}.rewrite"),
            "a redirect route cannot also rewrite",
        );
    }
    let timeout = route
        .timeout
        .as_ref()
        .and_then(|t| match parse_duration(t) {
            Ok(d) if d.is_zero() => None,
            Ok(d) => Some(d),
            Err(e) => {
                r.error(format!("{at}.timeout"), e);
                None
            }
        });
    let retries = match &route.retries {
        None => RetryPolicy::default(),
        Some(rt) => compile_retries(r, &format!("{at}.retries"), rt),
    };
    let headers = compile_headers(r, &format!("{at}.headers"), route.headers.as_ref());
    let name = route
        .name
        .clone()
        .unwrap_or_else(|| format!("{}.{index}", vs_id.rsplit('/').next().unwrap_or(vs_id)));
    (r.errors.len() == before).then(|| Route {
        name,
        matches,
        action: action.expect("no errors means an action"),
        rewrite,
        headers,
        timeout,
        retries,
    })
}

fn compile_match(
    r: &mut Reporter<'_>,
    at: &str,
    mr: &m::HttpMatchRequest,
    ns: &str,
    gateway_ids: &HashSet<String>,
) -> Match {
    let mut one = |field: &str, sm: &Option<m::StringMatch>| {
        sm.as_ref()
            .and_then(|s| string_match(r, &format!("{at}.{field}"), s))
    };
    let uri = one("uri", &mr.uri);
    let scheme = one("scheme", &mr.scheme);
    let method = one("method", &mr.method);
    let authority = one("authority", &mr.authority);
    let mut header_list = |field: &str, map: &BTreeMap<String, m::StringMatch>| {
        let mut out = Vec::new();
        for (name, sm) in map {
            let f = format!("{at}.{field}.{name}");
            let Ok(h) = HeaderName::from_bytes(name.to_ascii_lowercase().as_bytes()) else {
                r.error(f, format!("`{name}` is not a valid header name"));
                continue;
            };
            if let Some(s) = string_match(r, &f, sm) {
                out.push((h, s));
            }
        }
        out
    };
    let headers = header_list("headers", &mr.headers);
    let without_headers = header_list("withoutHeaders", &mr.without_headers);
    let mut query_params = Vec::new();
    for (name, sm) in &mr.query_params {
        if let Some(s) = string_match(r, &format!("{at}.queryParams.{name}"), sm) {
            query_params.push((name.clone(), s));
        }
    }
    let port = mr.port.and_then(|p| match u16::try_from(p) {
        Ok(p) if p != 0 => Some(p),
        _ => {
            r.error(format!("{at}.port"), format!("{p} is not a port number"));
            None
        }
    });
    let gateways = gateway_refs(r, &format!("{at}.gateways"), &mr.gateways, ns, gateway_ids);
    let uri = match (uri, mr.ignore_uri_case) {
        (Some(StrMatch::Regex(re)), true) => Regex::new(&format!("(?i){}", re.as_str()))
            .ok()
            .map(StrMatch::Regex),
        (u, _) => u,
    };
    Match {
        uri,
        ignore_uri_case: mr.ignore_uri_case,
        scheme,
        method,
        authority,
        headers,
        without_headers,
        query_params,
        port,
        gateways,
    }
}

/// Exactly one of exact / prefix / regex.
fn string_match(r: &mut Reporter<'_>, at: &str, sm: &m::StringMatch) -> Option<StrMatch> {
    match (&sm.exact, &sm.prefix, &sm.regex) {
        (Some(e), None, None) => Some(StrMatch::Exact(e.clone())),
        (None, Some(p), None) => Some(StrMatch::Prefix(p.clone())),
        (None, None, Some(re)) => match Regex::new(&format!("^(?:{re})$")) {
            Ok(re) => Some(StrMatch::Regex(re)),
            Err(e) => {
                r.error(
                    format!("{at}.regex"),
                    format!("invalid regular expression: {e}"),
                );
                None
            }
        },
        (None, None, None) => {
            r.error(at, "empty: give one of exact, prefix or regex");
            None
        }
        _ => {
            r.error(at, "give only one of exact, prefix or regex");
            None
        }
    }
}

fn compile_redirect(r: &mut Reporter<'_>, at: &str, red: &m::HttpRedirect) -> Option<Redirect> {
    let before = r.errors.len();
    let code = match red.redirect_code {
        None => StatusCode::MOVED_PERMANENTLY,
        Some(c @ (301 | 302 | 303 | 307 | 308)) => StatusCode::from_u16(c as u16).expect("valid"),
        Some(c) => {
            r.error(
                format!("{at}.redirectCode"),
                format!("{c} is not a redirect status (301, 302, 303, 307, 308)"),
            );
            StatusCode::MOVED_PERMANENTLY
        }
    };
    if let Some(s) = &red.scheme {
        if s != "http" && s != "https" {
            r.error(
                format!("{at}.scheme"),
                format!("`{s}` is not http or https"),
            );
        }
    }
    if let Some(u) = &red.uri {
        if !u.starts_with('/') {
            r.error(format!("{at}.uri"), format!("`{u}` must start with /"));
        }
    }
    let port = red.port.and_then(|p| match u16::try_from(p) {
        Ok(p) if p != 0 => Some(p),
        _ => {
            r.error(format!("{at}.port"), format!("{p} is not a port number"));
            None
        }
    });
    (r.errors.len() == before).then(|| Redirect {
        uri: red.uri.clone(),
        authority: red.authority.clone(),
        port,
        scheme: red.scheme.clone(),
        code,
    })
}

fn compile_retries(r: &mut Reporter<'_>, at: &str, rt: &m::HttpRetry) -> RetryPolicy {
    let attempts = match rt.attempts {
        None => 0,
        Some(a) if (0..=100).contains(&a) => a as u32,
        Some(a) => {
            r.error(
                format!("{at}.attempts"),
                format!("{a} is out of range (0-100)"),
            );
            0
        }
    };
    let per_try_timeout = rt
        .per_try_timeout
        .as_ref()
        .and_then(|t| match parse_duration(t) {
            Ok(d) if d.is_zero() => None,
            Ok(d) => Some(d),
            Err(e) => {
                r.error(format!("{at}.perTryTimeout"), e);
                None
            }
        });
    let mut on = RetryOn::default();
    match &rt.retry_on {
        None => {
            on = RetryPolicy::default().on;
        }
        Some(list) => {
            for token in list.split(',').map(str::trim).filter(|t| !t.is_empty()) {
                match token {
                    "5xx" => on.five_xx = true,
                    "gateway-error" => on.gateway_error = true,
                    "reset" => on.reset = true,
                    "connect-failure" => on.connect_failure = true,
                    "refused-stream" => on.refused_stream = true,
                    "retriable-4xx" => on.retriable_4xx = true,
                    "retriable-status-codes" => {
                        if on.status_codes.is_empty() {
                            on.status_codes.push(503);
                        }
                    }
                    // gRPC conditions: upstreams here speak HTTP/1.1, so they never apply.
                    "cancelled" | "deadline-exceeded" | "internal" | "resource-exhausted"
                    | "unavailable" => {}
                    code => match code.parse::<u16>() {
                        Ok(c) if (100..=599).contains(&c) => on.status_codes.push(c),
                        _ => r.error(
                            format!("{at}.retryOn"),
                            format!("`{code}` is not a retry condition (5xx, gateway-error, reset, connect-failure, refused-stream, retriable-4xx, retriable-status-codes or a status code)"),
                        ),
                    },
                }
            }
        }
    }
    if rt.retry_remote_localities.is_some() {
        tracing::debug!("{at}.retryRemoteLocalities has no effect on a single gateway");
    }
    RetryPolicy {
        attempts,
        per_try_timeout,
        on,
    }
}

fn compile_headers(r: &mut Reporter<'_>, at: &str, headers: Option<&m::Headers>) -> HeaderRules {
    let Some(h) = headers else {
        return HeaderRules::default();
    };
    HeaderRules {
        request: compile_ops(r, &format!("{at}.request"), h.request.as_ref()),
        response: compile_ops(r, &format!("{at}.response"), h.response.as_ref()),
    }
}

fn compile_ops(r: &mut Reporter<'_>, at: &str, ops: Option<&m::HeaderOperations>) -> HeaderOps {
    let Some(ops) = ops else {
        return HeaderOps::default();
    };
    let mut pairs = |field: &str, map: &BTreeMap<String, String>| {
        let mut out = Vec::new();
        for (k, v) in map {
            let f = format!("{at}.{field}.{k}");
            match (
                HeaderName::from_bytes(k.to_ascii_lowercase().as_bytes()),
                HeaderValue::from_str(v),
            ) {
                (Ok(name), Ok(value)) => out.push((name, value)),
                (Err(_), _) => r.error(f, format!("`{k}` is not a valid header name")),
                (_, Err(_)) => r.error(f, format!("`{v}` is not a valid header value")),
            }
        }
        out
    };
    let set = pairs("set", &ops.set);
    let add = pairs("add", &ops.add);
    let mut remove = Vec::new();
    for (i, k) in ops.remove.iter().enumerate() {
        match HeaderName::from_bytes(k.to_ascii_lowercase().as_bytes()) {
            Ok(n) => remove.push(n),
            Err(_) => r.error(
                format!("{at}.remove[{i}]"),
                format!("`{k}` is not a valid header name"),
            ),
        }
    }
    HeaderOps { set, add, remove }
}

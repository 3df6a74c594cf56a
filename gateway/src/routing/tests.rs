//! Routing, rewrite, redirect and header-rule tests.

use super::*;
use crate::config::{parse_text, Action, Settings};
use http::Request;

const GW: &str = "apiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata: {name: gw}\nspec:\n  servers:\n  - port: {number: 80, protocol: HTTP}\n    hosts: ['*.example.com', 'exact.example.com']\n  - port: {number: 8080, protocol: HTTP}\n    hosts: [secure.example.com]\n    tls: {httpsRedirect: true}\n---\n";

fn table(vs: &str) -> RouteTable {
    let config = parse_text("t.yaml", &format!("{GW}{vs}"), &Settings::default())
        .unwrap_or_else(|e| panic!("{e}"));
    RouteTable::new(&config)
}

fn decide_name(t: &RouteTable, port: u16, req: Request<()>) -> String {
    let (parts, ()) = req.into_parts();
    let authority = parts
        .headers
        .get("host")
        .map(|h| h.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let host = host_of(&authority);
    let gateways = t.gateways_for(port, &host);
    let view = RequestView {
        parts: &parts,
        authority: &authority,
        host,
        scheme: "http",
        port,
        gateways: &gateways,
    };
    match t.decide(&view, false) {
        Decision::NoRoute => "404".into(),
        Decision::HttpsRedirect(l) => format!("redirect {l}"),
        Decision::Route { route, matched, .. } => match &route.action {
            Action::Redirect(r) => {
                format!("{} -> {}", route.name, rewrite::redirect_location(r, &view))
            }
            Action::Forward(_) => match &route.rewrite {
                Some(rw) => format!(
                    "{} {}",
                    route.name,
                    rewrite::rewrite_path(rw, matched, view.path_and_query())
                ),
                None => route.name.clone(),
            },
        },
    }
}

fn get(host: &str, path: &str) -> http::request::Builder {
    Request::get(path).header("host", host)
}

const RULES: &str = "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: vs}\nspec:\n  hosts: ['a.example.com']\n  gateways: [gw]\n  http:\n  - name: exact\n    match: [{uri: {exact: /exact}}]\n    route: [{destination: {host: up}}]\n  - name: regex\n    match: [{uri: {regex: '/items/[0-9]+'}}]\n    route: [{destination: {host: up}}]\n  - name: header\n    match: [{headers: {x-canary: {exact: 'yes'}}, uri: {prefix: /h}}]\n    route: [{destination: {host: up}}]\n  - name: method\n    match: [{method: {exact: POST}, uri: {prefix: /h}}]\n    route: [{destination: {host: up}}]\n  - name: authority\n    match: [{authority: {prefix: 'a.example.com:81'}}]\n    route: [{destination: {host: up}}]\n  - name: rewrite\n    match: [{uri: {prefix: /api/}}]\n    rewrite: {uri: /anything/}\n    route: [{destination: {host: up}}]\n  - name: moved\n    match: [{uri: {prefix: /old}}]\n    redirect: {uri: /new, redirectCode: 302}\n  - name: query\n    match: [{queryParams: {v: {exact: '2'}}}]\n    route: [{destination: {host: up}}]\n";

#[test]
fn match_kinds() {
    let t = table(RULES);
    let h = "a.example.com";
    let name = |b: http::request::Builder| decide_name(&t, 80, b.body(()).unwrap());
    assert_eq!(name(get(h, "/exact")), "exact");
    assert_eq!(
        name(get(h, "/exact?x=1")),
        "exact",
        "exact ignores the query"
    );
    assert_eq!(name(get(h, "/exact/more")), "404");
    assert_eq!(name(get(h, "/items/42")), "regex");
    assert_eq!(name(get(h, "/items/42x")), "404", "regex is anchored");
    assert_eq!(name(get(h, "/h").header("x-canary", "yes")), "header");
    assert_eq!(name(get(h, "/h").header("x-canary", "no")), "404");
    assert_eq!(name(Request::post("/h").header("host", h)), "method");
    assert_eq!(name(get("a.example.com:81", "/zzz")), "authority");
    assert_eq!(name(get(h, "/api/x?q=1")), "rewrite /anything/x?q=1");
    assert_eq!(
        name(get(h, "/old/page?q=1")),
        "moved -> http://a.example.com/new?q=1"
    );
    assert_eq!(name(get(h, "/z?v=2")), "query");
    assert_eq!(name(get(h, "/z?v=3")), "404");
    assert_eq!(
        name(get("other.example.com", "/exact")),
        "404",
        "host not in the VirtualService"
    );
    assert_eq!(
        name(get("a.example.org", "/exact")),
        "404",
        "host not on the gateway"
    );
}

#[test]
fn https_redirect_and_specific_hosts_win() {
    let t = table("apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: wild}\nspec:\n  hosts: ['*.example.com']\n  gateways: [gw]\n  http:\n  - name: wild\n    route: [{destination: {host: up}}]\n---\napiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: exact}\nspec:\n  hosts: [exact.example.com]\n  gateways: [gw]\n  http:\n  - name: exact\n    route: [{destination: {host: up}}]\n");
    let name = |b: http::request::Builder, port| decide_name(&t, port, b.body(()).unwrap());
    assert_eq!(name(get("exact.example.com", "/"), 80), "exact");
    assert_eq!(name(get("x.example.com", "/"), 80), "wild");
    assert_eq!(
        name(get("secure.example.com:8080", "/p?q"), 8080),
        "redirect https://secure.example.com/p?q"
    );
}

#[test]
fn rewrite_whole_path_when_not_prefix() {
    let rw = crate::config::Rewrite {
        uri: Some("/new".into()),
        authority: None,
    };
    assert_eq!(rewrite::rewrite_path(&rw, None, "/a/b?x=1"), "/new?x=1");
}

#[test]
fn weights_split_traffic() {
    let t = table("apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: vs}\nspec:\n  hosts: ['a.example.com']\n  gateways: [gw]\n  http:\n  - route:\n    - {destination: {host: v1}, weight: 75}\n    - {destination: {host: v2}, weight: 25}\n");
    let Action::Forward(d) = &t.virtual_services[0].routes[0].action else {
        panic!()
    };
    assert_eq!(rewrite::total_weight(d), 100);
    assert_eq!(rewrite::pick_weighted(d, 0).host, "v1");
    assert_eq!(rewrite::pick_weighted(d, 74).host, "v1");
    assert_eq!(rewrite::pick_weighted(d, 75).host, "v2");
    assert_eq!(rewrite::pick_weighted(d, 99).host, "v2");
}

#[test]
fn header_rules_remove_set_add() {
    let t = table("apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: vs}\nspec:\n  hosts: ['a.example.com']\n  gateways: [gw]\n  http:\n  - route: [{destination: {host: v1}}]\n    headers:\n      request:\n        set: {x-set: one}\n        add: {x-add: two}\n        remove: [x-gone]\n");
    let ops = &t.virtual_services[0].routes[0].headers.request;
    let mut h = http::HeaderMap::new();
    h.insert("x-gone", "1".parse().unwrap());
    h.insert("x-set", "old".parse().unwrap());
    h.insert("x-add", "first".parse().unwrap());
    headers::apply(ops, &mut h);
    assert!(h.get("x-gone").is_none());
    assert_eq!(h.get_all("x-set").iter().count(), 1);
    assert_eq!(h["x-set"], "one");
    let adds: Vec<_> = h.get_all("x-add").iter().collect();
    assert_eq!(adds, vec!["first", "two"]);
}

#[test]
fn hosts() {
    assert_eq!(host_of("Example.COM:8443"), "example.com");
    assert_eq!(host_of("[::1]:443"), "[::1]");
    let p = crate::config::HostPattern::parse("istio-system/*.example.com").unwrap();
    assert!(p.matches("a.example.com") && !p.matches("example.com"));
}

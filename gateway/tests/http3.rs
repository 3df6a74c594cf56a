//! HTTP/3 over UDP through the gateway, with our async client.

mod common;

use common::*;
use gateway::config::{self, Settings};
use gateway::listeners::h3_runtime::QuicHttp3Runtime;
use gateway::server::{Gateway, StartOptions};
use serde_json::Value;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

fn route(name: &str, prefix: &str, host: &str) -> String {
    format!("  - name: {name}\n    match: [{{uri: {{prefix: {prefix}}}}}]\n    route: [{{destination: {{host: {host}, port: {{number: 8000}}}}}}]\n")
}

async fn start_with_h3(routes: &str, upstreams: &[(&str, SocketAddr)]) -> InProcess {
    let pki = Pki::new();
    let settings = Settings::parse(
        Path::new("settings.yaml"),
        &settings_yaml(upstreams, true),
        None,
    )
    .unwrap();
    let text = format!("{}{}{}", gateway_yaml(), routes, pki.secret());
    let config =
        config::parse_text("test.yaml", &text, &settings).unwrap_or_else(|e| panic!("{e}"));
    let options = StartOptions {
        http3: Some(Arc::new(QuicHttp3Runtime)),
    };
    let handle = Gateway::start(config, options).await.unwrap();
    let https = handle.local_addr(443).await.unwrap();
    let http = handle.local_addr(80).await.unwrap();
    InProcess {
        handle,
        https,
        http,
        pki,
    }
}

async fn h3_client(
    ca_pem: &str,
    addr: SocketAddr,
) -> (quic::runtime::Endpoint, h3::asynch::Client) {
    let roots = quic::tls::parse_certs(ca_pem.as_bytes()).unwrap();
    let tls = quic::tls::client_config(
        &quic::tls::ServerVerification::CaCerts(roots),
        &[b"h3"],
        quic::tls::CipherSuites::All,
    )
    .unwrap();
    let endpoint = quic::runtime::Endpoint::client("127.0.0.1:0".parse().unwrap()).unwrap();
    let conn = endpoint
        .connect(addr, HOST, &quic::connection::ClientConfig::new(tls))
        .await
        .unwrap();
    (
        endpoint,
        h3::asynch::Client::new(conn, h3::Config::default()),
    )
}

async fn get(client: &h3::asynch::Client, port: u16, path: &str) -> (http::Response<()>, Vec<u8>) {
    let req = http::Request::get(format!("https://{HOST}:{port}{path}"))
        .body(())
        .unwrap();
    let stream = client.send_request(req).await.unwrap();
    stream.finish().unwrap();
    let resp = stream.recv_response().await.unwrap();
    let mut body = Vec::new();
    while let Some(chunk) = stream.recv_data().await.unwrap() {
        body.extend_from_slice(&chunk);
    }
    (resp, body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http3_get_headers_and_download() {
    let hb = builtin_httpbin().await;
    let gw = start_with_h3(
        &vs_yaml("httpbin", &route("all", "/", "httpbin")),
        &[("httpbin:8000", hb)],
    )
    .await;
    // The UDP listener shares the TCP listener's port.
    let (_endpoint, client) = h3_client(&gw.pki.certs.ca_cert, gw.https).await;

    let (resp, body) = get(&client, gw.https.port(), "/headers").await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["alt-svc"], "h3=\":443\"; ma=86400");
    let json: Value = serde_json::from_slice(&body).unwrap();
    let h = &json["headers"];
    assert_eq!(h["X-Forwarded-Proto"], "https", "{json}");
    assert_eq!(h["X-Request-Id"].as_str().unwrap().len(), 36, "{json}");

    const N: usize = 10 * 1024 * 1024;
    let (resp, body) = get(&client, gw.https.port(), &format!("/bytes/{N}")).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(body.len(), N);

    client.shutdown().await;
    assert!(gw.handle.shutdown().await, "HTTP/3 listener drained");
}

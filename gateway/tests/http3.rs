//! HTTP/3 over UDP through the gateway, with our async client.

mod common;

use common::*;
use serde_json::Value;

fn route(name: &str, prefix: &str, host: &str) -> String {
    format!("  - name: {name}\n    match: [{{uri: {{prefix: {prefix}}}}}]\n    route: [{{destination: {{host: {host}, port: {{number: 8000}}}}}}]\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http3_get_headers_and_download() {
    let hb = builtin_httpbin().await;
    let gw = start_in_process(
        &vs_yaml("httpbin", &route("all", "/", "httpbin")),
        &[("httpbin:8000", hb)],
    )
    .await;
    // The UDP listener shares the TCP listener's port.
    let (_endpoint, client) = h3_client(&gw.pki.certs.ca_cert, gw.quic).await;

    let (resp, body) = h3_get(&client, gw.https.port(), "/headers").await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["alt-svc"], "h3=\":443\"; ma=86400");
    let json: Value = serde_json::from_slice(&body).unwrap();
    let h = &json["headers"];
    assert_eq!(h["X-Forwarded-Proto"], "https", "{json}");
    assert_eq!(h["X-Request-Id"].as_str().unwrap().len(), 36, "{json}");

    const N: usize = 10 * 1024 * 1024;
    let (resp, body) = h3_get(&client, gw.https.port(), &format!("/bytes/{N}")).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(body.len(), N);

    client.shutdown().await;
    assert!(gw.handle.shutdown().await, "HTTP/3 listener drained");
}

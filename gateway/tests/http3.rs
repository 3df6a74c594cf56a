//! HTTP/3 over UDP through the gateway (in-process, with the binary's HTTP/3 runtime): our
//! async client, our `h3curl`, and curl's own HTTP/3 (libcurl with ngtcp2 + nghttp3, as PyPI's
//! curl-cffi bundles it) get /headers and see what the gateway adds, from the built-in httpbin
//! and from Debian's python3-httpbin.

mod common;

use common::*;
use serde_json::Value;
use std::path::PathBuf;
use std::time::Duration;

/// Every request to httpbin, with a request header set by the route (Istio `headers.request`).
fn routes_with_added_header() -> String {
    vs_yaml(
        "httpbin",
        "  - name: all\n    route: [{destination: {host: httpbin, port: {number: 8000}}}]\n    headers: {request: {set: {x-added-by-route: h3-test}}}\n",
    )
}

/// httpbin's /headers JSON shows the gateway's additions and the route's header.
fn check_added_headers(json: &Value) {
    let h = &json["headers"];
    assert_eq!(h["X-Forwarded-Proto"], "https", "{json}");
    assert_eq!(h["X-Forwarded-For"], "127.0.0.1", "{json}");
    assert_eq!(h["X-Request-Id"].as_str().unwrap_or("").len(), 36, "{json}");
    assert_eq!(h["X-Envoy-Attempt-Count"], "1", "{json}");
    assert_eq!(h["X-Added-By-Route"], "h3-test", "{json}");
    let trace = h["X-B3-Traceid"].as_str().expect("x-b3-traceid");
    assert!(
        h["Traceparent"].as_str().unwrap_or("").contains(trace),
        "one trace id: {json}"
    );
}

/// A tool run, bounded.
async fn run(cmd: &mut tokio::process::Command) -> std::process::Output {
    let out = cmd.kill_on_drop(true).output();
    tokio::time::timeout(Duration::from_secs(120), out)
        .await
        .expect("bounded run")
        .unwrap()
}

/// `h3curl` from the same target directory (built by `cargo test --workspace` and
/// `cargo build -p h3`), if it is there.
fn h3curl() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    // target/<profile>/deps/http3-<hash> -> target/<profile>/h3curl
    let path = exe.parent()?.parent()?.join("h3curl");
    path.is_file().then_some(path)
}

fn python() -> String {
    std::env::var("PYTHON").unwrap_or_else(|_| "python3".into())
}

/// Whether `$PYTHON` (default python3, as interop/install-peers.sh installs it) imports
/// curl_cffi; fails instead of skipping when GATEWAY_REQUIRE_CURL_CFFI=1.
fn curl_cffi_available() -> bool {
    let ok = std::process::Command::new(python())
        .args(["-c", "import curl_cffi"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !ok {
        if std::env::var("GATEWAY_REQUIRE_CURL_CFFI").as_deref() == Ok("1") {
            panic!("curl_cffi is required (GATEWAY_REQUIRE_CURL_CFFI=1) but `{} -c 'import curl_cffi'` fails (interop/install-peers.sh installs it)", python());
        }
        eprintln!(
            "skipped: curl_cffi not importable from {} (interop/install-peers.sh installs it)",
            python()
        );
    }
    ok
}

/// One GET with libcurl, HTTP/3 only (no TCP fallback); prints a JSON summary.
const CURL_CFFI_GET: &str = r#"
import json, sys
from curl_cffi import CurlHttpVersion, CurlOpt, requests
url, ca, resolve = sys.argv[1:4]
r = requests.get(url, verify=ca, http_version=CurlHttpVersion.V3ONLY,
                 curl_options={CurlOpt.RESOLVE: [resolve]}, timeout=60)
print(json.dumps({"http3": r.http_version == CurlHttpVersion.V3, "status": r.status_code,
                  "alt_svc": r.headers.get("alt-svc"), "body": r.text}))
"#;

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h3curl_gets_headers_through_the_gateway() {
    let Some(h3curl) = h3curl() else {
        eprintln!("skipped: target/<profile>/h3curl not built (cargo build -p h3 --bin h3curl)");
        return;
    };
    let hb = builtin_httpbin().await;
    let gw = start_in_process(&routes_with_added_header(), &[("httpbin:8000", hb)]).await;
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.crt");
    std::fs::write(&ca, &gw.pki.certs.ca_cert).unwrap();
    let port = gw.quic.port();
    let out = run(tokio::process::Command::new(h3curl)
        .args(["-sS", "-i", "-m", "60", "--cacert"])
        .arg(&ca)
        .arg("--resolve")
        .arg(format!("{HOST}:{port}:127.0.0.1"))
        .arg(format!("https://{HOST}:{port}/headers")))
    .await;
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "h3curl: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let (head, body) = text
        .split_once("\r\n\r\n")
        .or_else(|| text.split_once("\n\n"))
        .expect("head and body");
    assert!(head.starts_with("HTTP/3 200"), "{head}");
    assert!(head.contains("alt-svc: h3=\":443\"; ma=86400"), "{head}");
    check_added_headers(&serde_json::from_str(body).unwrap());
    assert!(gw.handle.shutdown().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn curl_cffi_gets_headers_over_http3() {
    if !curl_cffi_available() {
        return;
    }
    let hb = builtin_httpbin().await;
    let gw = start_in_process(&routes_with_added_header(), &[("httpbin:8000", hb)]).await;
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.crt");
    std::fs::write(&ca, &gw.pki.certs.ca_cert).unwrap();
    let port = gw.quic.port();
    let out = run(tokio::process::Command::new(python())
        .args(["-c", CURL_CFFI_GET])
        .arg(format!("https://{HOST}:{port}/headers"))
        .arg(&ca)
        .arg(format!("{HOST}:{port}:127.0.0.1")))
    .await;
    assert!(
        out.status.success(),
        "curl_cffi: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["http3"], true, "{summary}");
    assert_eq!(summary["status"], 200, "{summary}");
    assert_eq!(summary["alt_svc"], "h3=\":443\"; ma=86400", "{summary}");
    check_added_headers(&serde_json::from_str(summary["body"].as_str().unwrap()).unwrap());
    // The gateway counted it as HTTP/3.
    let metrics = reqwest::get(format!(
        "http://{}/stats/prometheus",
        gw.handle.status_addr()
    ))
    .await
    .unwrap()
    .text()
    .await
    .unwrap();
    assert!(
        metrics.contains(
            "gateway_requests_total{protocol=\"HTTP/3\",route=\"all\",status_class=\"2xx\"} 1"
        ),
        "{metrics}"
    );
    assert!(gw.handle.shutdown().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http3_through_debian_python_httpbin() {
    if !python_httpbin_available() {
        return;
    }
    let hb = PythonHttpbin::start().await;
    let gw = start_in_process(&routes_with_added_header(), &[("httpbin:8000", hb.addr)]).await;
    let (_endpoint, client) = h3_client(&gw.pki.certs.ca_cert, gw.quic).await;
    // httpbin hides the proxy's headers from /headers unless asked with show_env.
    let (resp, body) = h3_get(&client, gw.quic.port(), "/headers?show_env=1").await;
    assert_eq!(resp.status(), 200);
    check_added_headers(&serde_json::from_slice(&body).unwrap());
    let (resp, body) = h3_get(&client, gw.quic.port(), "/status/418").await;
    assert_eq!(resp.status(), 418);
    assert!(String::from_utf8_lossy(&body).contains("teapot"));
    client.shutdown().await;
    assert!(gw.handle.shutdown().await);
}

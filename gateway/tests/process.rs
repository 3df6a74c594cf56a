//! The `gateway` binary: 100 MiB transfers both ways over HTTP/1.1, HTTP/2 and HTTP/3 with the
//! gateway's peak RSS bounded, SIGTERM draining a slow request, SIGHUP applying a changed route
//! to an established HTTP/2 connection and to an established HTTP/3 (QUIC) connection, SIGHUP
//! rotating the certificate of new QUIC handshakes, the TLS server name in HTTP/3 access-log
//! lines.

mod common;

use common::process::{peak_rss, signal, GatewayProcess, Spawn};
use common::*;
use futures_util::StreamExt;
use gateway::demo::httpbin::ByteGen;
use serde_json::Value;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

const MIB: usize = 1 << 20;

fn all_routes() -> String {
    vs_yaml(
        "httpbin",
        "  - name: all\n    route: [{destination: {host: httpbin, port: {number: 8000}}}]\n",
    )
}

fn expected_sha(n: usize, seed: u64) -> String {
    let mut g = ByteGen::new(seed);
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    let mut buf = vec![0u8; 64 * 1024];
    let mut left = n;
    while left > 0 {
        let len = left.min(buf.len());
        g.fill(&mut buf[..len]);
        ctx.update(&buf[..len]);
        left -= len;
    }
    sha256_hex(ctx)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hundred_mib_each_way_over_h1_and_h2_with_bounded_rss() {
    let hb = builtin_httpbin().await;
    let gw = GatewayProcess::spawn(Spawn::new(&all_routes(), hb)).await;
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], gw.https));
    let n = 100 * MIB;
    let want = expected_sha(n, 9);
    let before = peak_rss(gw.child.id());
    for http1 in [true, false] {
        let c = client(&gw.pki.certs.ca_cert, addr, http1);
        // Download.
        let r = c
            .get(url(addr, &format!("/bytes/{n}?seed=9")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let mut stream = r.bytes_stream();
        let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
        let mut got = 0;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.unwrap();
            got += chunk.len();
            ctx.update(&chunk);
        }
        assert_eq!(got, n);
        assert_eq!(sha256_hex(ctx), want, "download (http1={http1})");
        // Upload, generated as it is sent.
        let chunks =
            futures_util::stream::unfold((ByteGen::new(9), n), |(mut g, left)| async move {
                if left == 0 {
                    return None;
                }
                let len = left.min(64 * 1024);
                let mut buf = vec![0u8; len];
                g.fill(&mut buf);
                Some((Ok::<_, std::io::Error>(buf), (g, left - len)))
            });
        let r = c
            .post(url(addr, "/sink"))
            .body(reqwest::Body::wrap_stream(chunks))
            .send()
            .await
            .unwrap();
        let j: Value = r.json().await.unwrap();
        assert_eq!(j["bytes"], n as u64);
        assert_eq!(j["sha256"], want, "upload (http1={http1})");
    }
    let peak = peak_rss(gw.child.id());
    eprintln!(
        "gateway peak RSS: {} MiB before, {} MiB after 400 MiB of transfers",
        before / MIB as u64,
        peak / MIB as u64
    );
    assert!(
        peak < 64 * MIB as u64,
        "gateway RSS peaked at {} MiB: bodies are being buffered",
        peak / MIB as u64
    );
}

/// 100 MiB down then up over one HTTP/3 connection, hashed as it streams; returns the
/// seconds each direction took (printed, never asserted).
async fn hundred_mib_over_h3(gw: &GatewayProcess, n: usize, seed: u64, want: &str) -> (f64, f64) {
    let (_endpoint, client) = h3_client(&gw.pki.certs.ca_cert, gw.addr()).await;
    let base = format!("https://{HOST}:{}", gw.https);

    let started = Instant::now();
    let req = http::Request::get(format!("{base}/bytes/{n}?seed={seed}"))
        .body(())
        .unwrap();
    let stream = client.send_request(req).await.unwrap();
    stream.finish().unwrap();
    let resp = stream.recv_response().await.unwrap();
    assert_eq!(resp.status(), 200);
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    let mut got = 0;
    while let Some(chunk) = stream.recv_data().await.unwrap() {
        got += chunk.len();
        ctx.update(&chunk);
    }
    assert_eq!(got, n);
    assert_eq!(sha256_hex(ctx), want, "download over HTTP/3");
    let down = started.elapsed().as_secs_f64();

    // Upload, generated as it is sent (send_data waits for flow control).
    let started = Instant::now();
    let req = http::Request::post(format!("{base}/sink"))
        .body(())
        .unwrap();
    let stream = client.send_request(req).await.unwrap();
    let mut g = ByteGen::new(seed);
    let mut left = n;
    while left > 0 {
        let mut buf = vec![0u8; left.min(64 * 1024)];
        g.fill(&mut buf);
        left -= buf.len();
        stream.send_data(bytes::Bytes::from(buf)).await.unwrap();
    }
    stream.finish().unwrap();
    let resp = stream.recv_response().await.unwrap();
    assert_eq!(resp.status(), 200);
    let mut body = Vec::new();
    while let Some(chunk) = stream.recv_data().await.unwrap() {
        body.extend_from_slice(&chunk);
    }
    let j: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(j["bytes"], n as u64);
    assert_eq!(j["sha256"], want, "upload over HTTP/3");
    let up = started.elapsed().as_secs_f64();
    client.shutdown().await;
    (down, up)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hundred_mib_each_way_over_h3_with_bounded_rss() {
    let hb = builtin_httpbin().await;
    let gw = GatewayProcess::spawn(Spawn::new(&all_routes(), hb)).await;
    let n = 100 * MIB;
    let want = expected_sha(n, 11);
    let before = peak_rss(gw.child.id());
    let (down, up) = hundred_mib_over_h3(&gw, n, 11, &want).await;
    let peak = peak_rss(gw.child.id());
    eprintln!(
        "HTTP/3 through the gateway: 100 MiB down in {down:.1} s, up in {up:.1} s; gateway peak RSS {} MiB before, {} MiB after",
        before / MIB as u64,
        peak / MIB as u64
    );
    assert!(
        peak < 64 * MIB as u64,
        "gateway RSS peaked at {} MiB: HTTP/3 bodies are being buffered",
        peak / MIB as u64
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_a_slow_request_finish() {
    let hb = builtin_httpbin().await;
    let mut gw = GatewayProcess::spawn(Spawn::new(&all_routes(), hb)).await;
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], gw.https));
    let c = client(&gw.pki.certs.ca_cert, addr, false);
    let slow = tokio::spawn({
        let c = c.clone();
        async move { c.get(url(addr, "/delay/2")).send().await }
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    signal(&gw.child, "-TERM");
    let resp = slow.await.unwrap().expect("in-flight request completes");
    assert_eq!(resp.status(), 200);
    let j: Value = resp.json().await.unwrap();
    assert!(j["url"].as_str().unwrap().ends_with("/delay/2"));
    // The process exits on its own once drained.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = gw.child.try_wait().unwrap() {
            assert!(status.success(), "{status}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "gateway did not exit after draining"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "no longer accepting"
    );
}

/// An HTTP/2 connection of our own, to show one connection serving across the reload.
async fn h2_connection(
    ca_pem: &str,
    port: u16,
) -> hyper::client::conn::http2::SendRequest<http_body_util::Empty<bytes::Bytes>> {
    let mut roots = rustls::RootCertStore::empty();
    for c in quic::tls::parse_certs(ca_pem.as_bytes()).unwrap() {
        roots.add(c).unwrap();
    }
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec()];
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let tls = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config))
        .connect(HOST.try_into().unwrap(), tcp)
        .await
        .unwrap();
    let (send, conn) = hyper::client::conn::http2::handshake(
        hyper_util::rt::TokioExecutor::new(),
        hyper_util::rt::TokioIo::new(tls),
    )
    .await
    .unwrap();
    tokio::spawn(conn);
    send
}

async fn get_version(
    send: &mut hyper::client::conn::http2::SendRequest<http_body_util::Empty<bytes::Bytes>>,
    port: u16,
) -> (u16, Option<String>) {
    let req = http::Request::get(format!("https://{HOST}:{port}/headers"))
        .body(http_body_util::Empty::new())
        .unwrap();
    let resp = send
        .send_request(req)
        .await
        .expect("connection still serving");
    (
        resp.status().as_u16(),
        resp.headers()
            .get("x-version")
            .map(|v| v.to_str().unwrap().to_owned()),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_applies_a_changed_route_and_keeps_connections() {
    let hb = builtin_httpbin().await;
    let v1 = vs_yaml(
        "httpbin",
        "  - name: v1\n    match: [{uri: {prefix: /headers}}]\n    route: [{destination: {host: httpbin, port: {number: 8000}}}]\n    headers: {response: {set: {x-version: '1'}}}\n",
    );
    let gw = GatewayProcess::spawn(Spawn::new(&v1, hb)).await;
    let mut send = h2_connection(&gw.pki.certs.ca_cert, gw.https).await;
    assert_eq!(
        get_version(&mut send, gw.https).await,
        (200, Some("1".into()))
    );

    let v2 = v1.replace("x-version: '1'", "x-version: '2'");
    gw.write_routes(&v2);
    signal(&gw.child, "-HUP");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        // The same HTTP/2 connection, opened before the reload.
        let got = get_version(&mut send, gw.https).await;
        if got == (200, Some("2".into())) {
            break;
        }
        assert_eq!(got, (200, Some("1".into())));
        assert!(Instant::now() < deadline, "reload not applied");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // A broken config is refused and the old one keeps serving.
    std::fs::write(
        gw.dir.path().join("manifests").join("bad.yaml"),
        "kind: Gateway\n",
    )
    .unwrap();
    signal(&gw.child, "-HUP");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        get_version(&mut send, gw.https).await,
        (200, Some("2".into()))
    );
    let ready = reqwest::get(format!("http://127.0.0.1:{}/healthz/ready", gw.status))
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);
}

/// `GET /headers` over HTTP/3: the status and the `x-version` response header.
async fn h3_version(client: &h3::asynch::Client, port: u16, path: &str) -> (u16, Option<String>) {
    let (resp, _) = h3_get(client, port, path).await;
    (
        resp.status().as_u16(),
        resp.headers()
            .get("x-version")
            .map(|v| v.to_str().unwrap().to_owned()),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_applies_a_changed_route_to_an_open_http3_connection() {
    let hb = builtin_httpbin().await;
    let route = |version: &str, prefix: &str| {
        format!("  - name: v{version}\n    match: [{{uri: {{prefix: {prefix}}}}}]\n    route: [{{destination: {{host: httpbin, port: {{number: 8000}}}}}}]\n    headers: {{response: {{set: {{x-version: '{version}'}}}}}}\n")
    };
    // v1 routes /headers only; v2 routes /headers and /ip, and marks responses '2'.
    let v1 = vs_yaml("httpbin", &route("1", "/headers"));
    let v2 = vs_yaml(
        "httpbin",
        &format!("{}{}", route("2", "/headers"), route("2", "/ip")),
    );
    let gw = GatewayProcess::spawn(Spawn::new(&v1, hb)).await;
    let (_endpoint, conn) = h3_client(&gw.pki.certs.ca_cert, gw.addr()).await;
    assert_eq!(
        h3_version(&conn, gw.https, "/headers").await,
        (200, Some("1".into()))
    );
    assert_eq!(h3_version(&conn, gw.https, "/ip").await, (404, None));

    gw.write_routes(&v2);
    gw.signal("-HUP");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        // The same QUIC connection, opened before the reload (the client never reconnects:
        // had the gateway dropped it, this request would fail).
        let got = h3_version(&conn, gw.https, "/headers").await;
        if got == (200, Some("2".into())) {
            break;
        }
        assert_eq!(got, (200, Some("1".into())));
        assert!(Instant::now() < deadline, "reload not applied to HTTP/3");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The route that only v2 has, on the old connection and on a new one.
    assert_eq!(
        h3_version(&conn, gw.https, "/ip").await,
        (200, Some("2".into()))
    );
    let (_endpoint2, fresh) = h3_client(&gw.pki.certs.ca_cert, gw.addr()).await;
    assert_eq!(
        h3_version(&fresh, gw.https, "/ip").await,
        (200, Some("2".into()))
    );
    assert_eq!(
        h3_version(&fresh, gw.https, "/headers").await,
        (200, Some("2".into()))
    );
    // Both connections are live on the gateway.
    let metrics = reqwest::get(format!("http://127.0.0.1:{}/stats/prometheus", gw.status))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("gateway_downstream_cx_active{transport=\"quic\"} 2"),
        "{metrics}"
    );
    fresh.shutdown().await;
    conn.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_rotates_the_certificate_of_new_http3_connections() {
    let hb = builtin_httpbin().await;
    let routes = all_routes();
    let mut gw = GatewayProcess::spawn(Spawn::new(&routes, hb)).await;
    let old_ca = gw.pki.certs.ca_cert.clone();
    let (_endpoint, old_conn) = h3_client(&old_ca, gw.addr()).await;
    assert_eq!(
        h3_get(&old_conn, gw.https, "/headers").await.0.status(),
        200
    );

    gw.write_certificate(Pki::new(), &routes);
    let new_ca = gw.pki.certs.ca_cert.clone();
    gw.signal("-HUP");
    // New handshakes get the new certificate once the reload is in.
    let deadline = Instant::now() + Duration::from_secs(10);
    let (_endpoint2, new_conn) = loop {
        match try_h3_client(&new_ca, gw.addr()).await {
            Ok(c) => break c,
            Err(e) => assert!(Instant::now() < deadline, "new certificate not served: {e}"),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(
        h3_get(&new_conn, gw.https, "/headers").await.0.status(),
        200
    );
    // A client that trusts only the old CA is refused now...
    let refused = try_h3_client(&old_ca, gw.addr()).await;
    assert!(refused.is_err(), "the old certificate is still served");
    // ...while the connection made with the old certificate keeps serving.
    assert_eq!(
        h3_get(&old_conn, gw.https, "/headers").await.0.status(),
        200
    );
    old_conn.shutdown().await;
    new_conn.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http3_access_log_names_the_tls_server_name() {
    let hb = builtin_httpbin().await;
    let routes = all_routes();
    let mut spawn = Spawn::new(&routes, hb);
    spawn.log = "warn,access_log=info";
    let gw = GatewayProcess::spawn(spawn).await;
    let (_endpoint, conn) = h3_client(&gw.pki.certs.ca_cert, gw.addr()).await;
    assert_eq!(h3_get(&conn, gw.https, "/headers").await.0.status(), 200);
    // On the same connection (SNI httpbin.quic-corp.com), an authority no server has: the log
    // must still name the server name of the handshake, not the request's authority.
    let other = format!("other.quic-corp.com:{}", gw.https);
    let req = http::Request::get(format!("https://{other}/headers"))
        .body(())
        .unwrap();
    let stream = conn.send_request(req).await.unwrap();
    stream.finish().unwrap();
    assert_eq!(stream.recv_response().await.unwrap().status(), 404);
    while stream.recv_data().await.unwrap().is_some() {}
    conn.shutdown().await;

    let wait = Duration::from_secs(5);
    let ok = gw
        .wait_for_log(&["\"GET /headers HTTP/3\" 200"], wait)
        .await
        .expect("access log of the 200");
    assert!(ok.ends_with(&format!(" {HOST} all")), "{ok}");
    let nr = gw
        .wait_for_log(&["\"GET /headers HTTP/3\" 404 NR route_not_found"], wait)
        .await
        .expect("access log of the 404");
    assert!(nr.contains(&format!("\"{other}\"")), "{nr}");
    assert!(nr.ends_with(&format!(" {HOST} -")), "SNI field: {nr}");
}

#[test]
fn validate_reports_and_refuses_bad_config() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.yaml");
    std::fs::write(
        &bad,
        "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata:\n  name: vs\nspec:\n  hosts: [a]\n  htp: []\n",
    )
    .unwrap();
    for cmd in ["validate", "run"] {
        let out = Command::new(env!("CARGO_BIN_EXE_gateway"))
            .args([cmd, "--config"])
            .arg(&bad)
            .output()
            .unwrap();
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(
                "bad.yaml:1 (document 1): VirtualService vs: field `spec.htp`: unknown field `htp`"
            ),
            "{err}"
        );
    }
    // The shipped examples validate (with a Secret for the credential).
    let secret = dir.path().join("secret.yaml");
    std::fs::write(&secret, Pki::new().secret()).unwrap();
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let out = Command::new(env!("CARGO_BIN_EXE_gateway"))
        .args(["validate", "--config"])
        .arg(examples.join("manifests"))
        .arg("--config")
        .arg(&secret)
        .arg("--settings")
        .arg(examples.join("settings.yaml"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("configuration is valid: 1 port(s)"));
}

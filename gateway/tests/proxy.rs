//! The gateway in-process against the built-in httpbin (and Debian's python3-httpbin when
//! present): HTTP/1.1 and HTTP/2 over TLS with SNI, alt-svc, added headers, routing rules,
//! retries, timeouts, redirects, header rules, errors.

mod common;

use common::*;
use http_body_util::Full;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::Value;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

/// An upstream that answers 503 to the first `fail` requests, then 200 with the attempt count.
async fn flaky_upstream(fail: u32) -> (SocketAddr, Arc<AtomicU32>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let count = Arc::new(AtomicU32::new(0));
    let c = count.clone();
    tokio::spawn(async move {
        loop {
            let (s, _) = listener.accept().await.unwrap();
            let c = c.clone();
            tokio::spawn(async move {
                let svc = service_fn(move |req: http::Request<hyper::body::Incoming>| {
                    let n = c.fetch_add(1, Ordering::SeqCst) + 1;
                    let attempt = req
                        .headers()
                        .get("x-envoy-attempt-count")
                        .map(|v| v.to_str().unwrap().to_owned())
                        .unwrap_or_default();
                    async move {
                        let mut r = http::Response::new(Full::new(bytes::Bytes::from(attempt)));
                        if n <= fail {
                            *r.status_mut() = http::StatusCode::SERVICE_UNAVAILABLE;
                        }
                        Ok::<_, std::convert::Infallible>(r)
                    }
                });
                let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(s), svc)
                    .await;
            });
        }
    });
    (addr, count)
}

fn route(name: &str, prefix: &str, host: &str, extra: &str) -> String {
    format!("  - name: {name}\n    match: [{{uri: {{prefix: {prefix}}}}}]\n    route: [{{destination: {{host: {host}, port: {{number: 8000}}}}}}]\n{extra}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alt_svc_and_mesh_headers_over_h1_and_h2() {
    let hb = builtin_httpbin().await;
    let gw = start_in_process(
        &vs_yaml("httpbin", &route("all", "/", "httpbin", "")),
        &[("httpbin:8000", hb)],
    )
    .await;
    for (http1, version) in [
        (true, reqwest::Version::HTTP_11),
        (false, reqwest::Version::HTTP_2),
    ] {
        let c = client(&gw.pki.certs.ca_cert, gw.https, http1);
        let resp = c
            .get(url(gw.https, "/headers"))
            .header("x-b3-traceid", "463ac35c9f6413ad48485a3953bb6124")
            .header("x-b3-spanid", "a2fb4a1d1a96d312")
            .send()
            .await
            .unwrap();
        assert_eq!(resp.version(), version);
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.headers()["alt-svc"], "h3=\":443\"; ma=86400");
        assert_eq!(resp.headers()["server"], "istio-envoy");
        assert!(resp.headers().contains_key("x-envoy-upstream-service-time"));
        let json: Value = resp.json().await.unwrap();
        let h = &json["headers"];
        assert_eq!(h["X-Forwarded-Proto"], "https");
        assert_eq!(h["X-Forwarded-For"], "127.0.0.1");
        assert_eq!(h["X-Request-Id"].as_str().unwrap().len(), 36);
        assert_eq!(h["X-B3-Traceid"], "463ac35c9f6413ad48485a3953bb6124");
        assert_eq!(h["X-B3-Parentspanid"], "a2fb4a1d1a96d312");
        assert_eq!(h["X-B3-Sampled"], "1");
        assert!(h["Traceparent"]
            .as_str()
            .unwrap()
            .starts_with("00-463ac35c9f6413ad48485a3953bb6124-"));
        assert_eq!(h["X-Envoy-Attempt-Count"], "1");
        assert_eq!(h["Host"], format!("{HOST}:{}", gw.https.port()));
    }
    // Plain HTTP servers have no HTTP/3 mirror, so no alt-svc.
    let resp = reqwest::get(format!("http://{}/get", gw.http))
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.headers().get("alt-svc").is_none());
    // Metrics and readiness on the status port.
    let status = gw.handle.status_addr();
    assert_eq!(
        reqwest::get(format!("http://{status}/healthz/ready"))
            .await
            .unwrap()
            .status(),
        200
    );
    let metrics = reqwest::get(format!("http://{status}/stats/prometheus"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(
            "gateway_requests_total{protocol=\"HTTP/2\",route=\"all\",status_class=\"2xx\"}"
        ),
        "{metrics}"
    );
    assert!(metrics.contains("gateway_upstream_rq_time_seconds_bucket"));
    assert!(gw.handle.shutdown().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routing_rules_redirects_rewrites_and_header_rules() {
    let hb = builtin_httpbin().await;
    let http = [
        "  - name: redirect\n    match: [{uri: {exact: /old}}]\n    redirect: {uri: /status/200, authority: new.quic-corp.com, redirectCode: 308}\n".to_string(),
        "  - name: canary\n    match: [{uri: {prefix: /headers}, headers: {x-canary: {exact: 'yes'}}}]\n    route: [{destination: {host: httpbin, port: {number: 8000}}}]\n    headers:\n      request:\n        set: {x-route: canary}\n        add: {x-added: a}\n        remove: [x-secret]\n      response:\n        set: {x-response-route: canary}\n        remove: [content-type]\n".to_string(),
        "  - name: post-only\n    match: [{uri: {prefix: /anything}, method: {exact: POST}}]\n    rewrite: {uri: /anything/rewritten, authority: internal.example}\n    route: [{destination: {host: httpbin, port: {number: 8000}}}]\n".to_string(),
        "  - name: regex\n    match: [{uri: {regex: '/status/2[0-9]{2}'}}]\n    route: [{destination: {host: httpbin, port: {number: 8000}}}]\n    headers: {response: {add: {x-regex: matched}}}\n".to_string(),
        "  - name: weighted\n    match: [{uri: {prefix: /headers}}]\n    route:\n    - {destination: {host: httpbin, port: {number: 8000}}, weight: 100}\n    - {destination: {host: nowhere, port: {number: 8000}}, weight: 0}\n".to_string(),
    ]
    .concat();
    let gw = start_in_process(&vs_yaml("rules", &http), &[("httpbin:8000", hb)]).await;
    let c = client(&gw.pki.certs.ca_cert, gw.https, false);

    let r = c.get(url(gw.https, "/old?x=1")).send().await.unwrap();
    assert_eq!(r.status(), 308);
    assert_eq!(
        r.headers()["location"],
        "https://new.quic-corp.com/status/200?x=1"
    );

    let r = c
        .get(url(gw.https, "/headers"))
        .header("x-canary", "yes")
        .header("x-secret", "s")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["x-response-route"], "canary");
    assert!(r.headers().get("content-type").is_none());
    let j: Value = r.json().await.unwrap();
    assert_eq!(j["headers"]["X-Route"], "canary");
    assert_eq!(j["headers"]["X-Added"], "a");
    assert!(j["headers"].get("X-Secret").is_none());

    let r = c.get(url(gw.https, "/headers")).send().await.unwrap();
    assert!(
        r.headers().get("x-response-route").is_none(),
        "weighted route, not canary"
    );
    assert_eq!(r.status(), 200);

    let r = c
        .post(url(gw.https, "/anything/x?q=1"))
        .body("hello")
        .send()
        .await
        .unwrap();
    let j: Value = r.json().await.unwrap();
    assert_eq!(
        j["url"],
        "https://internal.example/anything/rewritten/x?q=1"
    );
    assert_eq!(j["data"], "hello");
    assert_eq!(j["headers"]["X-Envoy-Original-Path"], "/anything/x?q=1");
    let r = c.get(url(gw.https, "/anything/x")).send().await.unwrap();
    assert_eq!(r.status(), 404, "GET does not match the POST-only route");

    let r = c.get(url(gw.https, "/status/201")).send().await.unwrap();
    assert_eq!(
        (
            r.status().as_u16(),
            r.headers()["x-regex"].to_str().unwrap()
        ),
        (201, "matched")
    );
    let r = c.get(url(gw.https, "/status/2011")).send().await.unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(r.text().await.unwrap(), "no route matched\n");
    gw.handle.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_timeouts_and_upstream_errors() {
    let hb = builtin_httpbin().await;
    let (flaky, flaky_count) = flaky_upstream(2).await;
    let (dead, dead_count) = flaky_upstream(u32::MAX).await;
    let closed = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let http = [
        route("flaky", "/flaky", "flaky", "    retries: {attempts: 3, retryOn: 5xx}\n"),
        route("dead", "/dead", "dead", "    retries: {attempts: 2, retryOn: gateway-error}\n"),
        route("noretry", "/noretry", "dead", "    retries: {attempts: 0}\n"),
        route("down", "/down", "down", ""),
        route("unknown", "/unknown", "no-such-host.invalid", ""),
        route("slow", "/delay", "httpbin", "    timeout: 1s\n"),
        route("pertry", "/pertry", "httpbin", "    rewrite: {uri: /delay/2}\n    timeout: 1500ms\n    retries: {attempts: 5, perTryTimeout: 300ms, retryOn: 5xx}\n"),
    ]
    .concat();
    let gw = start_in_process(
        &vs_yaml("errors", &http),
        &[
            ("httpbin:8000", hb),
            ("flaky:8000", flaky),
            ("dead:8000", dead),
            ("down:8000", closed),
        ],
    )
    .await;
    let c = client(&gw.pki.certs.ca_cert, gw.https, true);

    let r = c.get(url(gw.https, "/flaky")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.text().await.unwrap(),
        "3",
        "third attempt succeeds, counted upstream"
    );
    assert_eq!(flaky_count.load(Ordering::SeqCst), 3);

    let r = c.get(url(gw.https, "/dead")).send().await.unwrap();
    assert_eq!(r.status(), 503, "last upstream answer after retries");
    assert_eq!(dead_count.load(Ordering::SeqCst), 3);
    c.get(url(gw.https, "/noretry")).send().await.unwrap();
    assert_eq!(dead_count.load(Ordering::SeqCst), 4);

    let r = c.get(url(gw.https, "/down")).send().await.unwrap();
    assert_eq!(r.status(), 502);
    assert!(r.text().await.unwrap().contains("connection failure"));

    let r = c.get(url(gw.https, "/unknown")).send().await.unwrap();
    assert_eq!(r.status(), 503);
    assert_eq!(r.text().await.unwrap(), "no healthy upstream\n");

    let t = std::time::Instant::now();
    let r = c.get(url(gw.https, "/delay/3")).send().await.unwrap();
    assert_eq!(r.status(), 504);
    assert_eq!(r.text().await.unwrap(), "upstream request timeout\n");
    assert!(t.elapsed() < std::time::Duration::from_millis(2500));

    let r = c.get(url(gw.https, "/pertry")).send().await.unwrap();
    assert_eq!(
        r.status(),
        504,
        "per-try timeouts retried until the route timeout"
    );

    let r = c.get(url(gw.https, "/nothing-here")).send().await.unwrap();
    assert_eq!(r.status(), 404);
    // The gateway is still healthy after all of that.
    assert_eq!(
        c.get(url(gw.https, "/delay/0"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    gw.handle.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_bodies_without_buffering() {
    // 8 MiB each way here; the binary test moves 100 MiB and watches the RSS.
    let hb = builtin_httpbin().await;
    let gw = start_in_process(
        &vs_yaml("httpbin", &route("all", "/", "httpbin", "")),
        &[("httpbin:8000", hb)],
    )
    .await;
    for http1 in [true, false] {
        let c = client(&gw.pki.certs.ca_cert, gw.https, http1);
        let n = 8 << 20;
        let r = c
            .get(url(gw.https, &format!("/bytes/{n}?seed=5")))
            .send()
            .await
            .unwrap();
        let body = r.bytes().await.unwrap();
        let mut want = vec![0u8; n];
        let mut g = gateway::demo::httpbin::ByteGen::new(5);
        for chunk in want.chunks_mut(64 * 1024) {
            g.fill(chunk);
        }
        assert!(body == want, "download intact (http1={http1})");
        let r = c
            .post(url(gw.https, "/sink"))
            .body(want.clone())
            .send()
            .await
            .unwrap();
        let j: Value = r.json().await.unwrap();
        let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
        ctx.update(&want);
        assert_eq!(j["bytes"], n as u64);
        assert_eq!(j["sha256"], sha256_hex(ctx));
    }
    gw.handle.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn curl_sees_alt_svc_over_h1_and_h2() {
    if std::process::Command::new("curl")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("SKIP: curl not installed");
        return;
    }
    let hb = builtin_httpbin().await;
    let gw = start_in_process(
        &vs_yaml("httpbin", &route("all", "/", "httpbin", "")),
        &[("httpbin:8000", hb)],
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.crt");
    std::fs::write(&ca, &gw.pki.certs.ca_cert).unwrap();
    let port = gw.https.port();
    for (flag, proto) in [("--http1.1", "HTTP/1.1 200"), ("--http2", "HTTP/2 200")] {
        let out = tokio::process::Command::new("curl")
            .args(["-sS", "-i", flag, "--cacert"])
            .arg(&ca)
            .args(["--resolve", &format!("{HOST}:{port}:127.0.0.1")])
            .arg(format!("https://{HOST}:{port}/status/200"))
            .output()
            .await
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).to_lowercase();
        assert!(text.starts_with(&proto.to_lowercase()), "{text}");
        assert!(text.contains("alt-svc: h3=\":443\"; ma=86400"), "{text}");
    }
    gw.handle.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_openssl_rsa_certificates_and_ecdsa_by_sni() {
    let openssl_ok = std::process::Command::new("openssl")
        .arg("version")
        .output()
        .is_ok();
    let curl_ok = std::process::Command::new("curl")
        .arg("--version")
        .output()
        .is_ok();
    if !openssl_ok || !curl_ok {
        eprintln!("SKIP: openssl or curl not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let s = std::process::Command::new("openssl")
            .args(args)
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert!(
            s.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&s.stderr)
        );
    };
    // The seed's steps: RSA-4096 CA, RSA-2048 leaf.
    run(&[
        "req",
        "-x509",
        "-sha256",
        "-nodes",
        "-days",
        "365",
        "-newkey",
        "rsa:4096",
        "-subj",
        "/O=QUIC Corp/CN=quic-corp.com",
        "-keyout",
        "quic-corp.com.key",
        "-out",
        "quic-corp.com.crt",
    ]);
    run(&[
        "req",
        "-out",
        "httpbin.quic-corp.com.csr",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "httpbin.quic-corp.com.key",
        "-subj",
        "/CN=httpbin.quic-corp.com/O=httpbin organization",
    ]);
    run(&[
        "x509",
        "-req",
        "-sha256",
        "-days",
        "365",
        "-CA",
        "quic-corp.com.crt",
        "-CAkey",
        "quic-corp.com.key",
        "-set_serial",
        "0",
        "-in",
        "httpbin.quic-corp.com.csr",
        "-out",
        "httpbin.quic-corp.com.crt",
    ]);
    let creds = dir.path().join("creds");
    std::fs::create_dir(&creds).unwrap();
    std::fs::copy(
        dir.path().join("httpbin.quic-corp.com.crt"),
        creds.join("httpbin-credential.crt"),
    )
    .unwrap();
    std::fs::copy(
        dir.path().join("httpbin.quic-corp.com.key"),
        creds.join("httpbin-credential.key"),
    )
    .unwrap();
    // A second server on the same port, ECDSA, for another host: chosen by SNI.
    let ecdsa = gateway::demo::certs::generate(&["other.quic-corp.com"]).unwrap();
    std::fs::write(creds.join("other.crt"), &ecdsa.leaf_cert).unwrap();
    std::fs::write(creds.join("other.key"), &ecdsa.leaf_key).unwrap();
    std::fs::write(dir.path().join("ecdsa-ca.crt"), &ecdsa.ca_cert).unwrap();

    let hb = builtin_httpbin().await;
    let mut settings = gateway::config::Settings::parse(
        std::path::Path::new("s.yaml"),
        &settings_yaml(&[("httpbin:8000", hb)], true),
        None,
    )
    .unwrap();
    settings.credential_directory = Some(creds.clone());
    let text = format!(
        "{}  - port: {{number: 443, name: https-other, protocol: HTTPS}}\n    tls: {{mode: SIMPLE, credentialName: other}}\n    hosts: [other.quic-corp.com]\n{}",
        gateway_yaml(),
        vs_yaml("all", &route("all", "/", "httpbin", ""))
    );
    let config =
        gateway::config::parse_text("t.yaml", &text, &settings).unwrap_or_else(|e| panic!("{e}"));
    let handle = gateway::Gateway::start(config, Default::default())
        .await
        .unwrap();
    let port = handle.local_addr(443).await.unwrap().port();
    for (host, ca) in [
        (HOST, "quic-corp.com.crt"),
        ("other.quic-corp.com", "ecdsa-ca.crt"),
    ] {
        let out = tokio::process::Command::new("curl")
            .args(["-sS", "-o", "/dev/null", "-w", "%{http_code}", "--cacert"])
            .arg(dir.path().join(ca))
            .args(["--resolve", &format!("{host}:{port}:127.0.0.1")])
            .arg(format!("https://{host}:{port}/status/200"))
            .output()
            .await
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "200",
            "{host}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    handle.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn debian_python3_httpbin_upstream() {
    if !python_httpbin_available() {
        return;
    }
    let hb = PythonHttpbin::start().await;
    let gw = start_in_process(
        &vs_yaml(
            "httpbin",
            &route(
                "all",
                "/",
                "httpbin",
                "    retries: {attempts: 2, retryOn: 5xx}\n",
            ),
        ),
        &[("httpbin.default.svc.cluster.local:8000", hb.addr)],
    )
    .await;
    for http1 in [true, false] {
        let c = client(&gw.pki.certs.ca_cert, gw.https, http1);
        // httpbin hides X-Forwarded-* and X-Request-Id unless asked with show_env.
        let r = c
            .get(url(gw.https, "/headers?show_env=1"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["alt-svc"], "h3=\":443\"; ma=86400");
        let j: Value = r.json().await.unwrap();
        for h in [
            "X-Forwarded-Proto",
            "X-Request-Id",
            "X-B3-Traceid",
            "X-B3-Spanid",
            "X-B3-Sampled",
            "Traceparent",
            "X-Envoy-Attempt-Count",
            "X-Forwarded-For",
        ] {
            assert!(j["headers"].get(h).is_some(), "{h} missing in {j}");
        }
        assert_eq!(
            c.get(url(gw.https, "/status/418"))
                .send()
                .await
                .unwrap()
                .status(),
            418
        );
        let r = c
            .post(url(gw.https, "/anything"))
            .body("payload")
            .send()
            .await
            .unwrap();
        let j: Value = r.json().await.unwrap();
        assert_eq!(j["data"], "payload");
        let r = c.get(url(gw.https, "/status/500")).send().await.unwrap();
        assert_eq!(r.status(), 500);
    }
    gw.handle.shutdown().await;
}

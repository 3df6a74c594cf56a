//! Latency of sequential requests on one connection: `cargo run --release -p h3 --example
//! sequential -- CA.pem https://127.0.0.1:4433/path [N]` sends N GETs one after the other
//! (each waits for the previous response's end) and prints the latency distribution, to
//! compare our server with others (a per-request stall shows up as a high median). `{}` in
//! the URL is replaced by the request's number (`mux-{}` fetches mux-000, mux-001, ...).

use std::sync::Arc;
use std::time::{Duration, Instant};

use quic::connection::{ClientConfig, TransportConfig};
use quic::runtime::Endpoint;
use quic::tls::{self, CipherSuites, ServerVerification};

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (ca, url) = match &args[..] {
        [ca, url, ..] => (ca.clone(), url.clone()),
        _ => {
            eprintln!("usage: sequential CA.pem URL [N]");
            std::process::exit(2);
        }
    };
    let n: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(200);
    let uri: http::Uri = url.replace("{}", "0").parse().expect("URL");
    let authority = uri.authority().expect("authority");
    let host = authority
        .host()
        .trim_start_matches('[')
        .trim_end_matches(']');
    let addr = tokio::net::lookup_host((host, authority.port_u16().unwrap_or(443)))
        .await
        .expect("resolve")
        .next()
        .expect("an address");
    let tls = tls::client_config(
        &ServerVerification::CaFile(ca.into()),
        &[b"h3"],
        CipherSuites::All,
    )
    .expect("TLS config");
    let config = ClientConfig {
        tls,
        transport: Arc::new(TransportConfig::default()),
        version: quic::Version::V1,
    };
    let bind = if addr.is_ipv6() {
        "[::]:0"
    } else {
        "0.0.0.0:0"
    };
    let endpoint = Endpoint::client(bind.parse().unwrap()).expect("bind");
    let conn = endpoint
        .connect(addr, "localhost", &config)
        .await
        .expect("connect");
    let client = h3::asynch::Client::new(conn, h3::Config::default());
    let mut times = Vec::with_capacity(n);
    let start = Instant::now();
    for i in 0..n {
        let t = Instant::now();
        // `{}` in the URL becomes the request's number (000, 001, ...): distinct paths.
        let req = http::Request::get(url.replace("{}", &format!("{i:03}")))
            .body(())
            .unwrap();
        let s = client.send_request(req).await.expect("send");
        s.finish().expect("finish");
        let resp = s.recv_response().await.expect("response");
        assert!(resp.status().is_success(), "{}", resp.status());
        while s.recv_data().await.expect("data").is_some() {}
        times.push(t.elapsed());
    }
    let total = start.elapsed();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let line: Vec<String> = times
        .iter()
        .take(40)
        .map(|d| format!("{:.1}", ms(*d)))
        .collect();
    println!("first 40 (ms): {}", line.join(" "));
    times.sort();
    let p = |q: f64| ms(times[((times.len() - 1) as f64 * q) as usize]);
    println!(
        "{n} sequential GETs: total {:.0} ms, min {:.2} p50 {:.2} p90 {:.2} p99 {:.2} max {:.2} ms",
        ms(total),
        p(0.0),
        p(0.5),
        p(0.9),
        p(0.99),
        p(1.0)
    );
    client.shutdown().await;
}

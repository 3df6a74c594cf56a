//! Shared fixtures: generated certificates, the built-in httpbin, the gateway in-process (with
//! its HTTP/3 listener) or as the binary, rustls clients with SNI and our HTTP/3 client.
#![allow(dead_code)]

pub mod process;

use gateway::config::{self, Settings};
use gateway::demo::{certs, httpbin};
use gateway::listeners::h3_runtime::QuicHttp3Runtime;
use gateway::server::{Gateway, GatewayHandle, StartOptions};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

pub const HOST: &str = "httpbin.quic-corp.com";

/// The seed's Gateway (port 443, credential httpbin-credential) and routes to `httpbin`.
pub fn gateway_yaml() -> String {
    "apiVersion: networking.istio.io/v1alpha3\nkind: Gateway\nmetadata:\n  name: httpbin-gateway\nspec:\n  selector:\n    istio: ingressgateway\n  servers:\n  - port:\n      number: 443\n      name: https\n      protocol: HTTPS\n    tls:\n      mode: SIMPLE\n      credentialName: httpbin-credential\n    hosts:\n    - httpbin.quic-corp.com\n  - port: {number: 80, name: http, protocol: HTTP}\n    hosts: ['*']\n".into()
}

pub fn vs_yaml(name: &str, http: &str) -> String {
    format!("---\napiVersion: networking.istio.io/v1beta1\nkind: VirtualService\nmetadata:\n  name: {name}\nspec:\n  hosts: ['*']\n  gateways: [httpbin-gateway]\n  http:\n{http}")
}

pub struct Pki {
    pub certs: certs::DemoCerts,
}

impl Pki {
    pub fn new() -> Self {
        Pki {
            certs: certs::generate(&[HOST]).unwrap(),
        }
    }

    pub fn secret(&self) -> String {
        format!(
            "---\n{}",
            certs::secret_manifest(certs::CREDENTIAL, "istio-system", &self.certs)
        )
    }
}

pub fn settings_yaml(upstreams: &[(&str, SocketAddr)], quic: bool) -> String {
    let mut s = format!(
        "enableQuicListeners: {quic}\nbindAddress: 127.0.0.1\nstatusPort: 0\ndrainTimeout: 10s\nports:\n  443: 0\n  80: 0\nupstreams:\n"
    );
    for (k, v) in upstreams {
        s.push_str(&format!("  {k}: {v}\n"));
    }
    s
}

/// A gateway in this process, with the binary's HTTP/3 runtime.
pub struct InProcess {
    pub handle: GatewayHandle,
    /// TCP, manifest port 443.
    pub https: SocketAddr,
    /// UDP (HTTP/3), manifest port 443: the same port number as `https`.
    pub quic: SocketAddr,
    pub http: SocketAddr,
    pub pki: Pki,
}

pub async fn start_in_process(routes: &str, upstreams: &[(&str, SocketAddr)]) -> InProcess {
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
    // The runtime the binary links, so in-process tests reach the UDP listener too.
    let options = StartOptions {
        http3: Some(Arc::new(QuicHttp3Runtime)),
    };
    let handle = Gateway::start(config, options).await.unwrap();
    let https = handle.local_addr(443).await.unwrap();
    let quic = handle
        .quic_addr(443)
        .await
        .expect("HTTP/3 listener for port 443");
    let http = handle.local_addr(80).await.unwrap();
    InProcess {
        handle,
        https,
        quic,
        http,
        pki,
    }
}

pub async fn builtin_httpbin() -> SocketAddr {
    httpbin::start(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap()
        .0
}

/// A rustls client trusting the test CA, resolving HOST to `addr` (SNI = HOST).
pub fn client(ca_pem: &str, addr: SocketAddr, http1: bool) -> reqwest::Client {
    let mut b = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(ca_pem.as_bytes()).unwrap())
        .resolve(HOST, addr)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(60));
    if http1 {
        b = b.http1_only();
    }
    b.build().unwrap()
}

/// Our HTTP/3 client (the `h3` crate's async client on a `quic::runtime` endpoint), trusting
/// the test CA, connected to `addr` with SNI = HOST. The endpoint must outlive the client.
pub async fn h3_client(
    ca_pem: &str,
    addr: SocketAddr,
) -> (quic::runtime::Endpoint, h3::asynch::Client) {
    try_h3_client(ca_pem, addr)
        .await
        .unwrap_or_else(|e| panic!("HTTP/3 connection to {addr}: {e}"))
}

/// [`h3_client`], with the connection error (e.g. an untrusted certificate) returned.
pub async fn try_h3_client(
    ca_pem: &str,
    addr: SocketAddr,
) -> Result<(quic::runtime::Endpoint, h3::asynch::Client), String> {
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
        .map_err(|e| e.to_string())?;
    Ok((
        endpoint,
        h3::asynch::Client::new(conn, h3::Config::default()),
    ))
}

/// GET over HTTP/3; the whole body.
pub async fn h3_get(
    client: &h3::asynch::Client,
    port: u16,
    path: &str,
) -> (http::Response<()>, Vec<u8>) {
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

pub fn url(addr: SocketAddr, path: &str) -> String {
    format!("https://{HOST}:{}{path}", addr.port())
}

/// A free loopback port (bound then released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Whether Debian's python3-httpbin is importable; fails instead of skipping when
/// GATEWAY_REQUIRE_HTTPBIN=1.
pub fn python_httpbin_available() -> bool {
    let ok = std::process::Command::new("/usr/bin/python3")
        .args(["-c", "import httpbin"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !ok {
        if std::env::var("GATEWAY_REQUIRE_HTTPBIN").as_deref() == Ok("1") {
            panic!("python3-httpbin is required (GATEWAY_REQUIRE_HTTPBIN=1) but `/usr/bin/python3 -c 'import httpbin'` fails");
        }
        eprintln!(
            "SKIP: `/usr/bin/python3 -c 'import httpbin'` fails (apt-get install python3-httpbin)"
        );
    }
    ok
}

/// Debian's httpbin on a free loopback port, killed on drop.
pub struct PythonHttpbin {
    child: std::process::Child,
    pub addr: SocketAddr,
}

impl PythonHttpbin {
    pub async fn start() -> PythonHttpbin {
        let port = free_port();
        let mut child = std::process::Command::new("/usr/bin/python3")
            .args([
                "-m",
                "httpbin.core",
                "--host",
                "127.0.0.1",
                "--port",
                &port.to_string(),
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(addr).await.is_ok() {
                return PythonHttpbin { child, addr };
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("python3 -m httpbin.core did not start on {addr}");
    }
}

impl Drop for PythonHttpbin {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn sha256_hex(ctx: ring::digest::Context) -> String {
    ctx.finish()
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

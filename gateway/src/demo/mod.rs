//! `gateway demo`: the seed's setup on one machine.
//!
//! Generates the CA and the httpbin.quic-corp.com certificate (as the seed's openssl steps
//! do, with ECDSA keys), starts the built-in httpbin upstream, loads the example manifests
//! shipped in `gateway/examples/manifests` (the seed's Gateway and VirtualService, port 443
//! bound as 8443 through the settings), and prints the commands to try.

pub mod certs;
pub mod httpbin;

use crate::config::Sources;
use crate::server::{run_until_signalled, Gateway, StartOptions};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// The example manifests, embedded so the binary runs the demo from anywhere.
pub const EXAMPLE_MANIFESTS: [(&str, &str); 2] = [
    (
        "httpbin-gateway.yaml",
        include_str!("../../examples/manifests/httpbin-gateway.yaml"),
    ),
    (
        "httpbin-more-routes.yaml",
        include_str!("../../examples/manifests/httpbin-more-routes.yaml"),
    ),
];

#[derive(Debug, Clone)]
pub struct DemoOptions {
    pub dir: PathBuf,
    /// The port 443 of the manifests is bound here.
    pub port: u16,
    pub status_port: u16,
}

impl Default for DemoOptions {
    fn default() -> Self {
        DemoOptions {
            dir: std::env::temp_dir().join("gateway-demo"),
            port: 8443,
            status_port: 15021,
        }
    }
}

/// Writes certificates, manifests and settings; returns the sources to load.
pub fn prepare(opts: &DemoOptions, httpbin: SocketAddr) -> std::io::Result<Sources> {
    let files = certs::write(&opts.dir)?;
    let manifests = opts.dir.join("manifests");
    std::fs::create_dir_all(&manifests)?;
    for (name, text) in EXAMPLE_MANIFESTS {
        std::fs::write(manifests.join(name), text)?;
    }
    let settings = opts.dir.join("settings.yaml");
    std::fs::write(
        &settings,
        format!(
            "# Written by `gateway demo`.\nenableQuicListeners: true\nbindAddress: 127.0.0.1\nstatusPort: {}\ndrainTimeout: 10s\nports:\n  443: {}\nupstreams:\n  httpbin.default.svc.cluster.local:8000: {httpbin}\ncredentialDirectory: {}\n",
            opts.status_port,
            opts.port,
            files.credential_dir.display()
        ),
    )?;
    Ok(Sources {
        configs: vec![manifests],
        settings: Some(settings),
    })
}

/// The commands printed by the demo.
pub fn instructions(dir: &Path, port: u16, status: SocketAddr) -> String {
    let ca = dir.join(format!("{}.crt", certs::CA_NAME));
    let ca = ca.display();
    let host = certs::HOST;
    let resolve = format!("--resolve {host}:{port}:127.0.0.1");
    format!(
        "\
Demo files in {dir}
  CA:          {ca}
  certificate: {dir}/{host}.crt (credential httpbin-credential)
  manifests:   {dir}/manifests (the seed's Gateway + VirtualService, and more routes)
  settings:    {dir}/settings.yaml (manifest port 443 bound as {port})

HTTP/3 over UDP (our client):
  h3curl --cacert {ca} {resolve} https://{host}:{port}/status/418
  h3curl --cacert {ca} {resolve} https://{host}:{port}/headers

TCP, HTTP/2 and HTTP/1.1 (note the alt-svc header):
  curl -sv --http2 --cacert {ca} {resolve} https://{host}:{port}/status/418
  curl -s --http1.1 --cacert {ca} {resolve} https://{host}:{port}/headers
  curl -s -o /dev/null -w '%{{http_code}} %{{size_download}}\\n' --cacert {ca} {resolve} https://{host}:{port}/bytes/1048576

Status and metrics:
  curl http://{status}/healthz/ready
  curl http://{status}/stats/prometheus

Ctrl-C (or SIGTERM) drains and stops; SIGHUP reloads {dir}/manifests.
",
        dir = dir.display()
    )
}

/// Runs the demo until a signal.
pub async fn run(opts: DemoOptions) -> Result<(), String> {
    let (httpbin_addr, _httpbin) = httpbin::start(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .map_err(|e| format!("built-in httpbin: {e}"))?;
    let sources =
        prepare(&opts, httpbin_addr).map_err(|e| format!("{}: {e}", opts.dir.display()))?;
    let config = sources.load().map_err(|e| e.to_string())?;
    let handle = Gateway::start(
        config,
        StartOptions {
            http3: Some(std::sync::Arc::new(
                crate::listeners::h3_runtime::QuicHttp3Runtime,
            )),
        },
    )
    .await
    .map_err(|e| format!("starting the gateway: {e}"))?;
    tracing::info!("built-in httpbin on {httpbin_addr}");
    println!(
        "{}",
        instructions(&opts.dir, opts.port, handle.status_addr())
    );
    run_until_signalled(handle, sources)
        .await
        .map_err(|e| e.to_string())
}

//! The hq-interop and HTTP/3 servers and clients on our runtime, shared by the runner entry
//! point (environment contract) and the peer-style command line used by the local interop
//! matrices (interop/peers/selftest.sh for hq-interop, interop/peers/h3-matrix.sh for HTTP/3).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use quic::connection::{ClientConfig, ServerConfig, TransportConfig};
use quic::runtime::{Connection, Endpoint, RecvStream, SendStream};
use quic::tls::{self, CipherSuites, ServerVerification};
use quic::VarInt;
use tokio::io::AsyncReadExt;

use crate::contract::Request;
use crate::hq;

/// Application error code for a request that names no servable file (like a 404).
pub const NOT_FOUND: u32 = 0x4;

/// How the server runs.
#[derive(Debug, Clone)]
pub struct ServerPlan {
    /// Listen address.
    pub listen: SocketAddr,
    /// Certificate chain (PEM, leaf first).
    pub cert: PathBuf,
    /// Private key (PEM: PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
    /// Served directory.
    pub www: PathBuf,
    /// Offer only ChaCha20-Poly1305.
    pub chacha20: bool,
    /// Serve HTTP/3 (ALPN h3) instead of hq-interop.
    pub http3: bool,
}

/// How the client runs.
#[derive(Debug, Clone)]
pub struct ClientPlan {
    /// What to fetch (all from one server).
    pub requests: Vec<Request>,
    /// Where files go.
    pub downloads: PathBuf,
    /// CA to verify the server with; `None` skips verification.
    pub ca: Option<PathBuf>,
    /// Offer only ChaCha20-Poly1305.
    pub chacha20: bool,
    /// Bound on the whole run.
    pub timeout: Duration,
    /// Fetch over HTTP/3 (ALPN h3) instead of hq-interop.
    pub http3: bool,
    /// One connection per request, one after the other, each closed before the next (the
    /// runner's `multiconnect`, RUNNER.md §2.3 L1/C1) instead of all on one connection.
    pub multiconnect: bool,
}

fn alpn(http3: bool) -> &'static [u8] {
    if http3 {
        H3_ALPN
    } else {
        hq::ALPN
    }
}

/// ALPN of HTTP/3 (RFC 9114 §3.1).
pub const H3_ALPN: &[u8] = b"h3";

fn transport() -> TransportConfig {
    let mut t = TransportConfig {
        max_datagram_size: 1452,
        ..TransportConfig::default()
    };
    // RUNNER.md §5.4: up to 1000 concurrent bidirectional streams, topped up as they close.
    t.streams.max_concurrent_bidi_streams = 1000;
    t
}

fn suites(chacha20: bool) -> CipherSuites {
    if chacha20 {
        CipherSuites::ChaCha20Only
    } else {
        CipherSuites::All
    }
}

/// Serves files until killed; returns only on a setup error.
pub async fn serve(plan: ServerPlan) -> Result<(), String> {
    let tls = tls::server_config_from_pem_files(
        &plan.cert,
        &plan.key,
        &[alpn(plan.http3)],
        suites(plan.chacha20),
    )
    .map_err(|e| e.to_string())?;
    let config = ServerConfig {
        tls,
        transport: Arc::new(transport()),
    };
    let endpoint = Endpoint::server(plan.listen, config)
        .map_err(|e| format!("cannot listen on {}: {e}", plan.listen))?;
    println!(
        "quic-interop: serving {} on {}",
        plan.www.display(),
        endpoint.local_addr()
    );
    let www = Arc::new(plan.www);
    while let Some(conn) = endpoint.accept().await {
        let www = www.clone();
        if plan.http3 {
            tokio::spawn(serve_h3(www, conn));
            continue;
        }
        tokio::spawn(async move {
            while let Ok((send, recv)) = conn.accept_bi().await {
                tokio::spawn(serve_stream(www.clone(), send, recv));
            }
            log_connection_end(&conn);
        });
    }
    Ok(())
}

/// One line per connection in the server's log: how the sender fared (for the runner's
/// loss cases and goodput runs, where the proxy sees only datagrams).
fn log_connection_end(conn: &Connection) {
    let s = conn.stats();
    let r = conn.recovery_stats();
    println!(
        "quic-interop: connection from {} ended: {} datagrams sent ({} bytes), {} received; \
         {} packets lost ({} spurious), {} congestion events, {} PTOs, {} persistent congestion",
        conn.remote_address(),
        s.datagrams_sent,
        s.bytes_sent,
        s.datagrams_received,
        r.lost_packets,
        r.spurious_losses,
        r.congestion_events,
        r.ptos,
        r.persistent_congestion,
    );
}

async fn serve_stream(www: Arc<PathBuf>, mut send: SendStream, mut recv: RecvStream) {
    // A request line is short; anything longer is not HTTP/0.9 from the runner.
    let request = match recv.read_to_end(4096).await {
        Ok(r) => r,
        Err(_) => return,
    };
    let path = match hq::resolve(&www, &request) {
        Ok(p) => p,
        Err(_) => {
            let _ = send.reset(VarInt::from_u32(NOT_FOUND));
            return;
        }
    };
    let Ok(mut file) = tokio::fs::File::open(&path).await else {
        let _ = send.reset(VarInt::from_u32(NOT_FOUND));
        return;
    };
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        match file.read(&mut buf).await {
            Ok(0) => break,
            Ok(n) => {
                if send
                    .write_chunk(bytes::Bytes::copy_from_slice(&buf[..n]))
                    .await
                    .is_err()
                {
                    return;
                }
            }
            Err(_) => {
                let _ = send.reset(VarInt::from_u32(NOT_FOUND));
                return;
            }
        }
    }
    let _ = send.finish();
}

/// Downloads every request over one connection, streams in parallel; or, with
/// `multiconnect`, each over its own connection in turn. `timeout` bounds the whole run.
pub async fn fetch(plan: ClientPlan) -> Result<(), String> {
    let timeout = plan.timeout;
    let run = async {
        if !plan.multiconnect {
            return fetch_inner(plan).await;
        }
        // RUNNER.md §1.9: never a second attempt while one is still trying; each connection
        // (on a fresh socket, like one process per URL) is closed and drained before the next.
        for request in &plan.requests {
            let one = ClientPlan {
                requests: vec![request.clone()],
                ..plan.clone()
            };
            fetch_inner(one).await?;
        }
        Ok(())
    };
    tokio::time::timeout(timeout, run)
        .await
        .map_err(|_| format!("timed out after {}s", timeout.as_secs()))?
}

async fn fetch_inner(plan: ClientPlan) -> Result<(), String> {
    let first = plan.requests.first().ok_or("no requests")?;
    let authority = format!("{}:{}", first.host, first.port);
    let addr = tokio::net::lookup_host(&authority)
        .await
        .map_err(|e| format!("cannot resolve {authority}: {e}"))?
        .next()
        .ok_or_else(|| format!("cannot resolve {authority}: no address"))?;
    let verification = match &plan.ca {
        Some(ca) => ServerVerification::CaFile(ca.clone()),
        None => ServerVerification::InsecureSkipVerify,
    };
    let tls = tls::client_config(&verification, &[alpn(plan.http3)], suites(plan.chacha20))
        .map_err(|e| e.to_string())?;
    let config = ClientConfig {
        tls,
        transport: Arc::new(transport()),
        version: quic::Version::V1,
    };
    let bind: SocketAddr = if addr.is_ipv6() {
        "[::]:0"
    } else {
        "0.0.0.0:0"
    }
    .parse()
    .expect("literal");
    let endpoint = Endpoint::client(bind).map_err(|e| format!("cannot bind {bind}: {e}"))?;
    let conn = endpoint
        .connect(addr, &first.host, &config)
        .await
        .map_err(|e| format!("cannot connect to {addr}: {e}"))?;
    let client = plan
        .http3
        .then(|| h3::asynch::Client::new(conn.clone(), h3::Config::default()));
    let extras = Arc::new(crate::h3_matrix::ClientExtras::from_env()?);
    let mut tasks = tokio::task::JoinSet::new();
    for request in plan.requests.clone() {
        let conn = conn.clone();
        let target = request.target(&plan.downloads);
        match &client {
            Some(client) => {
                let client = client.clone();
                let extras = extras.clone();
                tasks.spawn(async move { download_h3(&client, &extras, &request, &target).await });
            }
            None => {
                tasks.spawn(async move { download(&conn, &request, &target).await });
            }
        }
    }
    let mut result = Ok(());
    while let Some(done) = tasks.join_next().await {
        let outcome = done
            .map_err(|e| format!("download task failed: {e}"))
            .and_then(|r| r);
        if let (Err(e), Ok(())) = (outcome, &result) {
            result = Err(e);
            tasks.abort_all();
        }
    }
    if plan.http3 {
        crate::h3_matrix::log_qpack("client", &conn);
    }
    match client {
        // GOAWAY, then H3_NO_ERROR once everything is acknowledged (bounded by `fetch`).
        Some(client) if result.is_ok() => client.shutdown().await,
        Some(client) => client.close(h3::Code::H3_NO_ERROR),
        None => conn.close(VarInt::ZERO, b"done"),
    }
    endpoint.wait_idle().await;
    result
}

/// Serves files over HTTP/3 on one connection: GET and HEAD of a file under `www` answer
/// 200 with its bytes, anything else 404 (or 405 for other methods).
async fn serve_h3(www: Arc<PathBuf>, conn: Connection) {
    let server = h3::asynch::Server::new(conn, h3::Config::default());
    while let Ok(Some((request, stream))) = server.accept().await {
        tokio::spawn(serve_h3_request(www.clone(), request, stream));
    }
    crate::h3_matrix::log_qpack("server", server.connection());
}

async fn serve_h3_request(
    www: Arc<PathBuf>,
    request: http::Request<()>,
    stream: h3::asynch::RequestStream,
) {
    let head = request.method() == http::Method::HEAD;
    if request.method() == http::Method::POST {
        return crate::h3_matrix::serve_upload(&request, &stream).await;
    }
    if request.method() != http::Method::GET && !head {
        let _ = respond_h3(&stream, 405, b"method not allowed\n").await;
        return;
    }
    let path = match hq::resolve(&www, &hq::request(request.uri().path())) {
        Ok(p) => p,
        Err(_) => {
            let _ = respond_h3(&stream, 404, b"not found\n").await;
            return;
        }
    };
    let Ok(mut file) = tokio::fs::File::open(&path).await else {
        let _ = respond_h3(&stream, 404, b"not found\n").await;
        return;
    };
    let len = file.metadata().await.map(|m| m.len()).unwrap_or(0);
    let response = crate::h3_matrix::echo_fields(&request, http::Response::builder())
        .status(200)
        .header(http::header::CONTENT_LENGTH, len)
        .body(())
        .expect("valid response");
    if stream.send_response(response).is_err() {
        return;
    }
    if !head {
        let mut buf = vec![0u8; 256 * 1024];
        loop {
            match file.read(&mut buf).await {
                Ok(0) => break,
                Ok(n) => {
                    let chunk = bytes::Bytes::copy_from_slice(&buf[..n]);
                    if stream.send_data(chunk).await.is_err() {
                        return;
                    }
                }
                Err(_) => {
                    stream.reset(h3::Code::H3_INTERNAL_ERROR);
                    return;
                }
            }
        }
    }
    let _ = stream.finish();
}

async fn respond_h3(
    stream: &h3::asynch::RequestStream,
    status: u16,
    body: &'static [u8],
) -> Result<(), h3::asynch::Error> {
    let response = http::Response::builder()
        .status(status)
        .header(http::header::CONTENT_LENGTH, body.len())
        .body(())
        .expect("valid response");
    stream.send_response(response)?;
    stream.send_data(bytes::Bytes::from_static(body)).await?;
    stream.finish()
}

/// Downloads one file over HTTP/3; anything but a complete 200 response is an error.
async fn download_h3(
    client: &h3::asynch::Client,
    extras: &crate::h3_matrix::ClientExtras,
    request: &Request,
    target: &Path,
) -> Result<(), String> {
    let fail = |e: &dyn std::fmt::Display| format!("{}: {e}", request.path);
    let authority = if request.host.contains(':') {
        format!("[{}]:{}", request.host, request.port)
    } else {
        format!("{}:{}", request.host, request.port)
    };
    extras.before_request(client).await.map_err(|e| fail(&e))?;
    let req = extras
        .request(format!("https://{authority}{}", request.path))
        .map_err(|e| fail(&e))?;
    let stream = client.send_request(req).await.map_err(|e| fail(&e))?;
    extras.send_body(&stream).await.map_err(|e| fail(&e))?;
    stream.finish().map_err(|e| fail(&e))?;
    let response = stream.recv_response().await.map_err(|e| fail(&e))?;
    if response.status() != http::StatusCode::OK {
        return Err(fail(&format!("HTTP status {}", response.status())));
    }
    let mut data = Vec::new();
    while let Some(chunk) = stream.recv_data().await.map_err(|e| fail(&e))? {
        data.extend_from_slice(&chunk);
    }
    if let Some(dir) = target.parent() {
        tokio::fs::create_dir_all(dir).await.map_err(|e| fail(&e))?;
    }
    tokio::fs::write(target, &data).await.map_err(|e| fail(&e))
}

async fn download(conn: &Connection, request: &Request, target: &Path) -> Result<(), String> {
    let fail = |e: &dyn std::fmt::Display| format!("{}: {e}", request.path);
    let (mut send, mut recv) = conn.open_bi().await.map_err(|e| fail(&e))?;
    send.write_chunk(hq::request(&request.path).into())
        .await
        .map_err(|e| fail(&e))?;
    send.finish().map_err(|e| fail(&e))?;
    if let Some(dir) = target.parent() {
        tokio::fs::create_dir_all(dir).await.map_err(|e| fail(&e))?;
    }
    let mut data = Vec::new();
    while let Some(chunk) = recv.read_chunk(usize::MAX).await.map_err(|e| fail(&e))? {
        data.extend_from_slice(&chunk);
    }
    tokio::fs::write(target, &data).await.map_err(|e| fail(&e))
}

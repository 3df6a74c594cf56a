//! The hq-interop server and client on our runtime, shared by the runner entry point
//! (environment contract) and the peer-style command line used by the local interop matrix.

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
}

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
        &[hq::ALPN],
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
        tokio::spawn(async move {
            while let Ok((send, recv)) = conn.accept_bi().await {
                tokio::spawn(serve_stream(www.clone(), send, recv));
            }
        });
    }
    Ok(())
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

/// Downloads every request over one connection, streams in parallel.
pub async fn fetch(plan: ClientPlan) -> Result<(), String> {
    let timeout = plan.timeout;
    tokio::time::timeout(timeout, fetch_inner(plan))
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
    let tls = tls::client_config(&verification, &[hq::ALPN], suites(plan.chacha20))
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
    let mut tasks = tokio::task::JoinSet::new();
    for request in plan.requests.clone() {
        let conn = conn.clone();
        let target = request.target(&plan.downloads);
        tasks.spawn(async move { download(&conn, &request, &target).await });
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
    conn.close(VarInt::ZERO, b"done");
    endpoint.wait_idle().await;
    result
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

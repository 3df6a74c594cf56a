//! hq-interop (HTTP/0.9 over QUIC) client and server on quinn: a third-party peer for the
//! interop matrix.
//!
//! Protocol: the client opens one bidirectional stream per file, sends `GET /<path>\r\n` and
//! FIN; the server answers with the file bytes and FIN. A request for a missing file, a path
//! escaping the served directory or a malformed request is answered with RESET_STREAM carrying
//! application error [`NOT_FOUND`]; the client counts a reset stream as a failed download.

use std::net::{IpAddr, SocketAddr};
use std::path::{Component, Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use quinn::crypto::rustls::{QuicClientConfig, QuicServerConfig};
use quinn::{Connection, Endpoint, RecvStream, SendStream, TransportConfig, VarInt};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{ring, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{CipherSuite, DigitallySignedStruct, KeyLogFile, RootCertStore, SignatureScheme};
use tokio::io::AsyncReadExt;
use tokio::task::JoinSet;

const ALPN: &[u8] = b"hq-interop";
/// Application error code on RESET_STREAM for a request that cannot be served (cf. HTTP 404).
const NOT_FOUND: u32 = 0x4;
/// Longest request line accepted by the server.
const MAX_REQUEST: usize = 4096;
/// Largest single download the client keeps in memory before writing it out.
const MAX_DOWNLOAD: usize = 1 << 30;
const IDLE_TIMEOUT: Duration = Duration::from_secs(30);

type Error = Box<dyn std::error::Error + Send + Sync>;
type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Parser)]
#[command(
    name = "quinn-hq",
    about = "hq-interop (HTTP/0.9 over QUIC) peer on quinn"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve files from a directory until killed.
    Server(ServerArgs),
    /// Download URLs over one connection, streams in parallel; exit 0 only if all succeed.
    Client(ClientArgs),
}

#[derive(Args)]
struct ServerArgs {
    /// Address to listen on, e.g. 127.0.0.1:4433 or [::]:4433.
    #[arg(long)]
    listen: SocketAddr,
    /// PEM certificate chain, leaf first.
    #[arg(long)]
    cert: PathBuf,
    /// PEM private key (PKCS#8, PKCS#1 or SEC1; an EC PARAMETERS block is skipped).
    #[arg(long)]
    key: PathBuf,
    /// Directory to serve.
    #[arg(long)]
    www: PathBuf,
    /// Offer only TLS_CHACHA20_POLY1305_SHA256.
    #[arg(long)]
    chacha20: bool,
}

#[derive(Args)]
#[command(group(clap::ArgGroup::new("trust").required(true).args(["insecure", "ca"])))]
struct ClientArgs {
    /// Do not verify the server certificate.
    #[arg(long)]
    insecure: bool,
    /// Verify the server certificate against the CA certificates in this PEM file.
    #[arg(long)]
    ca: Option<PathBuf>,
    /// Directory to write downloads to (as <downloads>/<url path>).
    #[arg(long)]
    downloads: PathBuf,
    /// Offer only TLS_CHACHA20_POLY1305_SHA256.
    #[arg(long)]
    chacha20: bool,
    /// Give up after this many seconds in total.
    #[arg(long, default_value_t = 60)]
    timeout: u64,
    /// https://host:port/path URLs, all on the same host and port.
    #[arg(required = true)]
    urls: Vec<String>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return fail(format!("cannot start tokio runtime: {e}")),
    };
    let result = match cli.command {
        Command::Server(args) => runtime.block_on(server(args)),
        Command::Client(args) => {
            let limit = Duration::from_secs(args.timeout);
            runtime.block_on(async {
                match tokio::time::timeout(limit, client(args)).await {
                    Ok(r) => r,
                    Err(_) => Err(format!("timed out after {}s", limit.as_secs()).into()),
                }
            })
        }
    };
    // Do not wait for tasks still blocked (e.g. on a dead connection).
    runtime.shutdown_timeout(Duration::from_millis(100));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(e),
    }
}

fn fail(e: impl std::fmt::Display) -> ExitCode {
    eprintln!("quinn-hq: error: {e}");
    ExitCode::FAILURE
}

/// The ring provider, restricted to ChaCha20-Poly1305 when asked.
fn provider(chacha20: bool) -> Arc<CryptoProvider> {
    let mut provider = ring::default_provider();
    if chacha20 {
        provider
            .cipher_suites
            .retain(|s| s.suite() == CipherSuite::TLS13_CHACHA20_POLY1305_SHA256);
    }
    Arc::new(provider)
}

/// Initial packets always use AES-128-GCM (RFC 9001 §5.2), whatever suites TLS offers.
fn initial_suite() -> rustls::quic::Suite {
    ring::cipher_suite::TLS13_AES_128_GCM_SHA256
        .tls13()
        .and_then(|s| s.quic_suite())
        .expect("ring provides AES-128-GCM for QUIC")
}

fn transport() -> Arc<TransportConfig> {
    let mut t = TransportConfig::default();
    t.max_idle_timeout(Some(IDLE_TIMEOUT.try_into().expect("idle timeout fits")));
    Arc::new(t)
}

// ---------------------------------------------------------------------------------------------
// Server

async fn server(args: ServerArgs) -> Result<()> {
    let www = args
        .www
        .canonicalize()
        .map_err(|e| format!("--www {}: {e}", args.www.display()))?;
    let certs = CertificateDer::pem_file_iter(&args.cert)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("--cert {}: {e}", args.cert.display()))?;
    if certs.is_empty() {
        return Err(format!("--cert {}: no certificate found", args.cert.display()).into());
    }
    let key = PrivateKeyDer::from_pem_file(&args.key)
        .map_err(|e| format!("--key {}: {e}", args.key.display()))?;

    let mut tls = rustls::ServerConfig::builder_with_provider(provider(args.chacha20))
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| format!("certificate/key: {e}"))?;
    tls.alpn_protocols = vec![ALPN.to_vec()];
    tls.key_log = Arc::new(KeyLogFile::new());
    let crypto = QuicServerConfig::with_initial(Arc::new(tls), initial_suite())?;
    let mut config = quinn::ServerConfig::with_crypto(Arc::new(crypto));
    config.transport_config(transport());

    let endpoint = Endpoint::server(config, args.listen)
        .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
    eprintln!(
        "quinn-hq: serving {} on {}",
        www.display(),
        endpoint.local_addr()?
    );
    let www = Arc::new(www);
    while let Some(incoming) = endpoint.accept().await {
        let www = Arc::clone(&www);
        tokio::spawn(async move {
            let remote = incoming.remote_address();
            match incoming.await {
                Ok(conn) => serve_connection(conn, www).await,
                Err(e) => eprintln!("quinn-hq: handshake with {remote} failed: {e}"),
            }
        });
    }
    Ok(())
}

async fn serve_connection(conn: Connection, www: Arc<PathBuf>) {
    loop {
        match conn.accept_bi().await {
            Ok((send, recv)) => {
                let www = Arc::clone(&www);
                tokio::spawn(async move {
                    if let Err(e) = serve_stream(send, recv, &www).await {
                        eprintln!("quinn-hq: stream: {e}");
                    }
                });
            }
            Err(quinn::ConnectionError::ApplicationClosed(_)) => return,
            Err(e) => {
                eprintln!("quinn-hq: connection from {}: {e}", conn.remote_address());
                return;
            }
        }
    }
}

async fn serve_stream(mut send: SendStream, mut recv: RecvStream, www: &Path) -> Result<()> {
    let file = match read_request(&mut recv).await? {
        Some(path) => resolve(www, &path),
        None => None,
    };
    let Some(file) = file else {
        let _ = recv.stop(VarInt::from_u32(NOT_FOUND));
        send.reset(VarInt::from_u32(NOT_FOUND))?;
        return Ok(());
    };
    let mut f = tokio::fs::File::open(&file).await?;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = f.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        send.write_all(&buf[..n]).await?;
    }
    send.finish()?;
    Ok(())
}

/// Reads `GET /path` up to the first newline or FIN; `None` for a malformed request.
async fn read_request(recv: &mut RecvStream) -> Result<Option<String>> {
    let mut req = Vec::new();
    let mut buf = [0u8; 1024];
    while !req.contains(&b'\n') {
        match recv.read(&mut buf).await? {
            Some(n) => req.extend_from_slice(&buf[..n]),
            None => break,
        }
        if req.len() > MAX_REQUEST {
            return Ok(None);
        }
    }
    let line = match req.split(|&b| b == b'\n').next().map(std::str::from_utf8) {
        Some(Ok(line)) => line.trim_end(),
        _ => return Ok(None),
    };
    Ok(line.strip_prefix("GET /").map(str::to_owned))
}

/// Maps a request path to a regular file inside `www`, refusing anything that escapes it.
fn resolve(www: &Path, path: &str) -> Option<PathBuf> {
    let rel = safe_relative(path)?;
    let full = www.join(rel).canonicalize().ok()?;
    (full.starts_with(www) && full.is_file()).then_some(full)
}

/// A non-empty relative path made of plain components only (no `..`, no root, no NUL).
fn safe_relative(path: &str) -> Option<&Path> {
    let p = Path::new(path);
    let plain = p.components().all(|c| matches!(c, Component::Normal(_)));
    (!path.is_empty() && !path.contains('\0') && plain).then_some(p)
}

// ---------------------------------------------------------------------------------------------
// Client

struct Url {
    host: String,
    port: u16,
    /// Path without the leading '/'.
    path: String,
}

fn parse_url(url: &str) -> Result<Url> {
    let bad = |why: &str| -> Error { format!("bad URL {url:?}: {why}").into() };
    let rest = url
        .strip_prefix("https://")
        .ok_or_else(|| bad("not https://"))?;
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let (host, port) = match authority.strip_prefix('[') {
        Some(v6) => {
            let (host, after) = v6.split_once(']').ok_or_else(|| bad("unclosed ["))?;
            (host, after.strip_prefix(':'))
        }
        None => match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        },
    };
    let port = match port {
        Some(p) => p.parse().map_err(|_| bad("bad port"))?,
        None => 443,
    };
    let path = path.strip_prefix('/').unwrap_or(path);
    if host.is_empty() || safe_relative(path).is_none() {
        return Err(bad("empty host or unsafe path"));
    }
    Ok(Url {
        host: host.to_owned(),
        port,
        path: path.to_owned(),
    })
}

async fn client(args: ClientArgs) -> Result<()> {
    let urls = args
        .urls
        .iter()
        .map(|u| parse_url(u))
        .collect::<Result<Vec<_>>>()?;
    let (host, port) = (urls[0].host.clone(), urls[0].port);
    if let Some(u) = urls.iter().find(|u| u.host != host || u.port != port) {
        return Err(format!(
            "all URLs must use one server; {}:{} differs",
            u.host, u.port
        )
        .into());
    }
    let remote = tokio::net::lookup_host((host.as_str(), port))
        .await
        .map_err(|e| format!("cannot resolve {host}: {e}"))?
        .next()
        .ok_or_else(|| format!("{host} has no address"))?;

    let provider = provider(args.chacha20);
    let builder = rustls::ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_protocol_versions(&[&rustls::version::TLS13])?;
    let mut tls = match &args.ca {
        Some(ca) => {
            let mut roots = RootCertStore::empty();
            for cert in CertificateDer::pem_file_iter(ca).map_err(|e| format!("--ca: {e}"))? {
                roots
                    .add(cert.map_err(|e| format!("--ca: {e}"))?)
                    .map_err(|e| format!("--ca: {e}"))?;
            }
            builder.with_root_certificates(roots).with_no_client_auth()
        }
        None => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyCert(provider)))
            .with_no_client_auth(),
    };
    tls.alpn_protocols = vec![ALPN.to_vec()];
    tls.key_log = Arc::new(KeyLogFile::new());
    let crypto = QuicClientConfig::with_initial(Arc::new(tls), initial_suite())?;
    let mut config = quinn::ClientConfig::new(Arc::new(crypto));
    config.transport_config(transport());

    let local: SocketAddr = match remote.ip() {
        IpAddr::V4(_) => (IpAddr::from([0u8; 4]), 0).into(),
        IpAddr::V6(_) => (IpAddr::from([0u16; 8]), 0).into(),
    };
    let endpoint = Endpoint::client(local).map_err(|e| format!("cannot bind {local}: {e}"))?;
    let conn = endpoint
        .connect_with(config, remote, &host)?
        .await
        .map_err(|e| format!("handshake with {remote}: {e}"))?;

    tokio::fs::create_dir_all(&args.downloads)
        .await
        .map_err(|e| format!("--downloads {}: {e}", args.downloads.display()))?;
    let mut tasks = JoinSet::new();
    for url in urls {
        let conn = conn.clone();
        let dest = args.downloads.join(&url.path);
        tasks.spawn(async move {
            fetch(&conn, &url.path, &dest)
                .await
                .map_err(|e| format!("/{}: {e}", url.path))
        });
    }
    let (mut failed, mut first) = (0usize, None);
    while let Some(done) = tasks.join_next().await {
        if let Err(e) = done.map_err(|e| e.to_string()).and_then(|r| r) {
            failed += 1;
            first.get_or_insert(e);
        }
    }
    conn.close(VarInt::from_u32(0), b"done");
    // Let the CONNECTION_CLOSE go out, without waiting long for it.
    let _ = tokio::time::timeout(Duration::from_secs(1), endpoint.wait_idle()).await;
    match first {
        None => Ok(()),
        Some(e) => Err(format!("{failed} download(s) failed; first: {e}").into()),
    }
}

async fn fetch(conn: &Connection, path: &str, dest: &Path) -> Result<()> {
    let (mut send, mut recv) = conn.open_bi().await?;
    send.write_all(format!("GET /{path}\r\n").as_bytes())
        .await?;
    send.finish()?;
    let body = recv.read_to_end(MAX_DOWNLOAD).await?;
    if let Some(dir) = dest.parent() {
        tokio::fs::create_dir_all(dir).await?;
    }
    tokio::fs::write(dest, body).await?;
    Ok(())
}

/// `--insecure`: accepts any certificate but still checks the handshake signatures.
#[derive(Debug)]
struct AcceptAnyCert(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAnyCert {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let u = parse_url("https://[::1]:4433/a/b").unwrap();
        assert_eq!(
            (u.host.as_str(), u.port, u.path.as_str()),
            ("::1", 4433, "a/b")
        );
        let u = parse_url("https://server4/x").unwrap();
        assert_eq!(
            (u.host.as_str(), u.port, u.path.as_str()),
            ("server4", 443, "x")
        );
        assert!(parse_url("https://h:1/../etc/passwd").is_err());
        assert!(parse_url("https://h:1/").is_err());
        assert!(parse_url("http://h:1/x").is_err());
    }

    #[test]
    fn paths_stay_inside() {
        assert!(safe_relative("a/b.txt").is_some());
        assert!(safe_relative("../x").is_none());
        assert!(safe_relative("a/../../x").is_none());
        assert!(safe_relative("/etc/passwd").is_none());
        assert!(safe_relative("./x").is_none());
        assert!(safe_relative("").is_none());
    }
}

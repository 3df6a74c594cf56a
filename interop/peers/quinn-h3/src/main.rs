//! HTTP/3 file server and client on quinn + hyperium/h3: a third-party peer for our HTTP/3
//! interop matrix (interop/peers/h3-matrix.sh).
//!
//!     quinn-h3 server --listen ADDR --cert FILE --key FILE --www DIR
//!     quinn-h3 client (--insecure | --ca FILE) --downloads DIR [--timeout S] URL...
//!
//! The server answers `GET /<path>` with the file under `--www` (200) or 404, and a `POST`
//! with `"<body length> <sha256 hex>\n"` once the whole body arrived (the matrix's upload
//! check); every response repeats the request's `x-echo-*` fields. The client fetches every
//! URL over one connection, all requests in parallel, and writes each body to
//! `<downloads>/<path>` once complete; it exits 0 when every response was a complete 200,
//! 1 otherwise. `--upload FILE` POSTs FILE to every URL instead, `--header 'name: value'`
//! (repeatable) adds a field to every request. Both roles append TLS secrets to
//! $SSLKEYLOGFILE when it is set. hyperium/h3 encodes and decodes with the static QPACK
//! table only (it announces a dynamic table capacity of 0).

use std::net::{IpAddr, SocketAddr};
use std::path::{Component, Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Buf, Bytes};
use clap::{Args, Parser, Subcommand};
use quinn::crypto::rustls::{QuicClientConfig, QuicServerConfig};
use quinn::{Endpoint, TransportConfig};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{ring, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, KeyLogFile, RootCertStore, SignatureScheme};
use tokio::io::AsyncReadExt;

const ALPN: &[u8] = b"h3";
const IDLE_TIMEOUT: Duration = Duration::from_secs(30);

type Error = Box<dyn std::error::Error + Send + Sync>;
type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Parser)]
#[command(name = "quinn-h3", about = "HTTP/3 file peer on quinn + hyperium/h3")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve files over HTTP/3 until killed.
    Server(ServerArgs),
    /// Download URLs over HTTP/3 on one connection.
    Client(ClientArgs),
}

#[derive(Args)]
struct ServerArgs {
    #[arg(long)]
    listen: SocketAddr,
    #[arg(long)]
    cert: PathBuf,
    #[arg(long)]
    key: PathBuf,
    #[arg(long)]
    www: PathBuf,
}

#[derive(Args)]
#[command(group(clap::ArgGroup::new("trust").required(true).args(["insecure", "ca"])))]
struct ClientArgs {
    #[arg(long)]
    insecure: bool,
    #[arg(long)]
    ca: Option<PathBuf>,
    #[arg(long)]
    downloads: PathBuf,
    #[arg(long, default_value_t = 60)]
    timeout: u64,
    /// POST this file to every URL instead of a GET.
    #[arg(long)]
    upload: Option<PathBuf>,
    /// `name: value` added to every request (repeatable).
    #[arg(long = "header")]
    headers: Vec<String>,
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
    runtime.shutdown_timeout(Duration::from_millis(100));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(e),
    }
}

fn fail(e: impl std::fmt::Display) -> ExitCode {
    eprintln!("quinn-h3: error: {e}");
    ExitCode::FAILURE
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(ring::default_provider())
}

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

async fn server(args: ServerArgs) -> Result<()> {
    let www = args
        .www
        .canonicalize()
        .map_err(|e| format!("--www {}: {e}", args.www.display()))?;
    let certs = CertificateDer::pem_file_iter(&args.cert)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("--cert {}: {e}", args.cert.display()))?;
    let key = PrivateKeyDer::from_pem_file(&args.key)
        .map_err(|e| format!("--key {}: {e}", args.key.display()))?;
    let mut tls = rustls::ServerConfig::builder_with_provider(provider())
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
        "quinn-h3: serving {} on {}",
        www.display(),
        endpoint.local_addr()?
    );
    let www = Arc::new(www);
    while let Some(incoming) = endpoint.accept().await {
        let www = Arc::clone(&www);
        tokio::spawn(async move {
            let remote = incoming.remote_address();
            match incoming.await {
                Ok(conn) => {
                    if let Err(e) = serve_connection(conn, www).await {
                        eprintln!("quinn-h3: connection from {remote}: {e}");
                    }
                }
                Err(e) => eprintln!("quinn-h3: handshake with {remote} failed: {e}"),
            }
        });
    }
    Ok(())
}

async fn serve_connection(conn: quinn::Connection, www: Arc<PathBuf>) -> Result<()> {
    let mut h3: h3::server::Connection<h3_quinn::Connection, Bytes> =
        h3::server::Connection::new(h3_quinn::Connection::new(conn)).await?;
    loop {
        match h3.accept().await {
            Ok(Some(resolver)) => {
                let www = Arc::clone(&www);
                tokio::spawn(async move {
                    let (req, stream) = match resolver.resolve_request().await {
                        Ok(r) => r,
                        Err(e) => return eprintln!("quinn-h3: request: {e}"),
                    };
                    if let Err(e) = serve_request(req, stream, &www).await {
                        eprintln!("quinn-h3: request: {e}");
                    }
                });
            }
            Ok(None) => return Ok(()),
            Err(e) if e.is_h3_no_error() => return Ok(()),
            Err(e) => return Err(e.into()),
        }
    }
}

async fn serve_request<S>(
    req: http::Request<()>,
    mut stream: h3::server::RequestStream<S, Bytes>,
    www: &Path,
) -> Result<()>
where
    S: h3::quic::BidiStream<Bytes>,
{
    let mut echo = http::Response::builder();
    for (name, value) in req.headers() {
        if name.as_str().starts_with("x-echo-") {
            echo = echo.header(name, value);
        }
    }
    if req.method() == http::Method::POST {
        // Upload check: hash the whole body, answer with its length and SHA-256.
        let mut hash = ::ring::digest::Context::new(&::ring::digest::SHA256);
        let mut len = 0usize;
        while let Some(mut chunk) = stream.recv_data().await? {
            while chunk.has_remaining() {
                let c = chunk.chunk();
                hash.update(c);
                len += c.len();
                let n = c.len();
                chunk.advance(n);
            }
        }
        let hex: String = hash
            .finish()
            .as_ref()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let body = format!("{len} {hex}\n");
        let resp = echo
            .status(200)
            .header("content-length", body.len())
            .body(())?;
        stream.send_response(resp).await?;
        stream.send_data(Bytes::from(body)).await?;
        stream.finish().await?;
        return Ok(());
    }
    let path = req.uri().path().trim_start_matches('/');
    let file = match resolve(www, path) {
        Some(f) if req.method() == http::Method::GET => f,
        _ => {
            let resp = http::Response::builder().status(404).body(())?;
            stream.send_response(resp).await?;
            stream.send_data(Bytes::from_static(b"not found\n")).await?;
            stream.finish().await?;
            return Ok(());
        }
    };
    let mut f = tokio::fs::File::open(&file).await?;
    let len = f.metadata().await?.len();
    let resp = echo.status(200).header("content-length", len).body(())?;
    stream.send_response(resp).await?;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = f.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        stream.send_data(Bytes::copy_from_slice(&buf[..n])).await?;
    }
    stream.finish().await?;
    Ok(())
}

fn resolve(www: &Path, path: &str) -> Option<PathBuf> {
    let p = Path::new(path);
    let plain = p.components().all(|c| matches!(c, Component::Normal(_)));
    if path.is_empty() || path.contains('\0') || !plain {
        return None;
    }
    let full = www.join(p).canonicalize().ok()?;
    (full.starts_with(www) && full.is_file()).then_some(full)
}

struct Target {
    host: String,
    port: u16,
    path: String,
}

fn parse_url(url: &str) -> Result<Target> {
    let uri: http::Uri = url.parse().map_err(|e| format!("bad URL {url:?}: {e}"))?;
    if uri.scheme_str() != Some("https") {
        return Err(format!("bad URL {url:?}: scheme must be https").into());
    }
    let host = uri
        .host()
        .ok_or_else(|| format!("bad URL {url:?}: no host"))?;
    let path = uri.path().trim_start_matches('/').to_string();
    let plain = Path::new(&path)
        .components()
        .all(|c| matches!(c, Component::Normal(_)));
    if path.is_empty() || !plain {
        return Err(format!("bad URL {url:?}: unsafe or empty path").into());
    }
    Ok(Target {
        host: host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string(),
        port: uri.port_u16().unwrap_or(443),
        path,
    })
}

async fn client(args: ClientArgs) -> Result<()> {
    let targets = args
        .urls
        .iter()
        .map(|u| parse_url(u))
        .collect::<Result<Vec<_>>>()?;
    let first = &targets[0];
    let addr = match first.host.parse::<IpAddr>() {
        Ok(ip) => SocketAddr::new(ip, first.port),
        Err(_) => tokio::net::lookup_host((first.host.as_str(), first.port))
            .await?
            .next()
            .ok_or_else(|| format!("cannot resolve {}", first.host))?,
    };
    let builder = rustls::ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])?;
    let mut tls = if args.insecure {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAny(provider())))
            .with_no_client_auth()
    } else {
        let ca = args.ca.as_ref().expect("clap requires --ca or --insecure");
        let mut roots = RootCertStore::empty();
        for cert in CertificateDer::pem_file_iter(ca)? {
            roots.add(cert?)?;
        }
        builder.with_root_certificates(roots).with_no_client_auth()
    };
    tls.alpn_protocols = vec![ALPN.to_vec()];
    tls.key_log = Arc::new(KeyLogFile::new());
    let crypto = QuicClientConfig::with_initial(Arc::new(tls), initial_suite())?;
    let mut config = quinn::ClientConfig::new(Arc::new(crypto));
    config.transport_config(transport());
    let bind: SocketAddr = if addr.is_ipv6() {
        "[::]:0"
    } else {
        "0.0.0.0:0"
    }
    .parse()?;
    let mut endpoint = Endpoint::client(bind)?;
    endpoint.set_default_client_config(config);
    let conn = endpoint.connect(addr, &first.host)?.await?;
    let (mut driver, send_request) = h3::client::new(h3_quinn::Connection::new(conn)).await?;
    let drive = tokio::spawn(async move {
        let _ = std::future::poll_fn(|cx| driver.poll_close(cx)).await;
    });
    let upload = match &args.upload {
        Some(p) => Some(Bytes::from(
            std::fs::read(p).map_err(|e| format!("--upload {}: {e}", p.display()))?,
        )),
        None => None,
    };
    let mut fields = Vec::new();
    for h in &args.headers {
        let (name, value) = h
            .split_once(':')
            .ok_or_else(|| format!("--header {h:?}: expected 'name: value'"))?;
        fields.push((
            http::HeaderName::from_bytes(name.trim().as_bytes())?,
            http::HeaderValue::from_str(value.trim())?,
        ));
    }
    let fields = Arc::new(fields);
    let mut tasks = tokio::task::JoinSet::new();
    for t in targets {
        let upload = upload.clone();
        let fields = Arc::clone(&fields);
        let mut sr = send_request.clone();
        let downloads = args.downloads.clone();
        let authority = if t.host.contains(':') {
            format!("[{}]:{}", t.host, t.port)
        } else {
            format!("{}:{}", t.host, t.port)
        };
        tasks.spawn(async move {
            let url = format!("https://{authority}/{}", t.path);
            let method = if upload.is_some() { "POST" } else { "GET" };
            let mut req = http::Request::builder().method(method).uri(&url);
            for (name, value) in fields.iter() {
                req = req.header(name, value);
            }
            let mut stream = sr.send_request(req.body(())?).await?;
            if let Some(body) = upload {
                stream.send_data(body).await?;
            }
            stream.finish().await?;
            let resp = stream.recv_response().await?;
            if resp.status() != 200 {
                return Err(format!("{url}: HTTP status {}", resp.status()).into());
            }
            let mut body = Vec::new();
            while let Some(mut chunk) = stream.recv_data().await? {
                while chunk.has_remaining() {
                    let c = chunk.chunk();
                    body.extend_from_slice(c);
                    let n = c.len();
                    chunk.advance(n);
                }
            }
            let target = downloads.join(&t.path);
            if let Some(dir) = target.parent() {
                tokio::fs::create_dir_all(dir).await?;
            }
            tokio::fs::write(&target, &body).await?;
            Ok::<(), Error>(())
        });
    }
    drop(send_request);
    let mut result = Ok(());
    while let Some(done) = tasks.join_next().await {
        let r = done.map_err(|e| Error::from(e.to_string())).and_then(|r| r);
        if let (Err(e), Ok(())) = (r, &result) {
            result = Err(e);
        }
    }
    endpoint.close(0u32.into(), b"done");
    drive.abort();
    let _ = tokio::time::timeout(Duration::from_secs(2), endpoint.wait_idle()).await;
    result
}

/// `--insecure`: accepts any certificate (handshake signatures are still checked).
#[derive(Debug)]
struct AcceptAny(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAny {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
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
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
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

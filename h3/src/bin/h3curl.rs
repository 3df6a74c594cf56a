//! `h3curl`: a curl-like HTTP/3 client on our stack (see `h3curl --help` and h3/README.md).

use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use clap::{ArgAction, Parser};
use h3::asynch::{Client, Error as H3Error};
use quic::connection::{ClientConfig, ConnectionError, TransportConfig};
use quic::runtime::{ConnectError, Endpoint};
use quic::tls::{self, CipherSuites, ServerVerification};

const AFTER_HELP: &str = "\
Behaves like `curl --http3-only` for the options above; several URLs are fetched one after \
the other, on one connection per host and port.

Exit codes (curl's): 0 ok, 1 unsupported URL, 2 bad usage, 3 malformed URL, 6 could not \
resolve host, 7 could not connect, 22 HTTP error >= 400 with -f, 23 write error, \
26 read error (--data-binary @file), 28 timeout (--max-time, --connect-timeout), \
35 TLS handshake failure, 56 failure receiving data, 60 server certificate not trusted.

Examples:
  h3curl -v https://localhost:4433/
  h3curl --resolve example.com:443:127.0.0.1 --cacert ca.pem -O https://example.com/file
  h3curl -k -X PUT --data-binary @body.bin -H 'content-type: application/octet-stream' URL";

/// curl-compatible HTTP/3 client.
#[derive(Parser, Debug)]
#[command(
    name = "h3curl",
    version,
    about = "h3curl: a curl-like HTTP/3 client on our QUIC and HTTP/3 stack",
    after_help = AFTER_HELP
)]
struct Args {
    /// URLs to fetch (https://host[:port]/path).
    #[arg(required = true, value_name = "URL")]
    urls: Vec<String>,
    /// Show the connection, TLS and request/response trace on stderr.
    #[arg(short, long)]
    verbose: bool,
    /// Silent mode: no progress bar, no error messages (unless -S).
    #[arg(short, long)]
    silent: bool,
    /// With -s, still show errors.
    #[arg(short = 'S', long)]
    show_error: bool,
    /// Do not verify the server certificate.
    #[arg(short = 'k', long)]
    insecure: bool,
    /// CA certificates (PEM) to verify the server with, instead of the system store.
    #[arg(long, value_name = "FILE")]
    cacert: Option<PathBuf>,
    /// Use ADDR for HOST:PORT instead of resolving it (repeatable).
    #[arg(long, value_name = "HOST:PORT:ADDR")]
    resolve: Vec<String>,
    /// Write the body to FILE instead of stdout (one per URL, in order).
    #[arg(short, long, value_name = "FILE")]
    output: Vec<PathBuf>,
    /// Write the body to a file named like the remote file (one per URL without -o).
    #[arg(short = 'O', long, action = ArgAction::Count)]
    remote_name: u8,
    /// Extra request header "Name: value" (repeatable; "Name:" removes a default one).
    #[arg(short = 'H', long = "header", value_name = "HEADER")]
    headers: Vec<String>,
    /// Request method.
    #[arg(short = 'X', long = "request", value_name = "METHOD")]
    method: Option<String>,
    /// Send DATA as a form POST body (repeatable, joined with '&'; @FILE reads a file
    /// without its newlines).
    #[arg(short = 'd', long = "data", value_name = "DATA")]
    data: Vec<String>,
    /// Send DATA as is (@FILE reads a file byte for byte).
    #[arg(long = "data-binary", value_name = "DATA")]
    data_binary: Vec<String>,
    /// Include the response head in the output.
    #[arg(short, long)]
    include: bool,
    /// HEAD request; print the response head only.
    #[arg(short = 'I', long)]
    head: bool,
    /// Fail with exit code 22 and no body on HTTP status >= 400.
    #[arg(short, long)]
    fail: bool,
    /// User-Agent header.
    #[arg(short = 'A', long = "user-agent", value_name = "NAME")]
    user_agent: Option<String>,
    /// Bound on the whole operation, in seconds.
    #[arg(short = 'm', long = "max-time", value_name = "SECONDS")]
    max_time: Option<f64>,
    /// Bound on connecting (QUIC and TLS handshake), in seconds.
    #[arg(long = "connect-timeout", value_name = "SECONDS")]
    connect_timeout: Option<f64>,
    /// Accepted for curl compatibility; h3curl only speaks HTTP/3.
    #[arg(long = "http3", hide = true)]
    http3: bool,
    /// Accepted for curl compatibility; h3curl only speaks HTTP/3.
    #[arg(long = "http3-only", hide = true)]
    http3_only: bool,
}

/// A failure with curl's exit code and message.
#[derive(Debug)]
struct Failure {
    code: i32,
    message: String,
}

fn fail<T>(code: i32, message: impl Into<String>) -> Result<T, Failure> {
    Err(Failure {
        code,
        message: message.into(),
    })
}

fn main() {
    let args = match Args::try_parse() {
        Ok(a) => a,
        Err(e) => {
            let code = match e.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => 0,
                _ => 2,
            };
            let _ = e.print();
            std::process::exit(code);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("h3curl: cannot start the runtime: {e}");
            std::process::exit(2);
        }
    };
    let show_errors = !args.silent || args.show_error;
    let code = runtime.block_on(async move {
        let start = Instant::now();
        let max = args.max_time.map(Duration::from_secs_f64);
        let mut app = App::new(args);
        let outcome = match max {
            Some(max) => match tokio::time::timeout(max, app.run()).await {
                Ok(r) => r,
                Err(_) => fail(
                    28,
                    format!(
                        "Operation timed out after {} milliseconds with {} bytes received",
                        start.elapsed().as_millis(),
                        app.received
                    ),
                ),
            },
            None => app.run().await,
        };
        app.progress_done();
        match outcome {
            Ok(()) => 0,
            Err(f) => {
                if show_errors {
                    eprintln!("h3curl: ({}) {}", f.code, f.message);
                }
                f.code
            }
        }
    });
    // Connections still open are closed by dropping the runtime.
    runtime.shutdown_timeout(Duration::from_millis(100));
    std::process::exit(code);
}

/// How long a QUIC handshake may take without --connect-timeout (curl's HTTP/3 default).
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Resolves if the server's port is closed: an empty datagram on a connected UDP socket
/// (which a QUIC server ignores) brings back the ICMP port-unreachable as ECONNREFUSED, which
/// the shared QUIC socket does not report. Pending forever otherwise.
async fn refused(addr: SocketAddr) {
    let bind: SocketAddr = if addr.is_ipv6() {
        "[::]:0"
    } else {
        "0.0.0.0:0"
    }
    .parse()
    .expect("literal");
    let probe = async {
        let sock = tokio::net::UdpSocket::bind(bind).await.ok()?;
        sock.connect(addr).await.ok()?;
        let mut buf = [0u8; 64];
        for _ in 0..3 {
            sock.send(&[]).await.ok()?;
            match tokio::time::timeout(Duration::from_millis(300), sock.recv(&mut buf)).await {
                Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => return Some(()),
                _ => {}
            }
        }
        None
    };
    if probe.await.is_none() {
        std::future::pending::<()>().await;
    }
}

/// One URL to fetch.
struct Target {
    url: String,
    host: String,
    port: u16,
    authority: String,
    path: String,
    output: Output,
}

#[derive(Clone)]
enum Output {
    Stdout,
    File(PathBuf),
}

struct App {
    args: Args,
    conns: HashMap<(String, u16), (Endpoint, Client, usize)>,
    received: u64,
    progress: Option<Progress>,
}

impl App {
    fn new(args: Args) -> Self {
        Self {
            args,
            conns: HashMap::new(),
            received: 0,
            progress: None,
        }
    }

    fn trace(&self, line: impl AsRef<str>) {
        if self.args.verbose {
            eprintln!("{}", line.as_ref());
        }
    }

    async fn run(&mut self) -> Result<(), Failure> {
        let targets = self.targets()?;
        let body = self.body()?;
        let mut result = Ok(());
        for t in &targets {
            if let Err(e) = self.fetch(t, body.clone()).await {
                result = Err(e);
                break;
            }
        }
        for ((host, _), (endpoint, client, n)) in self.conns.drain() {
            let drained = tokio::time::timeout(Duration::from_secs(2), client.shutdown()).await;
            if self.args.verbose {
                // A stall here once cost every h3curl run 3 s unseen: say so.
                if drained.is_err() {
                    eprintln!("* Graceful close of connection #{n} timed out after 2 s");
                }
                // Whether header compression used the dynamic table (interop checks read it).
                eprintln!("* QPACK dynamic table: {}", client.qpack_stats());
                eprintln!("* Connection #{n} to host {host} closed");
            }
            let _ = tokio::time::timeout(Duration::from_secs(1), endpoint.wait_idle()).await;
        }
        result
    }

    fn targets(&self) -> Result<Vec<Target>, Failure> {
        let mut outputs = self.args.output.iter();
        let mut remote = self.args.remote_name as usize;
        let mut out = Vec::new();
        for url in &self.args.urls {
            let uri: http::Uri = match url.parse() {
                Ok(u) => u,
                Err(_) => {
                    return fail(
                        3,
                        format!("URL rejected: Malformed input to a URL function ({url})"),
                    )
                }
            };
            match uri.scheme_str() {
                Some("https") => {}
                Some(other) => {
                    return fail(
                        1,
                        format!("Protocol \"{other}\" not supported (HTTP/3 needs https)"),
                    )
                }
                None => return fail(3, format!("URL rejected: No scheme in {url}")),
            }
            let Some(host) = uri.host().filter(|h| !h.is_empty()) else {
                return fail(3, format!("URL rejected: No host part in the URL ({url})"));
            };
            let host = host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_string();
            let port = uri.port_u16().unwrap_or(443);
            let path = uri
                .path_and_query()
                .map_or("/".to_string(), |p| p.as_str().to_string());
            let path = if path.is_empty() { "/".into() } else { path };
            let output = if let Some(o) = outputs.next() {
                Output::File(o.clone())
            } else if remote > 0 {
                remote -= 1;
                let name = uri.path().rsplit('/').next().unwrap_or("");
                if name.is_empty() {
                    return fail(23, "Remote file name has no length");
                }
                Output::File(PathBuf::from(name))
            } else {
                Output::Stdout
            };
            let authority = uri.authority().map_or(host.clone(), |a| a.to_string());
            out.push(Target {
                url: url.clone(),
                host,
                port,
                authority,
                path,
                output,
            });
        }
        Ok(out)
    }

    /// The request body from -d / --data-binary, if any.
    fn body(&self) -> Result<Option<Bytes>, Failure> {
        if self.args.data.is_empty() && self.args.data_binary.is_empty() {
            return Ok(None);
        }
        let mut parts: Vec<Vec<u8>> = Vec::new();
        for d in &self.args.data {
            let mut v = read_data(d)?;
            v.retain(|&b| b != b'\r' && b != b'\n');
            parts.push(v);
        }
        for d in &self.args.data_binary {
            parts.push(read_data(d)?);
        }
        Ok(Some(Bytes::from(parts.join(&b'&'))))
    }

    async fn connect(&mut self, t: &Target) -> Result<Client, Failure> {
        let key = (t.host.clone(), t.port);
        if let Some((_, client, n)) = self.conns.get(&key) {
            if client.connection().close_reason().is_none() && client.goaway_received().is_none() {
                self.trace(format!(
                    "* Re-using existing connection #{n} with host {}",
                    t.host
                ));
                return Ok(client.clone());
            }
        }
        let addr = self.resolve(t).await?;
        self.trace(format!("*   Trying {addr}..."));
        let verification = if self.args.insecure {
            ServerVerification::InsecureSkipVerify
        } else if let Some(ca) = &self.args.cacert {
            ServerVerification::CaFile(ca.clone())
        } else {
            ServerVerification::SystemRoots
        };
        let tls = tls::client_config(&verification, &[b"h3"], CipherSuites::All).map_err(|e| {
            Failure {
                code: 77,
                message: format!("error setting certificate verify locations: {e}"),
            }
        })?;
        let config = ClientConfig {
            tls,
            transport: Arc::new(TransportConfig::default()),
            version: quic::Version::V1,
        };
        let bind: SocketAddr = if addr.is_ipv6() {
            "[::]:0"
        } else {
            "0.0.0.0:0"
        }
        .parse()
        .expect("literal");
        let endpoint = Endpoint::client(bind).map_err(|e| Failure {
            code: 7,
            message: format!("Failed to bind a UDP socket: {e}"),
        })?;
        let start = Instant::now();
        let (limit, user_limit) = match self.args.connect_timeout {
            Some(s) => (Duration::from_secs_f64(s), true),
            None => (HANDSHAKE_TIMEOUT, false),
        };
        let connecting = async {
            tokio::select! {
                r = endpoint.connect(addr, &t.host, &config) => Some(r),
                () = refused(addr) => None,
            }
        };
        let conn = match tokio::time::timeout(limit, connecting).await {
            Ok(Some(r)) => r,
            Ok(None) => {
                return fail(
                    7,
                    format!(
                        "Failed to connect to {} port {} after {} ms: Could not connect to server",
                        t.host,
                        t.port,
                        start.elapsed().as_millis()
                    ),
                )
            }
            Err(_) => {
                let (code, why) = if user_limit {
                    (28, "Timeout was reached")
                } else {
                    (7, "QUIC handshake timed out")
                };
                return fail(
                    code,
                    format!(
                        "Failed to connect to {} port {} after {} ms: {why}",
                        t.host,
                        t.port,
                        start.elapsed().as_millis()
                    ),
                );
            }
        };
        let conn = conn.map_err(|e| connect_failure(t, addr, start, e))?;
        let n = self.conns.len();
        self.trace(format!(
            "* Connected to {} ({}) port {} (#{n})",
            t.host,
            addr.ip(),
            addr.port()
        ));
        self.trace("* using HTTP/3");
        self.trace("* QUIC connection using TLSv1.3");
        match conn.alpn() {
            Some(a) => self.trace(format!(
                "* ALPN: server accepted {}",
                String::from_utf8_lossy(&a)
            )),
            None => self.trace("* ALPN: server did not agree on a protocol"),
        }
        if self.args.insecure {
            self.trace("* SSL certificate verification SKIPPED (-k)");
        } else {
            self.trace("* SSL certificate verify ok.");
        }
        let client = Client::new(conn, h3::Config::default());
        self.conns.insert(key, (endpoint, client.clone(), n));
        Ok(client)
    }

    async fn resolve(&self, t: &Target) -> Result<SocketAddr, Failure> {
        for r in &self.args.resolve {
            let mut it = r.splitn(3, ':');
            let (Some(h), Some(p), Some(a)) = (it.next(), it.next(), it.next()) else {
                return fail(2, format!("bad --resolve {r:?}: want HOST:PORT:ADDR"));
            };
            if h.eq_ignore_ascii_case(&t.host) && p.parse() == Ok(t.port) {
                let a = a.trim_start_matches('[').trim_end_matches(']');
                let ip: std::net::IpAddr = match a.parse() {
                    Ok(ip) => ip,
                    Err(_) => return fail(2, format!("bad address in --resolve {r:?}")),
                };
                self.trace(format!("* Added {h}:{p}:{a} to DNS cache"));
                self.trace(format!("* Hostname {h} was found in DNS cache"));
                return Ok(SocketAddr::new(ip, t.port));
            }
        }
        let lookup = tokio::net::lookup_host((t.host.as_str(), t.port)).await;
        let addrs: Vec<SocketAddr> = match lookup {
            Ok(a) => a.collect(),
            Err(_) => return fail(6, format!("Could not resolve host: {}", t.host)),
        };
        // Prefer IPv4 like a first Happy Eyeballs attempt would on most hosts.
        let Some(addr) = addrs
            .iter()
            .find(|a| a.is_ipv4())
            .or(addrs.first())
            .copied()
        else {
            return fail(6, format!("Could not resolve host: {}", t.host));
        };
        self.trace(format!("* Host {}:{} was resolved.", t.host, t.port));
        let v4: Vec<String> = addrs
            .iter()
            .filter(|a| a.is_ipv4())
            .map(|a| a.ip().to_string())
            .collect();
        let v6: Vec<String> = addrs
            .iter()
            .filter(|a| a.is_ipv6())
            .map(|a| a.ip().to_string())
            .collect();
        self.trace(format!(
            "* IPv6: {}",
            if v6.is_empty() {
                "(none)".into()
            } else {
                v6.join(", ")
            }
        ));
        self.trace(format!(
            "* IPv4: {}",
            if v4.is_empty() {
                "(none)".into()
            } else {
                v4.join(", ")
            }
        ));
        Ok(addr)
    }

    fn request(&self, t: &Target, body: Option<&Bytes>) -> Result<http::Request<()>, Failure> {
        let method = match (&self.args.method, self.args.head, body) {
            (Some(m), _, _) => m.clone(),
            (None, true, _) => "HEAD".into(),
            (None, false, Some(_)) => "POST".into(),
            (None, false, None) => "GET".into(),
        };
        let method = http::Method::from_bytes(method.as_bytes()).map_err(|_| Failure {
            code: 2,
            message: format!("bad method {method:?}"),
        })?;
        let mut b = http::Request::builder()
            .method(method)
            .uri(format!("https://{}{}", t.authority, t.path));
        let mut defaults: Vec<(String, String)> = vec![
            (
                "user-agent".into(),
                self.args
                    .user_agent
                    .clone()
                    .unwrap_or_else(|| format!("h3curl/{}", env!("CARGO_PKG_VERSION"))),
            ),
            ("accept".into(), "*/*".into()),
        ];
        if let Some(body) = body {
            defaults.push(("content-length".into(), body.len().to_string()));
            if !self.args.data.is_empty() {
                defaults.push((
                    "content-type".into(),
                    "application/x-www-form-urlencoded".into(),
                ));
            }
        }
        let mut extra = Vec::new();
        for h in &self.args.headers {
            let Some((name, value)) = h.split_once(':') else {
                continue; // curl ignores a header without a colon
            };
            let name = name.trim().to_ascii_lowercase();
            defaults.retain(|(n, _)| *n != name);
            let value = value.trim();
            if !value.is_empty() {
                extra.push((name, value.to_string()));
            }
        }
        for (n, v) in defaults.into_iter().chain(extra) {
            b = b.header(n, v);
        }
        b.body(()).map_err(|e| Failure {
            code: 2,
            message: format!("bad request: {e}"),
        })
    }

    async fn fetch(&mut self, t: &Target, body: Option<Bytes>) -> Result<(), Failure> {
        let client = self.connect(t).await?;
        let req = self.request(t, body.as_ref())?;
        let stream = client
            .send_request(req.clone())
            .await
            .map_err(|e| recv_failure(&e))?;
        self.trace(format!(
            "* [HTTP/3] [{}] OPENED stream for {}",
            stream.id(),
            t.url
        ));
        self.trace(format!("> {} {} HTTP/3", req.method(), t.path));
        self.trace(format!("> Host: {}", t.authority));
        for (n, v) in req.headers() {
            self.trace(format!(
                "> {}: {}",
                title_case(n.as_str()),
                v.to_str().unwrap_or("")
            ));
        }
        self.trace(">");
        if let Some(body) = body {
            let n = body.len();
            match stream.send_data(body).await {
                // RFC 9114 §4.1: the server answered without reading the whole body.
                Err(H3Error::Stream(e)) if e.kind == h3::StreamErrorKind::StoppedByPeer => {}
                r => {
                    r.map_err(|e| send_failure(&e))?;
                    self.trace(format!("* upload completely sent off: {n} bytes"));
                }
            }
        }
        stream.finish().map_err(|e| send_failure(&e))?;
        // Like curl, interim (1xx) header blocks are shown before the final one, in the
        // trace and in the output of -i / -I.
        let mut heads = Vec::new();
        while let Some(interim) = stream
            .recv_informational()
            .await
            .map_err(|e| recv_failure(&e))?
        {
            let head = head_block(interim.status().as_u16(), interim.headers());
            self.trace_head(&head);
            heads.push(head);
        }
        let resp = stream.recv_response().await.map_err(|e| recv_failure(&e))?;
        let status = resp.status().as_u16();
        let head = head_block(status, resp.headers());
        self.trace_head(&head);
        heads.push(head);
        if self.args.fail && status >= 400 {
            stream.reset(h3::Code::H3_REQUEST_CANCELLED);
            return fail(22, format!("The requested URL returned error: {status}"));
        }
        let mut out = open_output(&t.output)?;
        if self.args.include || self.args.head {
            for head in &heads {
                write_out(&mut out, head.as_bytes())?;
            }
        }
        let length = resp
            .headers()
            .get(http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
        if self.show_progress(&t.output) {
            self.progress = Some(Progress::new(length));
        }
        loop {
            let chunk = stream.recv_data().await.map_err(|e| recv_failure(&e))?;
            let Some(chunk) = chunk else { break };
            self.received += chunk.len() as u64;
            if let Some(p) = self.progress.as_mut() {
                p.add(chunk.len() as u64);
            }
            write_out(&mut out, &chunk)?;
        }
        if let Some(trailers) = stream.recv_trailers().await.map_err(|e| recv_failure(&e))? {
            for (n, v) in &trailers {
                self.trace(format!(
                    "< {}: {}",
                    n,
                    String::from_utf8_lossy(v.as_bytes())
                ));
            }
        }
        out.flush().map_err(|e| Failure {
            code: 23,
            message: format!("Failure writing output to destination: {e}"),
        })?;
        self.progress_done();
        if let Some((_, _, n)) = self.conns.get(&(t.host.clone(), t.port)) {
            self.trace(format!("* Connection #{n} to host {} left intact", t.host));
        }
        Ok(())
    }

    /// Traces a response's header block (`head_block`) as curl's `-v` does.
    fn trace_head(&self, head: &str) {
        if self.args.verbose {
            for line in head.trim_end_matches("\r\n").split("\r\n") {
                eprintln!("< {line}");
            }
            eprintln!("<");
        }
    }

    fn show_progress(&self, output: &Output) -> bool {
        !self.args.silent
            && !self.args.verbose
            && std::io::stderr().is_terminal()
            && (matches!(output, Output::File(_)) || !std::io::stdout().is_terminal())
    }

    fn progress_done(&mut self) {
        if let Some(p) = self.progress.take() {
            p.finish();
        }
    }
}

/// A response's status line and header fields as curl prints them, ending with an empty line.
fn head_block(status: u16, headers: &http::HeaderMap) -> String {
    let mut head = format!("HTTP/3 {status} \r\n");
    for (n, v) in headers {
        head.push_str(&format!(
            "{}: {}\r\n",
            n,
            String::from_utf8_lossy(v.as_bytes())
        ));
    }
    head.push_str("\r\n");
    head
}

fn title_case(name: &str) -> String {
    name.split('-')
        .map(|w| {
            let mut c = w.chars();
            match c.next() {
                Some(f) => f.to_ascii_uppercase().to_string() + c.as_str(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join("-")
}

fn read_data(d: &str) -> Result<Vec<u8>, Failure> {
    match d.strip_prefix('@') {
        Some("-") => {
            let mut v = Vec::new();
            std::io::Read::read_to_end(&mut std::io::stdin(), &mut v).map_err(|e| Failure {
                code: 26,
                message: format!("Failed to read stdin: {e}"),
            })?;
            Ok(v)
        }
        Some(path) => std::fs::read(path).map_err(|e| Failure {
            code: 26,
            message: format!("Failed to open/read local data from file/application: {path}: {e}"),
        }),
        None => Ok(d.as_bytes().to_vec()),
    }
}

fn open_output(o: &Output) -> Result<Box<dyn Write>, Failure> {
    match o {
        Output::Stdout => Ok(Box::new(std::io::stdout().lock())),
        Output::File(p) => match std::fs::File::create(p) {
            Ok(f) => Ok(Box::new(std::io::BufWriter::new(f))),
            Err(e) => fail(23, format!("Failed to open the file {}: {e}", p.display())),
        },
    }
}

fn write_out(out: &mut dyn Write, data: &[u8]) -> Result<(), Failure> {
    out.write_all(data).map_err(|e| Failure {
        code: 23,
        message: format!("Failure writing output to destination: {e}"),
    })
}

/// curl's codes for a failed connection attempt.
fn connect_failure(t: &Target, addr: SocketAddr, start: Instant, e: ConnectError) -> Failure {
    let after = start.elapsed().as_millis();
    let (code, why) = match &e {
        ConnectError::Connection(ConnectionError::LocalTransport(te)) => {
            match te.code.tls_alert() {
                // bad_certificate, unsupported_certificate, certificate_revoked,
                // certificate_expired, certificate_unknown, unknown_ca
                Some(42..=46) | Some(48) => {
                    return Failure {
                        code: 60,
                        message: format!(
                    "SSL certificate problem: unable to verify the server certificate of {} ({})",
                    t.host, te.reason
                ),
                    }
                }
                Some(_) => (35, format!("TLS connect error: {te}")),
                None => (7, te.to_string()),
            }
        }
        ConnectError::Connection(ConnectionError::PeerTransport(te)) => {
            if te.code.tls_alert().is_some() {
                (35, format!("TLS connect error: {te}"))
            } else {
                (7, te.to_string())
            }
        }
        ConnectError::Connection(ConnectionError::TimedOut) => {
            (7, "QUIC handshake timed out: no answer".to_string())
        }
        other => (7, other.to_string()),
    };
    if code == 35 {
        return Failure { code, message: why };
    }
    Failure {
        code,
        message: format!(
            "Failed to connect to {} port {} after {after} ms: {why} ({addr})",
            t.host, t.port
        ),
    }
}

fn send_failure(e: &H3Error) -> Failure {
    Failure {
        code: 55,
        message: format!("Failed sending data to the peer: {e}"),
    }
}

fn recv_failure(e: &H3Error) -> Failure {
    let code = match e {
        H3Error::Transport(ConnectionError::TimedOut) => 28,
        _ => 56,
    };
    Failure {
        code,
        message: format!("Failure when receiving data from the peer: {e}"),
    }
}

/// A download progress bar on stderr (curl's `-#` look).
struct Progress {
    total: Option<u64>,
    done: u64,
    last: Instant,
    start: Instant,
}

impl Progress {
    fn new(total: Option<u64>) -> Self {
        let p = Self {
            total,
            done: 0,
            last: Instant::now(),
            start: Instant::now(),
        };
        p.draw();
        p
    }

    fn add(&mut self, n: u64) {
        self.done += n;
        if self.last.elapsed() >= Duration::from_millis(100) {
            self.last = Instant::now();
            self.draw();
        }
    }

    fn draw(&self) {
        const WIDTH: usize = 50;
        let rate = self.done as f64 / self.start.elapsed().as_secs_f64().max(0.001);
        let line = match self.total {
            Some(total) if total > 0 => {
                let frac = (self.done as f64 / total as f64).min(1.0);
                let filled = (frac * WIDTH as f64) as usize;
                format!(
                    "\r{}{} {:5.1}% {} {}/s",
                    "#".repeat(filled),
                    " ".repeat(WIDTH - filled),
                    frac * 100.0,
                    human(self.done),
                    human(rate as u64)
                )
            }
            _ => format!(
                "\r{:>10} received {}/s",
                human(self.done),
                human(rate as u64)
            ),
        };
        let mut err = std::io::stderr().lock();
        let _ = err.write_all(line.as_bytes());
        let _ = err.flush();
    }

    fn finish(self) {
        self.draw();
        eprintln!();
    }
}

fn human(n: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

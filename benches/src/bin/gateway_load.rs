//! `gateway_load`: a closed-loop HTTP load generator for small GETs over HTTP/2 (hyper +
//! tokio-rustls) or HTTP/3 (our `h3::asynch` client on `quic::runtime`), on one connection
//! with N concurrent streams. It prints one table row per stream count:
//! `target | protocol | streams | rps | p50 | p99 | cpu/req | client/req | errors`.
//!
//! ```text
//! gateway_load --protocol h3 --connect 127.0.0.1:8443 --cacert ca.crt --streams 1,64 \
//!     --target gateway https://bench.quic-corp.com:8443/small
//! ```
//!
//! Each stream count gets a fresh connection. Every stream runs GET → full response body →
//! next GET ("closed loop": the offered load is whatever the server sustains, so latency and
//! throughput are two views of the same run). Requests started during `--warmup` are not
//! recorded; afterwards every request that starts and completes inside the `--duration`
//! window is, with its latency from before the request is sent to the end of its body.
//! Percentiles come from the exact sorted samples (nearest rank), not from a bucketed
//! histogram: a 10-second run keeps a few hundred thousand `u64` nanosecond values (a few
//! MB), and exact values need no precision argument.
//!
//! `--cpu-pid` (repeatable) names the server's processes (e.g. nginx's workers): their CPU
//! time (user + system, from `/proc/<pid>/stat`, all threads) over the same window divided by
//! the requests recorded gives `cpu/req`, the server's CPU cost per request. On a machine the
//! load generator shares with the servers, that is a steadier comparison than rps alone.
//! `client/req` is the same for this process: the HTTP/2 and HTTP/3 clients differ in cost,
//! and on a small machine what the client burns the server does not get.
//!
//! This is a benchmark tool: it only checks that each response is a 200 with a body, never
//! how fast it came. `benches/gateway-vs-nginx.sh` runs it against the gateway and nginx.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use clap::{Parser, ValueEnum};
use http::{Request, StatusCode, Uri};
use http_body_util::{BodyExt, Empty};
use hyper::client::conn::http2::SendRequest;
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::pki_types::ServerName;
use tokio::net::TcpStream;
use tokio::task::JoinSet;

/// Closed-loop load generator: rps and p50/p99 latency of small GETs over HTTP/2 or HTTP/3.
#[derive(Parser, Debug)]
#[command(name = "gateway_load")]
struct Args {
    /// The URL to GET (https://host[:port]/path); host is the SNI and :authority.
    url: Uri,
    /// HTTP version (one connection: TLS over TCP with ALPN h2, or QUIC with ALPN h3).
    #[arg(long, value_enum)]
    protocol: Protocol,
    /// Address to connect to instead of resolving the URL's host.
    #[arg(long)]
    connect: Option<SocketAddr>,
    /// PEM file of CA certificates to trust.
    #[arg(long)]
    cacert: PathBuf,
    /// Concurrent streams on the connection; comma-separated for several runs.
    #[arg(long, value_delimiter = ',', default_values_t = [1usize, 64])]
    streams: Vec<usize>,
    /// Measured seconds per run.
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Seconds of load before measuring (connection warm-up, congestion window, pools).
    #[arg(long, default_value_t = 2.0)]
    warmup: f64,
    /// Label of the target in the table (e.g. gateway, nginx).
    #[arg(long, default_value = "-")]
    target: String,
    /// Print the table header first.
    #[arg(long)]
    header: bool,
    /// Processes whose CPU time per request is reported (the server under test).
    #[arg(long = "cpu-pid")]
    cpu_pids: Vec<u32>,
    /// Worker threads of the load generator's runtime (the machine is shared with the
    /// servers under test, so keep it small).
    #[arg(long, default_value_t = 1)]
    threads: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Protocol {
    H2,
    H3,
}

impl Protocol {
    fn name(self) -> &'static str {
        match self {
            Protocol::H2 => "h2",
            Protocol::H3 => "h3",
        }
    }
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// One connection, shared by every stream task.
#[derive(Clone)]
enum Conn {
    H2(SendRequest<Empty<Bytes>>),
    H3(h3::asynch::Client),
}

/// What one stream task measured.
#[derive(Default)]
struct TaskResult {
    /// Latencies in nanoseconds of the requests inside the window.
    samples: Vec<u64>,
    errors: u64,
    first_error: Option<String>,
}

/// One run's numbers.
struct Summary {
    rps: f64,
    /// CPU time of `--cpu-pid` processes per recorded request, when known.
    cpu_per_request: Option<Duration>,
    /// This process's CPU time per recorded request, when known.
    client_cpu_per_request: Option<Duration>,
    p50: Duration,
    p99: Duration,
    errors: u64,
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.threads.max(1))
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("gateway_load: tokio runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gateway_load: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<(), BoxError> {
    let host = args.url.host().ok_or("the URL has no host")?.to_string();
    if args.url.scheme_str() != Some("https") {
        return Err("the URL must be https://".into());
    }
    let port = args.url.port_u16().unwrap_or(443);
    let addr = match args.connect {
        Some(a) => a,
        None => tokio::net::lookup_host((host.as_str(), port))
            .await?
            .next()
            .ok_or_else(|| format!("{host} does not resolve"))?,
    };
    if !(args.duration > 0.0 && args.warmup >= 0.0) {
        return Err("--duration must be > 0 and --warmup >= 0".into());
    }
    let warmup = Duration::from_secs_f64(args.warmup);
    let duration = Duration::from_secs_f64(args.duration);
    if args.header {
        println!(
            "{:<10} | {:<8} | {:>7} | {:>9} | {:>9} | {:>9} | {:>10} | {:>10} | {:>6}",
            "target",
            "protocol",
            "streams",
            "rps",
            "p50 ms",
            "p99 ms",
            "cpu us/req",
            "client us",
            "errors"
        );
        println!("{}", "-".repeat(10 + 8 + 7 + 9 * 3 + 10 * 2 + 6 + 3 * 8));
    }
    for &streams in &args.streams {
        if streams == 0 {
            return Err("--streams must be at least 1".into());
        }
        let summary = match args.protocol {
            Protocol::H2 => {
                let (send, conn_task) = connect_h2(addr, &host, &args.cacert).await?;
                let s = measure(
                    Conn::H2(send),
                    &args.url,
                    streams,
                    warmup,
                    duration,
                    &args.cpu_pids,
                )
                .await;
                conn_task.abort();
                s
            }
            Protocol::H3 => {
                let (endpoint, client) = connect_h3(addr, &host, &args.cacert).await?;
                let s = measure(
                    Conn::H3(client.clone()),
                    &args.url,
                    streams,
                    warmup,
                    duration,
                    &args.cpu_pids,
                )
                .await;
                // A graceful close, bounded: the numbers are already taken.
                let _ = tokio::time::timeout(Duration::from_secs(2), client.shutdown()).await;
                endpoint.close(quic::VarInt::from_u32(0), b"");
                s
            }
        };
        println!(
            "{:<10} | {:<8} | {:>7} | {:>9.0} | {:>9.3} | {:>9.3} | {:>10} | {:>10} | {:>6}",
            args.target,
            args.protocol.name(),
            streams,
            summary.rps,
            summary.p50.as_secs_f64() * 1e3,
            summary.p99.as_secs_f64() * 1e3,
            micros(summary.cpu_per_request),
            micros(summary.client_cpu_per_request),
            summary.errors
        );
    }
    Ok(())
}

/// TLS over TCP (ALPN h2 only) and an HTTP/2 client connection; the connection's I/O runs
/// on its own task.
async fn connect_h2(
    addr: SocketAddr,
    host: &str,
    cacert: &std::path::Path,
) -> Result<(SendRequest<Empty<Bytes>>, tokio::task::JoinHandle<()>), BoxError> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in quic::tls::load_certs(cacert)? {
        roots.add(cert)?;
    }
    let mut tls = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()?
    .with_root_certificates(roots)
    .with_no_client_auth();
    tls.alpn_protocols = vec![b"h2".to_vec()];
    let tcp = TcpStream::connect(addr).await?;
    // Small requests and responses: Nagle would add its delay to every one of them.
    tcp.set_nodelay(true)?;
    let name = ServerName::try_from(host.to_string())?;
    let stream = tokio_rustls::TlsConnector::from(Arc::new(tls))
        .connect(name, tcp)
        .await?;
    if stream.get_ref().1.alpn_protocol() != Some(b"h2") {
        return Err(format!("{addr}: the server did not agree on ALPN h2").into());
    }
    let (send, conn) = hyper::client::conn::http2::Builder::new(TokioExecutor::new())
        .handshake(TokioIo::new(stream))
        .await?;
    let task = tokio::spawn(async move {
        if let Err(e) = conn.await {
            eprintln!("gateway_load: HTTP/2 connection: {e}");
        }
    });
    Ok((send, task))
}

/// A QUIC connection (ALPN h3) on its own client endpoint, with HTTP/3 on it.
async fn connect_h3(
    addr: SocketAddr,
    host: &str,
    cacert: &std::path::Path,
) -> Result<(quic::runtime::Endpoint, h3::asynch::Client), BoxError> {
    use quic::tls::{CipherSuites, ServerVerification};
    let tls = quic::tls::client_config(
        &ServerVerification::CaFile(cacert.to_path_buf()),
        &[b"h3"],
        CipherSuites::All,
    )?;
    let config = quic::connection::ClientConfig::new(tls);
    let bind: SocketAddr = if addr.is_ipv6() {
        "[::]:0".parse()?
    } else {
        "0.0.0.0:0".parse()?
    };
    let endpoint = quic::runtime::Endpoint::client(bind)?;
    let conn = tokio::time::timeout(
        Duration::from_secs(10),
        endpoint.connect(addr, host, &config),
    )
    .await
    .map_err(|_| format!("{addr}: QUIC handshake timed out"))??;
    let client = h3::asynch::Client::new(conn, h3::Config::default());
    Ok((endpoint, client))
}

/// Runs `streams` closed-loop tasks for warm-up + duration and summarises the window.
async fn measure(
    conn: Conn,
    url: &Uri,
    streams: usize,
    warmup: Duration,
    duration: Duration,
    cpu_pids: &[u32],
) -> Summary {
    let start = Instant::now() + warmup;
    let end = start + duration;
    // CPU of the server and of this process over exactly the window the samples come from.
    let cpu_window = {
        let pids = cpu_pids.to_vec();
        tokio::spawn(async move {
            let own = [std::process::id()];
            tokio::time::sleep_until(start.into()).await;
            let before = (cpu_time(&pids), cpu_time(&own));
            tokio::time::sleep_until(end.into()).await;
            let after = (cpu_time(&pids), cpu_time(&own));
            let server = match (pids.is_empty(), before.0, after.0) {
                (false, Some(b), Some(a)) => a.checked_sub(b),
                _ => None,
            };
            let client = match (before.1, after.1) {
                (Some(b), Some(a)) => a.checked_sub(b),
                _ => None,
            };
            (server, client)
        })
    };
    let mut tasks = JoinSet::new();
    for _ in 0..streams {
        let conn = conn.clone();
        let url = url.clone();
        tasks.spawn(stream_loop(conn, url, start, end));
    }
    let mut samples = Vec::new();
    let mut errors = 0;
    let mut first_error = None;
    while let Some(r) = tasks.join_next().await {
        match r {
            Ok(t) => {
                samples.extend(t.samples);
                errors += t.errors;
                if first_error.is_none() {
                    first_error = t.first_error;
                }
            }
            Err(e) => {
                errors += 1;
                first_error.get_or_insert_with(|| format!("task: {e}"));
            }
        }
    }
    if let Some(e) = first_error {
        eprintln!("gateway_load: {errors} error(s), the first: {e}");
    }
    samples.sort_unstable();
    let (server_cpu, client_cpu) = cpu_window.await.unwrap_or((None, None));
    let per_request = |cpu: Option<Duration>| {
        cpu.filter(|_| !samples.is_empty())
            .map(|c| c / samples.len() as u32)
    };
    Summary {
        cpu_per_request: per_request(server_cpu),
        client_cpu_per_request: per_request(client_cpu),
        rps: samples.len() as f64 / duration.as_secs_f64(),
        p50: percentile(&samples, 50.0),
        p99: percentile(&samples, 99.0),
        errors,
    }
}

/// Microseconds with one decimal, or `-`.
fn micros(d: Option<Duration>) -> String {
    d.map_or("-".to_string(), |d| format!("{:.1}", d.as_secs_f64() * 1e6))
}

/// User + system CPU time so far of every thread of `pids` (`/proc/<pid>/stat` fields 14
/// and 15, in clock ticks); `None` if a process is gone or `/proc` is not Linux's.
fn cpu_time(pids: &[u32]) -> Option<Duration> {
    // SAFETY: sysconf only reads a configuration value.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if hz <= 0 {
        return None;
    }
    let mut ticks = 0u64;
    for pid in pids {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        // The command name (field 2) is in parentheses and may hold spaces: count fields
        // after its closing parenthesis, where field 3 (state) is the first.
        let rest = &stat[stat.rfind(')')? + 1..];
        let mut fields = rest.split_ascii_whitespace().skip(11);
        let utime: u64 = fields.next()?.parse().ok()?;
        let stime: u64 = fields.next()?.parse().ok()?;
        ticks += utime + stime;
    }
    Some(Duration::from_secs_f64(ticks as f64 / hz as f64))
}

/// Nearest-rank percentile of sorted nanosecond samples (zero when there are none).
fn percentile(sorted: &[u64], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    Duration::from_nanos(sorted[rank.clamp(1, sorted.len()) - 1])
}

/// One stream: GET after GET until `end`, recording requests that start at or after `start`
/// and finish by `end`.
async fn stream_loop(conn: Conn, url: Uri, start: Instant, end: Instant) -> TaskResult {
    let mut result = TaskResult::default();
    loop {
        let sent = Instant::now();
        if sent >= end {
            break;
        }
        let outcome = match &conn {
            Conn::H2(send) => get_h2(send.clone(), &url).await,
            Conn::H3(client) => get_h3(client, &url).await,
        };
        let done = Instant::now();
        match outcome {
            Ok(()) => {
                if sent >= start && done <= end {
                    result.samples.push((done - sent).as_nanos() as u64);
                }
            }
            Err(e) => {
                result.errors += 1;
                result.first_error.get_or_insert_with(|| e.to_string());
                let closed = match &conn {
                    Conn::H2(send) => send.is_closed(),
                    Conn::H3(client) => client.connection().close_reason().is_some(),
                };
                if closed {
                    break;
                }
            }
        }
    }
    result
}

async fn get_h2(mut send: SendRequest<Empty<Bytes>>, url: &Uri) -> Result<(), BoxError> {
    send.ready().await?;
    let req = Request::get(url.clone()).body(Empty::<Bytes>::new())?;
    let resp = send.send_request(req).await?;
    let status = resp.status();
    let body = resp.into_body().collect().await?.to_bytes();
    check(status, body.len())
}

async fn get_h3(client: &h3::asynch::Client, url: &Uri) -> Result<(), BoxError> {
    let req = Request::get(url.clone()).body(())?;
    let stream = client.send_request(req).await?;
    stream.finish()?;
    let resp = stream.recv_response().await?;
    let mut len = 0;
    while let Some(chunk) = stream.recv_data().await? {
        len += chunk.len();
    }
    check(resp.status(), len)
}

/// A run that measured error pages would be meaningless: only a 200 with a body counts.
fn check(status: StatusCode, body_len: usize) -> Result<(), BoxError> {
    if status != StatusCode::OK {
        return Err(format!("status {status}").into());
    }
    if body_len == 0 {
        return Err("empty body".into());
    }
    Ok(())
}

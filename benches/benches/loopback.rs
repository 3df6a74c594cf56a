//! Our runtime against quinn over real UDP sockets on 127.0.0.1, back to back in one run so
//! that machine load affects both alike. Prints one table: ours, quinn, and ours/quinn.
//!
//! - `transfer`: `--bytes` (default 1 GiB) over one unidirectional stream, client to server,
//!   the server discarding what it reads; wall-clock throughput and process CPU (getrusage,
//!   user + system, client and server in this one process) per GiB.
//! - `handshakes`: `--handshakes` (default 2,000) full 1-RTT handshakes (ECDSA P-256 leaf,
//!   session resumption off) against one server endpoint from 64 concurrent tasks on one
//!   client endpoint, each connect → close; handshakes per second and CPU per handshake.
//! - `memory`: `--connections` (default 10,000) idle connections to one server endpoint. The
//!   server and the clients run in two child processes (this binary re-executed), so each
//!   side's resident-set growth is measured on its own, free of what the other benchmarks
//!   left in this process's heap; reported as KiB per connection for each side.
//!
//! `cargo bench -p benches --bench loopback [-- transfer|handshakes|memory|all]
//! [--bytes N] [--handshakes N] [--connections N] [--rounds N] [--stack ours|quinn]`
//!
//! Transfer and handshakes run `--rounds` (default 2) rounds, the order of the stacks
//! alternating (ABBA), and report each stack's best round (the least disturbed by other load);
//! every round is logged on stderr. All benchmark tasks run on a multi-thread tokio runtime
//! with one worker per CPU. `--stack` runs one stack alone (for profiling).
//!
//! Both stacks use the same certificate, ALPN, cipher suite (TLS_AES_128_GCM_SHA256), 1452-byte
//! UDP payloads from the start (quinn: `initial_mtu(1452)`, its PMTUD upper bound is 1452 too),
//! stream/connection windows and send buffers, CUBIC, and UDP socket buffers (8 MiB asked with
//! SO_SNDBUFFORCE/SO_RCVBUFFORCE, the way our runtime sets them). This is a benchmark: it only
//! checks that the data arrived, never how fast.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use quic::connection::TransportConfig;
use quic::stream::StreamsConfig;
use quic::testing::pair;
use tokio::task::JoinSet;

#[path = "support/quinn_tls.rs"]
mod quinn_tls;

const ALPN: &[u8] = b"bench";
const SERVER_NAME: &str = "localhost";
/// UDP payload size for both stacks: what loopback (and most networks) carry.
const MTU: u16 = 1452;
const STREAM_WINDOW: u64 = 16 << 20;
const CONN_WINDOW: u64 = 24 << 20;
const SEND_BUFFER: u64 = 16 << 20;
/// Socket buffer size asked for, as our runtime's UDP layer does.
const SOCKET_BUFFER: usize = 8 << 20;
/// Size of each write in the transfer.
const CHUNK: usize = 1 << 20;
const WARMUP_BYTES: u64 = 64 << 20;
const CONCURRENCY: usize = 64;
/// Client endpoints (sockets) the memory benchmark spreads its connections over.
const MEMORY_CLIENT_ENDPOINTS: usize = 8;
/// Connections opened before the memory baseline is taken (one-time allocations).
const MEMORY_WARMUP: usize = 64;
const GIB: f64 = (1u64 << 30) as f64;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stack {
    Ours,
    Quinn,
}

impl Stack {
    const BOTH: [Stack; 2] = [Stack::Ours, Stack::Quinn];

    fn name(self) -> &'static str {
        match self {
            Stack::Ours => "ours",
            Stack::Quinn => "quinn",
        }
    }

    fn parse(s: &str) -> Stack {
        match s {
            "ours" => Stack::Ours,
            "quinn" => Stack::Quinn,
            _ => panic!("unknown stack {s:?}"),
        }
    }
}

fn localhost() -> SocketAddr {
    "127.0.0.1:0".parse().expect("address")
}

// ---------------------------------------------------------------------------------------------
// Measurements

fn cpu_seconds() -> f64 {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage fills the struct it is given; RUSAGE_SELF is always valid, and the
    // zeroed struct is a valid rusage even if the call failed.
    let usage = unsafe {
        libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr());
        usage.assume_init()
    };
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

/// This process's resident set size in bytes (VmRSS).
fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .expect("VmRSS in /proc/self/status")
        * 1024
}

/// Sets an int socket option; whether the kernel accepted it.
fn set_int_option(socket: &UdpSocket, name: libc::c_int, value: libc::c_int) -> bool {
    // SAFETY: the fd is a live socket owned by `socket`; the option value points at a c_int of
    // the length given.
    let r = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::SOL_SOCKET,
            name,
            (&value as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    r == 0
}

fn get_int_option(socket: &UdpSocket, name: libc::c_int) -> usize {
    let mut value: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: the fd is a live socket owned by `socket`; value and len are valid for writes of
    // the sizes given.
    let r = unsafe {
        libc::getsockopt(
            socket.as_raw_fd(),
            libc::SOL_SOCKET,
            name,
            (&mut value as *mut libc::c_int).cast(),
            &mut len,
        )
    };
    if r == 0 {
        value as usize
    } else {
        0
    }
}

/// A UDP socket with buffers set up as our runtime does (forced when privileged).
fn quinn_socket(addr: SocketAddr) -> UdpSocket {
    let socket = UdpSocket::bind(addr).expect("bind UDP socket");
    let size = SOCKET_BUFFER as libc::c_int;
    if !(set_int_option(&socket, libc::SO_SNDBUFFORCE, size)
        && set_int_option(&socket, libc::SO_RCVBUFFORCE, size))
    {
        set_int_option(&socket, libc::SO_SNDBUF, size);
        set_int_option(&socket, libc::SO_RCVBUF, size);
    }
    socket
}

// ---------------------------------------------------------------------------------------------
// Configuration

fn ours_transport(idle: Duration) -> TransportConfig {
    TransportConfig {
        max_idle_timeout: idle,
        max_datagram_size: MTU,
        streams: StreamsConfig {
            stream_receive_window: STREAM_WINDOW,
            max_stream_receive_window: STREAM_WINDOW,
            receive_window: CONN_WINDOW,
            max_receive_window: CONN_WINDOW,
            stream_send_buffer: SEND_BUFFER,
            send_buffer: SEND_BUFFER,
            ..StreamsConfig::default()
        },
        ..TransportConfig::default()
    }
}

fn ours_server_config(idle: Duration) -> quic::connection::ServerConfig {
    pair::server_config(&[ALPN], ours_transport(idle))
}

/// The client configuration, with session resumption off so that every handshake is a full
/// one (certificate and signature).
fn ours_client_config(idle: Duration) -> quic::connection::ClientConfig {
    let mut config = pair::client_config(&[ALPN], ours_transport(idle));
    let mut tls = (*config.tls).clone();
    tls.resumption = rustls::client::Resumption::disabled();
    config.tls = Arc::new(tls);
    config
}

fn quinn_transport(idle: Duration) -> Arc<quinn::TransportConfig> {
    let mut t = quinn::TransportConfig::default();
    t.max_idle_timeout(Some(idle.try_into().expect("idle timeout fits")))
        .initial_mtu(MTU)
        .stream_receive_window(quinn::VarInt::from_u64(STREAM_WINDOW).expect("fits"))
        .receive_window(quinn::VarInt::from_u64(CONN_WINDOW).expect("fits"))
        .send_window(SEND_BUFFER);
    Arc::new(t)
}

fn quinn_server_config(idle: Duration) -> quinn::ServerConfig {
    let mut config = quinn::ServerConfig::with_crypto(quinn_tls::server_crypto(ALPN));
    config.transport_config(quinn_transport(idle));
    config
}

fn quinn_client_config(idle: Duration) -> quinn::ClientConfig {
    let mut config = quinn::ClientConfig::new(quinn_tls::client_crypto(ALPN));
    config.transport_config(quinn_transport(idle));
    config
}

fn quinn_endpoint(server: Option<quinn::ServerConfig>) -> quinn::Endpoint {
    quinn::Endpoint::new(
        quinn::EndpointConfig::default(),
        server,
        quinn_socket(localhost()),
        quinn::default_runtime().expect("inside tokio"),
    )
    .expect("quinn endpoint")
}

/// Socket buffer sizes (send, receive) the kernel granted each stack.
fn socket_buffers() -> [(usize, usize); 2] {
    let ours = quic::runtime::udp::UdpSocket::bind(localhost())
        .expect("bind")
        .buffer_sizes();
    let socket = quinn_socket(localhost());
    let quinn = (
        get_int_option(&socket, libc::SO_SNDBUF),
        get_int_option(&socket, libc::SO_RCVBUF),
    );
    [ours, quinn]
}

// ---------------------------------------------------------------------------------------------
// Transfer

struct Transfer {
    wall: Duration,
    cpu: f64,
    /// I/O counters, for the log.
    detail: String,
}

const TRANSFER_IDLE: Duration = Duration::from_secs(30);

async fn transfer(stack: Stack, bytes: u64) -> Transfer {
    match stack {
        Stack::Ours => transfer_ours(bytes).await,
        Stack::Quinn => transfer_quinn(bytes).await,
    }
}

async fn transfer_ours(bytes: u64) -> Transfer {
    use quic::runtime::Endpoint;
    let server =
        Endpoint::server(localhost(), ours_server_config(TRANSFER_IDLE)).expect("server endpoint");
    let addr = server.local_addr();
    let accept = server.clone();
    let reader = tokio::spawn(async move {
        let conn = accept.accept().await.expect("incoming connection");
        let mut stream = conn.accept_uni().await.expect("incoming stream");
        let mut received = 0u64;
        while let Some(chunk) = stream.read_chunk(usize::MAX).await.expect("read") {
            received += chunk.len() as u64;
        }
        (received, conn)
    });
    let client = Endpoint::client(localhost()).expect("client endpoint");
    let conn = client
        .connect(addr, SERVER_NAME, &ours_client_config(TRANSFER_IDLE))
        .await
        .expect("handshake");
    let data = Bytes::from(vec![0xab; CHUNK]);
    let (cpu0, wall0) = (cpu_seconds(), Instant::now());
    let mut stream = conn.open_uni().await.expect("open stream");
    let mut sent = 0u64;
    while sent < bytes {
        let n = (bytes - sent).min(CHUNK as u64) as usize;
        stream.write_chunk(data.slice(..n)).await.expect("write");
        sent += n as u64;
    }
    stream.finish().expect("finish");
    let (received, server_conn) = reader.await.expect("reader task");
    let (wall, cpu) = (wall0.elapsed(), cpu_seconds() - cpu0);
    assert_eq!(received, bytes, "bytes received == bytes sent");
    let (tx, rx) = (client.stats(), server.stats());
    let detail = format!(
        "client sent {} datagrams in {} sends ({} GSO), {} lost; server received {} datagrams \
         in {} recv calls ({} GRO messages)",
        tx.datagrams_sent,
        tx.transmits,
        tx.gso_transmits,
        conn.stats().packets_lost,
        rx.datagrams_received,
        rx.recv_calls,
        rx.gro_messages,
    );
    let result = Transfer { wall, cpu, detail };
    drop((stream, server_conn));
    conn.close(quic::VarInt::from_u32(0), b"done");
    let _ = tokio::time::timeout(Duration::from_secs(1), client.wait_idle()).await;
    server.close(quic::VarInt::from_u32(0), b"done");
    result
}

async fn transfer_quinn(bytes: u64) -> Transfer {
    let server = quinn_endpoint(Some(quinn_server_config(TRANSFER_IDLE)));
    let addr = server.local_addr().expect("address");
    let accept = server.clone();
    let reader = tokio::spawn(async move {
        let incoming = accept.accept().await.expect("incoming connection");
        let conn = incoming.await.expect("handshake");
        let mut stream = conn.accept_uni().await.expect("incoming stream");
        let mut received = 0u64;
        while let Some(chunk) = stream.read_chunk(usize::MAX, true).await.expect("read") {
            received += chunk.bytes.len() as u64;
        }
        (received, conn)
    });
    let client = quinn_endpoint(None);
    let conn = client
        .connect_with(quinn_client_config(TRANSFER_IDLE), addr, SERVER_NAME)
        .expect("connect")
        .await
        .expect("handshake");
    let data = Bytes::from(vec![0xab; CHUNK]);
    let (cpu0, wall0) = (cpu_seconds(), Instant::now());
    let mut stream = conn.open_uni().await.expect("open stream");
    let mut sent = 0u64;
    while sent < bytes {
        let n = (bytes - sent).min(CHUNK as u64) as usize;
        stream.write_chunk(data.slice(..n)).await.expect("write");
        sent += n as u64;
    }
    stream.finish().expect("finish");
    let (received, server_conn) = reader.await.expect("reader task");
    let (wall, cpu) = (wall0.elapsed(), cpu_seconds() - cpu0);
    assert_eq!(received, bytes, "bytes received == bytes sent");
    let (tx, rx) = (conn.stats(), server_conn.stats());
    let detail = format!(
        "client sent {} datagrams in {} I/O operations, {} lost; server received {} datagrams \
         in {} I/O operations",
        tx.udp_tx.datagrams,
        tx.udp_tx.ios,
        tx.path.lost_packets,
        rx.udp_rx.datagrams,
        rx.udp_rx.ios,
    );
    let result = Transfer { wall, cpu, detail };
    drop((stream, server_conn));
    conn.close(quinn::VarInt::from_u32(0), b"done");
    let _ = tokio::time::timeout(Duration::from_secs(1), client.wait_idle()).await;
    server.close(quinn::VarInt::from_u32(0), b"done");
    result
}

// ---------------------------------------------------------------------------------------------
// Handshakes

struct Handshakes {
    wall: Duration,
    cpu: f64,
}

const HANDSHAKE_IDLE: Duration = Duration::from_secs(10);

async fn handshakes(stack: Stack, n: usize) -> Handshakes {
    match stack {
        Stack::Ours => handshakes_ours(n).await,
        Stack::Quinn => handshakes_quinn(n).await,
    }
}

async fn handshakes_ours(n: usize) -> Handshakes {
    use quic::runtime::Endpoint;
    let server =
        Endpoint::server(localhost(), ours_server_config(HANDSHAKE_IDLE)).expect("server endpoint");
    let addr = server.local_addr();
    let client = Endpoint::client(localhost()).expect("client endpoint");
    let config = ours_client_config(HANDSHAKE_IDLE);
    let (cpu0, wall0) = (cpu_seconds(), Instant::now());
    let accept = server.clone();
    let acceptor = tokio::spawn(async move {
        let mut held = JoinSet::new();
        for _ in 0..n {
            let conn = accept.accept().await.expect("incoming connection");
            // The server keeps the connection until the client closes it.
            held.spawn(async move { conn.closed().await });
        }
        while let Some(r) = held.join_next().await {
            r.expect("server connection task");
        }
    });
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = JoinSet::new();
    for _ in 0..CONCURRENCY.min(n) {
        let (client, config, next) = (client.clone(), config.clone(), next.clone());
        tasks.spawn(async move {
            while next.fetch_add(1, Ordering::Relaxed) < n {
                let conn = client
                    .connect(addr, SERVER_NAME, &config)
                    .await
                    .expect("handshake");
                conn.close(quic::VarInt::from_u32(0), b"");
            }
        });
    }
    while let Some(r) = tasks.join_next().await {
        r.expect("client task");
    }
    acceptor.await.expect("acceptor");
    let result = Handshakes {
        wall: wall0.elapsed(),
        cpu: cpu_seconds() - cpu0,
    };
    server.close(quic::VarInt::from_u32(0), b"");
    client.close(quic::VarInt::from_u32(0), b"");
    let _ = tokio::time::timeout(Duration::from_secs(2), client.wait_idle()).await;
    let _ = tokio::time::timeout(Duration::from_secs(2), server.wait_idle()).await;
    result
}

async fn handshakes_quinn(n: usize) -> Handshakes {
    let server = quinn_endpoint(Some(quinn_server_config(HANDSHAKE_IDLE)));
    let addr = server.local_addr().expect("address");
    let client = quinn_endpoint(None);
    let config = quinn_client_config(HANDSHAKE_IDLE);
    let (cpu0, wall0) = (cpu_seconds(), Instant::now());
    let accept = server.clone();
    let acceptor = tokio::spawn(async move {
        let mut pending = JoinSet::new();
        for _ in 0..n {
            let incoming = accept.accept().await.expect("incoming connection");
            // Each handshake runs in its own task, as a quinn server normally does; the server
            // keeps the connection until the client closes it.
            pending.spawn(async move { incoming.await.expect("handshake").closed().await });
        }
        while let Some(r) = pending.join_next().await {
            r.expect("handshake task");
        }
    });
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = JoinSet::new();
    for _ in 0..CONCURRENCY.min(n) {
        let (client, config, next) = (client.clone(), config.clone(), next.clone());
        tasks.spawn(async move {
            while next.fetch_add(1, Ordering::Relaxed) < n {
                let conn = client
                    .connect_with(config.clone(), addr, SERVER_NAME)
                    .expect("connect")
                    .await
                    .expect("handshake");
                conn.close(quinn::VarInt::from_u32(0), b"");
            }
        });
    }
    while let Some(r) = tasks.join_next().await {
        r.expect("client task");
    }
    acceptor.await.expect("acceptor");
    let result = Handshakes {
        wall: wall0.elapsed(),
        cpu: cpu_seconds() - cpu0,
    };
    server.close(quinn::VarInt::from_u32(0), b"");
    client.close(quinn::VarInt::from_u32(0), b"");
    let _ = tokio::time::timeout(Duration::from_secs(2), client.wait_idle()).await;
    let _ = tokio::time::timeout(Duration::from_secs(2), server.wait_idle()).await;
    result
}

// ---------------------------------------------------------------------------------------------
// Memory: server and clients in child processes
//
// Each child answers a line `stat` on stdin with `<connections> <rss bytes>` on stdout and
// exits at EOF. The server child first prints `port <port>`; the client child opens its
// warm-up connections, prints `warm`, waits for `go`, opens the rest and prints `done`.

/// Idle timeout for the memory benchmark: longer than the run.
const MEMORY_IDLE: Duration = Duration::from_secs(600);

/// Connections a child holds, kept alive (dropping a handle closes it).
type Held<T> = Arc<Mutex<Vec<T>>>;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// Answers `stat` lines until stdin closes, or until `until` is seen.
fn serve_stats(count: impl Fn() -> usize, until: Option<&str>) {
    let mut out = std::io::stdout().lock();
    for line in std::io::stdin().lock().lines() {
        let line = line.expect("stdin");
        match line.trim() {
            "stat" => writeln!(out, "{} {}", count(), rss_bytes()).expect("stdout"),
            l if Some(l) == until => return,
            other => panic!("unknown command {other:?}"),
        }
        out.flush().expect("stdout");
    }
}

fn memory_server_child(stack: Stack) {
    let rt = runtime();
    let count = Arc::new(AtomicUsize::new(0));
    let port = match stack {
        Stack::Ours => {
            let _guard = rt.enter();
            let server =
                quic::runtime::Endpoint::server(localhost(), ours_server_config(MEMORY_IDLE))
                    .expect("server endpoint");
            let port = server.local_addr().port();
            let held: Held<quic::runtime::Connection> = Arc::default();
            let count = count.clone();
            rt.spawn(async move {
                while let Some(conn) = server.accept().await {
                    held.lock().expect("lock").push(conn);
                    count.fetch_add(1, Ordering::Relaxed);
                }
            });
            port
        }
        Stack::Quinn => {
            let _guard = rt.enter();
            let server = quinn_endpoint(Some(quinn_server_config(MEMORY_IDLE)));
            let port = server.local_addr().expect("address").port();
            let held: Held<quinn::Connection> = Arc::default();
            let count = count.clone();
            rt.spawn(async move {
                while let Some(incoming) = server.accept().await {
                    let (held, count) = (held.clone(), count.clone());
                    tokio::spawn(async move {
                        let conn = incoming.await.expect("handshake");
                        held.lock().expect("lock").push(conn);
                        count.fetch_add(1, Ordering::Relaxed);
                    });
                }
            });
            port
        }
    };
    println!("port {port}");
    serve_stats(|| count.load(Ordering::Relaxed), None);
}

/// Opens `n` connections to `port` over `endpoints` client endpoints, 64 at a time, holding
/// them in `held`.
async fn open_connections(stack: Stack, port: u16, n: usize, endpoints: &Endpoints) {
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = JoinSet::new();
    for _ in 0..CONCURRENCY.min(n) {
        let next = next.clone();
        let endpoints = endpoints.clone();
        tasks.spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    return;
                }
                match (stack, &endpoints) {
                    (Stack::Ours, Endpoints::Ours(eps, config, held)) => {
                        let conn = eps[i % eps.len()]
                            .connect(addr, SERVER_NAME, config)
                            .await
                            .expect("handshake");
                        held.lock().expect("lock").push(conn);
                    }
                    (Stack::Quinn, Endpoints::Quinn(eps, config, held)) => {
                        let conn = eps[i % eps.len()]
                            .connect_with(config.clone(), addr, SERVER_NAME)
                            .expect("connect")
                            .await
                            .expect("handshake");
                        held.lock().expect("lock").push(conn);
                    }
                    _ => unreachable!("endpoints match the stack"),
                }
            }
        });
    }
    while let Some(r) = tasks.join_next().await {
        r.expect("client task");
    }
}

#[derive(Clone)]
enum Endpoints {
    Ours(
        Arc<Vec<quic::runtime::Endpoint>>,
        Arc<quic::connection::ClientConfig>,
        Held<quic::runtime::Connection>,
    ),
    Quinn(
        Arc<Vec<quinn::Endpoint>>,
        quinn::ClientConfig,
        Held<quinn::Connection>,
    ),
}

impl Endpoints {
    fn held(&self) -> usize {
        match self {
            Endpoints::Ours(_, _, held) => held.lock().expect("lock").len(),
            Endpoints::Quinn(_, _, held) => held.lock().expect("lock").len(),
        }
    }
}

fn memory_client_child(stack: Stack, port: u16, n: usize) {
    let rt = runtime();
    let endpoints = {
        let _guard = rt.enter();
        match stack {
            Stack::Ours => Endpoints::Ours(
                Arc::new(
                    (0..MEMORY_CLIENT_ENDPOINTS)
                        .map(|_| quic::runtime::Endpoint::client(localhost()).expect("endpoint"))
                        .collect(),
                ),
                Arc::new(ours_client_config(MEMORY_IDLE)),
                Arc::default(),
            ),
            Stack::Quinn => Endpoints::Quinn(
                Arc::new(
                    (0..MEMORY_CLIENT_ENDPOINTS)
                        .map(|_| quinn_endpoint(None))
                        .collect(),
                ),
                quinn_client_config(MEMORY_IDLE),
                Arc::default(),
            ),
        }
    };
    rt.block_on(open_connections(stack, port, MEMORY_WARMUP, &endpoints));
    println!("warm");
    serve_stats(|| endpoints.held(), Some("go"));
    rt.block_on(open_connections(stack, port, n, &endpoints));
    println!("done");
    serve_stats(|| endpoints.held(), None);
}

/// A child process of this binary and its pipes.
struct ChildProc {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
}

impl ChildProc {
    fn spawn(args: &[String]) -> Self {
        let exe = std::env::current_exe().expect("current exe");
        let mut child = Command::new(exe)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn child");
        let stdin = child.stdin.take();
        let stdout = BufReader::new(child.stdout.take().expect("stdout"));
        Self {
            child,
            stdin,
            stdout,
        }
    }

    fn line(&mut self) -> String {
        let mut line = String::new();
        let n = self.stdout.read_line(&mut line).expect("child stdout");
        assert!(n > 0, "child exited early");
        line.trim().to_owned()
    }

    fn send(&mut self, cmd: &str) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        writeln!(stdin, "{cmd}").expect("child stdin");
        stdin.flush().expect("child stdin");
    }

    /// (connections, RSS bytes).
    fn stat(&mut self) -> (usize, u64) {
        self.send("stat");
        let line = self.line();
        let (c, r) = line.split_once(' ').expect("`<count> <rss>`");
        (c.parse().expect("count"), r.parse().expect("rss"))
    }

    /// Polls `stat` until the child holds `n` connections; returns its RSS then.
    fn wait_for(&mut self, n: usize, limit: Duration) -> u64 {
        let deadline = Instant::now() + limit;
        loop {
            let (count, rss) = self.stat();
            if count >= n {
                return rss;
            }
            assert!(Instant::now() < deadline, "{count} of {n} connections");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn finish(mut self) {
        drop(self.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Memory {
    server: u64,
    client: u64,
    connect_time: Duration,
}

fn memory(stack: Stack, n: usize) -> Memory {
    let name = stack.name().to_owned();
    let mut server = ChildProc::spawn(&["--mem-server".into(), name.clone()]);
    let port = server
        .line()
        .strip_prefix("port ")
        .expect("`port <port>`")
        .to_owned();
    let mut client = ChildProc::spawn(&["--mem-client".into(), name, port, n.to_string()]);
    assert_eq!(client.line(), "warm");
    let limit = Duration::from_secs(120);
    let server0 = server.wait_for(MEMORY_WARMUP, limit);
    std::thread::sleep(Duration::from_millis(200));
    let server0 = server0.max(server.stat().1);
    let client0 = client.stat().1;
    let start = Instant::now();
    client.send("go");
    assert_eq!(client.line(), "done");
    server.wait_for(MEMORY_WARMUP + n, limit);
    let connect_time = start.elapsed();
    // Let the last acknowledgments and HANDSHAKE_DONE exchanges settle.
    std::thread::sleep(Duration::from_secs(1));
    let (server_conns, server1) = server.stat();
    let (client_conns, client1) = client.stat();
    assert_eq!(server_conns, MEMORY_WARMUP + n, "server connections");
    assert_eq!(client_conns, MEMORY_WARMUP + n, "client connections");
    client.finish();
    server.finish();
    Memory {
        server: server1.saturating_sub(server0),
        client: client1.saturating_sub(client0),
        connect_time,
    }
}

// ---------------------------------------------------------------------------------------------
// Driver

struct Options {
    /// Benchmarks to run; empty for all.
    which: Vec<String>,
    /// Stacks to run; empty for both.
    stacks: Vec<Stack>,
    bytes: u64,
    handshakes: usize,
    connections: usize,
    rounds: usize,
}

const USAGE: &str = "usage: [transfer|handshakes|memory|all]... [--bytes N] [--handshakes N] \
                     [--connections N] [--rounds N] [--stack ours|quinn]";

fn value<T: std::str::FromStr>(args: &mut impl Iterator<Item = String>, flag: &str) -> T {
    args.next()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{flag} needs a number; {USAGE}"))
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mut options = Options {
        which: Vec::new(),
        stacks: Vec::new(),
        bytes: 1 << 30,
        handshakes: 2000,
        connections: 10_000,
        rounds: 2,
    };
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--mem-server" => {
                let stack = Stack::parse(&args.next().expect("stack"));
                return memory_server_child(stack);
            }
            "--mem-client" => {
                let stack = Stack::parse(&args.next().expect("stack"));
                let port = value(&mut args, "port");
                let n = value(&mut args, "connections");
                return memory_client_child(stack, port, n);
            }
            // Passed by `cargo bench`.
            "--bench" => {}
            "--bytes" => options.bytes = value(&mut args, "--bytes"),
            "--handshakes" => options.handshakes = value(&mut args, "--handshakes"),
            "--connections" => options.connections = value(&mut args, "--connections"),
            "--rounds" => options.rounds = value::<usize>(&mut args, "--rounds").max(1),
            "--stack" => options
                .stacks
                .push(Stack::parse(&args.next().expect("--stack needs a name"))),
            "transfer" | "handshakes" | "memory" => options.which.push(arg),
            "all" => {}
            other => panic!("unknown argument {other:?}; {USAGE}"),
        }
    }
    if options.stacks.is_empty() {
        options.stacks = Stack::BOTH.to_vec();
    }
    run(&options);
}

/// One table row: a figure for each stack that ran.
struct Row {
    figure: String,
    values: [Option<f64>; 2],
    /// Digits after the point.
    precision: usize,
}

impl Row {
    fn new(
        figure: impl Into<String>,
        precision: usize,
        value: impl Fn(Stack) -> Option<f64>,
    ) -> Self {
        Self {
            figure: figure.into(),
            values: Stack::BOTH.map(value),
            precision,
        }
    }
}

/// The stacks in the order of round `round`: ours first in even rounds, quinn first in odd
/// ones (ABBA), so that a drift in machine load during a run favours neither.
fn round_order(stacks: &[Stack], round: usize) -> Vec<Stack> {
    let mut order = stacks.to_vec();
    if round % 2 == 1 {
        order.reverse();
    }
    order
}

/// The smallest of the values `f` takes over `results` of `stack`: the round least disturbed
/// by other load on the machine.
fn best<T>(results: &[(Stack, T)], stack: Stack, f: impl Fn(&T) -> f64) -> Option<f64> {
    results
        .iter()
        .filter(|(s, _)| *s == stack)
        .map(|(_, r)| f(r))
        .min_by(f64::total_cmp)
}

/// Runs `future` as a task on the runtime's worker threads, as an application's tasks run
/// (not on this thread, where every wake-up would be a futex call across threads).
fn on_workers<F>(rt: &tokio::runtime::Runtime, future: F) -> F::Output
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    rt.block_on(rt.spawn(future)).expect("benchmark task")
}

fn run(options: &Options) {
    let wanted = |name: &str| options.which.is_empty() || options.which.iter().any(|w| w == name);
    let rt = runtime();
    let buffers = {
        let _guard = rt.enter();
        socket_buffers()
    };
    println!(
        "loopback 127.0.0.1, {} CPUs; UDP payload {MTU} B (quinn: initial_mtu({MTU})); stream \
         window {} MiB, connection window {} MiB, send buffer {} MiB; CUBIC; \
         TLS_AES_128_GCM_SHA256, ECDSA P-256; tokio multi-thread runtime; best of {} rounds \
         (transfer, handshakes), order alternating",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        STREAM_WINDOW >> 20,
        CONN_WINDOW >> 20,
        SEND_BUFFER >> 20,
        options.rounds,
    );
    for (stack, (snd, rcv)) in Stack::BOTH.iter().zip(buffers) {
        println!(
            "  {} socket buffers granted: SO_SNDBUF {} KiB, SO_RCVBUF {} KiB",
            stack.name(),
            snd >> 10,
            rcv >> 10
        );
    }
    let stacks = &options.stacks;
    let mut rows = Vec::new();
    if wanted("transfer") {
        for &stack in stacks {
            on_workers(&rt, transfer(stack, WARMUP_BYTES));
        }
        let mut results = Vec::new();
        for round in 0..options.rounds {
            for stack in round_order(stacks, round) {
                let t = on_workers(&rt, transfer(stack, options.bytes));
                eprintln!(
                    "  round {round} {}: {} bytes in {:.2} s, {:.2} CPU s; {}",
                    stack.name(),
                    options.bytes,
                    t.wall.as_secs_f64(),
                    t.cpu,
                    t.detail
                );
                results.push((stack, t));
            }
        }
        let bits = options.bytes as f64 * 8.0;
        let gib = options.bytes as f64 / GIB;
        rows.push(Row::new(
            format!("transfer {gib:.2} GiB: throughput, Gbit/s"),
            2,
            |s| best(&results, s, |t| t.wall.as_secs_f64()).map(|w| bits / w / 1e9),
        ));
        rows.push(Row::new(
            "transfer: CPU s per GiB (client+server)",
            2,
            |s| best(&results, s, |t| t.cpu / gib),
        ));
    }
    if wanted("handshakes") {
        let n = options.handshakes;
        for &stack in stacks {
            on_workers(&rt, handshakes(stack, CONCURRENCY));
        }
        let mut results = Vec::new();
        for round in 0..options.rounds {
            for stack in round_order(stacks, round) {
                let h = on_workers(&rt, handshakes(stack, n));
                eprintln!(
                    "  round {round} {}: {n} handshakes in {:.2} s, {:.2} CPU s",
                    stack.name(),
                    h.wall.as_secs_f64(),
                    h.cpu
                );
                results.push((stack, h));
            }
        }
        rows.push(Row::new(
            format!("handshakes/s ({n}, {CONCURRENCY} concurrent)"),
            0,
            |s| best(&results, s, |h| h.wall.as_secs_f64()).map(|w| n as f64 / w),
        ));
        rows.push(Row::new("handshake: CPU ms each (client+server)", 3, |s| {
            best(&results, s, |h| h.cpu * 1e3 / n as f64)
        }));
    }
    if wanted("memory") {
        let n = options.connections;
        let mut results = Vec::new();
        for &stack in stacks {
            let m = memory(stack, n);
            eprintln!(
                "  {}: {n} idle connections opened in {:.2} s; RSS +{} KiB server, +{} KiB \
                 client",
                stack.name(),
                m.connect_time.as_secs_f64(),
                m.server >> 10,
                m.client >> 10
            );
            results.push((stack, m));
        }
        let per_conn = |bytes: u64| bytes as f64 / 1024.0 / n as f64;
        rows.push(Row::new(
            format!("memory: server KiB per idle conn ({n})"),
            1,
            |s| best(&results, s, |m| per_conn(m.server)),
        ));
        rows.push(Row::new(
            format!("memory: client KiB per idle conn ({n})"),
            1,
            |s| best(&results, s, |m| per_conn(m.client)),
        ));
        rows.push(Row::new(
            format!("memory: time to open {n} conns, s"),
            1,
            |s| best(&results, s, |m| m.connect_time.as_secs_f64()),
        ));
    }
    println!();
    println!(
        "{:<46} {:>12} {:>12} {:>11}",
        "figure", "ours", "quinn", "ours/quinn"
    );
    let cell = |v: Option<f64>, p: usize| v.map_or("-".to_owned(), |v| format!("{v:.p$}"));
    for row in &rows {
        let [ours, quinn] = row.values;
        let ratio = ours.zip(quinn).map(|(o, q)| o / q);
        println!(
            "{:<46} {:>12} {:>12} {:>11}",
            row.figure,
            cell(ours, row.precision),
            cell(quinn, row.precision),
            cell(ratio, 2),
        );
    }
}

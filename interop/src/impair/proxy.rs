//! The proxy: sockets, the NAT table and the real-clock driver of the link model.
//!
//! Datagrams read from the sockets go into one [`Network`] with two fixed virtual endpoints,
//! [`CLIENT_SIDE`] and [`SERVER_SIDE`], so that each direction is a single bottleneck link
//! shared by all clients (one queue, one datagram numbering for the drop list, one seeded random
//! stream), as the runner's single ns-3 link is. The model does not carry routing information,
//! so the proxy keeps a side table keyed the way the model orders deliveries (arrival time, then
//! send order) and pops one entry per delivered datagram.
//!
//! NAT: each client address gets its own upstream socket toward the server (the server sees the
//! upstream socket as the client). A rebind replaces every client's upstream socket with a new
//! one on a port never used before (and, for address rebinding, on a new 127.0.0.x); the old
//! socket is closed, so the server's datagrams to it are lost, and server datagrams received on
//! it but still in flight are dropped on arrival (the runner's NAT acts at the receiving end
//! of the link, after the delay).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::future::Future;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use quic::recovery::EcnCodepoint;
use quic::runtime::udp::{RecvBuffers, Transmit, UdpSocket};
use quic::testing::network::{Network, SendOutcome};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::amplification::Amplification;
use super::config::ProxyConfig;
use super::inspect::{inspect_datagram, is_version_negotiation};
use super::summary::Summary;

/// The link model's address for the client side (the runner's client, RUNNER.md §1.1).
pub const CLIENT_SIDE: SocketAddr =
    SocketAddr::new(IpAddr::V4(Ipv4Addr::new(193, 167, 0, 100)), 443);
/// The link model's address for the server side (the runner's server).
pub const SERVER_SIDE: SocketAddr =
    SocketAddr::new(IpAddr::V4(Ipv4Addr::new(193, 167, 100, 100)), 443);

/// Server datagrams waiting for the main loop.
const UPSTREAM_QUEUE: usize = 4096;
/// Attempts to find an upstream port never used before.
const BIND_ATTEMPTS: usize = 64;

/// Where a datagram in the link model goes when it arrives.
#[derive(Debug)]
enum Route {
    ToServer {
        client: usize,
        vn_original: Option<Bytes>,
    },
    ToClient {
        client: usize,
        generation: u64,
        vn_original: Option<Bytes>,
    },
}

/// A datagram the server sent to one client's upstream socket.
#[derive(Debug)]
struct Upstream {
    client: usize,
    generation: u64,
    ecn: EcnCodepoint,
    datagram: BytesMut,
}

/// One NAT mapping: a client address and its current upstream socket.
#[derive(Debug)]
struct Client {
    addr: SocketAddr,
    socket: Arc<UdpSocket>,
    generation: u64,
    reader: JoinHandle<()>,
}

enum Event {
    Shutdown,
    FromClient(io::Result<usize>),
    FromServer(Upstream),
    Timer,
}

/// The running proxy. Create with [`Proxy::bind`], then [`run`](Proxy::run) it.
#[derive(Debug)]
pub struct Proxy {
    config: ProxyConfig,
    listen: UdpSocket,
    network: Network,
    start: Instant,
    routes: BTreeMap<(Instant, u64), Route>,
    next_route: u64,
    clients: Vec<Client>,
    by_addr: HashMap<SocketAddr, usize>,
    tx: mpsc::Sender<Upstream>,
    rx: mpsc::Receiver<Upstream>,
    used_ports: HashSet<u16>,
    rng: StdRng,
    next_rebind: Option<Instant>,
    summary: Summary,
    /// The amplification walk per client (index as in `clients`).
    amplification: Vec<Amplification>,
    /// First and last delivery of a server 1-RTT packet to a client.
    one_rtt: Option<(Instant, Instant)>,
    quiet: bool,
}

impl Proxy {
    /// Binds the client-facing socket. The link model's clock (blackhole windows, rebind
    /// times) starts now. Must be called inside a tokio runtime.
    pub async fn bind(config: ProxyConfig) -> io::Result<Self> {
        // quic's runtime socket: it reads the ECN field of each datagram and sets it on send
        // (IP_TOS / IPV6_TCLASS), so codepoints pass through as the runner's sim passes them.
        let listen = UdpSocket::bind(config.listen)?;
        let start = Instant::now();
        let mut network = Network::new(config.seed, start);
        let (to_server, to_client) = config.link_configs();
        network.set_link(CLIENT_SIDE, SERVER_SIDE, to_server);
        network.set_link(SERVER_SIDE, CLIENT_SIDE, to_client);
        let (tx, rx) = mpsc::channel(UPSTREAM_QUEUE);
        let next_rebind = config.settings.rebind.map(|r| start + r.first);
        let summary = Summary {
            seed: config.seed,
            scenario: config.scenario,
            ..Summary::default()
        };
        Ok(Self {
            // Rebinding addresses are drawn from a stream separate from the links' streams.
            rng: StdRng::seed_from_u64(config.seed ^ 0x6e61_745f_7265_6269),
            config,
            listen,
            network,
            start,
            routes: BTreeMap::new(),
            next_route: 0,
            clients: Vec::new(),
            by_addr: HashMap::new(),
            tx,
            rx,
            used_ports: HashSet::new(),
            next_rebind,
            summary,
            amplification: Vec::new(),
            one_rtt: None,
            quiet: false,
        })
    }

    /// Stops logging new mappings and rebinds to stderr.
    pub fn set_quiet(&mut self, quiet: bool) {
        self.quiet = quiet;
    }

    /// The client-facing address (useful with port 0).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listen.local_addr()
    }

    /// When the link model's clock started.
    pub fn start(&self) -> Instant {
        self.start
    }

    /// Forwards until `shutdown` completes, then returns the summary.
    pub async fn run(mut self, shutdown: impl Future<Output = ()>) -> io::Result<Summary> {
        let mut bufs = RecvBuffers::new(&self.listen);
        tokio::pin!(shutdown);
        loop {
            let wake = match (self.network.next_delivery(), self.next_rebind) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            let sleep = tokio::time::sleep_until(
                wake.map_or_else(tokio::time::Instant::now, tokio::time::Instant::from_std),
            );
            let event = tokio::select! {
                biased;
                () = &mut shutdown => Event::Shutdown,
                () = sleep, if wake.is_some() => Event::Timer,
                r = self.listen.recv(&mut bufs) => Event::FromClient(r),
                Some(up) = self.rx.recv() => Event::FromServer(up),
            };
            match event {
                Event::Shutdown => break,
                Event::FromClient(Ok(_)) => {
                    for (from, ecn, datagram) in bufs.datagrams() {
                        self.on_client_datagram(from, ecn, datagram);
                    }
                }
                Event::FromClient(Err(e)) => eprintln!("impair: client socket: {e}"),
                Event::FromServer(up) => self.on_server_datagram(up),
                Event::Timer => {}
            }
            self.deliver_due().await;
            self.rebind_if_due();
        }
        Ok(self.finish())
    }

    fn log(&self, message: std::fmt::Arguments<'_>) {
        if !self.quiet {
            eprintln!("impair: {message}");
        }
    }

    fn on_client_datagram(&mut self, from: SocketAddr, ecn: EcnCodepoint, data: &[u8]) {
        let client = match self.by_addr.get(&from) {
            Some(&c) => c,
            None => match self.add_client(from) {
                Ok(c) => c,
                Err(e) => {
                    eprintln!("impair: no upstream socket for client {from}: {e}");
                    self.summary.to_server.send_errors += 1;
                    return;
                }
            },
        };
        self.summary.to_server.headers.observe(data);
        self.summary.to_server.ecn.count(ecn);
        let keep = self.network.link(CLIENT_SIDE, SERVER_SIDE).corrupt > 0.0
            && is_version_negotiation(data);
        let vn_original = keep.then(|| Bytes::copy_from_slice(data));
        let outcome = self.network.send_ecn(
            Instant::now(),
            CLIENT_SIDE,
            SERVER_SIDE,
            ecn,
            BytesMut::from(data),
        );
        self.schedule(outcome, || Route::ToServer {
            client,
            vn_original: vn_original.clone(),
        });
    }

    fn on_server_datagram(&mut self, up: Upstream) {
        self.summary.to_client.headers.observe(&up.datagram);
        self.summary.to_client.ecn.count(up.ecn);
        self.amplification[up.client].server_sent(&up.datagram);
        let keep = self.network.link(SERVER_SIDE, CLIENT_SIDE).corrupt > 0.0
            && is_version_negotiation(&up.datagram);
        let vn_original = keep.then(|| Bytes::copy_from_slice(&up.datagram));
        let outcome = self.network.send_ecn(
            Instant::now(),
            SERVER_SIDE,
            CLIENT_SIDE,
            up.ecn,
            up.datagram,
        );
        self.schedule(outcome, || Route::ToClient {
            client: up.client,
            generation: up.generation,
            vn_original: vn_original.clone(),
        });
    }

    /// Records where a scheduled datagram (and its duplicate, if any) goes. The model delivers
    /// in (arrival, send order); `next_route` grows in the same send order.
    fn schedule(&mut self, outcome: SendOutcome, route: impl Fn() -> Route) {
        if let SendOutcome::Scheduled {
            arrival,
            duplicated,
        } = outcome
        {
            for _ in 0..1 + usize::from(duplicated) {
                self.routes.insert((arrival, self.next_route), route());
                self.next_route += 1;
            }
        }
    }

    async fn deliver_due(&mut self) {
        while let Some(d) = self.network.pop_due(Instant::now()) {
            let Some((_, route)) = self.routes.pop_first() else {
                debug_assert!(false, "a delivered datagram without a route");
                continue;
            };
            let (mut datagram, ecn) = (d.datagram, d.ecn);
            match route {
                Route::ToServer {
                    client,
                    vn_original,
                } => {
                    debug_assert_eq!(d.from, CLIENT_SIDE);
                    let stats = &mut self.summary.to_server;
                    restore_vn(&mut datagram, vn_original, &mut stats.vn_corruptions_undone);
                    self.amplification[client].client_delivered(&datagram);
                    let socket = &self.clients[client].socket;
                    match send(socket, self.config.server, ecn, &datagram).await {
                        Ok(_) => {
                            stats.forwarded += 1;
                            stats.forwarded_bytes += datagram.len() as u64;
                        }
                        Err(_) => stats.send_errors += 1,
                    }
                }
                Route::ToClient {
                    client,
                    generation,
                    vn_original,
                } => {
                    debug_assert_eq!(d.from, SERVER_SIDE);
                    let stats = &mut self.summary.to_client;
                    restore_vn(&mut datagram, vn_original, &mut stats.vn_corruptions_undone);
                    let c = &self.clients[client];
                    if c.generation != generation {
                        stats.dropped_nat += 1;
                        continue;
                    }
                    match send(&self.listen, c.addr, ecn, &datagram).await {
                        Ok(_) => {
                            stats.forwarded += 1;
                            stats.forwarded_bytes += datagram.len() as u64;
                            if carries_one_rtt(&datagram) {
                                let now = Instant::now();
                                let first = self.one_rtt.map_or(now, |(first, _)| first);
                                self.one_rtt = Some((first, now));
                            }
                        }
                        Err(_) => stats.send_errors += 1,
                    }
                }
            }
        }
    }

    fn add_client(&mut self, addr: SocketAddr) -> io::Result<usize> {
        let id = self.clients.len();
        let socket = self.new_upstream(None)?;
        let local = socket.local_addr()?;
        let reader = self.spawn_reader(socket.clone(), id, 0);
        self.amplification.push(Amplification::default());
        self.clients.push(Client {
            addr,
            socket,
            generation: 0,
            reader,
        });
        self.by_addr.insert(addr, id);
        self.log(format_args!("client {addr} mapped to upstream {local}"));
        Ok(id)
    }

    /// A new upstream socket on a port never used before. With `avoid_ip`, address rebinding
    /// is on: the socket gets a random 127.0.0.x (x in 1..=254) other than `avoid_ip`.
    fn new_upstream(&mut self, avoid_ip: Option<IpAddr>) -> io::Result<Arc<UdpSocket>> {
        let unspecified = match self.config.server {
            SocketAddr::V4(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            SocketAddr::V6(_) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        };
        for _ in 0..BIND_ATTEMPTS {
            let ip = match avoid_ip {
                None => unspecified,
                Some(avoid) => loop {
                    let x: u8 = self.rng.random_range(1..=254);
                    let ip = IpAddr::V4(Ipv4Addr::new(127, 0, 0, x));
                    if ip != avoid {
                        break ip;
                    }
                },
            };
            let socket = UdpSocket::bind(SocketAddr::new(ip, 0))?;
            let port = socket.local_addr()?.port();
            if self.used_ports.insert(port) {
                return Ok(Arc::new(socket));
            }
        }
        Err(io::Error::new(
            io::ErrorKind::AddrInUse,
            "no fresh upstream port found",
        ))
    }

    fn spawn_reader(
        &self,
        socket: Arc<UdpSocket>,
        client: usize,
        generation: u64,
    ) -> JoinHandle<()> {
        let tx = self.tx.clone();
        let server = self.config.server;
        tokio::spawn(async move {
            let mut bufs = RecvBuffers::new(&socket);
            loop {
                if socket.recv(&mut bufs).await.is_err() {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                    continue;
                }
                for (from, ecn, datagram) in bufs.datagrams() {
                    // The NAT only lets the server's datagrams through.
                    if from.ip() != server.ip() || from.port() != server.port() {
                        continue;
                    }
                    let up = Upstream {
                        client,
                        generation,
                        ecn,
                        datagram: BytesMut::from(datagram),
                    };
                    if tx.send(up).await.is_err() {
                        return;
                    }
                }
            }
        })
    }

    fn rebind_if_due(&mut self) {
        let (Some(due), Some(rebind)) = (self.next_rebind, self.config.settings.rebind) else {
            return;
        };
        let now = Instant::now();
        if now < due {
            return;
        }
        // Skip missed periods rather than rebinding several times in a row.
        let mut next = due + rebind.every;
        while next <= now {
            next += rebind.every;
        }
        self.next_rebind = Some(next);
        let at = now.saturating_duration_since(self.start);
        for id in 0..self.clients.len() {
            match self.rebind_client(id, rebind.change_addr) {
                Ok((old, new)) => {
                    self.summary.rebinds += 1;
                    let client = self.clients[id].addr;
                    self.log(format_args!(
                        "rebind at {at:.3?}: client {client} upstream {old} -> {new}"
                    ));
                }
                Err(e) => eprintln!("impair: rebind of client {id} failed: {e}"),
            }
        }
    }

    /// Gives one client a fresh upstream socket; returns the old and new local addresses.
    fn rebind_client(
        &mut self,
        id: usize,
        change_addr: bool,
    ) -> io::Result<(SocketAddr, SocketAddr)> {
        let old = self.clients[id].socket.local_addr()?;
        let avoid = change_addr.then(|| match old.ip() {
            ip if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
            ip => ip,
        });
        let socket = self.new_upstream(avoid)?;
        let new = socket.local_addr()?;
        let generation = self.clients[id].generation + 1;
        let reader = self.spawn_reader(socket.clone(), id, generation);
        let client = &mut self.clients[id];
        client.reader.abort();
        client.socket = socket;
        client.generation = generation;
        client.reader = reader;
        Ok((old, new))
    }

    fn finish(mut self) -> Summary {
        for c in &self.clients {
            c.reader.abort();
        }
        self.summary.clients = self.clients.len() as u64;
        self.summary.to_server.link = self.network.stats(CLIENT_SIDE, SERVER_SIDE);
        self.summary.to_client.link = self.network.stats(SERVER_SIDE, CLIENT_SIDE);
        for a in &self.amplification {
            self.summary.amplification.merge(a);
        }
        self.summary.server_one_rtt_span = self.one_rtt.map(|(first, last)| last - first);
        self.summary
    }
}

/// Undoes a corruption of a Version Negotiation datagram (ns-3 never corrupts those).
fn restore_vn(datagram: &mut BytesMut, original: Option<Bytes>, undone: &mut u64) {
    if let Some(original) = original {
        if datagram[..] != original[..] {
            datagram.clear();
            datagram.extend_from_slice(&original);
            *undone += 1;
        }
    }
}

/// Sends one datagram with its ECN codepoint.
async fn send(
    socket: &UdpSocket,
    to: SocketAddr,
    ecn: EcnCodepoint,
    datagram: &[u8],
) -> io::Result<()> {
    let transmit = Transmit {
        destination: to,
        contents: datagram,
        segment_size: None,
        ecn,
    };
    socket.send(&[transmit]).await
}

/// Whether a datagram holds a 1-RTT packet: it starts with a short header, or one follows
/// coalesced long-header packets.
fn carries_one_rtt(datagram: &[u8]) -> bool {
    match datagram.first() {
        None => false,
        Some(b) if b & 0x80 == 0 => true,
        Some(_) => inspect_datagram(datagram)
            .packets
            .contains(&quic::packet::PacketType::OneRtt),
    }
}

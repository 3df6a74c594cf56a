//! One transfer between two QUIC stacks on our simulated network, each side ours or quinn's
//! sans-IO core (quinn-proto), so that congestion control and loss recovery can be compared
//! with either stack sending and either receiving, on exactly the same links and seeds.
//! Included by bench targets with `#[path]` (a subdirectory, so cargo does not take it for a bench).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use quic::connection::TransportConfig;
use quic::endpoint::ConnectionHandle;
use quic::recovery::EcnCodepoint;
use quic::stream::{Dir, StreamId};
use quic::testing::network::Network;
use quic::testing::pair::{client_config, server_config, Node};
use quinn_proto as qp;

use crate::quinn_tls;

const ALPN: &[u8] = b"hq-interop";

/// Which implementation a side runs.
#[derive(Clone)]
pub enum Stack {
    /// Ours, with this transport configuration.
    Ours(TransportConfig),
    /// quinn-proto with its defaults (CUBIC, pacing, MTU discovery up to 1452 bytes).
    Quinn,
}

/// What the sender's congestion controller did over a transfer.
pub struct SenderStats {
    /// Packets declared lost.
    pub lost: u64,
    /// Congestion events signalled to the controller (including those inside a recovery
    /// period, which do not reduce the window again).
    pub congestion_events: u64,
    /// Times the congestion window went down.
    pub reductions: u64,
    /// Time-weighted mean congestion window, in datagrams of the current size.
    pub mean_cwnd: f64,
    /// Time-weighted mean smoothed RTT.
    pub mean_rtt: Duration,
}

fn quinn_server_config() -> qp::ServerConfig {
    qp::ServerConfig::with_crypto(quinn_tls::server_crypto(ALPN))
}

fn quinn_client_config() -> qp::ClientConfig {
    qp::ClientConfig::new(quinn_tls::client_crypto(ALPN))
}

/// A quinn endpoint with at most one connection.
struct QuinnSide {
    addr: SocketAddr,
    endpoint: qp::Endpoint,
    conn: Option<(qp::ConnectionHandle, qp::Connection)>,
    stream: Option<qp::StreamId>,
}

impl QuinnSide {
    fn new(addr: SocketAddr, seed: u64, server: bool) -> Self {
        let mut rng_seed = [0u8; 32];
        rng_seed[..8].copy_from_slice(&seed.to_le_bytes());
        rng_seed[8] = u8::from(server);
        let config = server.then(|| Arc::new(quinn_server_config()));
        Self {
            addr,
            endpoint: qp::Endpoint::new(Arc::default(), config, true, Some(rng_seed)),
            conn: None,
            stream: None,
        }
    }

    fn flush(&mut self, now: Instant, network: &mut Network, peer: SocketAddr) {
        let Some((handle, conn)) = self.conn.as_mut() else {
            return;
        };
        while let Some(event) = conn.poll_endpoint_events() {
            if let Some(back) = self.endpoint.handle_event(*handle, event) {
                conn.handle_event(back);
            }
        }
        let mut buf = Vec::new();
        while let Some(t) = conn.poll_transmit(now, 1, &mut buf) {
            network.send(now, self.addr, peer, BytesMut::from(&buf[..t.size]));
            buf.clear();
        }
    }

    fn receive(&mut self, now: Instant, from: SocketAddr, data: BytesMut, network: &mut Network) {
        let mut buf = Vec::new();
        match self.endpoint.handle(now, from, None, None, data, &mut buf) {
            Some(qp::DatagramEvent::NewConnection(incoming)) => {
                if self.conn.is_none() {
                    if let Ok(c) = self.endpoint.accept(incoming, now, &mut buf, None) {
                        self.conn = Some(c);
                    }
                } else {
                    self.endpoint.ignore(incoming);
                }
            }
            Some(qp::DatagramEvent::ConnectionEvent(_, event)) => {
                if let Some((_, conn)) = self.conn.as_mut() {
                    conn.handle_event(event);
                }
            }
            Some(qp::DatagramEvent::Response(t)) => {
                network.send(now, self.addr, from, BytesMut::from(&buf[..t.size]));
            }
            None => {}
        }
    }
}

// Two values per run: boxing the larger variant would buy nothing.
#[allow(clippy::large_enum_variant)]
enum Peer {
    Ours {
        node: Node,
        conn: Option<ConnectionHandle>,
    },
    Quinn(QuinnSide),
}

impl Peer {
    fn addr(&self) -> SocketAddr {
        match self {
            Peer::Ours { node, .. } => node.addr,
            Peer::Quinn(q) => q.addr,
        }
    }

    fn receive(
        &mut self,
        now: Instant,
        from: SocketAddr,
        ecn: EcnCodepoint,
        data: BytesMut,
        net: &mut Network,
    ) {
        match self {
            Peer::Ours { node, conn } => {
                node.receive(now, from, ecn, data, net);
                if conn.is_none() {
                    *conn = node.accepted.first().copied();
                }
            }
            Peer::Quinn(q) => q.receive(now, from, data, net),
        }
    }

    fn flush(&mut self, now: Instant, net: &mut Network, peer: SocketAddr) {
        match self {
            Peer::Ours { node, .. } => {
                node.flush(now, net);
                // Nothing here reads connection events; do not let them pile up.
                node.events.clear();
            }
            Peer::Quinn(q) => q.flush(now, net, peer),
        }
    }

    fn timeout(&mut self) -> Option<Instant> {
        match self {
            Peer::Ours { node, .. } => node.next_timeout(),
            Peer::Quinn(q) => q.conn.as_mut().and_then(|(_, c)| c.poll_timeout()),
        }
    }

    fn handle_timeouts(&mut self, now: Instant) {
        match self {
            Peer::Ours { node, .. } => node.handle_timeouts(now),
            Peer::Quinn(q) => {
                if let Some((_, c)) = q.conn.as_mut() {
                    if c.poll_timeout().is_some_and(|t| t <= now) {
                        c.handle_timeout(now);
                    }
                }
            }
        }
    }

    /// The sender's application: once connected, keeps one unidirectional stream full until
    /// `len` bytes are written, then finishes it. Returns whether sending has started.
    fn send_app(&mut self, chunk: &Bytes, written: &mut usize, len: usize) -> bool {
        match self {
            Peer::Ours { node, conn } => {
                let Some(h) = *conn else { return false };
                let c = node.conn(h);
                if c.is_handshaking() {
                    return false;
                }
                let id = StreamId::new(quic::crypto::Side::Client, Dir::Uni, 0);
                if *written == 0 && c.send_stream(id).is_none() {
                    c.open_stream(Dir::Uni).expect("a stream");
                }
                let Some(mut s) = c.send_stream(id) else {
                    return true;
                };
                while *written < len {
                    let n = chunk.len().min(len - *written);
                    match s.write_chunk(chunk.slice(..n)) {
                        Ok(w) if w > 0 => *written += w,
                        _ => break,
                    }
                }
                if *written == len {
                    let _ = s.finish();
                }
                true
            }
            Peer::Quinn(q) => {
                let Some((_, c)) = q.conn.as_mut() else {
                    return false;
                };
                while let Some(event) = c.poll() {
                    if let qp::Event::ConnectionLost { reason } = event {
                        panic!("quinn sender lost the connection: {reason}");
                    }
                }
                if c.is_handshaking() {
                    return false;
                }
                let id = *q
                    .stream
                    .get_or_insert_with(|| c.streams().open(qp::Dir::Uni).expect("a stream"));
                while *written < len {
                    let n = chunk.len().min(len - *written);
                    match c.send_stream(id).write(&chunk[..n]) {
                        Ok(w) if w > 0 => *written += w,
                        _ => break,
                    }
                }
                if *written == len {
                    let _ = c.send_stream(id).finish();
                }
                true
            }
        }
    }

    /// The receiver's application: reads what arrived on the sender's stream.
    fn receive_app(&mut self, received: &mut usize) {
        match self {
            Peer::Ours { node, conn } => {
                let Some(h) = *conn else { return };
                let id = StreamId::new(quic::crypto::Side::Client, Dir::Uni, 0);
                if let Some(mut r) = node.conn(h).recv_stream(id) {
                    while let Ok(Some(chunk)) = r.read_chunk(usize::MAX) {
                        *received += chunk.len();
                    }
                }
            }
            Peer::Quinn(q) => {
                let Some((_, c)) = q.conn.as_mut() else {
                    return;
                };
                while c.poll().is_some() {}
                if q.stream.is_none() {
                    q.stream = c.streams().accept(qp::Dir::Uni);
                }
                let Some(id) = q.stream else { return };
                let mut recv = c.recv_stream(id);
                if let Ok(mut chunks) = recv.read(true) {
                    while let Ok(Some(chunk)) = chunks.next(usize::MAX) {
                        *received += chunk.bytes.len();
                    }
                    let _ = chunks.finalize();
                };
            }
        }
    }

    /// (congestion window in bytes, datagram size, smoothed RTT) of the connection.
    fn window(&mut self) -> Option<(u64, u64, Duration)> {
        match self {
            Peer::Ours { node, conn } => {
                let c = node.conn((*conn)?);
                Some((c.congestion_window(), 1452, c.rtt()))
            }
            Peer::Quinn(q) => {
                let (_, c) = q.conn.as_ref()?;
                let p = c.stats().path;
                Some((p.cwnd, u64::from(p.current_mtu), p.rtt))
            }
        }
    }

    fn loss_stats(&mut self) -> (u64, u64) {
        match self {
            Peer::Ours { node, conn } => {
                let r = node.conn(conn.expect("connected")).recovery_stats();
                (r.lost_packets, r.congestion_events)
            }
            Peer::Quinn(q) => {
                let p = q.conn.as_ref().expect("connected").1.stats().path;
                (p.lost_packets, p.congestion_events)
            }
        }
    }
}

/// `sender` (the client) writes `len` bytes on one unidirectional stream to `receiver` (the
/// server) over `network`, whose links between `client` and `server` are already set up.
/// Returns the sender's statistics once the receiver has read everything, or `None` if that
/// takes longer than `limit` of virtual time.
#[allow(clippy::too_many_arguments)]
pub fn transfer(
    network: &mut Network,
    now: &mut Instant,
    client: SocketAddr,
    server: SocketAddr,
    sender: &Stack,
    receiver: &Stack,
    len: usize,
    limit: Duration,
) -> Option<SenderStats> {
    let seed = network.seed();
    let mut tx = match sender {
        Stack::Ours(transport) => {
            let mut node = Node::standalone(client, seed ^ 0x0c11e47, None);
            let h = node.connect(*now, &client_config(&[ALPN], transport.clone()), server);
            Peer::Ours {
                node,
                conn: Some(h),
            }
        }
        Stack::Quinn => {
            let mut q = QuinnSide::new(client, seed, false);
            q.conn = Some(
                q.endpoint
                    .connect(*now, quinn_client_config(), server, "localhost")
                    .expect("connect"),
            );
            Peer::Quinn(q)
        }
    };
    let mut rx = match receiver {
        Stack::Ours(transport) => Peer::Ours {
            node: Node::standalone(
                server,
                seed ^ 0x5e4e4,
                Some(server_config(&[ALPN], transport.clone())),
            ),
            conn: None,
        },
        Stack::Quinn => Peer::Quinn(QuinnSide::new(server, seed, true)),
    };
    let deadline = *now + limit;
    let chunk = Bytes::from(vec![0x5a; 64 * 1024]);
    let (mut written, mut received) = (0usize, 0usize);
    let mut sending_since = None;
    let (mut last, mut cwnd_integral, mut rtt_integral) = (*now, 0.0f64, 0.0f64);
    let (mut last_cwnd, mut reductions) = (u64::MAX, 0u64);
    loop {
        if tx.send_app(&chunk, &mut written, len) && sending_since.is_none() {
            sending_since = Some(*now);
            last = *now;
        }
        rx.receive_app(&mut received);
        if sending_since.is_some() {
            if let Some((cwnd, mss, rtt)) = tx.window() {
                let dt = (*now - last).as_secs_f64();
                cwnd_integral += dt * cwnd as f64 / mss as f64;
                rtt_integral += dt * rtt.as_secs_f64();
                last = *now;
                if cwnd < last_cwnd && last_cwnd != u64::MAX {
                    reductions += 1;
                }
                last_cwnd = cwnd;
            }
        }
        if received == len {
            let elapsed = (*now - sending_since.expect("sending started")).as_secs_f64();
            let (lost, congestion_events) = tx.loss_stats();
            return Some(SenderStats {
                lost,
                congestion_events,
                reductions,
                mean_cwnd: cwnd_integral / elapsed,
                mean_rtt: Duration::from_secs_f64(rtt_integral / elapsed),
            });
        }
        tx.flush(*now, network, server);
        rx.flush(*now, network, client);
        let next = [network.next_delivery(), tx.timeout(), rx.timeout()]
            .into_iter()
            .flatten()
            .min()?;
        if next > deadline {
            return None;
        }
        // A timer that is due but found nothing to do must not stall virtual time.
        *now = if next <= *now {
            *now + Duration::from_micros(100)
        } else {
            next
        };
        while let Some(d) = network.pop_due(*now) {
            if d.to == rx.addr() {
                rx.receive(*now, d.from, d.ecn, d.datagram, network);
            } else if d.to == tx.addr() {
                tx.receive(*now, d.from, d.ecn, d.datagram, network);
            }
        }
        tx.handle_timeouts(*now);
        rx.handle_timeouts(*now);
    }
}

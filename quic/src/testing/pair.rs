//! A client and a server endpoint joined by a simulated [`Network`], driven on virtual time.
//!
//! Every step delivers what is due, lets each connection send until it has nothing more, then
//! jumps the clock to the next event (a delivery or a connection timer). Nothing sleeps, and
//! the whole run replays identically from the seed.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::BytesMut;

use super::network::{LinkConfig, Network};
use crate::connection::{ClientConfig, Connection, Event, ServerConfig, TransportConfig};
use crate::endpoint::{ConnectionHandle, DatagramEvent, Endpoint, EndpointConfig};
use crate::recovery::EcnCodepoint;
use crate::tls::{self, CipherSuites, ServerVerification};

/// One side: an endpoint and the connections it owns.
#[derive(Debug)]
pub struct Node {
    /// Its address on the simulated network.
    pub addr: SocketAddr,
    /// The endpoint.
    pub endpoint: Endpoint,
    /// Live connections.
    pub conns: BTreeMap<ConnectionHandle, Connection>,
    /// Connections accepted (server) in order.
    pub accepted: Vec<ConnectionHandle>,
    /// Events the connections produced, in order, with their connection.
    pub events: Vec<(ConnectionHandle, Event)>,
    /// Whether [`Pair`] drains connection events into `events` (true by default); turn it off
    /// when a protocol on top (HTTP/3) consumes them itself.
    pub collect_events: bool,
    server_config: Option<ServerConfig>,
    buf: Vec<u8>,
}

impl Node {
    fn new(addr: SocketAddr, endpoint: Endpoint, server_config: Option<ServerConfig>) -> Self {
        Self {
            addr,
            endpoint,
            conns: BTreeMap::new(),
            accepted: Vec::new(),
            events: Vec::new(),
            collect_events: true,
            server_config,
            buf: Vec::with_capacity(65536),
        }
    }

    /// A node of its own, to drive by hand on a [`Network`] against another stack (a QUIC
    /// implementation that is not ours, say): a server if `server` is given, else a client.
    /// `seed` seeds its endpoint's randomness.
    pub fn standalone(addr: SocketAddr, seed: u64, server: Option<ServerConfig>) -> Self {
        let endpoint = Endpoint::new(
            EndpointConfig {
                rng_seed: seed,
                ..EndpointConfig::default()
            },
            server.is_some(),
        );
        Self::new(addr, endpoint, server)
    }

    /// Opens a client connection to `server` ("localhost" as the server name).
    pub fn connect(
        &mut self,
        now: Instant,
        config: &ClientConfig,
        server: SocketAddr,
    ) -> ConnectionHandle {
        let (h, c) = self
            .endpoint
            .connect(now, config, server, "localhost")
            .expect("connect");
        self.conns.insert(h, c);
        h
    }

    /// The connection behind `handle`.
    pub fn conn(&mut self, handle: ConnectionHandle) -> &mut Connection {
        self.conns.get_mut(&handle).expect("no such connection")
    }

    /// Hands a datagram that arrived from `from` to the endpoint and its connections.
    pub fn receive(
        &mut self,
        now: Instant,
        from: SocketAddr,
        ecn: EcnCodepoint,
        datagram: BytesMut,
        net: &mut Network,
    ) {
        match self.endpoint.handle(from, datagram) {
            Some(DatagramEvent::Known(h, d)) => {
                if let Some(c) = self.conns.get_mut(&h) {
                    c.handle_datagram_ecn(now, from, ecn, d);
                }
            }
            Some(DatagramEvent::NewConnection(mut incoming)) => {
                incoming.ecn = ecn;
                let Some(config) = self.server_config.clone() else {
                    return;
                };
                if let Ok((h, c)) = self.endpoint.accept(now, incoming, &config) {
                    self.conns.insert(h, c);
                    self.accepted.push(h);
                }
            }
            Some(DatagramEvent::Response(t)) => {
                net.send(
                    now,
                    self.addr,
                    t.destination,
                    BytesMut::from(&t.contents[..]),
                );
            }
            None => {}
        }
    }

    /// Lets every connection send, runs endpoint events, collects application events.
    /// Returns whether anything was sent.
    pub fn flush(&mut self, now: Instant, net: &mut Network) -> bool {
        let mut sent = false;
        let handles: Vec<_> = self.conns.keys().copied().collect();
        for h in handles {
            let conn = self.conns.get_mut(&h).expect("listed");
            while let Some(t) = conn.poll_transmit(now, &mut self.buf) {
                net.send_ecn(
                    now,
                    self.addr,
                    t.destination,
                    t.ecn,
                    BytesMut::from(&self.buf[..t.size]),
                );
                sent = true;
            }
            while let Some(ev) = conn.poll_endpoint_event() {
                self.endpoint.handle_event(h, ev);
            }
            while self.collect_events {
                let Some(ev) = conn.poll_event() else { break };
                self.events.push((h, ev));
            }
            if conn.is_drained() {
                // Keep drained connections so tests can inspect them; the endpoint forgot
                // them through the Drained event.
            }
        }
        sent
    }

    /// The earliest timer of any connection.
    pub fn next_timeout(&self) -> Option<Instant> {
        self.conns.values().filter_map(|c| c.poll_timeout()).min()
    }

    /// Runs the timers that are due.
    pub fn handle_timeouts(&mut self, now: Instant) {
        for c in self.conns.values_mut() {
            if c.poll_timeout().is_some_and(|t| t <= now) {
                c.handle_timeout(now);
            }
        }
    }
}

/// A client and a server on one simulated network.
#[derive(Debug)]
pub struct Pair {
    /// The network between them.
    pub network: Network,
    /// The virtual clock.
    pub now: Instant,
    /// The client side.
    pub client: Node,
    /// The server side.
    pub server: Node,
    start: Instant,
}

/// The address the pair's client uses.
pub const CLIENT_ADDR: &str = "127.0.0.1:50000";
/// The address the pair's server uses.
pub const SERVER_ADDR: &str = "127.0.0.1:4433";

fn test_data(name: &str) -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

/// A server configuration with the repository's ECDSA P-256 test certificate and `alpn`.
pub fn server_config(alpn: &[&[u8]], transport: TransportConfig) -> ServerConfig {
    let tls = tls::server_config_from_pem_files(
        &test_data("ec.crt"),
        &test_data("ec_sec1_with_params.key"),
        alpn,
        CipherSuites::All,
    )
    .expect("test certificate loads");
    ServerConfig {
        tls,
        transport: Arc::new(transport),
    }
}

/// A client configuration that trusts the repository's test CA.
pub fn client_config(alpn: &[&[u8]], transport: TransportConfig) -> ClientConfig {
    let tls = tls::client_config(
        &ServerVerification::CaFile(test_data("ca.crt")),
        alpn,
        CipherSuites::All,
    )
    .expect("client config");
    ClientConfig {
        tls,
        transport: Arc::new(transport),
        version: crate::Version::V1,
    }
}

impl Pair {
    /// A pair with `seed` for every random choice and a perfect link in both directions.
    pub fn new(seed: u64, server: ServerConfig) -> Self {
        // The base instant is arbitrary; from here on all time is virtual. This is the only
        // clock read, outside the sans-IO core proper.
        #[allow(clippy::disallowed_methods)]
        let start = Instant::now();
        let client_addr: SocketAddr = CLIENT_ADDR.parse().expect("address");
        let server_addr: SocketAddr = SERVER_ADDR.parse().expect("address");
        let endpoint = |is_server, salt: u64| {
            Endpoint::new(
                EndpointConfig {
                    rng_seed: seed ^ salt,
                    ..EndpointConfig::default()
                },
                is_server,
            )
        };
        Self {
            network: Network::new(seed, start),
            now: start,
            client: Node::new(client_addr, endpoint(false, 0x0c11e47), None),
            server: Node::new(server_addr, endpoint(true, 0x5e4e4), Some(server)),
            start,
        }
    }

    /// Sets the link in both directions.
    pub fn set_link(&mut self, link: LinkConfig) {
        self.network
            .set_link_both(self.client.addr, self.server.addr, link);
    }

    /// Moves the client to `addr`, as a NAT that picks a new mapping does: what the client
    /// sends from now on comes from `addr`, and datagrams still addressed to the old address
    /// are lost. The new address's links take the configuration of the old ones.
    pub fn rebind_client(&mut self, addr: SocketAddr) {
        let old = self.client.addr;
        let up = self.network.link(old, self.server.addr).clone();
        let down = self.network.link(self.server.addr, old).clone();
        self.network.set_link(addr, self.server.addr, up);
        self.network.set_link(self.server.addr, addr, down);
        self.client.addr = addr;
    }

    /// Virtual time elapsed since the start.
    pub fn elapsed(&self) -> Duration {
        self.now - self.start
    }

    /// Starts a client connection to the server.
    pub fn connect(&mut self, config: &ClientConfig) -> ConnectionHandle {
        let (h, c) = self
            .client
            .endpoint
            .connect(self.now, config, self.server.addr, "localhost")
            .expect("connect");
        self.client.conns.insert(h, c);
        h
    }

    /// One round: deliver what is due, run due timers, let both sides send. Then move the
    /// clock to the next event. Returns false when nothing is left to happen.
    pub fn step(&mut self) -> bool {
        self.step_until(None)
    }

    /// Like [`step`](Self::step), but never moves the clock past `horizon`; returns false once
    /// the next event lies beyond it.
    fn step_until(&mut self, horizon: Option<Instant>) -> bool {
        let now = self.now;
        while let Some(d) = self.network.pop_due(now) {
            if d.to == self.server.addr {
                self.server
                    .receive(now, d.from, d.ecn, d.datagram, &mut self.network);
            } else if d.to == self.client.addr {
                self.client
                    .receive(now, d.from, d.ecn, d.datagram, &mut self.network);
            }
        }
        self.client.handle_timeouts(now);
        self.server.handle_timeouts(now);
        let sent_c = self.client.flush(now, &mut self.network);
        let sent_s = self.server.flush(now, &mut self.network);
        if sent_c || sent_s {
            return true; // deliveries may already be due (zero-delay links)
        }
        let next = [
            self.network.next_delivery(),
            self.client.next_timeout(),
            self.server.next_timeout(),
        ]
        .into_iter()
        .flatten()
        .min();
        match next {
            // A timer that is due but had nothing to do would stall virtual time: nudge it.
            Some(t) if t <= self.now => {
                self.now += Duration::from_millis(1);
                true
            }
            Some(t) if horizon.is_some_and(|h| t > h) => {
                self.now = horizon.expect("checked");
                false
            }
            Some(t) => {
                self.now = t;
                true
            }
            None => false,
        }
    }

    /// Steps until `done` holds or `limit` of virtual time passes; returns whether `done`
    /// held.
    pub fn drive_until(
        &mut self,
        limit: Duration,
        mut done: impl FnMut(&mut Pair) -> bool,
    ) -> bool {
        let deadline = self.now + limit;
        loop {
            if done(self) {
                return true;
            }
            if self.now >= deadline || !self.step_until(Some(deadline)) {
                return done(self);
            }
        }
    }

    /// Steps until both sides have nothing left to do (or `limit` passes).
    pub fn drive(&mut self, limit: Duration) {
        let deadline = self.now + limit;
        while self.now < deadline && self.step_until(Some(deadline)) {}
    }
}

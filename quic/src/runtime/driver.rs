//! The endpoint driver: one tokio task per endpoint owns the socket and runs the core.
//!
//! The core endpoint and its connections live in one [`State`] behind a mutex shared with the
//! application handles (quinn's design). Application calls lock it, act on the core directly
//! through its borrowed stream views, park a waker if they must wait, and nudge the driver
//! through a [`Notify`]. The driver receives datagrams in batches and routes them, runs due
//! timers, collects every connection's datagrams into GSO-ready batches, sends them, turns core
//! events into wake-ups, and forgets drained connections.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::Waker;
use std::time::Instant;

use bytes::BytesMut;
use tokio::sync::Notify;

use super::protocol::AppProtocol;
use super::udp::{self, RecvBuffers, UdpSocket, MAX_GSO_PAYLOAD};
use crate::connection::{Connection, ConnectionError, ConnectionStats, Event, ServerConfig};
use crate::endpoint::{ConnectionHandle, DatagramEvent, Endpoint};
use crate::recovery::{EcnCodepoint, RecoveryStats};
use crate::stream::{Dir, StreamEvent, StreamId};
use crate::{TransportError, VarInt};

/// Datagrams one connection may queue per driver round, so one busy connection cannot starve
/// the others or the receive path.
const TRANSMITS_PER_ROUND: usize = 64;
/// How soon a timer that is already due (and found nothing to do) is checked again.
const MIN_TIMER: std::time::Duration = std::time::Duration::from_millis(1);
/// Receive batches per round before the received datagrams are processed.
const RECV_BATCHES_PER_ROUND: usize = 8;

/// What the driver and the application handles share.
#[derive(Debug)]
pub(super) struct Shared {
    state: Mutex<State>,
    /// Wakes the driver: an application call left something to send, or a handle went away.
    pub notify: Notify,
    /// The socket's address; changes with [`Endpoint::rebind`](super::Endpoint::rebind).
    pub local_addr: Mutex<SocketAddr>,
    /// A socket to switch to, handed over by `rebind`.
    pub rebind: Mutex<Option<UdpSocket>>,
    /// Application handles alive ([`HandleRef`]s); at zero nothing can ask for more work.
    refs: AtomicUsize,
}

/// A counted reference from an application handle to the shared state; dropping the last one
/// lets the driver stop once its connections are drained.
#[derive(Debug)]
pub(super) struct HandleRef(pub Arc<Shared>);

impl HandleRef {
    pub fn new(shared: Arc<Shared>) -> Self {
        shared.refs.fetch_add(1, Ordering::SeqCst);
        Self(shared)
    }
}

impl Clone for HandleRef {
    fn clone(&self) -> Self {
        Self::new(self.0.clone())
    }
}

impl Drop for HandleRef {
    fn drop(&mut self) {
        self.0.refs.fetch_sub(1, Ordering::SeqCst);
        self.0.notify.notify_one();
    }
}

impl std::ops::Deref for HandleRef {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

impl Shared {
    pub fn new(state: State, local_addr: SocketAddr) -> Self {
        Self {
            state: Mutex::new(state),
            notify: Notify::new(),
            local_addr: Mutex::new(local_addr),
            rebind: Mutex::new(None),
            refs: AtomicUsize::new(0),
        }
    }

    /// Locks the state. A panic while it was held cannot leave the core half-updated in a way
    /// that matters more than the panic itself, so poisoning is ignored.
    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The core endpoint and its connections.
#[derive(Debug)]
pub(super) struct State {
    pub endpoint: Endpoint,
    pub server_config: Option<ServerConfig>,
    pub conns: HashMap<u64, ConnState>,
    /// Live core connections by their endpoint handle (handles are reused once drained; our
    /// ids are not).
    pub by_handle: HashMap<ConnectionHandle, u64>,
    next_id: u64,
    /// Established server connections not yet taken by `accept`.
    pub incoming: VecDeque<u64>,
    pub accept_waiters: Vec<Waker>,
    /// Waiting for every connection to drain.
    pub idle_waiters: Vec<Waker>,
    /// `Endpoint::close` was called: no new connections.
    pub closed: bool,
    /// The driver stopped (socket error); nothing will make progress.
    pub driver_error: Option<String>,
    /// I/O counters.
    pub io: EndpointStats,
}

/// An endpoint's I/O counters: how well the socket's batching paths are used.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EndpointStats {
    /// Datagrams received (after GRO splitting).
    pub datagrams_received: u64,
    /// Receive system calls that returned data.
    pub recv_calls: u64,
    /// Messages those calls returned (several per `recvmmsg`).
    pub recv_messages: u64,
    /// Messages that held several datagrams coalesced by UDP GRO.
    pub gro_messages: u64,
    /// Datagrams sent.
    pub datagrams_sent: u64,
    /// Send units handed to the socket (a GSO batch counts once).
    pub transmits: u64,
    /// Of those, GSO batches of several datagrams.
    pub gso_transmits: u64,
    /// Segments the socket currently puts in one GSO send (1: GSO off).
    pub gso_segments: u64,
}

impl EndpointStats {
    fn add(&mut self, o: &EndpointStats) {
        self.datagrams_received += o.datagrams_received;
        self.recv_calls += o.recv_calls;
        self.recv_messages += o.recv_messages;
        self.gro_messages += o.gro_messages;
        self.datagrams_sent += o.datagrams_sent;
        self.transmits += o.transmits;
        self.gso_transmits += o.gso_transmits;
    }
}

impl State {
    pub fn new(endpoint: Endpoint, server_config: Option<ServerConfig>) -> Self {
        Self {
            endpoint,
            server_config,
            conns: HashMap::new(),
            by_handle: HashMap::new(),
            next_id: 0,
            incoming: VecDeque::new(),
            accept_waiters: Vec::new(),
            idle_waiters: Vec::new(),
            closed: false,
            driver_error: None,
            io: EndpointStats::default(),
        }
    }

    /// Adds a new core connection; returns our id for it.
    pub fn insert(&mut self, handle: ConnectionHandle, conn: Connection, has_app: bool) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        self.by_handle.insert(handle, id);
        self.conns.insert(
            id,
            ConnState {
                remote: conn.remote_address(),
                conn: Some(conn),
                handle,
                alpn: None,
                stats: ConnectionStats::default(),
                recovery_stats: RecoveryStats::default(),
                connected: false,
                error: None,
                has_app,
                incoming: [VecDeque::new(), VecDeque::new()],
                codes: StreamCodes::default(),
                wakers: Wakers::default(),
                protocol: None,
                protocol_closed: false,
            },
        );
        id
    }

    /// Whether any connection still has core state.
    pub fn is_idle(&self) -> bool {
        self.by_handle.is_empty()
    }
}

/// One connection as the runtime sees it. It outlives the core connection (dropped once
/// drained) while application handles remain, so they can still read why it ended.
#[derive(Debug)]
pub(super) struct ConnState {
    pub conn: Option<Connection>,
    pub handle: ConnectionHandle,
    pub remote: SocketAddr,
    pub alpn: Option<Vec<u8>>,
    /// Final counters, once the core connection is gone.
    pub stats: ConnectionStats,
    /// Final loss-recovery counters, once the core connection is gone.
    pub recovery_stats: RecoveryStats,
    pub connected: bool,
    pub error: Option<ConnectionError>,
    /// Whether an application handle exists (or the connection waits in the accept queue).
    pub has_app: bool,
    /// Streams the peer opened, not yet accepted, by [`dir_index`].
    pub incoming: [VecDeque<StreamId>; 2],
    /// Codes of streams the peer reset or stopped. The core frees such a stream at once and
    /// reports the code in an event; the stream handle reads it here.
    pub codes: StreamCodes,
    pub wakers: Wakers,
    /// An application protocol driven beside the core connection ([`super::protocol`]).
    pub protocol: Option<Box<dyn AppProtocol>>,
    /// `protocol.on_closed` was called.
    pub protocol_closed: bool,
}

/// Error codes from the peer, kept until the stream's handle takes them.
#[derive(Debug, Default)]
pub(super) struct StreamCodes {
    /// RESET_STREAM codes of receiving halves.
    pub reset: HashMap<StreamId, VarInt>,
    /// STOP_SENDING codes of sending halves.
    pub stopped: HashMap<StreamId, VarInt>,
}

impl ConnState {
    /// Records why the connection ended (the first reason wins) and wakes every waiter.
    pub fn set_error(&mut self, error: ConnectionError) {
        if self.error.is_none() {
            self.error = Some(error);
        }
        self.notify_protocol_closed();
        self.wakers.wake_all();
    }

    /// Tells the protocol, once, that the connection ended.
    pub fn notify_protocol_closed(&mut self) {
        if self.protocol_closed {
            return;
        }
        if let (Some(p), Some(e)) = (self.protocol.as_mut(), self.error.as_ref()) {
            p.on_closed(e);
            self.protocol_closed = true;
        }
    }

    /// Copies the core's close reason, if it has one.
    pub fn sync_error(&mut self) {
        if let Some(e) = self.conn.as_ref().and_then(|c| c.error().cloned()) {
            self.set_error(e);
        }
    }
}

/// Index of a stream direction in per-direction arrays.
pub(super) fn dir_index(dir: Dir) -> usize {
    match dir {
        Dir::Bi => 0,
        Dir::Uni => 1,
    }
}

/// Application tasks waiting on a connection.
#[derive(Debug, Default)]
pub(super) struct Wakers {
    pub connect: Vec<Waker>,
    pub readers: HashMap<StreamId, Waker>,
    pub writers: HashMap<StreamId, Waker>,
    pub open: [Vec<Waker>; 2],
    pub accept: [Vec<Waker>; 2],
    pub closed: Vec<Waker>,
}

impl Wakers {
    pub fn wake_all(&mut self) {
        wake(&mut self.connect);
        for (_, w) in self.readers.drain().chain(self.writers.drain()) {
            w.wake();
        }
        for list in self.open.iter_mut().chain(self.accept.iter_mut()) {
            wake(list);
        }
        wake(&mut self.closed);
    }
}

/// Adds a waker to a list unless an equivalent one is already there.
pub(super) fn register(list: &mut Vec<Waker>, waker: &Waker) {
    if !list.iter().any(|w| w.will_wake(waker)) {
        list.push(waker.clone());
    }
}

pub(super) fn wake(list: &mut Vec<Waker>) {
    for w in list.drain(..) {
        w.wake();
    }
}

/// Datagrams to send, packed for GSO: consecutive datagrams to one destination with one size
/// (the last may be shorter) share an entry.
#[derive(Debug, Default)]
struct OutBatch {
    buf: Vec<u8>,
    entries: Vec<OutEntry>,
}

#[derive(Debug, Clone, Copy)]
struct OutEntry {
    destination: SocketAddr,
    /// One codepoint for the whole entry: a GSO send has one IP header template.
    ecn: EcnCodepoint,
    start: usize,
    len: usize,
    segment: usize,
}

impl OutBatch {
    fn push(
        &mut self,
        destination: SocketAddr,
        ecn: EcnCodepoint,
        data: &[u8],
        max_segments: usize,
    ) {
        if data.is_empty() {
            return;
        }
        if let Some(last) = self.entries.last_mut() {
            let open = last.len % last.segment == 0; // no short datagram closed it yet
            if max_segments > 1
                && open
                && last.destination == destination
                && last.ecn == ecn
                && data.len() <= last.segment
                && last.len / last.segment < max_segments
                && last.len + data.len() <= MAX_GSO_PAYLOAD
            {
                self.buf.extend_from_slice(data);
                last.len += data.len();
                return;
            }
        }
        self.entries.push(OutEntry {
            destination,
            ecn,
            start: self.buf.len(),
            len: data.len(),
            segment: data.len(),
        });
        self.buf.extend_from_slice(data);
    }

    fn transmits(&self) -> Vec<udp::Transmit<'_>> {
        self.entries
            .iter()
            .map(|e| udp::Transmit {
                destination: e.destination,
                contents: &self.buf[e.start..e.start + e.len],
                segment_size: (e.len > e.segment).then_some(e.segment),
                ecn: e.ecn,
            })
            .collect()
    }

    fn clear(&mut self) {
        self.buf.clear();
        self.entries.clear();
    }
}

/// What one round of work leaves for the loop.
struct Round {
    /// The earliest connection timer.
    deadline: Option<Instant>,
    /// Some connection had more to send than one round allows.
    more: bool,
    /// Nothing is left to drive and no handle can ask for more.
    exit: bool,
}

/// The driver task.
pub(super) async fn run(shared: Arc<Shared>, mut socket: UdpSocket) {
    let mut bufs = RecvBuffers::new(&socket);
    let mut out = OutBatch::default();
    let mut scratch = Vec::with_capacity(2048);
    loop {
        let rebind = shared
            .rebind
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some(new) = rebind {
            // The old socket closes here; peers see our packets come from the new address,
            // as after a NAT rebinding, and a server follows (RFC 9000 §9.3).
            socket = new;
            bufs = RecvBuffers::new(&socket);
        }
        // Receive whatever is waiting, then process it under one lock.
        let mut received: Vec<(SocketAddr, EcnCodepoint, BytesMut)> = Vec::new();
        let mut io = EndpointStats::default();
        for _ in 0..RECV_BATCHES_PER_ROUND {
            match socket.try_recv(&mut bufs) {
                Ok(n) => {
                    io.recv_calls += 1;
                    io.recv_messages += n as u64;
                    io.gro_messages +=
                        bufs.meta().iter().filter(|m| m.stride < m.len).count() as u64;
                    received.extend(
                        bufs.datagrams()
                            .map(|(from, ecn, d)| (from, ecn, BytesMut::from(d))),
                    )
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(e) => {
                    // ICMP errors and the like concern one peer; keep going.
                    tracing::debug!(%e, "UDP receive error");
                    break;
                }
            }
        }
        let round = {
            let mut state = shared.lock();
            let now = Instant::now();
            let max_segments = socket.max_gso_segments();
            io.datagrams_received = received.len() as u64;
            for (from, ecn, datagram) in received {
                state.receive(now, from, ecn, datagram, &mut out, max_segments);
            }
            let mut round = state.drive(now, &mut out, &mut scratch, max_segments);
            // No application handle left: nobody can ask for anything any more.
            let orphaned = shared.refs.load(Ordering::SeqCst) == 0;
            round.exit = state.is_idle() && (state.closed || orphaned);
            // A timer that is due but had nothing to do must not spin the loop.
            round.deadline = round.deadline.map(|t| t.max(now + MIN_TIMER));
            io.transmits = out.entries.len() as u64;
            io.gso_transmits = out.entries.iter().filter(|e| e.len > e.segment).count() as u64;
            io.datagrams_sent = out
                .entries
                .iter()
                .map(|e| e.len.div_ceil(e.segment) as u64)
                .sum();
            state.io.add(&io);
            state.io.gso_segments = max_segments as u64;
            round
        };
        if !out.entries.is_empty() {
            let transmits = out.transmits();
            if let Err(e) = socket.send(&transmits).await {
                tracing::warn!(%e, "UDP send failed; endpoint driver stops");
                shared.lock().fail(e.to_string());
                return;
            }
            drop(transmits);
            out.clear();
        }
        if round.exit {
            shared.lock().fail("endpoint closed".into());
            return;
        }
        if round.more {
            tokio::task::yield_now().await;
            continue;
        }
        let sleep = async {
            match round.deadline {
                Some(t) => tokio::time::sleep_until(t.into()).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            r = socket.readable() => {
                if let Err(e) = r {
                    tracing::warn!(%e, "UDP socket failed; endpoint driver stops");
                    shared.lock().fail(e.to_string());
                    return;
                }
            }
            _ = shared.notify.notified() => {}
            _ = sleep => {}
        }
    }
}

impl State {
    /// Routes one datagram.
    fn receive(
        &mut self,
        now: Instant,
        from: SocketAddr,
        ecn: EcnCodepoint,
        datagram: BytesMut,
        out: &mut OutBatch,
        max_segments: usize,
    ) {
        match self.endpoint.handle(from, datagram) {
            Some(DatagramEvent::Known(handle, d)) => {
                let Some(id) = self.by_handle.get(&handle) else {
                    return;
                };
                if let Some(conn) = self.conns.get_mut(id).and_then(|c| c.conn.as_mut()) {
                    conn.handle_datagram_ecn(now, from, ecn, d);
                }
            }
            Some(DatagramEvent::NewConnection(mut incoming)) => {
                incoming.ecn = ecn;
                if self.closed {
                    return;
                }
                let Some(config) = self.server_config.clone() else {
                    return;
                };
                match self.endpoint.accept(now, incoming, &config) {
                    Ok((handle, conn)) => {
                        self.insert(handle, conn, false);
                    }
                    Err(e) => tracing::debug!(%e, "incoming connection refused"),
                }
            }
            Some(DatagramEvent::Response(t)) => out.push(
                t.destination,
                EcnCodepoint::NotEct,
                &t.contents,
                max_segments,
            ),
            None => {}
        }
    }

    /// Runs timers, collects datagrams, applies events; forgets drained connections.
    fn drive(
        &mut self,
        now: Instant,
        out: &mut OutBatch,
        scratch: &mut Vec<u8>,
        max_segments: usize,
    ) -> Round {
        let mut round = Round {
            deadline: None,
            more: false,
            exit: false,
        };
        let mut gone = Vec::new();
        let State {
            endpoint,
            conns,
            incoming,
            accept_waiters,
            closed,
            ..
        } = self;
        for (&id, cs) in conns.iter_mut() {
            let Some(conn) = cs.conn.as_mut() else {
                continue;
            };
            if conn.poll_timeout().is_some_and(|t| t <= now) {
                conn.handle_timeout(now);
            }
            // Events first: what a protocol writes in answer leaves in this round.
            apply_events(id, cs, now, endpoint, incoming, accept_waiters, *closed);
            let Some(conn) = cs.conn.as_mut() else {
                continue;
            };
            let mut sent = 0;
            while sent < TRANSMITS_PER_ROUND {
                let Some(t) = conn.poll_transmit(now, scratch) else {
                    break;
                };
                out.push(t.destination, t.ecn, &scratch[..t.size], max_segments);
                sent += 1;
            }
            round.more |= sent == TRANSMITS_PER_ROUND;
            // A protocol that answered events raised while sending needs another round.
            round.more |= apply_events(id, cs, now, endpoint, incoming, accept_waiters, *closed);
            let Some(conn) = cs.conn.as_mut() else {
                continue;
            };
            if conn.is_drained() {
                cs.stats = conn.stats();
                cs.recovery_stats = conn.recovery_stats();
                if cs.error.is_none() {
                    let e = conn.error().cloned().unwrap_or(ConnectionError::TimedOut);
                    cs.set_error(e);
                }
                cs.conn = None;
                cs.wakers.wake_all();
                gone.push((id, cs.handle, !cs.has_app));
                continue;
            }
            if let Some(t) = conn.poll_timeout() {
                round.deadline = Some(round.deadline.map_or(t, |d: Instant| d.min(t)));
            }
        }
        for (id, handle, forget) in gone {
            self.by_handle.remove(&handle);
            if forget {
                self.conns.remove(&id);
            }
        }
        if self.is_idle() {
            wake(&mut self.idle_waiters);
        }
        round
    }

    /// The driver stopped: every connection and waiter learns it.
    fn fail(&mut self, reason: String) {
        if self.driver_error.is_none() {
            self.driver_error = Some(reason);
        }
        self.closed = true;
        for cs in self.conns.values_mut() {
            if cs.conn.take().is_some() || cs.error.is_none() {
                cs.set_error(ConnectionError::LocalTransport(TransportError::new(
                    crate::TransportErrorCode::INTERNAL_ERROR,
                    "endpoint driver stopped",
                )));
            }
            cs.wakers.wake_all();
        }
        self.by_handle.clear();
        wake(&mut self.accept_waiters);
        wake(&mut self.idle_waiters);
    }
}

/// Applies a connection's pending core events: the runtime's bookkeeping, then the
/// protocol's handler if one is installed (stream events go only to it). Returns whether the
/// protocol saw any event.
fn apply_events(
    id: u64,
    cs: &mut ConnState,
    now: Instant,
    endpoint: &mut Endpoint,
    incoming: &mut VecDeque<u64>,
    accept_waiters: &mut Vec<Waker>,
    closed: bool,
) -> bool {
    let mut handled = false;
    loop {
        let Some(conn) = cs.conn.as_mut() else {
            return handled;
        };
        while let Some(ev) = conn.poll_endpoint_event() {
            endpoint.handle_event(cs.handle, ev);
        }
        let Some(ev) = conn.poll_event() else {
            return handled;
        };
        match &ev {
            Event::Connected => {
                cs.connected = true;
                cs.alpn = conn.alpn().map(<[u8]>::to_vec);
                wake(&mut cs.wakers.connect);
                if conn.side() == crate::crypto::Side::Server {
                    if closed {
                        conn.close(now, crate::VarInt::from_u32(0), b"endpoint closed");
                    } else {
                        cs.has_app = true; // queued for accept
                        incoming.push_back(id);
                        wake(accept_waiters);
                    }
                }
            }
            Event::Stream(se) if cs.protocol.is_none() => {
                on_stream_event(&mut cs.incoming, &mut cs.codes, &mut cs.wakers, *se)
            }
            Event::Stream(_) | Event::Datagram(_) => {} // datagrams: not offered by this API yet
            Event::Closed(e) => {
                cs.error.get_or_insert(e.clone());
                cs.wakers.wake_all();
            }
        }
        if let Some(p) = cs.protocol.as_mut() {
            handled = true;
            p.on_event(conn, now, &ev);
        }
        if matches!(ev, Event::Closed(_)) {
            cs.notify_protocol_closed();
        }
    }
}

fn on_stream_event(
    incoming: &mut [VecDeque<StreamId>; 2],
    codes: &mut StreamCodes,
    wakers: &mut Wakers,
    event: StreamEvent,
) {
    match event {
        StreamEvent::Opened { id } => {
            let d = dir_index(id.dir());
            incoming[d].push_back(id);
            wake(&mut wakers.accept[d]);
        }
        StreamEvent::Reset { id, error_code } => {
            codes.reset.insert(id, error_code);
            if let Some(w) = wakers.readers.remove(&id) {
                w.wake();
            }
        }
        StreamEvent::Readable { id } => {
            if let Some(w) = wakers.readers.remove(&id) {
                w.wake();
            }
        }
        StreamEvent::Stopped { id, error_code } => {
            codes.stopped.insert(id, error_code);
            if let Some(w) = wakers.writers.remove(&id) {
                w.wake();
            }
        }
        StreamEvent::Writable { id } => {
            if let Some(w) = wakers.writers.remove(&id) {
                w.wake();
            }
        }
        StreamEvent::Finished { .. } => {}
        StreamEvent::Available { dir } => wake(&mut wakers.open[dir_index(dir)]),
    }
}

#[cfg(test)]
mod tests;

//! In-memory transport and a client/server pair, for tests and fuzzing: no sockets, no
//! QUIC, deterministic.
//!
//! [`MemTransport`] records what a [`Connection`] sends; [`Pair`] moves those records to the
//! other side's `on_*` calls until both are quiet, with optional per-stream write credit
//! (to exercise partial writes) and held-back streams (to reorder delivery across streams,
//! e.g. HEADERS before the QPACK instructions they need).

use crate::{Code, Config, Connection, Event, Role, StreamId, Transport, WriteError};
use bytes::Bytes;
use std::collections::{HashMap, HashSet, VecDeque};

/// Something a connection did to its transport.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// Stream bytes (possibly empty) and whether they end the stream.
    Data {
        /// Stream.
        id: StreamId,
        /// Bytes.
        data: Bytes,
        /// FIN.
        fin: bool,
    },
    /// RESET_STREAM.
    Reset {
        /// Stream.
        id: StreamId,
        /// Code.
        code: Code,
    },
    /// STOP_SENDING.
    StopSending {
        /// Stream.
        id: StreamId,
        /// Code.
        code: Code,
    },
}

/// A transport that records operations in memory.
#[derive(Debug)]
pub struct MemTransport {
    role: Role,
    next_bidi: u64,
    next_uni: u64,
    /// Bidirectional streams this side may still open.
    pub bidi_credit: u64,
    /// Unidirectional streams this side may still open.
    pub uni_credit: u64,
    /// Bytes a stream may take per [`MemTransport::refill`] (`None`: unlimited).
    pub window: Option<usize>,
    credit: HashMap<StreamId, usize>,
    /// Streams whose last write was cut short.
    pub blocked: HashSet<StreamId>,
    stopped: HashMap<StreamId, Code>,
    ended: HashSet<StreamId>,
    /// Operations not yet delivered.
    pub ops: VecDeque<Op>,
    /// CONNECTION_CLOSE, once sent.
    pub closed: Option<(Code, Vec<u8>)>,
    /// The latest [`Transport::set_priority`] per stream: (urgency, incremental).
    pub priorities: HashMap<StreamId, (u8, bool)>,
    /// How many `set_priority` calls were made, to check that unchanged priorities are not
    /// set again.
    pub priority_calls: usize,
    /// What [`Transport::peer_bidi_limit`] reports (`None`: unknown).
    pub peer_bidi_limit: Option<u64>,
}

impl MemTransport {
    /// A transport for the `role` side, with generous stream limits.
    pub fn new(role: Role) -> Self {
        let base = if role == Role::Client { 0 } else { 1 };
        MemTransport {
            role,
            next_bidi: base,
            next_uni: base + 2,
            bidi_credit: 1000,
            uni_credit: 100,
            window: None,
            credit: HashMap::new(),
            blocked: HashSet::new(),
            stopped: HashMap::new(),
            ended: HashSet::new(),
            ops: VecDeque::new(),
            closed: None,
            priorities: HashMap::new(),
            priority_calls: 0,
            peer_bidi_limit: None,
        }
    }

    /// The role this transport serves.
    pub fn role(&self) -> Role {
        self.role
    }

    /// Gives every stream a full window again; returns the streams that were blocked.
    pub fn refill(&mut self) -> Vec<StreamId> {
        self.credit.clear();
        let mut ids: Vec<StreamId> = self.blocked.drain().collect();
        ids.sort_unstable();
        ids
    }

    /// The peer sent STOP_SENDING: later writes fail.
    pub fn peer_stopped(&mut self, id: StreamId, code: Code) {
        self.stopped.insert(id, code);
    }

    /// Takes the recorded operations.
    pub fn take_ops(&mut self) -> Vec<Op> {
        self.ops.drain(..).collect()
    }
}

impl Transport for MemTransport {
    fn open_uni(&mut self) -> Option<StreamId> {
        self.uni_credit = self.uni_credit.checked_sub(1)?;
        let id = StreamId(self.next_uni);
        self.next_uni += 4;
        Some(id)
    }

    fn open_bidi(&mut self) -> Option<StreamId> {
        self.bidi_credit = self.bidi_credit.checked_sub(1)?;
        let id = StreamId(self.next_bidi);
        self.next_bidi += 4;
        Some(id)
    }

    fn write(&mut self, id: StreamId, data: Bytes) -> Result<usize, WriteError> {
        if let Some(&code) = self.stopped.get(&id) {
            return Err(WriteError::Stopped(code));
        }
        if self.ended.contains(&id) {
            return Err(WriteError::Closed);
        }
        let n = match self.window {
            None => data.len(),
            Some(w) => {
                let credit = self.credit.entry(id).or_insert(w);
                let n = data.len().min(*credit);
                *credit -= n;
                n
            }
        };
        if n < data.len() {
            self.blocked.insert(id);
        }
        if n > 0 {
            self.ops.push_back(Op::Data {
                id,
                data: data.slice(..n),
                fin: false,
            });
        }
        Ok(n)
    }

    fn finish(&mut self, id: StreamId) {
        if self.ended.insert(id) {
            self.ops.push_back(Op::Data {
                id,
                data: Bytes::new(),
                fin: true,
            });
        }
    }

    fn reset(&mut self, id: StreamId, code: Code) {
        if self.ended.insert(id) {
            self.ops.push_back(Op::Reset { id, code });
        }
    }

    fn stop_sending(&mut self, id: StreamId, code: Code) {
        self.ops.push_back(Op::StopSending { id, code });
    }

    fn close(&mut self, code: Code, reason: &[u8]) {
        if self.closed.is_none() {
            self.closed = Some((code, reason.to_vec()));
        }
    }

    fn peer_bidi_limit(&self) -> Option<u64> {
        self.peer_bidi_limit
    }

    fn set_priority(&mut self, id: StreamId, urgency: u8, incremental: bool) {
        self.priority_calls += 1;
        self.priorities.insert(id, (urgency, incremental));
    }
}

/// A client and a server connected in memory.
#[derive(Debug)]
pub struct Pair {
    /// The client.
    pub client: Connection,
    /// The server.
    pub server: Connection,
    /// The client's transport.
    pub ct: MemTransport,
    /// The server's transport.
    pub st: MemTransport,
    /// Events the client produced, in order.
    pub client_events: Vec<Event>,
    /// Events the server produced, in order.
    pub server_events: Vec<Event>,
    /// Streams whose operations are held back (in either direction) until released.
    pub held: HashSet<StreamId>,
    held_ops: Vec<(Role, Op)>,
}

impl Pair {
    /// A started pair with the given configurations; nothing delivered yet.
    pub fn new(client: Config, server: Config) -> Pair {
        let mut p = Pair {
            client: Connection::client(client),
            server: Connection::server(server),
            ct: MemTransport::new(Role::Client),
            st: MemTransport::new(Role::Server),
            client_events: Vec::new(),
            server_events: Vec::new(),
            held: HashSet::new(),
            held_ops: Vec::new(),
        };
        let _ = p.client.start(&mut p.ct);
        let _ = p.server.start(&mut p.st);
        p
    }

    /// A pair with default configurations, driven until the SETTINGS are exchanged (the
    /// `PeerSettings` events are dropped).
    pub fn connected() -> Pair {
        Pair::connected_with(Config::default(), Config::default())
    }

    /// Like [`Pair::connected`], with configurations.
    pub fn connected_with(client: Config, server: Config) -> Pair {
        let mut p = Pair::new(client, server);
        p.drive();
        p.take_events();
        p
    }

    /// Delivers operations both ways (and refills write windows) until nothing moves.
    pub fn drive(&mut self) {
        for _ in 0..10_000 {
            let mut moved = self.deliver(Role::Client);
            moved |= self.deliver(Role::Server);
            for id in self.ct.refill() {
                moved = true;
                let _ = self.client.on_stream_writable(&mut self.ct, id);
            }
            for id in self.st.refill() {
                moved = true;
                let _ = self.server.on_stream_writable(&mut self.st, id);
            }
            self.collect();
            if !moved {
                return;
            }
        }
        panic!("pair did not settle");
    }

    /// Delivers the held operations of `id` (in order) and stops holding it.
    pub fn release(&mut self, id: StreamId) {
        self.held.remove(&id);
        let (now, keep): (Vec<_>, Vec<_>) = std::mem::take(&mut self.held_ops)
            .into_iter()
            .partition(|(_, op)| op_stream(op) == id);
        self.held_ops = keep;
        for (from, op) in now {
            self.apply(from, op);
        }
        self.collect();
    }

    fn collect(&mut self) {
        while let Some(e) = self.client.poll_event() {
            self.client_events.push(e);
        }
        while let Some(e) = self.server.poll_event() {
            self.server_events.push(e);
        }
    }

    /// Delivers what `from` sent; true if anything was delivered.
    fn deliver(&mut self, from: Role) -> bool {
        let ops = match from {
            Role::Client => self.ct.take_ops(),
            Role::Server => self.st.take_ops(),
        };
        let moved = !ops.is_empty();
        for op in ops {
            if self.held.contains(&op_stream(&op)) {
                self.held_ops.push((from, op));
            } else {
                self.apply(from, op);
            }
        }
        let closed = match from {
            Role::Client => self.ct.closed.take(),
            Role::Server => self.st.closed.take(),
        };
        if let Some((code, reason)) = closed {
            let to = match from {
                Role::Client => &mut self.server,
                Role::Server => &mut self.client,
            };
            to.on_connection_closed(code, Bytes::from(reason));
        }
        moved
    }

    fn apply(&mut self, from: Role, op: Op) {
        let (to, tt) = match from {
            Role::Client => (&mut self.server, &mut self.st),
            Role::Server => (&mut self.client, &mut self.ct),
        };
        let _ = match op {
            Op::Data { id, data, fin } => to.on_stream_data(tt, id, data, fin),
            Op::Reset { id, code } => to.on_stream_reset(tt, id, code),
            Op::StopSending { id, code } => {
                tt.peer_stopped(id, code);
                to.on_stop_sending(tt, id, code)
            }
        };
    }

    /// Takes the events collected so far: (client's, server's).
    pub fn take_events(&mut self) -> (Vec<Event>, Vec<Event>) {
        (
            std::mem::take(&mut self.client_events),
            std::mem::take(&mut self.server_events),
        )
    }
}

fn op_stream(op: &Op) -> StreamId {
    match op {
        Op::Data { id, .. } | Op::Reset { id, .. } | Op::StopSending { id, .. } => *id,
    }
}

/// One step of a scripted (fuzzed) server session: peer stream events and application
/// calls. Stream numbers are taken modulo 32, so every stream kind (client and server,
/// bidirectional and unidirectional) is reachable.
#[derive(Debug, Clone)]
pub enum ScriptOp {
    /// Peer bytes on a stream.
    Data {
        /// Stream number.
        stream: u64,
        /// Bytes.
        data: Vec<u8>,
        /// FIN.
        fin: bool,
    },
    /// Peer RESET_STREAM.
    Reset {
        /// Stream number.
        stream: u64,
        /// Code.
        code: u64,
    },
    /// Peer STOP_SENDING.
    StopSending {
        /// Stream number.
        stream: u64,
        /// Code.
        code: u64,
    },
    /// The transport can write again (windows refilled).
    Writable {
        /// Stream number.
        stream: u64,
    },
    /// Application: a response.
    Respond {
        /// Stream number.
        stream: u64,
        /// Status code.
        status: u16,
        /// End the stream with it.
        end: bool,
    },
    /// Application: body bytes.
    SendData {
        /// Stream number.
        stream: u64,
        /// Length.
        len: u16,
    },
    /// Application: end of body.
    Finish {
        /// Stream number.
        stream: u64,
    },
    /// Application: cancel a request.
    ResetStream {
        /// Stream number.
        stream: u64,
    },
    /// Application: GOAWAY.
    Goaway,
    /// Application: reprioritize a response (RFC 9218 §8).
    SetPriority {
        /// Stream number.
        stream: u64,
        /// Urgency (taken modulo 8).
        urgency: u8,
        /// Incremental.
        incremental: bool,
    },
    /// Application: a 200 response carrying a `priority` header with these bytes (skipped
    /// if they are not a valid header value).
    RespondWithPriority {
        /// Stream number.
        stream: u64,
        /// The header value.
        value: Vec<u8>,
    },
    /// Transport write window per stream (`None`: unlimited).
    Window(Option<u16>),
}

/// Runs a server [`Connection`] through `ops` and checks what must always hold: no panic,
/// a close is final (later calls fail and produce no events), a closed connection told
/// the transport exactly once, and the transport's scheduler always has each live request
/// stream's current priority. With `valid_start`, a well-formed client control stream
/// (SETTINGS) arrives first, so the script reaches deeper states.
pub fn run_server_script(valid_start: bool, ops: impl IntoIterator<Item = ScriptOp>) {
    let mut s = Connection::server(Config::default());
    let mut t = MemTransport::new(Role::Server);
    let _ = s.start(&mut t);
    if valid_start {
        let mut v = vec![0x00];
        crate::frame::Frame::Settings(crate::settings::Settings {
            qpack_max_table_capacity: Some(4096),
            qpack_blocked_streams: Some(16),
            ..Default::default()
        })
        .encode(&mut v);
        s.on_stream_data(&mut t, StreamId(2), Bytes::from(v), false)
            .expect("valid control stream");
    }
    let id = |n: u64| StreamId(n % 32);
    let mut closed_seen = false;
    for op in ops {
        let was_closed = s.closed().is_some();
        let r = match op {
            ScriptOp::Data { stream, data, fin } => {
                s.on_stream_data(&mut t, id(stream), Bytes::from(data), fin)
            }
            ScriptOp::Reset { stream, code } => s.on_stream_reset(&mut t, id(stream), Code(code)),
            ScriptOp::StopSending { stream, code } => {
                t.peer_stopped(id(stream), Code(code));
                s.on_stop_sending(&mut t, id(stream), Code(code))
            }
            ScriptOp::Writable { stream } => {
                t.refill();
                s.on_stream_writable(&mut t, id(stream))
            }
            ScriptOp::Respond {
                stream,
                status,
                end,
            } => {
                let status =
                    http::StatusCode::from_u16(status % 500 + 100).unwrap_or(http::StatusCode::OK);
                let resp = http::Response::builder().status(status).body(()).unwrap();
                let _ = s.send_response(&mut t, id(stream), &resp, end);
                Ok(())
            }
            ScriptOp::SendData { stream, len } => {
                let _ = s.send_data(&mut t, id(stream), Bytes::from(vec![b'x'; len as usize]));
                Ok(())
            }
            ScriptOp::Finish { stream } => {
                let _ = s.finish(&mut t, id(stream));
                Ok(())
            }
            ScriptOp::ResetStream { stream } => {
                let _ = s.reset_stream(&mut t, id(stream), Code::H3_REQUEST_CANCELLED);
                Ok(())
            }
            ScriptOp::Goaway => {
                let _ = s.send_goaway(&mut t);
                Ok(())
            }
            ScriptOp::SetPriority {
                stream,
                urgency,
                incremental,
            } => {
                let p = crate::Priority {
                    urgency: urgency % 8,
                    incremental,
                };
                let _ = s.set_priority(&mut t, id(stream), p);
                Ok(())
            }
            ScriptOp::RespondWithPriority { stream, value } => {
                if let Ok(v) = http::HeaderValue::from_bytes(&value) {
                    let resp = http::Response::builder()
                        .status(200)
                        .header("priority", v)
                        .body(())
                        .unwrap();
                    let _ = s.send_response(&mut t, id(stream), &resp, false);
                }
                Ok(())
            }
            ScriptOp::Window(w) => {
                t.window = w.map(usize::from);
                Ok(())
            }
        };
        if r.is_err() {
            assert!(s.closed().is_some(), "an error closes the connection");
        }
        if was_closed {
            assert!(s.closed().is_some(), "closed stays closed");
        }
        if s.closed().is_none() {
            for n in (0..32).step_by(4) {
                if let Some(p) = s.priority(StreamId(n)) {
                    let want = (crate::transport::request_urgency(p), p.incremental);
                    assert_eq!(t.priorities.get(&StreamId(n)), Some(&want), "stream {n}");
                }
            }
        }
        if let Some(crate::ConnectionError::Local(e)) = s.closed() {
            let (code, _) = t.closed.as_ref().expect("the transport was closed");
            assert_eq!(*code, e.code);
        }
        while let Some(e) = s.poll_event() {
            assert!(!closed_seen, "no event after Closed: {e:?}");
            if matches!(e, Event::Closed(_)) {
                closed_seen = true;
            }
        }
        t.take_ops();
    }
}

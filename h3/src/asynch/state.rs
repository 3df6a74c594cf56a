//! The HTTP/3 state that lives beside the core QUIC connection, under the runtime's lock:
//! the sync [`crate::Connection`], per-request buffers and the wakers of the tasks awaiting
//! them. Implements [`AppProtocol`], so the runtime's driver hands it every QUIC event.

use std::collections::{HashMap, HashSet, VecDeque};
use std::task::Waker;
use std::time::Instant;

use bytes::Bytes;
use http::{HeaderMap, Request, Response};
use quic::connection::{
    Connection as QuicConnection, ConnectionError as QuicError, Event as QuicEvent,
};
use quic::runtime::AppProtocol;
use quic::stream::{Dir, ReadError, StreamEvent};

use super::Error;
use crate::quic::QuicTransport;
use crate::{Code, Connection, ConnectionError, Event, StreamId};

/// Bytes of a request's body buffered for the application before we stop reading its QUIC
/// stream (QUIC flow control then pushes back on the peer).
pub(crate) const RECV_BUFFER: usize = 1 << 20;
/// Bytes read from a QUIC stream at once.
const READ_CHUNK: usize = 64 * 1024;
/// Interim (1xx) responses kept for a handle that does not read them: a server may send
/// any number of them (RFC 9114 §4.1), so beyond this the oldest are dropped rather than
/// letting a peer grow our memory without bound.
pub(crate) const MAX_INTERIM: usize = 32;

/// What one request stream's handle waits for.
#[derive(Debug, Default)]
pub(crate) struct Slot {
    /// Interim (1xx) responses not read yet, oldest first.
    pub interim: VecDeque<Response<()>>,
    pub response: Option<Response<()>>,
    /// The final response arrived (it may have been taken from `response` already).
    pub final_seen: bool,
    pub data: VecDeque<Bytes>,
    pub buffered: usize,
    pub trailers: Option<HeaderMap>,
    pub finished: bool,
    pub error: Option<crate::StreamError>,
    pub recv_waker: Option<Waker>,
    pub send_waker: Option<Waker>,
}

impl Slot {
    fn wake(&mut self) {
        if let Some(w) = self.recv_waker.take() {
            w.wake();
        }
        if let Some(w) = self.send_waker.take() {
            w.wake();
        }
    }
}

/// The HTTP/3 connection and everything its async handles share.
#[derive(Debug)]
pub(crate) struct H3State {
    pub h3: Connection,
    pub slots: HashMap<StreamId, Slot>,
    /// Server: requests not accepted yet.
    pub incoming: VecDeque<(StreamId, Request<()>)>,
    pub accept_wakers: Vec<Waker>,
    /// Client: waiting for request-stream credit.
    pub open_wakers: Vec<Waker>,
    /// Waiting for a graceful shutdown to drain.
    pub drain_wakers: Vec<Waker>,
    /// Waiting for the peer's SETTINGS.
    pub settings_wakers: Vec<Waker>,
    /// QUIC streams we stopped reading because their handle's buffer is full.
    paused: HashSet<StreamId>,
    /// Streams we ended whose data QUIC has not had acknowledged yet: a graceful close
    /// waits for them, since CONNECTION_CLOSE discards unsent stream data.
    pub unacked: HashSet<StreamId>,
    /// Why the QUIC connection ended.
    pub quic_error: Option<QuicError>,
}

fn qid(id: StreamId) -> Option<quic::stream::StreamId> {
    quic::stream::StreamId::from_u64(id.0)
}

fn wake_all(list: &mut Vec<Waker>) {
    for w in list.drain(..) {
        w.wake();
    }
}

impl H3State {
    pub fn new(h3: Connection) -> Self {
        Self {
            h3,
            slots: HashMap::new(),
            incoming: VecDeque::new(),
            accept_wakers: Vec::new(),
            open_wakers: Vec::new(),
            drain_wakers: Vec::new(),
            settings_wakers: Vec::new(),
            paused: HashSet::new(),
            unacked: HashSet::new(),
            quic_error: None,
        }
    }

    /// The error operations fail with once the connection is closed.
    pub fn closed_error(&self) -> Option<Error> {
        if let Some(e @ ConnectionError::Local(_)) = self.h3.closed() {
            return Some(Error::Connection(e.clone()));
        }
        match &self.quic_error {
            Some(QuicError::ApplicationClosed { code, reason, .. }) => {
                Some(Error::Connection(ConnectionError::Remote {
                    code: Code(code.into_inner()),
                    reason: Bytes::from(reason.clone()),
                }))
            }
            Some(e) => Some(Error::Transport(e.clone())),
            None => self.h3.closed().map(|e| Error::Connection(e.clone())),
        }
    }

    /// Whether a graceful shutdown is complete: GOAWAY sent or received, no request left,
    /// everything we sent acknowledged.
    pub fn is_drained(&self) -> bool {
        self.h3.is_drained() && self.unacked.is_empty() && self.incoming.is_empty()
    }

    /// Moves the sync core's events into the handles' slots and wakes their tasks.
    pub fn dispatch(&mut self, conn: &mut QuicConnection, now: Instant) {
        while let Some(ev) = self.h3.poll_event() {
            match ev {
                Event::Request { stream, request } => {
                    self.slots.insert(stream, Slot::default());
                    self.incoming.push_back((stream, request));
                    wake_all(&mut self.accept_wakers);
                }
                Event::BadRequest { stream, error } => {
                    // RFC 9114 §4.1.2: answer a malformed request with an error status.
                    let resp = Response::builder()
                        .status(error.status())
                        .body(())
                        .expect("a status-only response is valid");
                    let mut t = QuicTransport::new(conn, now);
                    if self.h3.send_response(&mut t, stream, &resp, true).is_err() {
                        let _ = self.h3.reset_stream(&mut t, stream, Code::H3_MESSAGE_ERROR);
                    }
                }
                Event::InformationalResponse { stream, response } => {
                    if let Some(s) = self.slots.get_mut(&stream) {
                        if s.interim.len() == MAX_INTERIM {
                            s.interim.pop_front();
                        }
                        s.interim.push_back(response);
                        s.wake();
                    }
                }
                Event::Response { stream, response } => {
                    if let Some(s) = self.slots.get_mut(&stream) {
                        s.response = Some(response);
                        s.final_seen = true;
                        s.wake();
                    }
                }
                Event::Data { stream, data } => {
                    if let Some(s) = self.slots.get_mut(&stream) {
                        s.buffered += data.len();
                        s.data.push_back(data);
                        s.wake();
                    }
                }
                Event::Trailers { stream, trailers } => {
                    if let Some(s) = self.slots.get_mut(&stream) {
                        s.trailers = Some(trailers);
                        s.wake();
                    }
                }
                Event::Finished { stream } => {
                    if let Some(s) = self.slots.get_mut(&stream) {
                        s.finished = true;
                        s.wake();
                    }
                }
                Event::StreamError(e) => {
                    self.unacked.remove(&e.stream);
                    self.paused.remove(&e.stream);
                    if let Some(s) = self.slots.get_mut(&e.stream) {
                        s.error.get_or_insert(e);
                        s.wake();
                    }
                }
                Event::GoAway { .. } => {
                    wake_all(&mut self.accept_wakers);
                    wake_all(&mut self.open_wakers);
                }
                Event::Closed(_) => self.wake_everything(),
                Event::PeerSettings(_) => wake_all(&mut self.settings_wakers),
                Event::PriorityUpdate { .. } => {}
            }
        }
        if self.is_drained() {
            wake_all(&mut self.drain_wakers);
        }
    }

    fn wake_everything(&mut self) {
        for s in self.slots.values_mut() {
            s.wake();
        }
        wake_all(&mut self.accept_wakers);
        wake_all(&mut self.open_wakers);
        wake_all(&mut self.drain_wakers);
        wake_all(&mut self.settings_wakers);
    }

    fn over_limit(&self, id: StreamId) -> bool {
        self.slots
            .get(&id)
            .is_some_and(|s| s.buffered >= RECV_BUFFER)
    }

    /// Reads what QUIC has for `id` into HTTP/3, until the handle's buffer is full.
    pub fn read_stream(&mut self, conn: &mut QuicConnection, now: Instant, id: StreamId) {
        let Some(q) = qid(id) else { return };
        loop {
            if self.h3.closed().is_some() {
                return;
            }
            if self.over_limit(id) {
                self.paused.insert(id);
                return;
            }
            let Some(mut stream) = conn.recv_stream(q) else {
                return;
            };
            let r = match stream.read_chunk(READ_CHUNK) {
                Ok(Some(data)) => {
                    self.h3
                        .on_stream_data(&mut QuicTransport::new(conn, now), id, data, false)
                }
                Ok(None) => {
                    let _ = self.h3.on_stream_data(
                        &mut QuicTransport::new(conn, now),
                        id,
                        Bytes::new(),
                        true,
                    );
                    self.dispatch(conn, now);
                    return;
                }
                Err(ReadError::Blocked) | Err(ReadError::ClosedStream) => return,
                Err(ReadError::Reset(c)) => {
                    let _ = self.h3.on_stream_reset(
                        &mut QuicTransport::new(conn, now),
                        id,
                        Code(c.into_inner()),
                    );
                    self.dispatch(conn, now);
                    return;
                }
            };
            self.dispatch(conn, now);
            if r.is_err() {
                return;
            }
        }
    }

    /// The handle of `id` consumed data: resume reading if we had paused.
    pub fn resume(&mut self, conn: &mut QuicConnection, now: Instant, id: StreamId) {
        if !self.over_limit(id) && self.paused.remove(&id) {
            self.read_stream(conn, now, id);
        }
    }

    fn stream_event(&mut self, conn: &mut QuicConnection, now: Instant, ev: StreamEvent) {
        let h3id = |id: quic::stream::StreamId| StreamId(id.into_inner());
        let r = match ev {
            StreamEvent::Readable { id } => {
                self.read_stream(conn, now, h3id(id));
                Ok(())
            }
            StreamEvent::Reset { id, error_code } => {
                self.paused.remove(&h3id(id));
                self.h3.on_stream_reset(
                    &mut QuicTransport::new(conn, now),
                    h3id(id),
                    Code(error_code.into_inner()),
                )
            }
            StreamEvent::Stopped { id, error_code } => {
                self.unacked.remove(&h3id(id));
                let r = self.h3.on_stop_sending(
                    &mut QuicTransport::new(conn, now),
                    h3id(id),
                    Code(error_code.into_inner()),
                );
                if let Some(s) = self.slots.get_mut(&h3id(id)) {
                    s.wake();
                }
                r
            }
            StreamEvent::Writable { id } => {
                let r = self
                    .h3
                    .on_stream_writable(&mut QuicTransport::new(conn, now), h3id(id));
                if let Some(s) = self.slots.get_mut(&h3id(id)) {
                    if let Some(w) = s.send_waker.take() {
                        w.wake();
                    }
                }
                r
            }
            StreamEvent::Finished { id } => {
                self.unacked.remove(&h3id(id));
                Ok(())
            }
            StreamEvent::Available { dir: Dir::Bi } => {
                wake_all(&mut self.open_wakers);
                Ok(())
            }
            StreamEvent::Opened { .. } | StreamEvent::Available { .. } => Ok(()),
        };
        // A connection error closed the QUIC connection inside `h3`; handles see it below.
        let _ = r;
        self.dispatch(conn, now);
    }
}

impl AppProtocol for H3State {
    fn on_event(&mut self, conn: &mut QuicConnection, now: Instant, event: &QuicEvent) {
        match event {
            QuicEvent::Connected => {
                let _ = self.h3.start(&mut QuicTransport::new(conn, now));
                self.dispatch(conn, now);
            }
            QuicEvent::Stream(ev) => self.stream_event(conn, now, *ev),
            QuicEvent::Datagram(_) => {}
            QuicEvent::Closed(e) => self.on_closed(e),
        }
    }

    fn on_closed(&mut self, error: &QuicError) {
        self.quic_error.get_or_insert_with(|| error.clone());
        let (code, reason) = match error {
            QuicError::ApplicationClosed { code, reason, .. } => {
                (Code(code.into_inner()), Bytes::from(reason.clone()))
            }
            _ => (Code::H3_NO_ERROR, Bytes::new()),
        };
        self.h3.on_connection_closed(code, reason);
        while self.h3.poll_event().is_some() {}
        self.unacked.clear();
        self.wake_everything();
    }
}

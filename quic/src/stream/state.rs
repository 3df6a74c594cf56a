//! [`StreamsState`]: every stream of a connection, stream ID allocation and limits (RFC 9000
//! §2.1, §4.6), connection-level flow control (§4.1), and the handlers for incoming
//! stream-related frames.

use std::collections::{BTreeMap, VecDeque};

use bytes::Bytes;

use super::control::PendingControl;
use super::flow::{RecvWindow, SendCredit};
use super::id::{Dir, Side, StreamId};
use super::recv::{Recv, RecvDelta};
use super::scheduler::{Priority, Scheduler};
use super::send::Send;
use super::{StreamEvent, StreamLimits, StreamsConfig};
use crate::coding::VarInt;
use crate::TransportError;

/// RFC 9000 §4.6: stream counts "cannot exceed 2^60".
pub(crate) const MAX_STREAM_COUNT: u64 = 1 << 60;

/// Frame types, for the `frame_type` field of errors (RFC 9000 §19).
mod frame_type {
    pub(super) const RESET_STREAM: u64 = 0x04;
    pub(super) const STOP_SENDING: u64 = 0x05;
    pub(super) const STREAM: u64 = 0x08;
    pub(super) const MAX_STREAM_DATA: u64 = 0x11;
    pub(super) const MAX_STREAMS_BIDI: u64 = 0x12;
    pub(super) const STREAM_DATA_BLOCKED: u64 = 0x15;
    pub(super) const STREAMS_BLOCKED_BIDI: u64 = 0x16;
}

/// One stream: the halves this endpoint has (a unidirectional stream has one).
#[derive(Debug)]
pub(crate) struct Stream {
    pub(crate) send: Option<Send>,
    pub(crate) recv: Option<Recv>,
    pub(crate) priority: Priority,
    /// Whether the stream is in the scheduler.
    pub(crate) queued: bool,
    /// A Readable event is outstanding (not yet followed by a read).
    pub(crate) read_notified: bool,
}

/// Which half of a stream a frame addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Half {
    Send,
    Recv,
}

/// All streams of one connection.
#[derive(Debug)]
pub struct StreamsState {
    pub(crate) side: Side,
    pub(crate) config: StreamsConfig,
    /// The peer's transport parameters (zero until known).
    pub(crate) peer: StreamLimits,
    pub(crate) streams: BTreeMap<StreamId, Stream>,
    /// Streams we opened, per direction.
    pub(crate) next_local: [u64; 2],
    /// The peer's MAX_STREAMS for us.
    pub(crate) max_local: [u64; 2],
    /// The limit for which STREAMS_BLOCKED was last queued (once per limit).
    pub(crate) streams_blocked_signaled: [Option<u64>; 2],
    /// Streams the peer opened, per direction.
    pub(crate) next_remote: [u64; 2],
    /// Our MAX_STREAMS for the peer.
    pub(crate) max_remote: [u64; 2],
    /// Connection send credit (MAX_DATA from the peer).
    pub(crate) send_credit: SendCredit,
    /// Connection receive window (our MAX_DATA).
    pub(crate) recv_window: RecvWindow,
    /// Sum over streams of the largest offset received (final size when known).
    pub(crate) received: u64,
    /// Bytes held in all send buffers.
    pub(crate) send_buffered: u64,
    /// Streams whose write was refused because the connection-wide buffer was full.
    pub(crate) conn_blocked_writers: Vec<StreamId>,
    /// Streams with new data waiting for connection credit, parked until MAX_DATA.
    pub(crate) conn_blocked_senders: Vec<StreamId>,
    pub(crate) sched: Scheduler,
    pub(crate) pending: PendingControl,
    pub(crate) events: VecDeque<StreamEvent>,
    /// An `Available` event per direction is queued and not yet polled: a peer raising
    /// MAX_STREAMS in many small steps must not grow the event queue without bound.
    pub(crate) available_queued: [bool; 2],
}

impl StreamsState {
    /// Streams for the endpoint `side`. The peer's limits start at zero: nothing can be sent
    /// until [`set_peer_limits`](Self::set_peer_limits) is called with its transport
    /// parameters.
    pub fn new(side: Side, config: StreamsConfig) -> Self {
        let max_remote = [
            config.max_concurrent_bidi_streams.min(MAX_STREAM_COUNT),
            config.max_concurrent_uni_streams.min(MAX_STREAM_COUNT),
        ];
        Self {
            side,
            recv_window: RecvWindow::new(config.receive_window, config.max_receive_window),
            config,
            peer: StreamLimits::default(),
            streams: BTreeMap::new(),
            next_local: [0; 2],
            max_local: [0; 2],
            streams_blocked_signaled: [None; 2],
            next_remote: [0; 2],
            max_remote,
            send_credit: SendCredit::new(0),
            received: 0,
            send_buffered: 0,
            conn_blocked_writers: Vec::new(),
            conn_blocked_senders: Vec::new(),
            sched: Scheduler::default(),
            pending: PendingControl::default(),
            events: VecDeque::new(),
            available_queued: [false; 2],
        }
    }

    /// Which endpoint we are.
    pub fn side(&self) -> Side {
        self.side
    }

    /// The limits to advertise in our transport parameters.
    pub fn local_limits(&self) -> StreamLimits {
        let w = self.config.stream_receive_window;
        StreamLimits {
            initial_max_data: self.config.receive_window,
            initial_max_stream_data_bidi_local: w,
            initial_max_stream_data_bidi_remote: w,
            initial_max_stream_data_uni: w,
            initial_max_streams_bidi: self.max_remote[Dir::Bi.idx()],
            initial_max_streams_uni: self.max_remote[Dir::Uni.idx()],
        }
    }

    /// Applies the peer's transport parameters. Limits only grow (RFC 9000 §7.4.1: a server
    /// must not lower remembered 0-RTT limits), so this can be called for remembered and then
    /// for actual parameters.
    pub fn set_peer_limits(&mut self, limits: StreamLimits) -> Result<(), TransportError> {
        // RFC 9000 §4.6: a max_streams parameter above 2^60 "MUST be closed immediately with a
        // connection error of type TRANSPORT_PARAMETER_ERROR".
        if limits.initial_max_streams_bidi > MAX_STREAM_COUNT
            || limits.initial_max_streams_uni > MAX_STREAM_COUNT
        {
            return Err(TransportError::transport_parameter_error(
                "initial_max_streams above 2^60",
            ));
        }
        let old = self.peer;
        self.peer = StreamLimits {
            initial_max_data: old.initial_max_data.max(limits.initial_max_data),
            initial_max_stream_data_bidi_local: old
                .initial_max_stream_data_bidi_local
                .max(limits.initial_max_stream_data_bidi_local),
            initial_max_stream_data_bidi_remote: old
                .initial_max_stream_data_bidi_remote
                .max(limits.initial_max_stream_data_bidi_remote),
            initial_max_stream_data_uni: old
                .initial_max_stream_data_uni
                .max(limits.initial_max_stream_data_uni),
            initial_max_streams_bidi: old
                .initial_max_streams_bidi
                .max(limits.initial_max_streams_bidi),
            initial_max_streams_uni: old
                .initial_max_streams_uni
                .max(limits.initial_max_streams_uni),
        };
        self.on_max_data(limits.initial_max_data);
        self.raise_max_local(Dir::Bi, limits.initial_max_streams_bidi);
        self.raise_max_local(Dir::Uni, limits.initial_max_streams_uni);
        let ids: Vec<StreamId> = self.streams.keys().copied().collect();
        for id in ids {
            let credit = self.initial_send_credit(id);
            self.raise_stream_credit(id, credit);
        }
        Ok(())
    }

    /// Send credit the peer's transport parameters give a stream (RFC 9000 §18.2).
    fn initial_send_credit(&self, id: StreamId) -> u64 {
        match (id.dir(), id.initiator() == self.side) {
            // The peer's "bidi_remote" covers streams its peer (we) opened.
            (Dir::Bi, true) => self.peer.initial_max_stream_data_bidi_remote,
            (Dir::Bi, false) => self.peer.initial_max_stream_data_bidi_local,
            (Dir::Uni, _) => self.peer.initial_max_stream_data_uni,
        }
    }

    fn new_stream(&self, id: StreamId) -> Stream {
        let send = id
            .can_send(self.side)
            .then(|| Send::new(self.initial_send_credit(id)));
        let recv = id.can_recv(self.side).then(|| {
            Recv::new(
                self.config.stream_receive_window,
                self.config.max_stream_receive_window,
            )
        });
        Stream {
            send,
            recv,
            priority: Priority::default(),
            queued: false,
            read_notified: false,
        }
    }

    /// Opens a stream of ours, or returns `None` if the peer's MAX_STREAMS does not allow one
    /// (RFC 9000 §4.6: "Endpoints MUST NOT exceed the limit set by their peer"); a
    /// STREAMS_BLOCKED frame is then queued, once per limit, and [`StreamEvent::Available`]
    /// follows when the limit grows.
    pub fn open(&mut self, dir: Dir) -> Option<StreamId> {
        let d = dir.idx();
        if self.next_local[d] >= self.max_local[d] {
            // RFC 9000 §4.6: "An endpoint that is unable to open a new stream due to the peer's
            // limits SHOULD send a STREAMS_BLOCKED frame".
            if self.streams_blocked_signaled[d] != Some(self.max_local[d]) {
                self.streams_blocked_signaled[d] = Some(self.max_local[d]);
                self.pending.streams_blocked[d] = true;
            }
            return None;
        }
        let id = StreamId::new(self.side, dir, self.next_local[d]);
        self.next_local[d] += 1;
        let stream = self.new_stream(id);
        self.streams.insert(id, stream);
        Some(id)
    }

    /// Streams of ours that can still be opened now.
    pub fn available(&self, dir: Dir) -> u64 {
        self.max_local[dir.idx()] - self.next_local[dir.idx()]
    }

    /// How many streams of `dir` the peer may open in all: the limit we have sent
    /// (initial_max_streams, then MAX_STREAMS). A stream whose index is at or above it is
    /// beyond the limit (RFC 9000 §4.6).
    pub fn peer_stream_limit(&self, dir: Dir) -> u64 {
        self.max_remote[dir.idx()]
    }

    /// Whether `id` still has state (opened and not yet fully closed).
    pub fn contains(&self, id: StreamId) -> bool {
        self.streams.contains_key(&id)
    }

    /// Number of streams with state.
    pub fn len(&self) -> usize {
        self.streams.len()
    }

    /// Whether no stream has state.
    pub fn is_empty(&self) -> bool {
        self.streams.is_empty()
    }

    /// The next event for the application.
    pub fn poll_event(&mut self) -> Option<StreamEvent> {
        let ev = self.events.pop_front()?;
        if let StreamEvent::Available { dir } = ev {
            self.available_queued[dir.idx()] = false;
        }
        Some(ev)
    }

    /// Validates the stream a frame refers to and opens peer streams implicitly. Returns whether
    /// the stream has state (`false`: it existed and is closed; the frame is ignored).
    fn lookup(&mut self, id: StreamId, half: Half) -> Result<bool, TransportError> {
        let dir = id.dir();
        let d = dir.idx();
        if id.initiator() == self.side {
            if half == Half::Recv && dir == Dir::Uni {
                // RFC 9000 §19.8 / §19.4 / §19.13: STREAM, RESET_STREAM or STREAM_DATA_BLOCKED
                // for a send-only stream "MUST terminate the connection with error
                // STREAM_STATE_ERROR".
                return Err(TransportError::stream_state_error(
                    "receive-side frame for a send-only stream",
                ));
            }
            if id.index() >= self.next_local[d] {
                // RFC 9000 §19.8 / §19.5 / §19.10: a frame for "a locally initiated stream that
                // has not yet been created MUST be treated as a connection error of type
                // STREAM_STATE_ERROR".
                return Err(TransportError::stream_state_error(
                    "frame for a local stream not yet opened",
                ));
            }
        } else {
            if half == Half::Send && dir == Dir::Uni {
                // RFC 9000 §19.5 / §19.10: STOP_SENDING or MAX_STREAM_DATA for a receive-only
                // stream is a STREAM_STATE_ERROR.
                return Err(TransportError::stream_state_error(
                    "send-side frame for a receive-only stream",
                ));
            }
            // RFC 9000 §4.6: "An endpoint that receives a frame with a stream ID exceeding the
            // limit it has sent MUST treat this as a connection error of type
            // STREAM_LIMIT_ERROR".
            if id.index() >= self.max_remote[d] {
                return Err(TransportError::stream_limit_error(
                    "peer stream beyond MAX_STREAMS",
                ));
            }
            // RFC 9000 §3.2: "Before a stream is created, all streams of the same type with
            // lower-numbered stream IDs MUST be created."
            while self.next_remote[d] <= id.index() {
                let new = StreamId::new(id.initiator(), dir, self.next_remote[d]);
                self.next_remote[d] += 1;
                let stream = self.new_stream(new);
                self.streams.insert(new, stream);
                self.events.push_back(StreamEvent::Opened { id: new });
            }
        }
        Ok(self.streams.contains_key(&id))
    }

    /// Connection-level accounting after a receive-side change.
    fn apply_recv_delta(&mut self, id: StreamId, delta: RecvDelta) -> Result<(), TransportError> {
        self.received += delta.new_bytes;
        // RFC 9000 §4.1: exceeding the advertised connection limit is a FLOW_CONTROL_ERROR.
        if self.received > self.recv_window.max() {
            return Err(TransportError::flow_control_error(
                "connection data beyond MAX_DATA",
            ));
        }
        self.recv_window.consume(delta.released);
        if delta.released > 0 {
            self.pending.max_stream_data.remove(&id);
        }
        if delta.notify {
            if let Some(stream) = self.streams.get_mut(&id) {
                if !stream.read_notified {
                    stream.read_notified = true;
                    self.events.push_back(StreamEvent::Readable { id });
                }
            }
        }
        Ok(())
    }

    /// A STREAM frame (RFC 9000 §19.8).
    pub fn on_stream_frame(
        &mut self,
        id: StreamId,
        offset: u64,
        data: Bytes,
        fin: bool,
    ) -> Result<(), TransportError> {
        self.stream_frame(id, offset, data, fin)
            .map_err(|e| e.with_frame(frame_type::STREAM))
    }

    fn stream_frame(
        &mut self,
        id: StreamId,
        offset: u64,
        data: Bytes,
        fin: bool,
    ) -> Result<(), TransportError> {
        if !self.lookup(id, Half::Recv)? {
            return Ok(());
        }
        let Some(recv) = self.streams.get_mut(&id).and_then(|s| s.recv.as_mut()) else {
            return Ok(());
        };
        let delta = recv.ingest(offset, data, fin)?;
        self.apply_recv_delta(id, delta)?;
        self.maybe_free(id);
        Ok(())
    }

    /// A RESET_STREAM frame (RFC 9000 §19.4).
    pub fn on_reset_stream(
        &mut self,
        id: StreamId,
        error_code: VarInt,
        final_size: u64,
    ) -> Result<(), TransportError> {
        self.reset_stream(id, error_code, final_size)
            .map_err(|e| e.with_frame(frame_type::RESET_STREAM))
    }

    fn reset_stream(
        &mut self,
        id: StreamId,
        error_code: VarInt,
        final_size: u64,
    ) -> Result<(), TransportError> {
        if !self.lookup(id, Half::Recv)? {
            return Ok(());
        }
        let Some(stream) = self.streams.get_mut(&id) else {
            return Ok(());
        };
        let Some(recv) = stream.recv.as_mut() else {
            return Ok(());
        };
        let mut delta = recv.reset(error_code, final_size)?;
        if delta.notify {
            // Reported as a Reset event rather than Readable.
            delta.notify = false;
            self.events.push_back(StreamEvent::Reset { id, error_code });
        }
        self.apply_recv_delta(id, delta)?;
        self.maybe_free(id);
        Ok(())
    }

    /// A STOP_SENDING frame (RFC 9000 §19.5). The stream is reset with the same error code.
    pub fn on_stop_sending(
        &mut self,
        id: StreamId,
        error_code: VarInt,
    ) -> Result<(), TransportError> {
        if !self
            .lookup(id, Half::Send)
            .map_err(|e| e.with_frame(frame_type::STOP_SENDING))?
        {
            return Ok(());
        }
        let Some(send) = self.streams.get_mut(&id).and_then(|s| s.send.as_mut()) else {
            return Ok(());
        };
        if !send.on_stop_sending(error_code) {
            return Ok(());
        }
        // RFC 9000 §3.5: "An endpoint that receives a STOP_SENDING frame MUST send a
        // RESET_STREAM frame if the stream is in the "Ready" or "Send" state", and "SHOULD copy
        // the error code from the STOP_SENDING frame". In "Data Sent" we reset too rather than
        // retransmit data the peer does not want.
        let was_live = send.is_live();
        self.reset_send(id, error_code);
        if was_live {
            self.events
                .push_back(StreamEvent::Stopped { id, error_code });
        }
        Ok(())
    }

    /// Resets our sending part; returns whether a RESET_STREAM was queued.
    pub(crate) fn reset_send(&mut self, id: StreamId, code: VarInt) -> bool {
        let Some(stream) = self.streams.get_mut(&id) else {
            return false;
        };
        let Some(send) = stream.send.as_mut() else {
            return false;
        };
        let Some(released) = send.reset(code) else {
            return false;
        };
        send.want_writable = false;
        self.send_buffered -= released;
        if stream.queued {
            stream.queued = false;
            self.sched.remove(id, stream.priority);
        }
        self.pending.stream_data_blocked.remove(&id);
        self.pending.reset_stream.insert(id);
        true
    }

    /// A MAX_DATA frame (RFC 9000 §19.9).
    pub fn on_max_data(&mut self, max: u64) {
        if self.send_credit.raise(max) {
            for id in std::mem::take(&mut self.conn_blocked_senders) {
                if let Some(send) = self.streams.get_mut(&id).and_then(|s| s.send.as_mut()) {
                    send.conn_parked = false;
                }
                self.requeue(id);
            }
        }
    }

    /// A MAX_STREAM_DATA frame (RFC 9000 §19.10).
    pub fn on_max_stream_data(&mut self, id: StreamId, max: u64) -> Result<(), TransportError> {
        if !self
            .lookup(id, Half::Send)
            .map_err(|e| e.with_frame(frame_type::MAX_STREAM_DATA))?
        {
            return Ok(());
        }
        self.raise_stream_credit(id, max);
        Ok(())
    }

    fn raise_stream_credit(&mut self, id: StreamId, max: u64) {
        let Some(send) = self.streams.get_mut(&id).and_then(|s| s.send.as_mut()) else {
            return;
        };
        // RFC 9000 §4.1: frames that do not increase the limit are ignored.
        if send.credit.raise(max) {
            self.requeue(id);
        }
    }

    /// Puts a stream back in the scheduler if it has something to send.
    pub(crate) fn requeue(&mut self, id: StreamId) {
        self.requeue_at(id, false);
    }

    /// Like [`requeue`](Self::requeue), for a stream that was polled but could not send
    /// (no room left in the packet): it keeps its round-robin turn instead of going to the
    /// back, else a stream polled last in every full packet would never be served.
    pub(crate) fn requeue_front(&mut self, id: StreamId) {
        self.requeue_at(id, true);
    }

    fn requeue_at(&mut self, id: StreamId, front: bool) {
        let Some(stream) = self.streams.get_mut(&id) else {
            return;
        };
        if stream.queued || !stream.send.as_ref().is_some_and(|s| s.has_pending()) {
            return;
        }
        stream.queued = true;
        if front {
            self.sched.push_front(id, stream.priority);
        } else {
            self.sched.push(id, stream.priority);
        }
    }

    /// A MAX_STREAMS frame (RFC 9000 §19.11).
    pub fn on_max_streams(&mut self, dir: Dir, count: u64) -> Result<(), TransportError> {
        // RFC 9000 §19.11: a value above 2^60 "MUST be treated as a connection error of type
        // FRAME_ENCODING_ERROR".
        if count > MAX_STREAM_COUNT {
            return Err(
                TransportError::frame_encoding_error("MAX_STREAMS above 2^60")
                    .with_frame(frame_type::MAX_STREAMS_BIDI + dir as u64),
            );
        }
        self.raise_max_local(dir, count);
        Ok(())
    }

    fn raise_max_local(&mut self, dir: Dir, count: u64) {
        let d = dir.idx();
        // RFC 9000 §19.11: "MAX_STREAMS frames that do not increase the stream limit MUST be
        // ignored."
        if count > self.max_local[d] {
            self.max_local[d] = count;
            if !self.available_queued[d] {
                self.available_queued[d] = true;
                self.events.push_back(StreamEvent::Available { dir });
            }
        }
    }

    /// A DATA_BLOCKED frame (RFC 9000 §19.12). Informational: our MAX_DATA updates never wait
    /// for it (RFC 9000 §4.1: a receiver "MUST NOT wait for a STREAM_DATA_BLOCKED or
    /// DATA_BLOCKED frame before sending a MAX_STREAM_DATA or MAX_DATA frame").
    pub fn on_data_blocked(&mut self, limit: u64) {
        tracing::trace!(limit, "peer is blocked by connection flow control");
    }

    /// A STREAM_DATA_BLOCKED frame (RFC 9000 §19.13). Opens a peer stream like STREAM does.
    pub fn on_stream_data_blocked(
        &mut self,
        id: StreamId,
        limit: u64,
    ) -> Result<(), TransportError> {
        self.lookup(id, Half::Recv)
            .map_err(|e| e.with_frame(frame_type::STREAM_DATA_BLOCKED))?;
        tracing::trace!(%id, limit, "peer is blocked by stream flow control");
        Ok(())
    }

    /// A STREAMS_BLOCKED frame (RFC 9000 §19.14). Informational.
    pub fn on_streams_blocked(&mut self, dir: Dir, limit: u64) -> Result<(), TransportError> {
        // RFC 9000 §19.14: a value above 2^60 "MUST be treated as a connection error of type
        // FRAME_ENCODING_ERROR".
        if limit > MAX_STREAM_COUNT {
            return Err(
                TransportError::frame_encoding_error("STREAMS_BLOCKED above 2^60")
                    .with_frame(frame_type::STREAMS_BLOCKED_BIDI + dir as u64),
            );
        }
        tracing::trace!(?dir, limit, "peer is blocked by the stream limit");
        Ok(())
    }

    /// Frees a stream whose halves are both done; for a peer's stream, the freed slot is given
    /// back with MAX_STREAMS.
    pub(crate) fn maybe_free(&mut self, id: StreamId) {
        let Some(stream) = self.streams.get(&id) else {
            return;
        };
        let send_done = stream.send.as_ref().map_or(true, Send::is_closed);
        let recv_done = stream.recv.as_ref().map_or(true, Recv::is_closed);
        if !(send_done && recv_done) {
            return;
        }
        let stream = self.streams.remove(&id).expect("checked above");
        if stream.queued {
            self.sched.remove(id, stream.priority);
        }
        if let Some(send) = &stream.send {
            self.send_buffered -= send.buf.buffered();
        }
        self.pending.forget_stream(id);
        if id.initiator() != self.side {
            // RFC 9000 §4.6: implementations "might choose to increase limits as streams are
            // closed, to keep the number of streams available to peers roughly consistent".
            // One closed stream buys one more: the peer never has more than the configured
            // number open at once.
            let d = id.dir().idx();
            if self.max_remote[d] < MAX_STREAM_COUNT {
                self.max_remote[d] += 1;
                self.pending.max_streams[d] = true;
            }
        }
    }

    /// Checks every internal invariant; panics on violation (tests and fuzzing).
    #[cfg(any(test, fuzzing))]
    pub fn check_invariants(&self) {
        let mut buffered = 0;
        let mut received = 0;
        let mut open_remote = [0u64; 2];
        for (&id, s) in &self.streams {
            if let Some(send) = &s.send {
                send.check_invariants();
                buffered += send.buf.buffered();
                if send.has_pending() && !s.queued {
                    // Parked: blocked on credit, or waiting for MAX_DATA.
                    assert!(
                        send.blocked_by_stream_credit()
                            || self.conn_blocked_senders.contains(&id)
                            || self.send_credit.available() == 0,
                        "{id} has data but is not scheduled"
                    );
                }
            }
            if let Some(recv) = &s.recv {
                recv.check_invariants();
                received += recv.received();
                assert!(
                    recv.buffered() <= recv.window.max(),
                    "buffered beyond the window"
                );
            }
            if id.initiator() != self.side {
                open_remote[id.dir().idx()] += 1;
            } else {
                assert!(id.index() < self.next_local[id.dir().idx()]);
            }
        }
        assert_eq!(buffered, self.send_buffered, "send buffer accounting");
        assert!(received <= self.received, "connection receive accounting");
        assert!(
            self.received <= self.recv_window.max(),
            "connection flow control exceeded"
        );
        assert!(
            self.send_credit.used() <= self.send_credit.max(),
            "connection send credit exceeded"
        );
        assert!(self.send_buffered <= self.config.send_buffer);
        for dir in Dir::ALL {
            let d = dir.idx();
            assert!(self.next_local[d] <= self.max_local[d]);
            assert!(self.next_remote[d] <= self.max_remote[d]);
            let limit = match dir {
                Dir::Bi => self.config.max_concurrent_bidi_streams,
                Dir::Uni => self.config.max_concurrent_uni_streams,
            };
            assert!(
                open_remote[d] <= limit,
                "more peer streams open than allowed"
            );
        }
    }
}

//! The connection's send path into the stream layer: control frames to send, stream data to
//! send within a byte budget, and the acknowledgments and losses of both.

use std::time::{Duration, Instant};

use super::control::StreamControl;
use super::send::NextChunk;
use super::state::StreamsState;
use super::{Dir, StreamChunk, StreamEvent, StreamId};
use crate::coding::varint_len;

/// Largest encoding of a MAX_DATA frame (the value is decided when the frame is built).
const MAX_DATA_MAX_LEN: usize = 1 + 8;
/// Largest encoding of a MAX_STREAM_DATA frame.
const MAX_STREAM_DATA_MAX_LEN: usize = 1 + 8 + 8;
/// The connection window is kept at least this multiple of the largest stream window, so a
/// single fast stream is limited by its own window (quiche uses the same factor).
const CONN_WINDOW_FACTOR_NUM: u64 = 3;
const CONN_WINDOW_FACTOR_DEN: u64 = 2;

impl StreamsState {
    /// Whether stream data or control frames may be waiting; a cheap hint for the connection
    /// deciding whether to build a packet (a `true` may still yield nothing).
    pub fn wants_transmit(&self) -> bool {
        !self.sched.is_empty() || !self.pending.is_empty() || self.recv_window.should_update()
    }

    /// The next control frame that fits in `max_len` bytes, or `None`. Window updates are
    /// decided here, with auto-tuning against `now` and the connection's smoothed `rtt`.
    ///
    /// The connection records the returned value with the packet and reports it back through
    /// [`on_control_acked`](Self::on_control_acked) or [`on_control_lost`](Self::on_control_lost).
    pub fn poll_control(
        &mut self,
        now: Instant,
        rtt: Duration,
        max_len: usize,
    ) -> Option<StreamControl> {
        self.poll_reset_stream(max_len)
            .or_else(|| self.poll_stop_sending(max_len))
            .or_else(|| self.poll_max_data(now, rtt, max_len))
            .or_else(|| self.poll_max_stream_data(now, rtt, max_len))
            .or_else(|| self.poll_max_streams(max_len))
            .or_else(|| self.poll_blocked(max_len))
    }

    fn poll_reset_stream(&mut self, max_len: usize) -> Option<StreamControl> {
        while let Some(&id) = self.pending.reset_stream.first() {
            let reset = self
                .streams
                .get(&id)
                .and_then(|s| s.send.as_ref())
                .and_then(|s| s.pending_reset());
            let Some((error_code, final_size)) = reset else {
                self.pending.reset_stream.remove(&id);
                continue;
            };
            let frame = StreamControl::ResetStream {
                id,
                error_code,
                final_size,
            };
            if frame.encoded_len() > max_len {
                return None;
            }
            self.pending.reset_stream.remove(&id);
            return Some(frame);
        }
        None
    }

    fn poll_stop_sending(&mut self, max_len: usize) -> Option<StreamControl> {
        while let Some(&id) = self.pending.stop_sending.first() {
            let code = self
                .streams
                .get(&id)
                .and_then(|s| s.recv.as_ref())
                .and_then(|r| r.wants_stop_sending().then(|| r.stop_code()))
                .flatten();
            let Some(error_code) = code else {
                self.pending.stop_sending.remove(&id);
                continue;
            };
            let frame = StreamControl::StopSending { id, error_code };
            if frame.encoded_len() > max_len {
                return None;
            }
            self.pending.stop_sending.remove(&id);
            return Some(frame);
        }
        None
    }

    fn poll_max_data(
        &mut self,
        now: Instant,
        rtt: Duration,
        max_len: usize,
    ) -> Option<StreamControl> {
        let update = self.recv_window.should_update();
        if !(update || self.pending.max_data) || max_len < MAX_DATA_MAX_LEN {
            return None;
        }
        self.pending.max_data = false;
        let max = if update {
            self.recv_window.update(now, rtt)
        } else {
            self.recv_window.max()
        };
        Some(StreamControl::MaxData(max))
    }

    fn poll_max_stream_data(
        &mut self,
        now: Instant,
        rtt: Duration,
        max_len: usize,
    ) -> Option<StreamControl> {
        if max_len < MAX_STREAM_DATA_MAX_LEN {
            return None;
        }
        while let Some((id, force)) = self.pending.max_stream_data.pop_first() {
            let Some(recv) = self.streams.get_mut(&id).and_then(|s| s.recv.as_mut()) else {
                continue;
            };
            // RFC 9000 §13.3: "An endpoint SHOULD stop sending MAX_STREAM_DATA frames when the
            // receiving part of the stream enters a "Size Known" or "Reset Recvd" state."
            if !recv.wants_credit() {
                continue;
            }
            let max = if recv.window.should_update() {
                let max = recv.window.update(now, rtt);
                let min_conn =
                    recv.window.window() * CONN_WINDOW_FACTOR_NUM / CONN_WINDOW_FACTOR_DEN;
                self.recv_window.ensure_window(min_conn);
                max
            } else if force {
                recv.window.max()
            } else {
                continue;
            };
            return Some(StreamControl::MaxStreamData { id, max });
        }
        None
    }

    fn poll_max_streams(&mut self, max_len: usize) -> Option<StreamControl> {
        for dir in Dir::ALL {
            let d = dir.idx();
            if !self.pending.max_streams[d] {
                continue;
            }
            let frame = StreamControl::MaxStreams {
                dir,
                count: self.max_remote[d],
            };
            if frame.encoded_len() <= max_len {
                self.pending.max_streams[d] = false;
                return Some(frame);
            }
        }
        None
    }

    /// *_BLOCKED frames carry the limit in force when they are built (RFC 9000 §13.3: "These
    /// frames always include the limit that is causing blocking at the time that they are
    /// transmitted"), and are dropped if we are no longer blocked.
    fn poll_blocked(&mut self, max_len: usize) -> Option<StreamControl> {
        if self.pending.data_blocked {
            if self.send_credit.available() == 0 {
                let frame = StreamControl::DataBlocked(self.send_credit.max());
                if frame.encoded_len() <= max_len {
                    self.pending.data_blocked = false;
                    return Some(frame);
                }
            } else {
                self.pending.data_blocked = false;
            }
        }
        while let Some(&id) = self.pending.stream_data_blocked.first() {
            let limit = self
                .streams
                .get(&id)
                .and_then(|s| s.send.as_ref())
                .filter(|s| s.blocked_by_stream_credit())
                .map(|s| s.credit.max());
            let Some(limit) = limit else {
                self.pending.stream_data_blocked.remove(&id);
                continue;
            };
            let frame = StreamControl::StreamDataBlocked { id, limit };
            if frame.encoded_len() > max_len {
                break;
            }
            self.pending.stream_data_blocked.remove(&id);
            return Some(frame);
        }
        for dir in Dir::ALL {
            let d = dir.idx();
            if !self.pending.streams_blocked[d] {
                continue;
            }
            if self.next_local[d] < self.max_local[d] {
                self.pending.streams_blocked[d] = false;
                continue;
            }
            let frame = StreamControl::StreamsBlocked {
                dir,
                limit: self.max_local[d],
            };
            if frame.encoded_len() <= max_len {
                self.pending.streams_blocked[d] = false;
                return Some(frame);
            }
        }
        None
    }

    /// A packet carrying `frame` was acknowledged.
    pub fn on_control_acked(&mut self, frame: &StreamControl) {
        if let StreamControl::ResetStream { id, .. } = *frame {
            let acked = self
                .streams
                .get_mut(&id)
                .and_then(|s| s.send.as_mut())
                .is_some_and(|s| s.on_reset_acked());
            if acked {
                self.maybe_free(id);
            }
        }
    }

    /// A packet carrying `frame` was declared lost: queue a new frame if the information is
    /// still current (RFC 9000 §13.3). The new frame carries the current value.
    pub fn on_control_lost(&mut self, frame: &StreamControl) {
        match *frame {
            // RFC 9000 §13.3: "Cancellation of stream transmission, as carried in a
            // RESET_STREAM frame, is sent until acknowledged or until all stream data is
            // acknowledged by the peer".
            StreamControl::ResetStream { id, .. } => {
                let live = self
                    .streams
                    .get(&id)
                    .and_then(|s| s.send.as_ref())
                    .is_some_and(|s| s.pending_reset().is_some());
                if live {
                    self.pending.reset_stream.insert(id);
                }
            }
            // RFC 9000 §13.3: STOP_SENDING "is sent until the receiving part of the stream
            // enters either a "Data Recvd" or "Reset Recvd" state".
            StreamControl::StopSending { id, .. } => {
                let live = self
                    .streams
                    .get(&id)
                    .and_then(|s| s.recv.as_ref())
                    .is_some_and(|r| r.wants_stop_sending());
                if live {
                    self.pending.stop_sending.insert(id);
                }
            }
            // RFC 9000 §13.3: "an updated value is sent when a packet containing the most
            // recently sent MAX_DATA frame is declared lost".
            StreamControl::MaxData(max) => {
                if max == self.recv_window.max() {
                    self.pending.max_data = true;
                }
            }
            StreamControl::MaxStreamData { id, max } => {
                let current = self
                    .streams
                    .get(&id)
                    .and_then(|s| s.recv.as_ref())
                    .is_some_and(|r| r.wants_credit() && r.window.max() == max);
                if current {
                    self.pending.queue_max_stream_data(id, true);
                }
            }
            StreamControl::MaxStreams { dir, count } => {
                if count == self.max_remote[dir.idx()] {
                    self.pending.max_streams[dir.idx()] = true;
                }
            }
            // RFC 9000 §13.3: "A new frame is sent if a packet containing the most recent frame
            // for a scope is lost, but only while the endpoint is blocked on the corresponding
            // limit."
            StreamControl::DataBlocked(limit) => {
                if self.send_credit.blocked_at(limit) {
                    self.pending.data_blocked = true;
                }
            }
            StreamControl::StreamDataBlocked { id, limit } => {
                let blocked = self
                    .streams
                    .get(&id)
                    .and_then(|s| s.send.as_ref())
                    .is_some_and(|s| s.blocked_by_stream_credit() && s.credit.blocked_at(limit));
                if blocked {
                    self.pending.stream_data_blocked.insert(id);
                }
            }
            StreamControl::StreamsBlocked { dir, limit } => {
                let d = dir.idx();
                if self.max_local[d] == limit && self.next_local[d] >= limit {
                    self.pending.streams_blocked[d] = true;
                }
            }
        }
    }

    /// The next STREAM frame's content, at most `max_len` data bytes, chosen by priority and
    /// round-robin. Lost data goes before new data; new data respects stream and connection
    /// credit. The caller accounts for the frame's own overhead; see
    /// [`poll_stream_frame`](Self::poll_stream_frame) to have it done here.
    pub fn poll_stream_data(&mut self, max_len: usize) -> Option<StreamChunk> {
        if max_len == 0 {
            return None;
        }
        self.poll_stream(|_, _| Some(max_len))
    }

    /// Like [`poll_stream_data`](Self::poll_stream_data), but `space` is the room left in the
    /// packet for the whole STREAM frame: the data is sized so that the frame, with type,
    /// stream ID, offset and length fields (see [`stream_frame_overhead`]), fits. Call again to
    /// fill the packet.
    pub fn poll_stream_frame(&mut self, space: usize) -> Option<StreamChunk> {
        self.poll_stream(|id, offset| space.checked_sub(stream_frame_overhead(id, offset, space)))
    }

    /// `max_len` gives the data budget for a stream's next frame at an offset, or `None` if
    /// not even the frame's header fits.
    fn poll_stream(
        &mut self,
        max_len: impl Fn(StreamId, u64) -> Option<usize>,
    ) -> Option<StreamChunk> {
        let mut budget = self.sched.len();
        while budget > 0 {
            budget -= 1;
            let id = self.sched.pop()?;
            let Some(stream) = self.streams.get_mut(&id) else {
                continue;
            };
            stream.queued = false;
            let Some(send) = stream.send.as_mut() else {
                continue;
            };
            let Some(max_len) = max_len(id, send.next_offset()) else {
                // No room for this stream's frame header: keep it scheduled, first in
                // line, and let the packet be finished.
                self.requeue_front(id);
                return None;
            };
            match send.next_chunk(max_len as u64, self.send_credit.available()) {
                NextChunk::Data {
                    offset,
                    data,
                    fin,
                    new_bytes,
                } => {
                    self.send_credit.consume(new_bytes);
                    // RFC 9000 §4.1: signal blocking as soon as credit runs out with data
                    // left, so the *_BLOCKED frame can go in this very packet.
                    if send.blocked_by_stream_credit() && send.credit.take_blocked().is_some() {
                        self.pending.stream_data_blocked.insert(id);
                    }
                    if send.buf.has_unsent()
                        && self.send_credit.available() == 0
                        && self.send_credit.take_blocked().is_some()
                    {
                        self.pending.data_blocked = true;
                    }
                    // Round-robin: a stream that just sent goes to the back of its level.
                    self.requeue(id);
                    return Some(StreamChunk {
                        id,
                        offset,
                        data,
                        fin,
                    });
                }
                NextChunk::BlockedStream => {
                    // Parked until MAX_STREAM_DATA (raise_stream_credit requeues it).
                    if send.credit.take_blocked().is_some() {
                        self.pending.stream_data_blocked.insert(id);
                    }
                }
                NextChunk::BlockedConn => {
                    // Parked until MAX_DATA.
                    if !send.conn_parked {
                        send.conn_parked = true;
                        self.conn_blocked_senders.push(id);
                    }
                    if self.send_credit.take_blocked().is_some() {
                        self.pending.data_blocked = true;
                    }
                }
                NextChunk::Nothing if max_len == 0 => {
                    // Room for a header but no data: keep it scheduled (first in line),
                    // finish the packet.
                    self.requeue_front(id);
                    return None;
                }
                NextChunk::Nothing => {}
            }
        }
        None
    }

    /// A STREAM frame we sent was acknowledged.
    pub fn on_stream_acked(&mut self, id: StreamId, offset: u64, len: usize, fin: bool) {
        let Some(stream) = self.streams.get_mut(&id) else {
            return;
        };
        let Some(send) = stream.send.as_mut() else {
            return;
        };
        let (released, finished) = send.on_ack(offset..offset + len as u64, fin);
        if released > 0 {
            self.send_buffered -= released;
            if send.want_writable && send.is_writable() {
                send.want_writable = false;
                self.events.push_back(StreamEvent::Writable { id });
            }
            self.wake_conn_blocked_writers();
        }
        if finished {
            self.events.push_back(StreamEvent::Finished { id });
            self.maybe_free(id);
        }
    }

    fn wake_conn_blocked_writers(&mut self) {
        for id in std::mem::take(&mut self.conn_blocked_writers) {
            if let Some(send) = self.streams.get_mut(&id).and_then(|s| s.send.as_mut()) {
                if send.want_writable && send.is_writable() {
                    send.want_writable = false;
                    self.events.push_back(StreamEvent::Writable { id });
                }
            }
        }
    }

    /// A STREAM frame we sent was declared lost; its bytes are retransmitted before new data.
    pub fn on_stream_lost(&mut self, id: StreamId, offset: u64, len: usize, fin: bool) {
        let Some(send) = self.streams.get_mut(&id).and_then(|s| s.send.as_mut()) else {
            return;
        };
        if send.on_lost(offset..offset + len as u64, fin) {
            self.requeue(id);
        }
    }
}

/// Upper bound of a STREAM frame's bytes besides its data (type, stream ID, offset, length),
/// for budgeting `poll_stream_data`.
pub fn stream_frame_overhead(id: StreamId, offset: u64, max_len: usize) -> usize {
    1 + varint_len(id.into_inner()) + varint_len(offset) + varint_len(max_len as u64)
}

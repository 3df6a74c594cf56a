//! Short-lived application views of one stream, borrowed from [`StreamsState`]: no shared
//! ownership, no interior mutability.

use bytes::Bytes;

use super::recv::{Recv, RecvState};
use super::send::{Send, SendState};
use super::state::StreamsState;
use super::{ClosedStream, Priority, ReadError, StreamId, WriteError};
use crate::coding::VarInt;

impl StreamsState {
    /// The sending part of `id`, if this endpoint can send on it and it still has state.
    pub fn send(&mut self, id: StreamId) -> Option<SendStream<'_>> {
        self.streams.get(&id)?.send.as_ref()?;
        Some(SendStream { streams: self, id })
    }

    /// The receiving part of `id`, if this endpoint can receive on it and it still has state.
    pub fn recv(&mut self, id: StreamId) -> Option<RecvStream<'_>> {
        self.streams.get(&id)?.recv.as_ref()?;
        Some(RecvStream { streams: self, id })
    }
}

/// Writing side of one stream.
#[derive(Debug)]
pub struct SendStream<'a> {
    streams: &'a mut StreamsState,
    id: StreamId,
}

impl SendStream<'_> {
    /// The stream.
    pub fn id(&self) -> StreamId {
        self.id
    }

    fn half(&self) -> Option<&Send> {
        self.streams.streams.get(&self.id)?.send.as_ref()
    }

    /// Current state (RFC 9000 §3.1), or `None` once the stream is gone.
    pub fn state(&self) -> Option<SendState> {
        self.half().map(Send::state)
    }

    /// Copies as much of `data` as the send buffers allow; returns the bytes taken.
    pub fn write(&mut self, data: &[u8]) -> Result<usize, WriteError> {
        let n = self.room(data.len())?;
        self.commit(n, |send| send.buf.write(&data[..n]));
        Ok(n)
    }

    /// Takes a prefix of `data` without copying it; returns the bytes taken (the caller keeps
    /// the rest for a later write).
    pub fn write_chunk(&mut self, mut data: Bytes) -> Result<usize, WriteError> {
        let n = self.room(data.len())?;
        data.truncate(n);
        self.commit(n, |send| send.buf.write_chunk(data));
        Ok(n)
    }

    /// How many of `want` bytes can be buffered now.
    fn room(&mut self, want: usize) -> Result<usize, WriteError> {
        let st = &mut *self.streams;
        let send = st
            .streams
            .get_mut(&self.id)
            .and_then(|s| s.send.as_mut())
            .ok_or(WriteError::ClosedStream)?;
        if let Some(code) = send.stop_code() {
            return Err(WriteError::Stopped(code));
        }
        if !send.is_writable() {
            return Err(WriteError::ClosedStream);
        }
        if want == 0 {
            return Ok(0);
        }
        let stream_room = st
            .config
            .stream_send_buffer
            .saturating_sub(send.buf.buffered());
        let conn_room = st.config.send_buffer.saturating_sub(st.send_buffered);
        let room = stream_room.min(conn_room);
        if room == 0 {
            send.want_writable = true;
            if conn_room == 0 && !st.conn_blocked_writers.contains(&self.id) {
                st.conn_blocked_writers.push(self.id);
            }
            return Err(WriteError::Blocked);
        }
        Ok(usize::try_from(room).unwrap_or(usize::MAX).min(want))
    }

    /// Appends `n` bytes through `append`, schedules the stream and notes flow-control
    /// blocking.
    fn commit(&mut self, n: usize, append: impl FnOnce(&mut Send)) {
        if n == 0 {
            return;
        }
        let st = &mut *self.streams;
        let Some(send) = st.streams.get_mut(&self.id).and_then(|s| s.send.as_mut()) else {
            return;
        };
        append(send);
        st.send_buffered += n as u64;
        // RFC 9000 §4.1: a sender SHOULD send STREAM_DATA_BLOCKED / DATA_BLOCKED when it has
        // data to send but no credit; queued once per limit.
        if send.blocked_by_stream_credit() && send.credit.take_blocked().is_some() {
            st.pending.stream_data_blocked.insert(self.id);
        }
        if st.send_credit.available() == 0 && st.send_credit.take_blocked().is_some() {
            st.pending.data_blocked = true;
        }
        st.requeue(self.id);
    }

    /// Ends the stream: a FIN follows the data written so far.
    pub fn finish(&mut self) -> Result<(), WriteError> {
        self.room(0)?;
        if let Some(send) = self
            .streams
            .streams
            .get_mut(&self.id)
            .and_then(|s| s.send.as_mut())
        {
            send.finish();
        }
        self.streams.requeue(self.id);
        Ok(())
    }

    /// Abandons the stream with an application error code (RFC 9000 §3.1: RESET_STREAM from
    /// "Ready", "Send" or "Data Sent"); buffered data is dropped.
    pub fn reset(&mut self, error_code: VarInt) -> Result<(), ClosedStream> {
        if self.streams.reset_send(self.id, error_code) {
            Ok(())
        } else {
            Err(ClosedStream)
        }
    }

    /// Sets the scheduling priority.
    pub fn set_priority(&mut self, priority: Priority) {
        let st = &mut *self.streams;
        let Some(stream) = st.streams.get_mut(&self.id) else {
            return;
        };
        if stream.queued {
            st.sched.remove(self.id, stream.priority);
            stream.priority = priority;
            st.sched.push(self.id, priority);
        } else {
            stream.priority = priority;
        }
    }

    /// Bytes written and not yet acknowledged.
    pub fn buffered(&self) -> u64 {
        self.half().map_or(0, |s| s.buf.buffered())
    }
}

/// Reading side of one stream.
#[derive(Debug)]
pub struct RecvStream<'a> {
    streams: &'a mut StreamsState,
    id: StreamId,
}

impl RecvStream<'_> {
    /// The stream.
    pub fn id(&self) -> StreamId {
        self.id
    }

    fn half(&self) -> Option<&Recv> {
        self.streams.streams.get(&self.id)?.recv.as_ref()
    }

    /// Current state (RFC 9000 §3.2), or `None` once the stream is gone.
    pub fn state(&self) -> Option<RecvState> {
        self.half().map(Recv::state)
    }

    /// Copies data into `buf`; returns the bytes copied, or `Ok(None)` at the end of the
    /// stream.
    pub fn read(&mut self, buf: &mut [u8]) -> Result<Option<usize>, ReadError> {
        self.with_recv(|recv| recv.read_into(buf))
    }

    /// Takes up to `max` bytes without copying; `Ok(None)` at the end of the stream.
    pub fn read_chunk(&mut self, max: usize) -> Result<Option<Bytes>, ReadError> {
        self.with_recv(|recv| recv.read(max))
    }

    /// Runs a read and does the bookkeeping: connection window, window updates, freeing.
    fn with_recv<T>(
        &mut self,
        read: impl FnOnce(&mut Recv) -> Result<Option<T>, ReadError>,
    ) -> Result<Option<T>, ReadError> {
        let st = &mut *self.streams;
        let stream = st
            .streams
            .get_mut(&self.id)
            .ok_or(ReadError::ClosedStream)?;
        let recv = stream.recv.as_mut().ok_or(ReadError::ClosedStream)?;
        stream.read_notified = false;
        let before = recv.buffered();
        let result = read(recv);
        let consumed = before - recv.buffered();
        if consumed > 0 {
            st.recv_window.consume(consumed);
            // RFC 9000 §4.2: send credit as data is consumed, before the peer blocks; decided
            // (and auto-tuned) in poll_control.
            if recv.wants_credit() && recv.window.should_update() {
                st.pending.queue_max_stream_data(self.id, false);
            }
        }
        if !matches!(result, Ok(Some(_)) | Err(ReadError::Blocked)) {
            st.maybe_free(self.id);
        }
        result
    }

    /// Stops reading (RFC 9000 §3.5): buffered and future data is discarded and the peer is
    /// asked with STOP_SENDING to reset the stream.
    pub fn stop(&mut self, error_code: VarInt) -> Result<(), ClosedStream> {
        let st = &mut *self.streams;
        let recv = st
            .streams
            .get_mut(&self.id)
            .and_then(|s| s.recv.as_mut())
            .ok_or(ClosedStream)?;
        if recv.is_stopped() || matches!(recv.state(), RecvState::DataRead | RecvState::ResetRead) {
            return Err(ClosedStream);
        }
        let (released, send_stop) = recv.stop(error_code);
        st.recv_window.consume(released);
        st.pending.max_stream_data.remove(&self.id);
        if send_stop {
            st.pending.stop_sending.insert(self.id);
        }
        st.maybe_free(self.id);
        Ok(())
    }

    /// Bytes buffered (readable or out of order).
    pub fn buffered(&self) -> u64 {
        self.half().map_or(0, Recv::buffered)
    }
}

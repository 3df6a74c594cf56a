//! The seam to QUIC: what the HTTP/3 state machine asks of a transport connection.
//!
//! # Why this shape
//!
//! Outgoing operations go through [`Transport`], passed as `&mut dyn Transport` to every
//! [`Connection`](crate::Connection) call that may send; incoming events are pushed in by the
//! caller (`on_stream_data`, `on_stream_reset`, `on_stop_sending`, `on_stream_writable`). So:
//!
//! * A QUIC connection implements it with a thin adapter over its stream views (open a
//!   stream, `write_chunk` a `Bytes` without copying, finish, reset, stop, close); nothing is
//!   shared or reference-counted between the two state machines, and neither owns the other.
//! * Tests implement it with a few queues ([`crate::testing::MemTransport`]).
//! * The HTTP/3 state never waits: a write the transport cannot take completely is kept
//!   (as `Bytes`, no copy) and retried on `on_stream_writable`; a stream that cannot be
//!   opened yet is retried on the next call.
//!
//! A poll-based design (`poll_transmit() -> (stream, bytes)`) was the alternative; it would
//! need its own copy of every stream's send buffer, flow-control view and open-stream
//! credit, duplicating what the QUIC stream layer already tracks.

use crate::{Code, StreamId};
use bytes::Bytes;

/// Why a write failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum WriteError {
    /// The peer sent STOP_SENDING with this code.
    #[error("stopped by the peer with {0}")]
    Stopped(Code),
    /// The stream is finished, reset or unknown.
    #[error("stream closed")]
    Closed,
}

/// What the HTTP/3 state machine needs from a QUIC connection.
pub trait Transport {
    /// Opens a unidirectional stream, or `None` if the peer's stream limit allows none now.
    fn open_uni(&mut self) -> Option<StreamId>;
    /// Opens a bidirectional stream, or `None` if the peer's stream limit allows none now.
    fn open_bidi(&mut self) -> Option<StreamId>;
    /// Takes a prefix of `data` for sending on `id` (ideally without copying it); returns how
    /// many bytes were taken, 0 when flow control or buffer space allow none now. The caller
    /// retries the rest after `Connection::on_stream_writable`.
    fn write(&mut self, id: StreamId, data: Bytes) -> Result<usize, WriteError>;
    /// Ends the stream after the data written so far (FIN).
    fn finish(&mut self, id: StreamId);
    /// Abandons sending on `id` (RESET_STREAM).
    fn reset(&mut self, id: StreamId, code: Code);
    /// Asks the peer to stop sending on `id` (STOP_SENDING); data still arriving for it may
    /// be dropped.
    fn stop_sending(&mut self, id: StreamId, code: Code);
    /// Closes the connection (CONNECTION_CLOSE with an application error code).
    fn close(&mut self, code: Code, reason: &[u8]);
    /// Sets the send-scheduling class of our side of stream `id`: lower `urgency` is served
    /// first; within one urgency, non-incremental streams go one at a time in stream-ID
    /// order and incremental ones share the link round-robin (the RFC 9218 §4 model).
    ///
    /// `urgency` is the scheduler's value, not the RFC's: the connection gives its control
    /// and QPACK streams [`CRITICAL_URGENCY`] and request streams
    /// [`request_urgency`]`(priority)`, one level below, so a response at RFC urgency 0
    /// never holds back the encoder instructions its own header section may need.
    fn set_priority(&mut self, id: StreamId, urgency: u8, incremental: bool);
    /// How many bidirectional streams the peer may open in all (the limit we advertised,
    /// RFC 9000 §4.6), or `None` if unknown. A server uses it to reject PRIORITY_UPDATEs for
    /// request streams the client could not open yet (RFC 9218 §7.2), which also bounds the
    /// updates it buffers.
    fn peer_bidi_limit(&self) -> Option<u64>;
}

/// The scheduling urgency of our control, QPACK encoder and QPACK decoder streams: ahead of
/// every request stream.
pub const CRITICAL_URGENCY: u8 = 0;

/// The scheduling urgency of a request stream with RFC 9218 `priority`: 1 + its urgency
/// (1..=8), below [`CRITICAL_URGENCY`].
pub fn request_urgency(priority: crate::Priority) -> u8 {
    priority.urgency.saturating_add(1)
}

impl StreamId {
    /// Whether the client opened this stream (RFC 9000 §2.1: the low bit is 0).
    pub fn is_client_initiated(self) -> bool {
        self.0 & 1 == 0
    }

    /// Whether the stream is bidirectional (RFC 9000 §2.1: the second bit is 0).
    pub fn is_bidi(self) -> bool {
        self.0 & 2 == 0
    }

    /// Whether this is a request stream: client-initiated and bidirectional (RFC 9114 §6.1).
    pub fn is_request(self) -> bool {
        self.0 & 3 == 0
    }
}

impl std::fmt::Display for StreamId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl From<u64> for StreamId {
    fn from(v: u64) -> Self {
        StreamId(v)
    }
}

//! The stream layer (RFC 9000 §2-§4): stream IDs, send and receive state machines, reassembly,
//! flow control with auto-tuned windows, stream concurrency limits and fair scheduling.
//!
//! Sans-IO and frame-agnostic: [`StreamsState`] takes the *values* of incoming stream-related
//! frames (`on_stream_frame`, `on_reset_stream`, ...) and hands out the values of frames to send
//! ([`StreamControl`], [`StreamChunk`]); the connection owns encoding, packets and
//! acknowledgments, and reports acks and losses back with the same values. Time enters only as
//! `now`/`rtt` arguments of [`StreamsState::poll_control`], where windows are auto-tuned.
//!
//! The application uses short-lived borrowed views: [`StreamsState::send`] gives a
//! [`SendStream`] and [`StreamsState::recv`] a [`RecvStream`]; what happens in the background
//! comes out of [`StreamsState::poll_event`] as [`StreamEvent`]s.
//!
//! # Gluing a connection to it
//!
//! - Setup: `StreamsState::new(side, config)`; put [`StreamsState::local_limits`] in our
//!   transport parameters and pass the peer's to [`StreamsState::set_peer_limits`] (again for
//!   remembered 0-RTT ones, limits only grow).
//! - Incoming (1-RTT/0-RTT packets): STREAM → `on_stream_frame(id, offset, data, fin)`,
//!   RESET_STREAM → `on_reset_stream`, STOP_SENDING → `on_stop_sending`, MAX_DATA →
//!   `on_max_data`, MAX_STREAM_DATA → `on_max_stream_data`, MAX_STREAMS → `on_max_streams`,
//!   DATA_BLOCKED / STREAM_DATA_BLOCKED / STREAMS_BLOCKED → `on_*_blocked`. An `Err` is a
//!   connection error: close with its code (the frame type is filled in).
//! - Outgoing, per packet: `poll_control(now, rtt, space)` until `None`, then
//!   `poll_stream_data(space - overhead)` (see [`stream_frame_overhead`]) until `None` or the
//!   packet is full. Record each [`StreamControl`] and each (id, offset, len, fin) of a
//!   [`StreamChunk`] with the packet.
//! - Acks and losses: `on_control_acked` / `on_control_lost` with the recorded
//!   [`StreamControl`], `on_stream_acked` / `on_stream_lost` with the recorded chunk ranges.
//!   Retransmission is automatic: lost information is re-queued with its current value.
//! - [`StreamsState::wants_transmit`] says whether a packet may be worth building.

pub(crate) mod assembler;
mod control;
mod flow;
mod id;
mod range_set;
mod recv;
mod scheduler;
mod send;
mod send_buffer;
mod state;
mod transmit;
mod view;

#[cfg(test)]
mod tests;

pub use control::StreamControl;
pub use id::{Dir, Side, StreamId};
pub use recv::RecvState;
pub use scheduler::Priority;
pub use send::SendState;
pub use state::StreamsState;
pub use transmit::stream_frame_overhead;
pub use view::{RecvStream, SendStream};

use bytes::Bytes;

use crate::coding::VarInt;

/// Local stream-layer settings.
#[derive(Debug, Clone)]
pub struct StreamsConfig {
    /// Bidirectional streams the peer may have open at once (our initial_max_streams_bidi; the
    /// limit is re-issued with MAX_STREAMS as streams close).
    pub max_concurrent_bidi_streams: u64,
    /// Unidirectional streams the peer may have open at once.
    pub max_concurrent_uni_streams: u64,
    /// Initial per-stream receive window (our initial_max_stream_data_* parameters).
    pub stream_receive_window: u64,
    /// Auto-tuning never grows a stream window beyond this.
    pub max_stream_receive_window: u64,
    /// Initial connection receive window (our initial_max_data).
    pub receive_window: u64,
    /// Auto-tuning never grows the connection window beyond this.
    pub max_receive_window: u64,
    /// Unacknowledged bytes one stream may buffer before writes are refused with `Blocked`.
    pub stream_send_buffer: u64,
    /// Unacknowledged bytes all streams together may buffer.
    pub send_buffer: u64,
}

impl Default for StreamsConfig {
    fn default() -> Self {
        Self {
            max_concurrent_bidi_streams: 100,
            max_concurrent_uni_streams: 100,
            stream_receive_window: 256 * 1024,
            max_stream_receive_window: 16 * 1024 * 1024,
            receive_window: 1024 * 1024,
            max_receive_window: 24 * 1024 * 1024,
            stream_send_buffer: 1024 * 1024,
            send_buffer: 16 * 1024 * 1024,
        }
    }
}

/// Stream-related transport parameters (RFC 9000 §18.2), as sent by one endpoint.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StreamLimits {
    /// initial_max_data.
    pub initial_max_data: u64,
    /// initial_max_stream_data_bidi_local: for bidirectional streams the sender of the
    /// parameter opens.
    pub initial_max_stream_data_bidi_local: u64,
    /// initial_max_stream_data_bidi_remote: for bidirectional streams its peer opens.
    pub initial_max_stream_data_bidi_remote: u64,
    /// initial_max_stream_data_uni: for unidirectional streams its peer opens.
    pub initial_max_stream_data_uni: u64,
    /// initial_max_streams_bidi.
    pub initial_max_streams_bidi: u64,
    /// initial_max_streams_uni.
    pub initial_max_streams_uni: u64,
}

/// Data to put in a STREAM frame (RFC 9000 §19.8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamChunk {
    /// The stream.
    pub id: StreamId,
    /// Stream offset of the first byte.
    pub offset: u64,
    /// The bytes (possibly empty for a lone FIN).
    pub data: Bytes,
    /// Whether this frame carries the FIN.
    pub fin: bool,
}

/// Something the application should know about a stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamEvent {
    /// The peer opened a stream (RFC 9000 §3.2: opening stream N also opens the lower ones of
    /// its type, each reported in order).
    Opened {
        /// The stream.
        id: StreamId,
    },
    /// Data or the end of the stream can be read.
    Readable {
        /// The stream.
        id: StreamId,
    },
    /// A write refused with `Blocked` may now succeed.
    Writable {
        /// The stream.
        id: StreamId,
    },
    /// Everything written, FIN included, was acknowledged.
    Finished {
        /// The stream.
        id: StreamId,
    },
    /// The peer asked us to stop sending (STOP_SENDING); the stream was reset with the same
    /// code (RFC 9000 §3.5).
    Stopped {
        /// The stream.
        id: StreamId,
        /// The peer's application error code.
        error_code: VarInt,
    },
    /// The peer reset its sending part (RESET_STREAM); unread data is gone.
    Reset {
        /// The stream.
        id: StreamId,
        /// The peer's application error code.
        error_code: VarInt,
    },
    /// The peer raised MAX_STREAMS: more streams of this kind can be opened.
    Available {
        /// Which kind.
        dir: Dir,
    },
}

/// Why a write failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum WriteError {
    /// The send buffer is full; wait for [`StreamEvent::Writable`].
    #[error("send buffer full")]
    Blocked,
    /// The peer sent STOP_SENDING with this code.
    #[error("stopped by peer, error {0}")]
    Stopped(VarInt),
    /// The stream was finished or reset, or does not exist any more.
    #[error("stream closed")]
    ClosedStream,
}

/// Why a read failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ReadError {
    /// No data is available yet; wait for [`StreamEvent::Readable`].
    #[error("no data available")]
    Blocked,
    /// The peer reset the stream with this code.
    #[error("reset by peer, error {0}")]
    Reset(VarInt),
    /// The stream was read to the end or stopped, or does not exist any more.
    #[error("stream closed")]
    ClosedStream,
}

/// The stream is closed, or this operation was already done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("stream closed")]
pub struct ClosedStream;

//! Stream-related control frames the connection must send (RFC 9000 §19.4-19.14), as plain
//! values, and the set of frames waiting to be sent.
//!
//! Pending frames are flags, not values: the value is read when the frame is built, so a
//! retransmission after loss carries the *current* limit (RFC 9000 §13.3).

use std::collections::{BTreeMap, BTreeSet};

use super::id::{Dir, StreamId};
use crate::coding::{varint_len, VarInt};

/// A stream-layer control frame to put in a packet. The connection encodes it with the frame
/// module and, when the packet is acknowledged or lost, hands the same value back to
/// [`StreamsState::on_control_acked`](super::StreamsState::on_control_acked) or
/// [`StreamsState::on_control_lost`](super::StreamsState::on_control_lost).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamControl {
    /// RESET_STREAM (RFC 9000 §19.4).
    ResetStream {
        /// The stream.
        id: StreamId,
        /// Application error code.
        error_code: VarInt,
        /// Final size (RFC 9000 §4.5).
        final_size: u64,
    },
    /// STOP_SENDING (RFC 9000 §19.5).
    StopSending {
        /// The stream.
        id: StreamId,
        /// Application error code.
        error_code: VarInt,
    },
    /// MAX_DATA (RFC 9000 §19.9).
    MaxData(u64),
    /// MAX_STREAM_DATA (RFC 9000 §19.10).
    MaxStreamData {
        /// The stream.
        id: StreamId,
        /// New limit.
        max: u64,
    },
    /// MAX_STREAMS (RFC 9000 §19.11).
    MaxStreams {
        /// Which kind of streams.
        dir: Dir,
        /// Cumulative count the peer may open.
        count: u64,
    },
    /// DATA_BLOCKED (RFC 9000 §19.12).
    DataBlocked(u64),
    /// STREAM_DATA_BLOCKED (RFC 9000 §19.13).
    StreamDataBlocked {
        /// The stream.
        id: StreamId,
        /// The limit we are blocked at.
        limit: u64,
    },
    /// STREAMS_BLOCKED (RFC 9000 §19.14).
    StreamsBlocked {
        /// Which kind of streams.
        dir: Dir,
        /// The limit we are blocked at.
        limit: u64,
    },
}

impl StreamControl {
    /// The frame type (RFC 9000 §19, Table 3).
    pub fn frame_type(&self) -> u64 {
        match self {
            Self::ResetStream { .. } => 0x04,
            Self::StopSending { .. } => 0x05,
            Self::MaxData(_) => 0x10,
            Self::MaxStreamData { .. } => 0x11,
            Self::MaxStreams { dir: Dir::Bi, .. } => 0x12,
            Self::MaxStreams { dir: Dir::Uni, .. } => 0x13,
            Self::DataBlocked(_) => 0x14,
            Self::StreamDataBlocked { .. } => 0x15,
            Self::StreamsBlocked { dir: Dir::Bi, .. } => 0x16,
            Self::StreamsBlocked { dir: Dir::Uni, .. } => 0x17,
        }
    }

    /// Encoded size in bytes, type included.
    pub fn encoded_len(&self) -> usize {
        let fields = match *self {
            Self::ResetStream {
                id,
                error_code,
                final_size,
            } => varint_len(id.into_inner()) + error_code.size() + varint_len(final_size),
            Self::StopSending { id, error_code } => varint_len(id.into_inner()) + error_code.size(),
            Self::MaxData(v) | Self::DataBlocked(v) => varint_len(v),
            Self::MaxStreamData { id, max: v } | Self::StreamDataBlocked { id, limit: v } => {
                varint_len(id.into_inner()) + varint_len(v)
            }
            Self::MaxStreams { count: v, .. } | Self::StreamsBlocked { limit: v, .. } => {
                varint_len(v)
            }
        };
        varint_len(self.frame_type()) + fields
    }
}

/// Frames waiting to be sent; values are filled in when polled.
#[derive(Debug, Default)]
pub(crate) struct PendingControl {
    pub(crate) reset_stream: BTreeSet<StreamId>,
    pub(crate) stop_sending: BTreeSet<StreamId>,
    /// Force a MAX_DATA even if the window is not half used (its last one was lost).
    pub(crate) max_data: bool,
    /// Streams whose window may need an update; `true` forces one (the last one was lost).
    pub(crate) max_stream_data: BTreeMap<StreamId, bool>,
    pub(crate) max_streams: [bool; 2],
    pub(crate) data_blocked: bool,
    pub(crate) stream_data_blocked: BTreeSet<StreamId>,
    pub(crate) streams_blocked: [bool; 2],
}

impl PendingControl {
    pub(crate) fn is_empty(&self) -> bool {
        self.reset_stream.is_empty()
            && self.stop_sending.is_empty()
            && !self.max_data
            && self.max_stream_data.is_empty()
            && self.max_streams == [false; 2]
            && !self.data_blocked
            && self.stream_data_blocked.is_empty()
            && self.streams_blocked == [false; 2]
    }

    /// Queues a MAX_STREAM_DATA check for `id`, keeping a `force` already set.
    pub(crate) fn queue_max_stream_data(&mut self, id: StreamId, force: bool) {
        let entry = self.max_stream_data.entry(id).or_insert(false);
        *entry |= force;
    }

    pub(crate) fn forget_stream(&mut self, id: StreamId) {
        self.stop_sending.remove(&id);
        self.max_stream_data.remove(&id);
        self.stream_data_blocked.remove(&id);
        // A queued RESET_STREAM outlives the stream only if it is still unacknowledged, and
        // then the stream is not freed; nothing to do for it here.
        self.reset_stream.remove(&id);
    }
}

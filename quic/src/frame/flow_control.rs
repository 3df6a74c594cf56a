//! Flow control frames: MAX_STREAM_DATA (RFC 9000 §19.10), MAX_STREAMS (§19.11),
//! STREAM_DATA_BLOCKED (§19.13) and STREAMS_BLOCKED (§19.14). MAX_DATA (§19.9) and DATA_BLOCKED
//! (§19.12) carry a single value and are plain [`Frame`](super::Frame) variants.

use super::{get_var, put_type, type_len, FrameType, Invalid};
use crate::coding::{put_varint, varint_len, BufExt, VarInt};
use bytes::{BufMut, Bytes};

/// The largest stream count MAX_STREAMS and STREAMS_BLOCKED may carry, 2^60: beyond it stream
/// IDs would not fit in a varint (RFC 9000 §19.11, §19.14).
pub const MAX_STREAMS_LIMIT: u64 = 1 << 60;

/// Which kind of stream a stream-count frame is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dir {
    /// Bidirectional streams.
    Bi,
    /// Unidirectional streams.
    Uni,
}

/// A MAX_STREAM_DATA frame (RFC 9000 §19.10).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MaxStreamData {
    /// The stream.
    pub id: VarInt,
    /// The largest offset + 1 the peer may send on the stream.
    pub max: VarInt,
}

impl MaxStreamData {
    /// Bytes [`MaxStreamData::encode`] writes.
    pub fn encoded_len(&self) -> usize {
        type_len(FrameType::MAX_STREAM_DATA) + self.id.size() + self.max.size()
    }

    /// Writes the frame.
    pub fn encode<B: BufMut>(&self, buf: &mut B) {
        put_type(buf, FrameType::MAX_STREAM_DATA);
        self.id.encode(buf);
        self.max.encode(buf);
    }

    pub(super) fn decode(buf: &mut Bytes) -> Result<Self, Invalid> {
        Ok(Self {
            id: get_var(buf)?,
            max: get_var(buf)?,
        })
    }
}

/// A STREAM_DATA_BLOCKED frame (RFC 9000 §19.13).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamDataBlocked {
    /// The stream.
    pub id: VarInt,
    /// The stream offset at which the sender blocked.
    pub limit: VarInt,
}

impl StreamDataBlocked {
    /// Bytes [`StreamDataBlocked::encode`] writes.
    pub fn encoded_len(&self) -> usize {
        type_len(FrameType::STREAM_DATA_BLOCKED) + self.id.size() + self.limit.size()
    }

    /// Writes the frame.
    pub fn encode<B: BufMut>(&self, buf: &mut B) {
        put_type(buf, FrameType::STREAM_DATA_BLOCKED);
        self.id.encode(buf);
        self.limit.encode(buf);
    }

    pub(super) fn decode(buf: &mut Bytes) -> Result<Self, Invalid> {
        Ok(Self {
            id: get_var(buf)?,
            limit: get_var(buf)?,
        })
    }
}

/// A MAX_STREAMS frame (RFC 9000 §19.11).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MaxStreams {
    /// Which streams the limit is for (type 0x12 bidirectional, 0x13 unidirectional).
    pub dir: Dir,
    /// The cumulative number of streams of that kind the peer may open; at most
    /// [`MAX_STREAMS_LIMIT`].
    pub count: u64,
}

impl MaxStreams {
    /// MAX_STREAMS_BIDI or MAX_STREAMS_UNI.
    pub fn frame_type(&self) -> FrameType {
        match self.dir {
            Dir::Bi => FrameType::MAX_STREAMS_BIDI,
            Dir::Uni => FrameType::MAX_STREAMS_UNI,
        }
    }

    /// Bytes [`MaxStreams::encode`] writes.
    pub fn encoded_len(&self) -> usize {
        type_len(self.frame_type()) + varint_len(self.count)
    }

    /// Writes the frame.
    pub fn encode<B: BufMut>(&self, buf: &mut B) {
        debug_assert!(self.count <= MAX_STREAMS_LIMIT);
        put_type(buf, self.frame_type());
        put_varint(buf, self.count);
    }

    pub(super) fn decode(buf: &mut Bytes, dir: Dir) -> Result<Self, Invalid> {
        let count = buf.get_var()?;
        // RFC 9000 §19.11: "Receipt of a frame that permits opening of a stream larger than
        // this limit [2^60] MUST be treated as a connection error of type
        // FRAME_ENCODING_ERROR."
        if count > MAX_STREAMS_LIMIT {
            return Err(Invalid("MAX_STREAMS above 2^60"));
        }
        Ok(Self { dir, count })
    }
}

/// A STREAMS_BLOCKED frame (RFC 9000 §19.14).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamsBlocked {
    /// Which streams the sender could not open (type 0x16 bidirectional, 0x17
    /// unidirectional).
    pub dir: Dir,
    /// The stream limit at the time the sender blocked; at most [`MAX_STREAMS_LIMIT`].
    pub limit: u64,
}

impl StreamsBlocked {
    /// STREAMS_BLOCKED_BIDI or STREAMS_BLOCKED_UNI.
    pub fn frame_type(&self) -> FrameType {
        match self.dir {
            Dir::Bi => FrameType::STREAMS_BLOCKED_BIDI,
            Dir::Uni => FrameType::STREAMS_BLOCKED_UNI,
        }
    }

    /// Bytes [`StreamsBlocked::encode`] writes.
    pub fn encoded_len(&self) -> usize {
        type_len(self.frame_type()) + varint_len(self.limit)
    }

    /// Writes the frame.
    pub fn encode<B: BufMut>(&self, buf: &mut B) {
        debug_assert!(self.limit <= MAX_STREAMS_LIMIT);
        put_type(buf, self.frame_type());
        put_varint(buf, self.limit);
    }

    pub(super) fn decode(buf: &mut Bytes, dir: Dir) -> Result<Self, Invalid> {
        let limit = buf.get_var()?;
        // RFC 9000 §19.14: "This value cannot exceed 2^60 ... Receipt of a frame that encodes a
        // larger stream ID MUST be treated as a connection error of type STREAM_LIMIT_ERROR or
        // FRAME_ENCODING_ERROR."
        if limit > MAX_STREAMS_LIMIT {
            return Err(Invalid("STREAMS_BLOCKED above 2^60"));
        }
        Ok(Self { dir, limit })
    }
}

//! Frames (RFC 9000 §19, RFC 9221 §4): what a decrypted packet payload is made of.
//!
//! # Receiving
//!
//! [`FrameIter`] walks a decrypted payload and yields one [`Frame`] at a time. Decoding is
//! zero-copy: the data a frame carries (STREAM, CRYPTO and DATAGRAM data, NEW_TOKEN tokens,
//! CONNECTION_CLOSE reasons, ACK ranges) are [`Bytes`] slices of the payload. Every way a frame
//! can fail to decode turns into a [`TransportError`](crate::TransportError) here, in one place:
//! FRAME_ENCODING_ERROR for malformed or unknown frames, PROTOCOL_VIOLATION for a frame the packet
//! type does not permit (RFC 9000 §12.4), both with the offending frame type set.
//!
//! What this layer checks is what the frame alone can tell (RFC 9000 §19 encoding rules, §12.4
//! packet-type permissions). Checks that need connection state stay with the connection:
//! the role (a server receiving NEW_TOKEN or HANDSHAKE_DONE, §19.7, §19.20), stream states and
//! limits, whether DATAGRAM was negotiated (RFC 9221 §3), CID limits.
//!
//! # Sending
//!
//! Every frame has `encode` and an exact `encoded_len`. The send path has cheaper tools that do
//! not build a [`Frame`]: [`StreamHeader`], [`CryptoHeader`] and [`DatagramHeader`] write only the
//! header (the caller copies the data right after it) and say how much data fits in a given
//! space; [`AckEncoder`] writes an ACK straight from a receiver's range set, capped to a number
//! of ranges or to a byte budget.

mod ack;
mod close;
mod connection_id;
mod crypto;
mod datagram;
mod flow_control;
mod iter;
mod stream;
#[cfg(test)]
mod tests;

pub use ack::{Ack, AckEncoder, AckIter, EcnCounts};
pub use close::{ApplicationClose, ConnectionClose};
pub use connection_id::{NewConnectionId, RESET_TOKEN_LEN};
pub use crypto::{Crypto, CryptoHeader, NewToken};
pub use datagram::{Datagram, DatagramHeader};
pub use flow_control::{
    Dir, MaxStreamData, MaxStreams, StreamDataBlocked, StreamsBlocked, MAX_STREAMS_LIMIT,
};
pub use iter::FrameIter;
pub use stream::{ResetStream, StopSending, Stream, StreamHeader};

use crate::coding::{put_varint, varint_len, UnexpectedEnd, VarInt};
use crate::packet::PacketType;
use bytes::{BufMut, Bytes};
use std::fmt;

/// A frame type number (RFC 9000 §12.4 Table 3, RFC 9221 §4).
///
/// Types with flag bits (ACK, STREAM, MAX_STREAMS, STREAMS_BLOCKED, CONNECTION_CLOSE, DATAGRAM)
/// have one constant per value that matters; STREAM has only its base value, 0x08, with the
/// flag bits in [`FrameType::STREAM_OFF`], [`FrameType::STREAM_LEN`], [`FrameType::STREAM_FIN`].
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FrameType(pub u64);

impl FrameType {
    /// PADDING (RFC 9000 §19.1).
    pub const PADDING: Self = Self(0x00);
    /// PING (RFC 9000 §19.2).
    pub const PING: Self = Self(0x01);
    /// ACK without ECN counts (RFC 9000 §19.3).
    pub const ACK: Self = Self(0x02);
    /// ACK with ECN counts (RFC 9000 §19.3.2).
    pub const ACK_ECN: Self = Self(0x03);
    /// RESET_STREAM (RFC 9000 §19.4).
    pub const RESET_STREAM: Self = Self(0x04);
    /// STOP_SENDING (RFC 9000 §19.5).
    pub const STOP_SENDING: Self = Self(0x05);
    /// CRYPTO (RFC 9000 §19.6).
    pub const CRYPTO: Self = Self(0x06);
    /// NEW_TOKEN (RFC 9000 §19.7).
    pub const NEW_TOKEN: Self = Self(0x07);
    /// STREAM with no flag bits; STREAM types are 0x08..=0x0f (RFC 9000 §19.8).
    pub const STREAM: Self = Self(0x08);
    /// The last STREAM type (all of OFF, LEN and FIN set).
    pub const STREAM_MAX: Self = Self(0x0f);
    /// MAX_DATA (RFC 9000 §19.9).
    pub const MAX_DATA: Self = Self(0x10);
    /// MAX_STREAM_DATA (RFC 9000 §19.10).
    pub const MAX_STREAM_DATA: Self = Self(0x11);
    /// MAX_STREAMS for bidirectional streams (RFC 9000 §19.11).
    pub const MAX_STREAMS_BIDI: Self = Self(0x12);
    /// MAX_STREAMS for unidirectional streams (RFC 9000 §19.11).
    pub const MAX_STREAMS_UNI: Self = Self(0x13);
    /// DATA_BLOCKED (RFC 9000 §19.12).
    pub const DATA_BLOCKED: Self = Self(0x14);
    /// STREAM_DATA_BLOCKED (RFC 9000 §19.13).
    pub const STREAM_DATA_BLOCKED: Self = Self(0x15);
    /// STREAMS_BLOCKED for bidirectional streams (RFC 9000 §19.14).
    pub const STREAMS_BLOCKED_BIDI: Self = Self(0x16);
    /// STREAMS_BLOCKED for unidirectional streams (RFC 9000 §19.14).
    pub const STREAMS_BLOCKED_UNI: Self = Self(0x17);
    /// NEW_CONNECTION_ID (RFC 9000 §19.15).
    pub const NEW_CONNECTION_ID: Self = Self(0x18);
    /// RETIRE_CONNECTION_ID (RFC 9000 §19.16).
    pub const RETIRE_CONNECTION_ID: Self = Self(0x19);
    /// PATH_CHALLENGE (RFC 9000 §19.17).
    pub const PATH_CHALLENGE: Self = Self(0x1a);
    /// PATH_RESPONSE (RFC 9000 §19.18).
    pub const PATH_RESPONSE: Self = Self(0x1b);
    /// CONNECTION_CLOSE carrying a transport error code (RFC 9000 §19.19).
    pub const CONNECTION_CLOSE: Self = Self(0x1c);
    /// CONNECTION_CLOSE carrying an application error code (RFC 9000 §19.19).
    pub const APPLICATION_CLOSE: Self = Self(0x1d);
    /// HANDSHAKE_DONE (RFC 9000 §19.20).
    pub const HANDSHAKE_DONE: Self = Self(0x1e);
    /// DATAGRAM without a Length field: the data runs to the end of the packet (RFC 9221 §4).
    pub const DATAGRAM: Self = Self(0x30);
    /// DATAGRAM with a Length field (RFC 9221 §4).
    pub const DATAGRAM_LEN: Self = Self(0x31);

    /// STREAM flag: an Offset field is present (RFC 9000 §19.8).
    pub const STREAM_OFF: u64 = 0x04;
    /// STREAM flag: a Length field is present (RFC 9000 §19.8).
    pub const STREAM_LEN: u64 = 0x02;
    /// STREAM flag: the frame ends the stream (RFC 9000 §19.8).
    pub const STREAM_FIN: u64 = 0x01;

    /// Whether this is one of the STREAM types 0x08..=0x0f.
    #[inline]
    pub const fn is_stream(self) -> bool {
        self.0 >= Self::STREAM.0 && self.0 <= Self::STREAM_MAX.0
    }

    /// Whether this crate knows how to decode this frame type.
    pub const fn is_known(self) -> bool {
        matches!(self.0, 0x00..=0x1e | 0x30 | 0x31)
    }

    /// Whether a frame of this type may appear in a packet of type `packet`
    /// (RFC 9000 §12.4 Table 3, §12.5; RFC 9221 §4). Unknown types are never permitted.
    pub fn is_permitted_in(self, packet: PacketType) -> bool {
        match packet {
            // RFC 9000 §12.4 Table 3 ("IH" and "ih"): Initial and Handshake packets carry only
            // PADDING, PING, ACK, CRYPTO and CONNECTION_CLOSE of type 0x1c; §12.5: 0x1d "MUST
            // only appear in the application data packet number space".
            PacketType::Initial | PacketType::Handshake => matches!(
                self,
                Self::PADDING
                    | Self::PING
                    | Self::ACK
                    | Self::ACK_ECN
                    | Self::CRYPTO
                    | Self::CONNECTION_CLOSE
            ),
            // RFC 9000 §12.5: ACK, CRYPTO, HANDSHAKE_DONE, NEW_TOKEN, PATH_RESPONSE and
            // RETIRE_CONNECTION_ID cannot be sent in 0-RTT and a server MAY treat them as
            // PROTOCOL_VIOLATION. Table 3 marks RETIRE_CONNECTION_ID "__01", but §12.5 lists it
            // and a client cannot have a server-issued CID to retire before 1-RTT, so we follow
            // §12.5. Both CONNECTION_CLOSE types are allowed ("ih01"), and so is DATAGRAM
            // (RFC 9221 §5: protected with 0-RTT or 1-RTT keys).
            PacketType::ZeroRtt => {
                self.is_known()
                    && !matches!(
                        self,
                        Self::ACK
                            | Self::ACK_ECN
                            | Self::CRYPTO
                            | Self::NEW_TOKEN
                            | Self::PATH_RESPONSE
                            | Self::RETIRE_CONNECTION_ID
                            | Self::HANDSHAKE_DONE
                    )
            }
            // RFC 9000 §12.4: "all frames can appear in 1-RTT packets".
            PacketType::OneRtt => self.is_known(),
            // RFC 9000 §12.4: "Version Negotiation, Stateless Reset, and Retry packets do not
            // contain frames."
            PacketType::Retry | PacketType::VersionNegotiation => false,
        }
    }

    fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            0x00 => "PADDING",
            0x01 => "PING",
            0x02 => "ACK",
            0x03 => "ACK_ECN",
            0x04 => "RESET_STREAM",
            0x05 => "STOP_SENDING",
            0x06 => "CRYPTO",
            0x07 => "NEW_TOKEN",
            0x08..=0x0f => "STREAM",
            0x10 => "MAX_DATA",
            0x11 => "MAX_STREAM_DATA",
            0x12 => "MAX_STREAMS_BIDI",
            0x13 => "MAX_STREAMS_UNI",
            0x14 => "DATA_BLOCKED",
            0x15 => "STREAM_DATA_BLOCKED",
            0x16 => "STREAMS_BLOCKED_BIDI",
            0x17 => "STREAMS_BLOCKED_UNI",
            0x18 => "NEW_CONNECTION_ID",
            0x19 => "RETIRE_CONNECTION_ID",
            0x1a => "PATH_CHALLENGE",
            0x1b => "PATH_RESPONSE",
            0x1c => "CONNECTION_CLOSE",
            0x1d => "APPLICATION_CLOSE",
            0x1e => "HANDSHAKE_DONE",
            0x30 => "DATAGRAM",
            0x31 => "DATAGRAM_LEN",
            _ => return None,
        })
    }
}

impl fmt::Debug for FrameType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) if self.is_stream() => write!(f, "{name}({:#04x})", self.0),
            Some(name) => f.write_str(name),
            None => write!(f, "unknown frame type {:#x}", self.0),
        }
    }
}

impl fmt::Display for FrameType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

impl From<FrameType> for u64 {
    fn from(ty: FrameType) -> u64 {
        ty.0
    }
}

/// One decoded frame, or one frame to encode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// A run of this many consecutive PADDING bytes (RFC 9000 §19.1). Decoding never yields 0;
    /// `Padding(0)` encodes to nothing.
    Padding(usize),
    /// PING (RFC 9000 §19.2).
    Ping,
    /// ACK or ACK with ECN counts (RFC 9000 §19.3).
    Ack(Ack),
    /// RESET_STREAM (RFC 9000 §19.4).
    ResetStream(ResetStream),
    /// STOP_SENDING (RFC 9000 §19.5).
    StopSending(StopSending),
    /// CRYPTO (RFC 9000 §19.6).
    Crypto(Crypto),
    /// NEW_TOKEN (RFC 9000 §19.7).
    NewToken(NewToken),
    /// STREAM (RFC 9000 §19.8).
    Stream(Stream),
    /// MAX_DATA: the connection-level flow control limit in bytes (RFC 9000 §19.9).
    MaxData(VarInt),
    /// MAX_STREAM_DATA (RFC 9000 §19.10).
    MaxStreamData(MaxStreamData),
    /// MAX_STREAMS (RFC 9000 §19.11).
    MaxStreams(MaxStreams),
    /// DATA_BLOCKED: the connection-level limit at which the sender blocked (RFC 9000 §19.12).
    DataBlocked(VarInt),
    /// STREAM_DATA_BLOCKED (RFC 9000 §19.13).
    StreamDataBlocked(StreamDataBlocked),
    /// STREAMS_BLOCKED (RFC 9000 §19.14).
    StreamsBlocked(StreamsBlocked),
    /// NEW_CONNECTION_ID (RFC 9000 §19.15).
    NewConnectionId(NewConnectionId),
    /// RETIRE_CONNECTION_ID: the sequence number of the retired ID (RFC 9000 §19.16).
    RetireConnectionId(VarInt),
    /// PATH_CHALLENGE with its 8 bytes of data (RFC 9000 §19.17).
    PathChallenge([u8; 8]),
    /// PATH_RESPONSE with its 8 bytes of data (RFC 9000 §19.18).
    PathResponse([u8; 8]),
    /// CONNECTION_CLOSE of type 0x1c, a transport error (RFC 9000 §19.19).
    ConnectionClose(ConnectionClose),
    /// CONNECTION_CLOSE of type 0x1d, an application error (RFC 9000 §19.19).
    ApplicationClose(ApplicationClose),
    /// HANDSHAKE_DONE (RFC 9000 §19.20).
    HandshakeDone,
    /// DATAGRAM (RFC 9221 §4).
    Datagram(Datagram),
}

impl Frame {
    /// The frame type this frame is encoded with by [`Frame::encode`], which is the value to put
    /// in CONNECTION_CLOSE's Frame Type field when this frame causes an error.
    ///
    /// For a decoded STREAM or DATAGRAM frame this can differ from the type on the wire in one
    /// bit: `encode` always writes a Length field, and STREAM sets OFF only for a non-zero
    /// offset. Errors raised while decoding carry the exact type that was received.
    pub fn frame_type(&self) -> FrameType {
        match self {
            Frame::Padding(_) => FrameType::PADDING,
            Frame::Ping => FrameType::PING,
            Frame::Ack(ack) => ack.frame_type(),
            Frame::ResetStream(_) => FrameType::RESET_STREAM,
            Frame::StopSending(_) => FrameType::STOP_SENDING,
            Frame::Crypto(_) => FrameType::CRYPTO,
            Frame::NewToken(_) => FrameType::NEW_TOKEN,
            Frame::Stream(s) => s.header().frame_type(true),
            Frame::MaxData(_) => FrameType::MAX_DATA,
            Frame::MaxStreamData(_) => FrameType::MAX_STREAM_DATA,
            Frame::MaxStreams(m) => m.frame_type(),
            Frame::DataBlocked(_) => FrameType::DATA_BLOCKED,
            Frame::StreamDataBlocked(_) => FrameType::STREAM_DATA_BLOCKED,
            Frame::StreamsBlocked(s) => s.frame_type(),
            Frame::NewConnectionId(_) => FrameType::NEW_CONNECTION_ID,
            Frame::RetireConnectionId(_) => FrameType::RETIRE_CONNECTION_ID,
            Frame::PathChallenge(_) => FrameType::PATH_CHALLENGE,
            Frame::PathResponse(_) => FrameType::PATH_RESPONSE,
            Frame::ConnectionClose(_) => FrameType::CONNECTION_CLOSE,
            Frame::ApplicationClose(_) => FrameType::APPLICATION_CLOSE,
            Frame::HandshakeDone => FrameType::HANDSHAKE_DONE,
            Frame::Datagram(_) => FrameType::DATAGRAM_LEN,
        }
    }

    /// Whether receiving this frame obliges the peer to acknowledge the packet: everything but
    /// ACK, PADDING and CONNECTION_CLOSE (RFC 9002 §2; RFC 9000 §12.4 Table 3 "N").
    #[inline]
    pub fn is_ack_eliciting(&self) -> bool {
        !matches!(
            self,
            Frame::Ack(_)
                | Frame::Padding(_)
                | Frame::ConnectionClose(_)
                | Frame::ApplicationClose(_)
        )
    }

    /// Whether a packet carrying this frame counts as in flight for congestion control: it is
    /// ack-eliciting or it is PADDING (RFC 9002 §2 "In-flight packets"). So only ACK and
    /// CONNECTION_CLOSE do not count.
    #[inline]
    pub fn counts_in_flight(&self) -> bool {
        self.is_ack_eliciting() || matches!(self, Frame::Padding(_))
    }

    /// Whether this is a probing frame: a packet made only of these can probe a new path
    /// without migrating to it (RFC 9000 §9.1; Table 3 "P": PATH_CHALLENGE, PATH_RESPONSE,
    /// NEW_CONNECTION_ID and PADDING).
    #[inline]
    pub fn is_probing(&self) -> bool {
        matches!(
            self,
            Frame::Padding(_)
                | Frame::PathChallenge(_)
                | Frame::PathResponse(_)
                | Frame::NewConnectionId(_)
        )
    }

    /// Bytes [`Frame::encode`] writes.
    pub fn encoded_len(&self) -> usize {
        match self {
            Frame::Padding(n) => *n,
            Frame::Ping | Frame::HandshakeDone => 1,
            Frame::Ack(ack) => ack.encoded_len(),
            Frame::ResetStream(f) => f.encoded_len(),
            Frame::StopSending(f) => f.encoded_len(),
            Frame::Crypto(f) => f.encoded_len(),
            Frame::NewToken(f) => f.encoded_len(),
            Frame::Stream(f) => f.encoded_len(),
            Frame::MaxData(v) | Frame::DataBlocked(v) | Frame::RetireConnectionId(v) => {
                1 + v.size()
            }
            Frame::MaxStreamData(f) => f.encoded_len(),
            Frame::MaxStreams(f) => f.encoded_len(),
            Frame::StreamDataBlocked(f) => f.encoded_len(),
            Frame::StreamsBlocked(f) => f.encoded_len(),
            Frame::NewConnectionId(f) => f.encoded_len(),
            Frame::PathChallenge(_) | Frame::PathResponse(_) => 1 + 8,
            Frame::ConnectionClose(f) => f.encoded_len(),
            Frame::ApplicationClose(f) => f.encoded_len(),
            Frame::Datagram(f) => f.encoded_len(),
        }
    }

    /// Writes the frame. STREAM and DATAGRAM frames are written with a Length field, so the
    /// result can be followed by other frames.
    pub fn encode<B: BufMut>(&self, buf: &mut B) {
        match self {
            Frame::Padding(n) => buf.put_bytes(0, *n),
            Frame::Ping => put_type(buf, FrameType::PING),
            Frame::Ack(ack) => ack.encode(buf),
            Frame::ResetStream(f) => f.encode(buf),
            Frame::StopSending(f) => f.encode(buf),
            Frame::Crypto(f) => f.encode(buf),
            Frame::NewToken(f) => f.encode(buf),
            Frame::Stream(f) => f.encode(buf),
            Frame::MaxData(v) => {
                put_type(buf, FrameType::MAX_DATA);
                v.encode(buf);
            }
            Frame::MaxStreamData(f) => f.encode(buf),
            Frame::MaxStreams(f) => f.encode(buf),
            Frame::DataBlocked(v) => {
                put_type(buf, FrameType::DATA_BLOCKED);
                v.encode(buf);
            }
            Frame::StreamDataBlocked(f) => f.encode(buf),
            Frame::StreamsBlocked(f) => f.encode(buf),
            Frame::NewConnectionId(f) => f.encode(buf),
            Frame::RetireConnectionId(v) => {
                put_type(buf, FrameType::RETIRE_CONNECTION_ID);
                v.encode(buf);
            }
            Frame::PathChallenge(data) => {
                put_type(buf, FrameType::PATH_CHALLENGE);
                buf.put_slice(data);
            }
            Frame::PathResponse(data) => {
                put_type(buf, FrameType::PATH_RESPONSE);
                buf.put_slice(data);
            }
            Frame::ConnectionClose(f) => f.encode(buf),
            Frame::ApplicationClose(f) => f.encode(buf),
            Frame::HandshakeDone => put_type(buf, FrameType::HANDSHAKE_DONE),
            Frame::Datagram(f) => f.encode(buf),
        }
    }

    /// Decodes one frame from the front of `buf`, checking that `packet_type` permits it.
    ///
    /// This is what [`FrameIter`] calls for each frame; errors are as documented there.
    pub fn decode(
        buf: &mut Bytes,
        packet_type: PacketType,
    ) -> Result<Frame, crate::TransportError> {
        iter::decode_frame(buf, packet_type)
    }
}

/// Writes a frame type. RFC 9000 §12.4: "a frame type MUST use the shortest possible encoding",
/// which `put_varint` always does.
#[inline]
fn put_type<B: BufMut>(buf: &mut B, ty: FrameType) {
    put_varint(buf, ty.0);
}

/// Bytes a frame type takes on the wire (1 for every type defined so far).
#[inline]
fn type_len(ty: FrameType) -> usize {
    varint_len(ty.0)
}

/// Why a frame body failed to decode. On the wire this is always FRAME_ENCODING_ERROR: RFC 9000
/// gives no other code for a frame whose fields are malformed or truncated (§12.4, §19.x). The
/// reason goes into the CONNECTION_CLOSE reason phrase, so it stays short.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Invalid(&'static str);

impl From<UnexpectedEnd> for Invalid {
    fn from(_: UnexpectedEnd) -> Self {
        // A frame must fit in its packet (RFC 9000 §12.4: "Frames always fit within a single
        // QUIC packet"), so running out of payload is an encoding error.
        Invalid("frame truncated")
    }
}

/// Reads a varint and wraps it in [`VarInt`] (always in range when read from the wire).
#[inline]
fn get_var(buf: &mut impl bytes::Buf) -> Result<VarInt, Invalid> {
    Ok(VarInt::decode(buf)?)
}

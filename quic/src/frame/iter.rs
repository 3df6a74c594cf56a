//! Walking a decrypted packet payload frame by frame, and the one place where a frame that fails
//! to decode becomes a [`TransportError`].

use super::{
    get_var, Ack, ApplicationClose, ConnectionClose, Crypto, Datagram, Dir, Frame, FrameType,
    Invalid, MaxStreamData, MaxStreams, NewConnectionId, NewToken, ResetStream, StopSending,
    Stream, StreamDataBlocked, StreamsBlocked,
};
use crate::coding::{get_varint, varint_len, BufExt};
use crate::packet::PacketType;
use crate::TransportError;
use bytes::{Buf, Bytes};

/// The frames of a decrypted packet payload (RFC 9000 §12.4), decoded one at a time.
///
/// Yields `Err` at most once, for the first frame that fails, and then stops: a payload that
/// fails to parse cannot be resynchronised, and the error closes the connection anyway. Errors:
///
/// - an unknown frame type, or a frame whose fields are malformed, truncated or out of range:
///   FRAME_ENCODING_ERROR (RFC 9000 §12.4, §19), with the frame type when it could be read;
/// - a frame type that `packet_type` does not permit (RFC 9000 §12.4 Table 3, §12.5), or a known
///   frame type in a longer encoding than necessary (§12.4 allows treating it so):
///   PROTOCOL_VIOLATION with the frame type;
/// - an empty payload: PROTOCOL_VIOLATION without a frame type (RFC 9000 §12.4: "An endpoint MUST
///   treat receipt of a packet containing no frames as a connection error of type
///   PROTOCOL_VIOLATION"). [`FrameIter::decoded`] tells how many frames came before an error.
///
/// Role-dependent rules (a server receiving NEW_TOKEN or HANDSHAKE_DONE, §19.7, §19.20) and
/// whether DATAGRAM was negotiated (RFC 9221 §3) are left to the connection.
#[derive(Debug, Clone)]
pub struct FrameIter {
    buf: Bytes,
    packet_type: PacketType,
    decoded: usize,
    done: bool,
}

impl FrameIter {
    /// Iterates the frames of `payload`, a decrypted payload of a packet of type `packet_type`.
    pub fn new(payload: Bytes, packet_type: PacketType) -> Self {
        Self {
            buf: payload,
            packet_type,
            decoded: 0,
            done: false,
        }
    }

    /// Frames successfully decoded so far.
    pub fn decoded(&self) -> usize {
        self.decoded
    }

    /// The packet type whose permissions are applied.
    pub fn packet_type(&self) -> PacketType {
        self.packet_type
    }
}

impl Iterator for FrameIter {
    type Item = Result<Frame, TransportError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        if self.buf.is_empty() {
            self.done = true;
            if self.decoded == 0 {
                // RFC 9000 §12.4: a packet with no frames is a PROTOCOL_VIOLATION.
                return Some(Err(TransportError::protocol_violation(
                    "packet without frames",
                )));
            }
            return None;
        }
        match decode_frame(&mut self.buf, self.packet_type) {
            Ok(frame) => {
                self.decoded += 1;
                Some(Ok(frame))
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

impl std::iter::FusedIterator for FrameIter {}

/// Decodes one frame and checks that `packet_type` permits it. Behind [`Frame::decode`] and
/// [`FrameIter`].
pub(super) fn decode_frame(
    buf: &mut Bytes,
    packet_type: PacketType,
) -> Result<Frame, TransportError> {
    let ty = read_type(buf)?;
    // RFC 9000 §12.4: "An endpoint MUST treat the receipt of a frame of unknown type as a
    // connection error of type FRAME_ENCODING_ERROR."
    if !ty.is_known() {
        return Err(TransportError::frame_encoding_error("unknown frame type").with_frame(ty.0));
    }
    // RFC 9000 §12.4: "An endpoint MUST treat receipt of a frame in a packet type that is not
    // permitted as a connection error of type PROTOCOL_VIOLATION." Checked before the body:
    // the frame is refused whatever it contains.
    if !ty.is_permitted_in(packet_type) {
        return Err(
            TransportError::protocol_violation("frame not permitted in this packet type")
                .with_frame(ty.0),
        );
    }
    decode_body(buf, ty)
        .map_err(|Invalid(reason)| TransportError::frame_encoding_error(reason).with_frame(ty.0))
}

/// Reads the Frame Type field.
#[inline]
fn read_type(buf: &mut Bytes) -> Result<FrameType, TransportError> {
    // Every defined type fits in one byte; take that path without the general varint decoder.
    match buf.first() {
        Some(&b) if b < 0x40 => {
            buf.advance(1);
            return Ok(FrameType(u64::from(b)));
        }
        _ => {}
    }
    let before = buf.len();
    let ty = get_varint(buf)
        .map_err(|_| TransportError::frame_encoding_error("truncated frame type"))?;
    // RFC 9000 §12.4: "a frame type MUST use the shortest possible encoding ... An endpoint MAY
    // treat the receipt of a frame type that uses a longer encoding than necessary as a
    // connection error of type PROTOCOL_VIOLATION." Unknown types fail as unknown instead.
    if before - buf.len() != varint_len(ty) && FrameType(ty).is_known() {
        return Err(
            TransportError::protocol_violation("frame type not minimally encoded").with_frame(ty),
        );
    }
    Ok(FrameType(ty))
}

/// Decodes the fields after the type; `ty` is a known type.
fn decode_body(buf: &mut Bytes, ty: FrameType) -> Result<Frame, Invalid> {
    Ok(match ty {
        FrameType::PADDING => {
            // A run of PADDING is one frame: scan for the first non-zero byte rather than
            // yielding one frame per byte.
            let run = buf.iter().position(|&b| b != 0).unwrap_or(buf.len());
            buf.advance(run);
            Frame::Padding(run + 1)
        }
        FrameType::PING => Frame::Ping,
        FrameType::ACK => Frame::Ack(Ack::decode(buf, false)?),
        FrameType::ACK_ECN => Frame::Ack(Ack::decode(buf, true)?),
        FrameType::RESET_STREAM => Frame::ResetStream(ResetStream::decode(buf)?),
        FrameType::STOP_SENDING => Frame::StopSending(StopSending::decode(buf)?),
        FrameType::CRYPTO => Frame::Crypto(Crypto::decode(buf)?),
        FrameType::NEW_TOKEN => Frame::NewToken(NewToken::decode(buf)?),
        ty if ty.is_stream() => Frame::Stream(Stream::decode(buf, ty)?),
        FrameType::MAX_DATA => Frame::MaxData(get_var(buf)?),
        FrameType::MAX_STREAM_DATA => Frame::MaxStreamData(MaxStreamData::decode(buf)?),
        FrameType::MAX_STREAMS_BIDI => Frame::MaxStreams(MaxStreams::decode(buf, Dir::Bi)?),
        FrameType::MAX_STREAMS_UNI => Frame::MaxStreams(MaxStreams::decode(buf, Dir::Uni)?),
        FrameType::DATA_BLOCKED => Frame::DataBlocked(get_var(buf)?),
        FrameType::STREAM_DATA_BLOCKED => Frame::StreamDataBlocked(StreamDataBlocked::decode(buf)?),
        FrameType::STREAMS_BLOCKED_BIDI => {
            Frame::StreamsBlocked(StreamsBlocked::decode(buf, Dir::Bi)?)
        }
        FrameType::STREAMS_BLOCKED_UNI => {
            Frame::StreamsBlocked(StreamsBlocked::decode(buf, Dir::Uni)?)
        }
        FrameType::NEW_CONNECTION_ID => Frame::NewConnectionId(NewConnectionId::decode(buf)?),
        FrameType::RETIRE_CONNECTION_ID => Frame::RetireConnectionId(get_var(buf)?),
        FrameType::PATH_CHALLENGE => Frame::PathChallenge(get_path_data(buf)?),
        FrameType::PATH_RESPONSE => Frame::PathResponse(get_path_data(buf)?),
        FrameType::CONNECTION_CLOSE => Frame::ConnectionClose(ConnectionClose::decode(buf)?),
        FrameType::APPLICATION_CLOSE => Frame::ApplicationClose(ApplicationClose::decode(buf)?),
        FrameType::HANDSHAKE_DONE => Frame::HandshakeDone,
        FrameType::DATAGRAM => Frame::Datagram(Datagram::decode(buf, false)?),
        FrameType::DATAGRAM_LEN => Frame::Datagram(Datagram::decode(buf, true)?),
        // `decode_frame` rejected unknown types already; keep this total without panicking.
        _ => return Err(Invalid("unknown frame type")),
    })
}

/// The 8-byte Data field of PATH_CHALLENGE and PATH_RESPONSE (RFC 9000 §19.17, §19.18).
fn get_path_data(buf: &mut Bytes) -> Result<[u8; 8], Invalid> {
    let mut data = [0; 8];
    buf.try_copy(&mut data)?;
    Ok(data)
}

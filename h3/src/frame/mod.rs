//! HTTP/3 frames (RFC 9114 §7, RFC 9218 §7.2): the [`Frame`] type with exact encoded
//! lengths, and an incremental [`FrameDecoder`] that checks which frames a stream may carry.

mod decoder;

pub use decoder::{FrameDecoder, FrameEvent, FrameLimits, StreamKind};

use crate::error::{is_grease, Code, H3Error};
use crate::settings::Settings;
use crate::varint;
use bytes::{BufMut, Bytes};

/// DATA (RFC 9114 §7.2.1).
pub const DATA: u64 = 0x00;
/// HEADERS (RFC 9114 §7.2.2).
pub const HEADERS: u64 = 0x01;
/// CANCEL_PUSH (RFC 9114 §7.2.3).
pub const CANCEL_PUSH: u64 = 0x03;
/// SETTINGS (RFC 9114 §7.2.4).
pub const SETTINGS: u64 = 0x04;
/// PUSH_PROMISE (RFC 9114 §7.2.5).
pub const PUSH_PROMISE: u64 = 0x05;
/// GOAWAY (RFC 9114 §7.2.6).
pub const GOAWAY: u64 = 0x07;
/// MAX_PUSH_ID (RFC 9114 §7.2.7).
pub const MAX_PUSH_ID: u64 = 0x0d;
/// PRIORITY_UPDATE for a request stream (RFC 9218 §7.2).
pub const PRIORITY_UPDATE_REQUEST: u64 = 0xf0700;
/// PRIORITY_UPDATE for a push stream (RFC 9218 §7.2).
pub const PRIORITY_UPDATE_PUSH: u64 = 0xf0701;

/// RFC 9114 §7.2.8 / §11.2.1: HTTP/2 frame types with no HTTP/3 equivalent (PRIORITY,
/// PING, WINDOW_UPDATE, CONTINUATION). Receipt MUST be H3_FRAME_UNEXPECTED.
pub fn is_http2_reserved(ty: u64) -> bool {
    matches!(ty, 0x02 | 0x06 | 0x08 | 0x09)
}

/// Whether this crate gives `ty` a meaning (everything else is skipped, RFC 9114 §9).
pub fn is_known(ty: u64) -> bool {
    matches!(
        ty,
        DATA | HEADERS
            | CANCEL_PUSH
            | SETTINGS
            | PUSH_PROMISE
            | GOAWAY
            | MAX_PUSH_ID
            | PRIORITY_UPDATE_REQUEST
            | PRIORITY_UPDATE_PUSH
    )
}

/// Whether `ty` is a reserved (GREASE) frame type, 0x1f * N + 0x21 (RFC 9114 §7.2.8).
pub fn is_grease_frame(ty: u64) -> bool {
    is_grease(ty)
}

/// What a PRIORITY_UPDATE frame targets (RFC 9218 §7.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PriorityTarget {
    /// Type 0xf0700: a request stream, by stream ID.
    Request,
    /// Type 0xf0701: a push, by push ID.
    Push,
}

/// One HTTP/3 frame.
///
/// The decoder never returns `Data` or `Unknown` as a whole: DATA payloads are streamed
/// ([`FrameEvent::Data`]) and unknown payloads skipped. Both exist here so that anything can
/// be encoded (GREASE frames, tests).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// DATA: message content.
    Data(Bytes),
    /// HEADERS: a QPACK-encoded field section.
    Headers(Bytes),
    /// CANCEL_PUSH: push ID.
    CancelPush(u64),
    /// SETTINGS.
    Settings(Settings),
    /// PUSH_PROMISE: push ID and a QPACK-encoded request field section.
    PushPromise {
        /// The push.
        push_id: u64,
        /// Encoded field section.
        field_section: Bytes,
    },
    /// GOAWAY: a stream ID (from a server) or push ID (from a client).
    Goaway(u64),
    /// MAX_PUSH_ID: push ID.
    MaxPushId(u64),
    /// PRIORITY_UPDATE (RFC 9218 §7.2).
    PriorityUpdate {
        /// Request stream or push.
        target: PriorityTarget,
        /// Stream ID or push ID.
        id: u64,
        /// Priority Field Value (a Structured Fields dictionary in ASCII).
        value: Bytes,
    },
    /// A frame of a type this crate does not interpret (GREASE, extensions).
    Unknown {
        /// Frame type.
        ty: u64,
        /// Payload.
        payload: Bytes,
    },
}

impl Frame {
    /// The frame type on the wire.
    pub fn ty(&self) -> u64 {
        match self {
            Frame::Data(_) => DATA,
            Frame::Headers(_) => HEADERS,
            Frame::CancelPush(_) => CANCEL_PUSH,
            Frame::Settings(_) => SETTINGS,
            Frame::PushPromise { .. } => PUSH_PROMISE,
            Frame::Goaway(_) => GOAWAY,
            Frame::MaxPushId(_) => MAX_PUSH_ID,
            Frame::PriorityUpdate {
                target: PriorityTarget::Request,
                ..
            } => PRIORITY_UPDATE_REQUEST,
            Frame::PriorityUpdate {
                target: PriorityTarget::Push,
                ..
            } => PRIORITY_UPDATE_PUSH,
            Frame::Unknown { ty, .. } => *ty,
        }
    }

    /// Length of the payload.
    pub fn payload_len(&self) -> usize {
        match self {
            Frame::Data(b) | Frame::Headers(b) | Frame::Unknown { payload: b, .. } => b.len(),
            Frame::CancelPush(id) | Frame::Goaway(id) | Frame::MaxPushId(id) => varint::len(*id),
            Frame::Settings(s) => s.encoded_len(),
            Frame::PushPromise {
                push_id,
                field_section,
            } => varint::len(*push_id) + field_section.len(),
            Frame::PriorityUpdate { id, value, .. } => varint::len(*id) + value.len(),
        }
    }

    /// Exact length of the encoded frame, header included.
    pub fn encoded_len(&self) -> usize {
        let len = self.payload_len();
        varint::len(self.ty()) + varint::len(len as u64) + len
    }

    /// Writes the frame.
    pub fn encode<B: BufMut>(&self, buf: &mut B) {
        encode_header(self.ty(), self.payload_len() as u64, buf);
        match self {
            Frame::Data(b) | Frame::Headers(b) | Frame::Unknown { payload: b, .. } => {
                buf.put_slice(b)
            }
            Frame::CancelPush(id) | Frame::Goaway(id) | Frame::MaxPushId(id) => {
                varint::encode(*id, buf)
            }
            Frame::Settings(s) => s.encode(buf),
            Frame::PushPromise {
                push_id,
                field_section,
            } => {
                varint::encode(*push_id, buf);
                buf.put_slice(field_section);
            }
            Frame::PriorityUpdate { id, value, .. } => {
                varint::encode(*id, buf);
                buf.put_slice(value);
            }
        }
    }

    /// The encoded frame as bytes.
    pub fn to_bytes(&self) -> Bytes {
        let mut v = Vec::with_capacity(self.encoded_len());
        self.encode(&mut v);
        Bytes::from(v)
    }
}

/// Writes a frame header: type and payload length.
pub fn encode_header<B: BufMut>(ty: u64, len: u64, buf: &mut B) {
    varint::encode(ty, buf);
    varint::encode(len, buf);
}

/// Exact length of a frame header.
pub fn header_len(ty: u64, len: u64) -> usize {
    varint::len(ty) + varint::len(len)
}

/// Parses the complete payload of a non-DATA, known frame.
fn parse_payload(ty: u64, payload: Bytes) -> Result<Frame, H3Error> {
    // RFC 9114 §7.1: a payload with extra bytes, or ending early, is H3_FRAME_ERROR; RFC 9114
    // §10.8: lengths MUST match the fields exactly.
    const BAD: H3Error = H3Error::new(
        Code::H3_FRAME_ERROR,
        "frame payload does not match its length",
    );
    let single = |payload: &[u8]| match varint::decode(payload) {
        Some((v, n)) if n == payload.len() => Ok(v),
        _ => Err(BAD),
    };
    let prefixed = |payload: Bytes| match varint::decode(&payload) {
        Some((v, n)) => Ok((v, payload.slice(n..))),
        None => Err(BAD),
    };
    Ok(match ty {
        HEADERS => Frame::Headers(payload),
        CANCEL_PUSH => Frame::CancelPush(single(&payload)?),
        GOAWAY => Frame::Goaway(single(&payload)?),
        MAX_PUSH_ID => Frame::MaxPushId(single(&payload)?),
        SETTINGS => Frame::Settings(Settings::decode(&payload)?),
        PUSH_PROMISE => {
            let (push_id, field_section) = prefixed(payload)?;
            Frame::PushPromise {
                push_id,
                field_section,
            }
        }
        PRIORITY_UPDATE_REQUEST | PRIORITY_UPDATE_PUSH => {
            let (id, value) = prefixed(payload)?;
            let target = if ty == PRIORITY_UPDATE_REQUEST {
                PriorityTarget::Request
            } else {
                PriorityTarget::Push
            };
            Frame::PriorityUpdate { target, id, value }
        }
        _ => Frame::Unknown { ty, payload },
    })
}

#[cfg(test)]
mod tests;

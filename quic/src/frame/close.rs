//! CONNECTION_CLOSE frames (RFC 9000 §19.19): type 0x1c for transport errors, 0x1d for
//! application errors.

use super::{get_var, put_type, type_len, FrameType, Invalid};
use crate::coding::{put_varint, take_len_prefixed, varint_len, BufExt, VarInt};
use crate::transport_error::{TransportError, TransportErrorCode};
use bytes::{BufMut, Bytes};

/// A CONNECTION_CLOSE frame of type 0x1c: the connection ends with a transport error
/// (RFC 9000 §19.19, error codes in §20.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionClose {
    /// The transport error code. Must be below 2^62.
    pub error_code: TransportErrorCode,
    /// The type of the frame that caused the error; [`FrameType::PADDING`] (0) when unknown
    /// (RFC 9000 §19.19). Must be below 2^62.
    pub frame_type: FrameType,
    /// The reason phrase, which SHOULD be UTF-8 (RFC 9000 §19.19) but is not checked: it is
    /// diagnostic only, and a peer's bad UTF-8 must not turn a close into another error.
    pub reason: Bytes,
}

impl ConnectionClose {
    /// Bytes [`ConnectionClose::encode`] writes.
    pub fn encoded_len(&self) -> usize {
        type_len(FrameType::CONNECTION_CLOSE)
            + varint_len(self.error_code.0)
            + varint_len(self.frame_type.0)
            + varint_len(self.reason.len() as u64)
            + self.reason.len()
    }

    /// Writes the frame.
    pub fn encode<B: BufMut>(&self, buf: &mut B) {
        put_type(buf, FrameType::CONNECTION_CLOSE);
        put_varint(buf, self.error_code.0);
        put_varint(buf, self.frame_type.0);
        put_varint(buf, self.reason.len() as u64);
        buf.put_slice(&self.reason);
    }

    pub(super) fn decode(buf: &mut Bytes) -> Result<Self, Invalid> {
        let error_code = TransportErrorCode(buf.get_var()?);
        let frame_type = FrameType(buf.get_var()?);
        let reason = take_len_prefixed(buf)?;
        Ok(Self {
            error_code,
            frame_type,
            reason,
        })
    }
}

impl From<&TransportError> for ConnectionClose {
    fn from(err: &TransportError) -> Self {
        Self {
            error_code: err.code,
            // RFC 9000 §19.19: "A value of 0 ... is used when the frame type is unknown."
            frame_type: FrameType(err.frame_type.unwrap_or(0)),
            reason: Bytes::copy_from_slice(err.reason.as_bytes()),
        }
    }
}

impl From<TransportError> for ConnectionClose {
    fn from(err: TransportError) -> Self {
        Self::from(&err)
    }
}

/// A CONNECTION_CLOSE frame of type 0x1d: the application closed the connection
/// (RFC 9000 §19.19, error codes defined by the application protocol, §20.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplicationClose {
    /// The application protocol error code.
    pub error_code: VarInt,
    /// The reason phrase (SHOULD be UTF-8; not checked, see [`ConnectionClose::reason`]).
    pub reason: Bytes,
}

impl ApplicationClose {
    /// Bytes [`ApplicationClose::encode`] writes.
    pub fn encoded_len(&self) -> usize {
        type_len(FrameType::APPLICATION_CLOSE)
            + self.error_code.size()
            + varint_len(self.reason.len() as u64)
            + self.reason.len()
    }

    /// Writes the frame.
    pub fn encode<B: BufMut>(&self, buf: &mut B) {
        put_type(buf, FrameType::APPLICATION_CLOSE);
        self.error_code.encode(buf);
        put_varint(buf, self.reason.len() as u64);
        buf.put_slice(&self.reason);
    }

    pub(super) fn decode(buf: &mut Bytes) -> Result<Self, Invalid> {
        // RFC 9000 §19.19: type 0x1d "does not include" the Frame Type field.
        let error_code = get_var(buf)?;
        let reason = take_len_prefixed(buf)?;
        Ok(Self { error_code, reason })
    }
}

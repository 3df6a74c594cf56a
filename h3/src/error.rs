//! Error codes (RFC 9114 §8.1, RFC 9204 §6) and the error types built on them, in layers:
//!
//! * [`Code`]: a wire error code, as carried by RESET_STREAM, STOP_SENDING and
//!   CONNECTION_CLOSE.
//! * [`H3Error`]: a protocol violation: a code plus a static reason; what the state machine
//!   produces when it must close the connection.
//! * [`ConnectionError`]: why a connection ended and who ended it.
//! * [`StreamError`]: a stream ended abnormally (reset by either side).
//! * [`SendError`]: a local operation (sending a request, a response, data) that could not be
//!   carried out; nothing was sent.

use std::borrow::Cow;
use std::fmt;

/// An HTTP/3 or QPACK application error code.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Code(pub u64);

macro_rules! codes {
    ($($(#[$doc:meta])* $name:ident = $value:expr;)*) => {
        impl Code {
            $($(#[$doc])* pub const $name: Code = Code($value);)*

            /// The registered name of this code, if it has one.
            pub fn name(self) -> Option<&'static str> {
                match self {
                    $(Code::$name => Some(stringify!($name)),)*
                    _ => None,
                }
            }
        }
    };
}

codes! {
    /// RFC 9114 §8.1: no error; the connection or stream is closed without a problem.
    H3_NO_ERROR = 0x0100;
    /// RFC 9114 §8.1: a protocol violation with no more specific code.
    H3_GENERAL_PROTOCOL_ERROR = 0x0101;
    /// RFC 9114 §8.1: an internal error in the HTTP stack.
    H3_INTERNAL_ERROR = 0x0102;
    /// RFC 9114 §8.1: the peer created a stream that will not be accepted.
    H3_STREAM_CREATION_ERROR = 0x0103;
    /// RFC 9114 §8.1: a stream required by the connection was closed or reset.
    H3_CLOSED_CRITICAL_STREAM = 0x0104;
    /// RFC 9114 §8.1: a frame not permitted in the current state or on the current stream.
    H3_FRAME_UNEXPECTED = 0x0105;
    /// RFC 9114 §8.1: a frame with a bad layout or an invalid size.
    H3_FRAME_ERROR = 0x0106;
    /// RFC 9114 §8.1: the peer is generating excessive load.
    H3_EXCESSIVE_LOAD = 0x0107;
    /// RFC 9114 §8.1: a stream ID or push ID used incorrectly.
    H3_ID_ERROR = 0x0108;
    /// RFC 9114 §8.1: an error in the payload of a SETTINGS frame.
    H3_SETTINGS_ERROR = 0x0109;
    /// RFC 9114 §8.1: no SETTINGS frame at the start of the control stream.
    H3_MISSING_SETTINGS = 0x010a;
    /// RFC 9114 §8.1: the server rejected a request without any application processing.
    H3_REQUEST_REJECTED = 0x010b;
    /// RFC 9114 §8.1: the request or its response is cancelled.
    H3_REQUEST_CANCELLED = 0x010c;
    /// RFC 9114 §8.1: the client's stream ended without a fully formed request.
    H3_REQUEST_INCOMPLETE = 0x010d;
    /// RFC 9114 §8.1: a malformed HTTP message.
    H3_MESSAGE_ERROR = 0x010e;
    /// RFC 9114 §8.1: the TCP connection of a CONNECT request was reset or closed abnormally.
    H3_CONNECT_ERROR = 0x010f;
    /// RFC 9114 §8.1: retry over HTTP/1.1.
    H3_VERSION_FALLBACK = 0x0110;
    /// RFC 9204 §6: an encoded field section could not be interpreted.
    QPACK_DECOMPRESSION_FAILED = 0x0200;
    /// RFC 9204 §6: an encoder instruction could not be interpreted.
    QPACK_ENCODER_STREAM_ERROR = 0x0201;
    /// RFC 9204 §6: a decoder instruction could not be interpreted.
    QPACK_DECODER_STREAM_ERROR = 0x0202;
}

impl Code {
    /// Whether this is a reserved code (0x1f * N + 0x21, RFC 9114 §8.1), which receivers
    /// treat as H3_NO_ERROR.
    pub fn is_reserved(self) -> bool {
        is_grease(self.0)
    }
}

/// Whether `v` has the reserved form 0x1f * N + 0x21 used for frame types, stream types,
/// setting identifiers and error codes (RFC 9114 §6.2.3, §7.2.4.1, §7.2.8, §8.1).
pub fn is_grease(v: u64) -> bool {
    v >= 0x21 && (v - 0x21) % 0x1f == 0
}

impl fmt::Debug for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => f.write_str(name),
            None => write!(f, "Code({:#x})", self.0),
        }
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

impl From<Code> for u64 {
    fn from(c: Code) -> u64 {
        c.0
    }
}

/// A protocol violation detected locally: the code to close the connection (or reset the
/// stream) with, and a short reason for logs and the CONNECTION_CLOSE reason phrase.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {reason}")]
pub struct H3Error {
    /// Wire error code.
    pub code: Code,
    /// What went wrong.
    pub reason: Cow<'static, str>,
}

impl H3Error {
    /// An error with a static reason.
    pub const fn new(code: Code, reason: &'static str) -> Self {
        H3Error {
            code,
            reason: Cow::Borrowed(reason),
        }
    }
}

/// Why a connection ended.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConnectionError {
    /// This endpoint closed it, for a protocol violation by the peer or by its own choice
    /// (H3_NO_ERROR after a graceful shutdown).
    #[error("closed locally: {0}")]
    Local(H3Error),
    /// The peer (or the transport) closed it; reported by the caller through
    /// `Connection::on_connection_closed`.
    #[error("closed by the peer: {code} {reason:?}")]
    Remote {
        /// The peer's error code.
        code: Code,
        /// The peer's reason phrase.
        reason: bytes::Bytes,
    },
}

impl ConnectionError {
    /// The error code carried by the close.
    pub fn code(&self) -> Code {
        match self {
            ConnectionError::Local(e) => e.code,
            ConnectionError::Remote { code, .. } => *code,
        }
    }
}

/// A request stream that ended abnormally.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("stream {stream:?} {kind:?} with {code}")]
pub struct StreamError {
    /// The stream.
    pub stream: crate::StreamId,
    /// What happened.
    pub kind: StreamErrorKind,
    /// The code sent or received.
    pub code: Code,
}

/// Who ended a stream, and how.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamErrorKind {
    /// The peer reset its sending side (RESET_STREAM).
    ResetByPeer,
    /// The peer asked us to stop sending (STOP_SENDING).
    StoppedByPeer,
    /// This endpoint reset the stream because the peer's message was malformed or
    /// incomplete (RFC 9114 §4.1.2).
    Local,
}

/// A local operation that could not be carried out. Nothing was sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// The connection is closed (or closing).
    #[error("connection closed")]
    ConnectionClosed,
    /// The peer sent GOAWAY: no new requests on this connection (RFC 9114 §5.2).
    #[error("the peer is going away; no new requests")]
    GoingAway,
    /// The transport has no stream credit to open a request stream now; retry later.
    #[error("no stream available")]
    StreamLimit,
    /// No such stream, or it is already finished or reset.
    #[error("unknown or closed stream")]
    UnknownStream,
    /// The operation does not fit the stream's state (e.g. DATA before HEADERS, a second
    /// final response, a request on the server side).
    #[error("invalid in this state: {0}")]
    InvalidState(&'static str),
    /// The message is not valid HTTP/3 (e.g. a connection-specific header, a missing
    /// `:authority`); we never send what the peer must reject as malformed.
    #[error("invalid message: {0}")]
    InvalidMessage(&'static str),
    /// The header section exceeds the peer's SETTINGS_MAX_FIELD_SECTION_SIZE (RFC 9114
    /// §4.2.2).
    #[error("header section of {size} bytes exceeds the peer's limit of {limit}")]
    HeadersTooLarge {
        /// RFC 9114 §4.2.2 size of the section.
        size: u64,
        /// The peer's limit.
        limit: u64,
    },
    /// The peer asked us to stop sending on this stream (STOP_SENDING with this code).
    #[error("stopped by the peer with {0}")]
    Stopped(Code),
}

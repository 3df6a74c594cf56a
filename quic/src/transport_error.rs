//! Transport error codes (RFC 9000 §20.1) and the wire-level error that a connection puts into a
//! CONNECTION_CLOSE frame of type 0x1c.

use std::borrow::Cow;
use std::fmt;

/// A transport error code as carried in CONNECTION_CLOSE (RFC 9000 §20.1).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TransportErrorCode(pub u64);

impl TransportErrorCode {
    /// An endpoint uses this with CONNECTION_CLOSE to signal that the connection is being closed
    /// abruptly in the absence of any error.
    pub const NO_ERROR: Self = Self(0x00);
    /// The endpoint encountered an internal error and cannot continue with the connection.
    pub const INTERNAL_ERROR: Self = Self(0x01);
    /// The server refused to accept a new connection.
    pub const CONNECTION_REFUSED: Self = Self(0x02);
    /// An endpoint received more data than it permitted in its advertised data limits.
    pub const FLOW_CONTROL_ERROR: Self = Self(0x03);
    /// An endpoint received a frame for a stream identifier that exceeded its advertised limit.
    pub const STREAM_LIMIT_ERROR: Self = Self(0x04);
    /// An endpoint received a frame for a stream that was not in a state that permitted it.
    pub const STREAM_STATE_ERROR: Self = Self(0x05);
    /// A STREAM, RESET_STREAM or final size was inconsistent with an established final size.
    pub const FINAL_SIZE_ERROR: Self = Self(0x06);
    /// An endpoint received a frame that was badly formatted.
    pub const FRAME_ENCODING_ERROR: Self = Self(0x07);
    /// Transport parameters were badly formatted, invalid, absent when mandatory, or otherwise
    /// in error.
    pub const TRANSPORT_PARAMETER_ERROR: Self = Self(0x08);
    /// More connection IDs than the advertised active_connection_id_limit.
    pub const CONNECTION_ID_LIMIT_ERROR: Self = Self(0x09);
    /// A protocol compliance error not covered by a more specific code.
    pub const PROTOCOL_VIOLATION: Self = Self(0x0a);
    /// A server received a client Initial that contained an invalid Token field.
    pub const INVALID_TOKEN: Self = Self(0x0b);
    /// The application or application protocol caused the connection to be closed.
    pub const APPLICATION_ERROR: Self = Self(0x0c);
    /// More data in CRYPTO frames than can be buffered.
    pub const CRYPTO_BUFFER_EXCEEDED: Self = Self(0x0d);
    /// An error in key updates.
    pub const KEY_UPDATE_ERROR: Self = Self(0x0e);
    /// The confidentiality or integrity limit of the AEAD was reached.
    pub const AEAD_LIMIT_REACHED: Self = Self(0x0f);
    /// No viable network path exists.
    pub const NO_VIABLE_PATH: Self = Self(0x10);
    /// Version negotiation error (RFC 9368).
    pub const VERSION_NEGOTIATION_ERROR: Self = Self(0x11);

    /// A TLS alert carried as a CRYPTO_ERROR, 0x0100 + alert (RFC 9001 §4.8).
    pub const fn crypto(alert: u8) -> Self {
        Self(0x0100 | alert as u64)
    }

    /// The TLS alert this code carries, if it is in the CRYPTO_ERROR range 0x0100..=0x01ff.
    pub const fn tls_alert(self) -> Option<u8> {
        if self.0 >= 0x0100 && self.0 <= 0x01ff {
            Some((self.0 & 0xff) as u8)
        } else {
            None
        }
    }

    fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            0x00 => "NO_ERROR",
            0x01 => "INTERNAL_ERROR",
            0x02 => "CONNECTION_REFUSED",
            0x03 => "FLOW_CONTROL_ERROR",
            0x04 => "STREAM_LIMIT_ERROR",
            0x05 => "STREAM_STATE_ERROR",
            0x06 => "FINAL_SIZE_ERROR",
            0x07 => "FRAME_ENCODING_ERROR",
            0x08 => "TRANSPORT_PARAMETER_ERROR",
            0x09 => "CONNECTION_ID_LIMIT_ERROR",
            0x0a => "PROTOCOL_VIOLATION",
            0x0b => "INVALID_TOKEN",
            0x0c => "APPLICATION_ERROR",
            0x0d => "CRYPTO_BUFFER_EXCEEDED",
            0x0e => "KEY_UPDATE_ERROR",
            0x0f => "AEAD_LIMIT_REACHED",
            0x10 => "NO_VIABLE_PATH",
            0x11 => "VERSION_NEGOTIATION_ERROR",
            _ => return None,
        })
    }
}

impl fmt::Debug for TransportErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.name(), self.tls_alert()) {
            (Some(n), _) => f.write_str(n),
            (None, Some(alert)) => write!(f, "CRYPTO_ERROR(alert {alert})"),
            (None, None) => write!(f, "unknown transport error {:#x}", self.0),
        }
    }
}

impl fmt::Display for TransportErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// A transport-level error: what goes into a CONNECTION_CLOSE frame of type 0x1c.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}{}: {reason}", frame_type.map(|t| format!(" in frame {t:#x}")).unwrap_or_default())]
pub struct TransportError {
    /// The error code.
    pub code: TransportErrorCode,
    /// The type of frame that triggered the error, if known (RFC 9000 §19.19).
    pub frame_type: Option<u64>,
    /// A human-readable reason (sent to the peer; keep it short).
    pub reason: Cow<'static, str>,
}

impl TransportError {
    /// Builds an error with a code and a reason.
    pub fn new(code: TransportErrorCode, reason: impl Into<Cow<'static, str>>) -> Self {
        Self {
            code,
            frame_type: None,
            reason: reason.into(),
        }
    }

    /// Sets the frame type that caused the error.
    pub fn with_frame(mut self, frame_type: u64) -> Self {
        self.frame_type = Some(frame_type);
        self
    }
}

macro_rules! error_constructors {
    ($($fn_name:ident => $code:ident),* $(,)?) => {
        impl TransportError {
            $(
                #[doc = concat!("A `", stringify!($code), "` error with the given reason.")]
                pub fn $fn_name(reason: impl Into<Cow<'static, str>>) -> Self {
                    Self::new(TransportErrorCode::$code, reason)
                }
            )*
        }
    };
}

error_constructors! {
    internal_error => INTERNAL_ERROR,
    flow_control_error => FLOW_CONTROL_ERROR,
    stream_limit_error => STREAM_LIMIT_ERROR,
    stream_state_error => STREAM_STATE_ERROR,
    final_size_error => FINAL_SIZE_ERROR,
    frame_encoding_error => FRAME_ENCODING_ERROR,
    transport_parameter_error => TRANSPORT_PARAMETER_ERROR,
    connection_id_limit_error => CONNECTION_ID_LIMIT_ERROR,
    protocol_violation => PROTOCOL_VIOLATION,
    invalid_token => INVALID_TOKEN,
    crypto_buffer_exceeded => CRYPTO_BUFFER_EXCEEDED,
    key_update_error => KEY_UPDATE_ERROR,
    aead_limit_reached => AEAD_LIMIT_REACHED,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_crypto_range() {
        assert_eq!(
            format!("{}", TransportErrorCode::PROTOCOL_VIOLATION),
            "PROTOCOL_VIOLATION"
        );
        let c = TransportErrorCode::crypto(120); // no_application_protocol
        assert_eq!(c.0, 0x178);
        assert_eq!(c.tls_alert(), Some(120));
        assert_eq!(TransportErrorCode(0x1234).tls_alert(), None);
        let e = TransportError::frame_encoding_error("bad ack").with_frame(0x02);
        assert_eq!(e.to_string(), "FRAME_ENCODING_ERROR in frame 0x2: bad ack");
    }
}

//! Transport parameters (RFC 9000 §18, §7.3, §7.4; RFC 9221 §3; RFC 9287 §3).
//!
//! [`TransportParameters`] holds every parameter of RFC 9000 §18.2 plus `max_datagram_frame_size`
//! (RFC 9221) and `grease_quic_bit` (RFC 9287). Integer parameters are stored with their
//! default already applied, so an absent parameter and one sent with its default value decode to
//! the same struct; parameters whose presence matters (connection IDs, the stateless reset token,
//! the preferred address, flags) are `Option`s or `bool`s.
//!
//! - [`TransportParameters::encode`] writes only parameters that differ from their defaults or
//!   are present, in ascending id order, and [`TransportParameters::encoded_len`] reports the
//!   exact length.
//! - [`TransportParameters::decode`] checks the encoding and every per-value rule of §18.2 and
//!   §7.4 and returns `TRANSPORT_PARAMETER_ERROR` on any violation. Unknown and reserved
//!   (§18.1) identifiers are skipped.
//! - Rules that need handshake context are separate calls: connection-ID authentication (§7.3,
//!   [`TransportParameters::authenticate_client_cids`] /
//!   [`TransportParameters::authenticate_server_cids`]) and 0-RTT (§7.4.1,
//!   [`TransportParameters::remembered_for_0rtt`] /
//!   [`TransportParameters::check_0rtt_limits`]).
//!
//! The sender's role is a [`Side`]: `decode(Side::Server, ..)` parses what a server sent.

use crate::cid::{ConnectionId, MAX_CID_LEN};
use crate::coding::{put_varint, varint_len, BufExt, VarInt};
use crate::crypto::Side;
use crate::transport_error::TransportError;
use bytes::BufMut;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddrV4, SocketAddrV6};

#[cfg(test)]
mod tests;

/// Length of a stateless reset token (RFC 9000 §10.3).
pub const RESET_TOKEN_LEN: usize = 16;

/// Default `max_udp_payload_size`: the largest UDP payload, 65527 (RFC 9000 §18.2).
pub const DEFAULT_MAX_UDP_PAYLOAD_SIZE: u32 = 65527;
/// Smallest valid `max_udp_payload_size` (RFC 9000 §18.2: values below 1200 are invalid).
pub const MIN_MAX_UDP_PAYLOAD_SIZE: u32 = 1200;
/// Default `ack_delay_exponent` (RFC 9000 §18.2).
pub const DEFAULT_ACK_DELAY_EXPONENT: u32 = 3;
/// Largest valid `ack_delay_exponent` (RFC 9000 §18.2: values above 20 are invalid).
pub const MAX_ACK_DELAY_EXPONENT: u32 = 20;
/// Default `max_ack_delay` in milliseconds (RFC 9000 §18.2).
pub const DEFAULT_MAX_ACK_DELAY_MS: u32 = 25;
/// `max_ack_delay` values of 2^14 ms or more are invalid (RFC 9000 §18.2).
pub const MAX_ACK_DELAY_LIMIT_MS: u32 = 1 << 14;
/// Default and minimum `active_connection_id_limit` (RFC 9000 §18.2).
pub const DEFAULT_ACTIVE_CONNECTION_ID_LIMIT: u32 = 2;
/// Largest valid `initial_max_streams_bidi` / `_uni` (RFC 9000 §4.6).
pub const MAX_STREAMS_LIMIT: u64 = 1 << 60;

/// Transport parameter identifiers this crate understands (RFC 9000 §18.2, RFC 9221 §3,
/// RFC 9287 §3).
pub mod id {
    /// `original_destination_connection_id` (server only).
    pub const ORIGINAL_DESTINATION_CONNECTION_ID: u64 = 0x00;
    /// `max_idle_timeout`, milliseconds.
    pub const MAX_IDLE_TIMEOUT: u64 = 0x01;
    /// `stateless_reset_token` (server only).
    pub const STATELESS_RESET_TOKEN: u64 = 0x02;
    /// `max_udp_payload_size`.
    pub const MAX_UDP_PAYLOAD_SIZE: u64 = 0x03;
    /// `initial_max_data`.
    pub const INITIAL_MAX_DATA: u64 = 0x04;
    /// `initial_max_stream_data_bidi_local`.
    pub const INITIAL_MAX_STREAM_DATA_BIDI_LOCAL: u64 = 0x05;
    /// `initial_max_stream_data_bidi_remote`.
    pub const INITIAL_MAX_STREAM_DATA_BIDI_REMOTE: u64 = 0x06;
    /// `initial_max_stream_data_uni`.
    pub const INITIAL_MAX_STREAM_DATA_UNI: u64 = 0x07;
    /// `initial_max_streams_bidi`.
    pub const INITIAL_MAX_STREAMS_BIDI: u64 = 0x08;
    /// `initial_max_streams_uni`.
    pub const INITIAL_MAX_STREAMS_UNI: u64 = 0x09;
    /// `ack_delay_exponent`.
    pub const ACK_DELAY_EXPONENT: u64 = 0x0a;
    /// `max_ack_delay`, milliseconds.
    pub const MAX_ACK_DELAY: u64 = 0x0b;
    /// `disable_active_migration` (zero-length value).
    pub const DISABLE_ACTIVE_MIGRATION: u64 = 0x0c;
    /// `preferred_address` (server only).
    pub const PREFERRED_ADDRESS: u64 = 0x0d;
    /// `active_connection_id_limit`.
    pub const ACTIVE_CONNECTION_ID_LIMIT: u64 = 0x0e;
    /// `initial_source_connection_id`.
    pub const INITIAL_SOURCE_CONNECTION_ID: u64 = 0x0f;
    /// `retry_source_connection_id` (server only).
    pub const RETRY_SOURCE_CONNECTION_ID: u64 = 0x10;
    /// `max_datagram_frame_size` (RFC 9221 §3).
    pub const MAX_DATAGRAM_FRAME_SIZE: u64 = 0x20;
    /// `grease_quic_bit` (RFC 9287 §3, zero-length value).
    pub const GREASE_QUIC_BIT: u64 = 0x2ab2;
}

/// Whether `id` is reserved for greasing, i.e. of the form 31 * N + 27 (RFC 9000 §18.1).
pub const fn is_reserved_id(id: u64) -> bool {
    id % 31 == 27
}

/// The transport parameters one endpoint declares (RFC 9000 §18.2).
///
/// `Default` gives the values the RFC assumes for absent parameters. Integer fields hold the
/// effective value (default applied); `encode` omits those equal to their default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransportParameters {
    /// 0x00, server only: Destination Connection ID of the client's first Initial (§7.3).
    pub original_destination_connection_id: Option<ConnectionId>,
    /// 0x01: idle timeout in milliseconds; 0 disables it (§10.1).
    pub max_idle_timeout: VarInt,
    /// 0x02, server only: stateless reset token for the handshake connection ID (§10.3).
    pub stateless_reset_token: Option<[u8; RESET_TOKEN_LEN]>,
    /// 0x03: largest UDP payload the endpoint will receive; default 65527, at least 1200.
    pub max_udp_payload_size: VarInt,
    /// 0x04: initial connection flow-control limit.
    pub initial_max_data: VarInt,
    /// 0x05: initial limit for bidirectional streams opened by the sender of the parameter.
    pub initial_max_stream_data_bidi_local: VarInt,
    /// 0x06: initial limit for bidirectional streams opened by the receiver of the parameter.
    pub initial_max_stream_data_bidi_remote: VarInt,
    /// 0x07: initial limit for unidirectional streams opened by the receiver of the parameter.
    pub initial_max_stream_data_uni: VarInt,
    /// 0x08: bidirectional streams the receiver may open; at most 2^60.
    pub initial_max_streams_bidi: VarInt,
    /// 0x09: unidirectional streams the receiver may open; at most 2^60.
    pub initial_max_streams_uni: VarInt,
    /// 0x0a: ACK Delay exponent; default 3, at most 20.
    pub ack_delay_exponent: VarInt,
    /// 0x0b: maximum ACK delay in milliseconds; default 25, below 2^14.
    pub max_ack_delay: VarInt,
    /// 0x0c: the sender does not support active migration (§9).
    pub disable_active_migration: bool,
    /// 0x0d, server only: the server's preferred address (§9.6).
    pub preferred_address: Option<PreferredAddress>,
    /// 0x0e: connection IDs the sender is willing to store; default 2, at least 2.
    pub active_connection_id_limit: VarInt,
    /// 0x0f: Source Connection ID of the sender's first Initial (§7.3). Mandatory for both
    /// endpoints; [`authenticate_client_cids`](Self::authenticate_client_cids) and
    /// [`authenticate_server_cids`](Self::authenticate_server_cids) check it.
    pub initial_source_connection_id: Option<ConnectionId>,
    /// 0x10, server only: Source Connection ID of the Retry packet the server sent (§7.3).
    pub retry_source_connection_id: Option<ConnectionId>,
    /// 0x20 (RFC 9221 §3): largest DATAGRAM frame the sender will receive; 0 (the default)
    /// means DATAGRAM frames are not supported.
    pub max_datagram_frame_size: VarInt,
    /// 0x2ab2 (RFC 9287 §3): the sender accepts packets with the QUIC Bit cleared.
    pub grease_quic_bit: bool,
}

impl Default for TransportParameters {
    fn default() -> Self {
        Self {
            original_destination_connection_id: None,
            max_idle_timeout: VarInt::ZERO,
            stateless_reset_token: None,
            max_udp_payload_size: VarInt::from_u32(DEFAULT_MAX_UDP_PAYLOAD_SIZE),
            initial_max_data: VarInt::ZERO,
            initial_max_stream_data_bidi_local: VarInt::ZERO,
            initial_max_stream_data_bidi_remote: VarInt::ZERO,
            initial_max_stream_data_uni: VarInt::ZERO,
            initial_max_streams_bidi: VarInt::ZERO,
            initial_max_streams_uni: VarInt::ZERO,
            ack_delay_exponent: VarInt::from_u32(DEFAULT_ACK_DELAY_EXPONENT),
            max_ack_delay: VarInt::from_u32(DEFAULT_MAX_ACK_DELAY_MS),
            disable_active_migration: false,
            preferred_address: None,
            active_connection_id_limit: VarInt::from_u32(DEFAULT_ACTIVE_CONNECTION_ID_LIMIT),
            initial_source_connection_id: None,
            retry_source_connection_id: None,
            max_datagram_frame_size: VarInt::ZERO,
            grease_quic_bit: false,
        }
    }
}

/// The server's preferred address (RFC 9000 §18.2, Figure 22).
///
/// An address family the server does not offer is sent as all zeros (0.0.0.0:0 or [::]:0) and
/// is `None` here; decoding maps an all-zero address and port to `None`, so `Some` of an
/// all-zero address does not survive a round trip. IPv6 flow info and scope ID are not on the
/// wire and decode as 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PreferredAddress {
    /// IPv4 address and port, if offered.
    pub address_v4: Option<SocketAddrV4>,
    /// IPv6 address and port, if offered.
    pub address_v6: Option<SocketAddrV6>,
    /// Connection ID with sequence number 1; 1 to 20 bytes.
    pub connection_id: ConnectionId,
    /// Stateless reset token for `connection_id`.
    pub stateless_reset_token: [u8; RESET_TOKEN_LEN],
}

impl PreferredAddress {
    /// Bytes of the value on the wire: 4 + 2 + 16 + 2 + 1 + CID + 16.
    pub fn encoded_len(&self) -> usize {
        4 + 2 + 16 + 2 + 1 + self.connection_id.len() + RESET_TOKEN_LEN
    }

    /// Writes the value (without parameter id and length).
    pub fn encode<B: BufMut>(&self, buf: &mut B) {
        let v4 = self
            .address_v4
            .unwrap_or(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0));
        buf.put_slice(&v4.ip().octets());
        buf.put_u16(v4.port());
        let v6 = self
            .address_v6
            .unwrap_or(SocketAddrV6::new(Ipv6Addr::UNSPECIFIED, 0, 0, 0));
        buf.put_slice(&v6.ip().octets());
        buf.put_u16(v6.port());
        buf.put_u8(self.connection_id.len() as u8);
        self.connection_id.encode(buf);
        buf.put_slice(&self.stateless_reset_token);
    }

    /// Parses the value of a preferred_address parameter; the whole of `value` must be used.
    fn decode(mut value: &[u8]) -> Result<Self, TransportError> {
        let bad = |why: &'static str| TransportError::transport_parameter_error(why);
        let truncated = |_| bad("preferred_address truncated");
        let mut v4 = [0u8; 4];
        value.try_copy(&mut v4).map_err(truncated)?;
        let port4 = value.try_u16().map_err(truncated)?;
        let mut v6 = [0u8; 16];
        value.try_copy(&mut v6).map_err(truncated)?;
        let port6 = value.try_u16().map_err(truncated)?;
        let cid_len = usize::from(value.try_u8().map_err(truncated)?);
        // RFC 9000 §18.2: a server MUST NOT include a zero-length connection ID in this
        // parameter; a client MUST treat it as TRANSPORT_PARAMETER_ERROR. §17.2: at most 20.
        if cid_len == 0 {
            return Err(bad("preferred_address with a zero-length connection ID"));
        }
        if cid_len > MAX_CID_LEN {
            return Err(bad("preferred_address connection ID longer than 20 bytes"));
        }
        if value.len() != cid_len + RESET_TOKEN_LEN {
            return Err(bad("preferred_address has the wrong length"));
        }
        let (cid, token) = value.split_at(cid_len);
        let connection_id = ConnectionId::new(cid).map_err(|_| bad("preferred_address CID"))?;
        let mut stateless_reset_token = [0u8; RESET_TOKEN_LEN];
        stateless_reset_token.copy_from_slice(token);
        let ip4 = Ipv4Addr::from(v4);
        let ip6 = Ipv6Addr::from(v6);
        // §18.2: an all-zero address and port means the family is not offered.
        Ok(Self {
            address_v4: (!(ip4.is_unspecified() && port4 == 0))
                .then(|| SocketAddrV4::new(ip4, port4)),
            address_v6: (!(ip6.is_unspecified() && port6 == 0))
                .then(|| SocketAddrV6::new(ip6, port6, 0, 0)),
            connection_id,
            stateless_reset_token,
        })
    }
}

/// A reserved transport parameter (RFC 9000 §18.1) to send alongside the real ones, so that
/// peers keep ignoring unknown identifiers. The core has no RNG: the caller supplies the
/// randomness. Append it with [`ReservedParameter::encode`] after
/// [`TransportParameters::encode`]; parameter order carries no meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReservedParameter {
    id: VarInt,
    len: u8,
    value: [u8; Self::MAX_VALUE_LEN],
}

impl ReservedParameter {
    /// Longest value kept; longer input is truncated.
    pub const MAX_VALUE_LEN: usize = 16;
    /// Largest N for which 31 * N + 27 is still a varint.
    const MAX_N: u64 = (VarInt::MAX.into_inner() - 27) / 31;

    /// Builds the reserved parameter 31 * N + 27 with N = `n` reduced into the varint range,
    /// carrying the first (up to 16) bytes of `value`.
    pub fn new(n: u64, value: &[u8]) -> Self {
        let n = n % (Self::MAX_N + 1);
        let len = value.len().min(Self::MAX_VALUE_LEN);
        let mut stored = [0u8; Self::MAX_VALUE_LEN];
        stored[..len].copy_from_slice(&value[..len]);
        Self {
            id: VarInt::from_u64_unchecked(31 * n + 27),
            len: len as u8,
            value: stored,
        }
    }

    /// The parameter identifier, always of the form 31 * N + 27.
    pub fn id(&self) -> VarInt {
        self.id
    }

    /// The value bytes.
    pub fn value(&self) -> &[u8] {
        &self.value[..usize::from(self.len)]
    }

    /// Bytes [`encode`](Self::encode) writes.
    pub fn encoded_len(&self) -> usize {
        param_len(self.id.into_inner(), self.value().len())
    }

    /// Writes the parameter (id, length, value).
    pub fn encode<B: BufMut>(&self, buf: &mut B) {
        put_varint(buf, self.id.into_inner());
        put_varint(buf, self.value().len() as u64);
        buf.put_slice(self.value());
    }
}

/// One parameter's value as it goes on the wire.
enum Value<'a> {
    Int(VarInt),
    Flag,
    Bytes(&'a [u8]),
    PreferredAddress(&'a PreferredAddress),
}

impl Value<'_> {
    fn len(&self) -> usize {
        match self {
            Value::Int(v) => v.size(),
            Value::Flag => 0,
            Value::Bytes(b) => b.len(),
            Value::PreferredAddress(p) => p.encoded_len(),
        }
    }

    fn encode<B: BufMut>(&self, buf: &mut B) {
        match self {
            Value::Int(v) => v.encode(buf),
            Value::Flag => {}
            Value::Bytes(b) => buf.put_slice(b),
            Value::PreferredAddress(p) => p.encode(buf),
        }
    }
}

/// Bytes of one (id, length, value) tuple (RFC 9000 §18, Figure 21).
fn param_len(id: u64, value_len: usize) -> usize {
    varint_len(id) + varint_len(value_len as u64) + value_len
}

/// Bit for each known parameter in the duplicate-detection mask, `None` for ids we ignore.
fn known_bit(id: u64) -> Option<u32> {
    match id {
        0x00..=0x10 => Some(id as u32),
        id::MAX_DATAGRAM_FRAME_SIZE => Some(17),
        id::GREASE_QUIC_BIT => Some(18),
        _ => None,
    }
}

fn tp_error(reason: impl Into<std::borrow::Cow<'static, str>>) -> TransportError {
    TransportError::transport_parameter_error(reason)
}

/// Reads an integer parameter: the value must be exactly one varint (RFC 9000 §18.2; a value
/// whose length differs from its varint's length is malformed, §7.4).
fn int_value(id: u64, mut value: &[u8]) -> Result<VarInt, TransportError> {
    let v = VarInt::decode(&mut value)
        .map_err(|_| tp_error(format!("parameter {id:#x}: truncated integer")))?;
    if !value.is_empty() {
        return Err(tp_error(format!(
            "parameter {id:#x}: trailing bytes after integer"
        )));
    }
    Ok(v)
}

/// Reads a connection ID parameter: 0 to 20 bytes (RFC 9000 §17.2, §7.3).
fn cid_value(id: u64, value: &[u8]) -> Result<ConnectionId, TransportError> {
    ConnectionId::new(value).map_err(|_| {
        tp_error(format!(
            "parameter {id:#x}: connection ID longer than 20 bytes"
        ))
    })
}

/// Reads a zero-length flag parameter (RFC 9000 §18.2 disable_active_migration, RFC 9287 §3).
fn flag_value(id: u64, value: &[u8]) -> Result<bool, TransportError> {
    if !value.is_empty() {
        return Err(tp_error(format!(
            "parameter {id:#x}: flag with a non-empty value"
        )));
    }
    Ok(true)
}

impl TransportParameters {
    /// Calls `f` for every parameter `encode` writes, in ascending id order: values that
    /// differ from their defaults and present optional values.
    fn for_each(&self, mut f: impl FnMut(u64, Value<'_>)) {
        let d = Self::default();
        if let Some(cid) = &self.original_destination_connection_id {
            f(id::ORIGINAL_DESTINATION_CONNECTION_ID, Value::Bytes(cid));
        }
        if self.max_idle_timeout != d.max_idle_timeout {
            f(id::MAX_IDLE_TIMEOUT, Value::Int(self.max_idle_timeout));
        }
        if let Some(token) = &self.stateless_reset_token {
            f(id::STATELESS_RESET_TOKEN, Value::Bytes(token));
        }
        let ints = [
            (
                id::MAX_UDP_PAYLOAD_SIZE,
                self.max_udp_payload_size,
                d.max_udp_payload_size,
            ),
            (
                id::INITIAL_MAX_DATA,
                self.initial_max_data,
                d.initial_max_data,
            ),
            (
                id::INITIAL_MAX_STREAM_DATA_BIDI_LOCAL,
                self.initial_max_stream_data_bidi_local,
                d.initial_max_stream_data_bidi_local,
            ),
            (
                id::INITIAL_MAX_STREAM_DATA_BIDI_REMOTE,
                self.initial_max_stream_data_bidi_remote,
                d.initial_max_stream_data_bidi_remote,
            ),
            (
                id::INITIAL_MAX_STREAM_DATA_UNI,
                self.initial_max_stream_data_uni,
                d.initial_max_stream_data_uni,
            ),
            (
                id::INITIAL_MAX_STREAMS_BIDI,
                self.initial_max_streams_bidi,
                d.initial_max_streams_bidi,
            ),
            (
                id::INITIAL_MAX_STREAMS_UNI,
                self.initial_max_streams_uni,
                d.initial_max_streams_uni,
            ),
            (
                id::ACK_DELAY_EXPONENT,
                self.ack_delay_exponent,
                d.ack_delay_exponent,
            ),
            (id::MAX_ACK_DELAY, self.max_ack_delay, d.max_ack_delay),
        ];
        for (id, v, default) in ints {
            if v != default {
                f(id, Value::Int(v));
            }
        }
        if self.disable_active_migration {
            f(id::DISABLE_ACTIVE_MIGRATION, Value::Flag);
        }
        if let Some(pa) = &self.preferred_address {
            f(id::PREFERRED_ADDRESS, Value::PreferredAddress(pa));
        }
        if self.active_connection_id_limit != d.active_connection_id_limit {
            f(
                id::ACTIVE_CONNECTION_ID_LIMIT,
                Value::Int(self.active_connection_id_limit),
            );
        }
        if let Some(cid) = &self.initial_source_connection_id {
            f(id::INITIAL_SOURCE_CONNECTION_ID, Value::Bytes(cid));
        }
        if let Some(cid) = &self.retry_source_connection_id {
            f(id::RETRY_SOURCE_CONNECTION_ID, Value::Bytes(cid));
        }
        if self.max_datagram_frame_size != d.max_datagram_frame_size {
            f(
                id::MAX_DATAGRAM_FRAME_SIZE,
                Value::Int(self.max_datagram_frame_size),
            );
        }
        if self.grease_quic_bit {
            f(id::GREASE_QUIC_BIT, Value::Flag);
        }
    }

    /// Exact number of bytes [`encode`](Self::encode) writes.
    pub fn encoded_len(&self) -> usize {
        let mut len = 0;
        self.for_each(|id, v| len += param_len(id, v.len()));
        len
    }

    /// Writes the parameters (RFC 9000 §18): each non-default or present parameter once, in
    /// ascending id order. Writing only what [`validate`](Self::validate) accepts for this
    /// endpoint's role is the caller's duty; a client MUST NOT send server-only parameters
    /// (§18.2).
    pub fn encode<B: BufMut>(&self, buf: &mut B) {
        self.for_each(|id, v| {
            put_varint(buf, id);
            put_varint(buf, v.len() as u64);
            v.encode(buf);
        });
    }

    /// Decodes the parameters a peer sent (the whole extension_data of the TLS
    /// quic_transport_parameters extension) and validates them. `sender` is the role of the
    /// peer that sent them.
    ///
    /// Every problem is a `TRANSPORT_PARAMETER_ERROR` (RFC 9000 §7.4). Unknown and reserved
    /// identifiers are skipped, including repeated ones (§7.4.2, §18.1). Presence of the
    /// mandatory connection-ID parameters is not checked here; see §7.3 and
    /// [`authenticate_client_cids`](Self::authenticate_client_cids).
    pub fn decode(sender: Side, mut buf: &[u8]) -> Result<Self, TransportError> {
        let mut params = Self::default();
        let mut seen = 0u32;
        while !buf.is_empty() {
            let truncated = |_| tp_error("transport parameters truncated");
            let id = buf.get_var().map_err(truncated)?;
            let len = buf.get_var().map_err(truncated)?;
            if len > buf.len() as u64 {
                return Err(tp_error(format!(
                    "parameter {id:#x}: value runs past the end"
                )));
            }
            let (value, rest) = buf.split_at(len as usize);
            buf = rest;
            // RFC 9000 §7.4.2: an endpoint MUST ignore transport parameters it does not
            // support; §18.1: reserved ids 31 * N + 27 have no semantics.
            let Some(bit) = known_bit(id) else { continue };
            // §7.4: an endpoint SHOULD treat duplicate parameters as TRANSPORT_PARAMETER_ERROR.
            if seen & (1 << bit) != 0 {
                return Err(tp_error(format!("duplicate transport parameter {id:#x}")));
            }
            seen |= 1 << bit;
            params.set(id, value)?;
        }
        params.validate(sender)?;
        Ok(params)
    }

    /// Stores one known parameter, checking its encoding.
    fn set(&mut self, id: u64, value: &[u8]) -> Result<(), TransportError> {
        match id {
            id::ORIGINAL_DESTINATION_CONNECTION_ID => {
                self.original_destination_connection_id = Some(cid_value(id, value)?)
            }
            id::MAX_IDLE_TIMEOUT => self.max_idle_timeout = int_value(id, value)?,
            id::STATELESS_RESET_TOKEN => {
                // RFC 9000 §18.2: the token is a sequence of 16 bytes.
                let token = <[u8; RESET_TOKEN_LEN]>::try_from(value)
                    .map_err(|_| tp_error("stateless_reset_token is not 16 bytes"))?;
                self.stateless_reset_token = Some(token);
            }
            id::MAX_UDP_PAYLOAD_SIZE => self.max_udp_payload_size = int_value(id, value)?,
            id::INITIAL_MAX_DATA => self.initial_max_data = int_value(id, value)?,
            id::INITIAL_MAX_STREAM_DATA_BIDI_LOCAL => {
                self.initial_max_stream_data_bidi_local = int_value(id, value)?
            }
            id::INITIAL_MAX_STREAM_DATA_BIDI_REMOTE => {
                self.initial_max_stream_data_bidi_remote = int_value(id, value)?
            }
            id::INITIAL_MAX_STREAM_DATA_UNI => {
                self.initial_max_stream_data_uni = int_value(id, value)?
            }
            id::INITIAL_MAX_STREAMS_BIDI => self.initial_max_streams_bidi = int_value(id, value)?,
            id::INITIAL_MAX_STREAMS_UNI => self.initial_max_streams_uni = int_value(id, value)?,
            id::ACK_DELAY_EXPONENT => self.ack_delay_exponent = int_value(id, value)?,
            id::MAX_ACK_DELAY => self.max_ack_delay = int_value(id, value)?,
            id::DISABLE_ACTIVE_MIGRATION => self.disable_active_migration = flag_value(id, value)?,
            id::PREFERRED_ADDRESS => {
                self.preferred_address = Some(PreferredAddress::decode(value)?)
            }
            id::ACTIVE_CONNECTION_ID_LIMIT => {
                self.active_connection_id_limit = int_value(id, value)?
            }
            id::INITIAL_SOURCE_CONNECTION_ID => {
                self.initial_source_connection_id = Some(cid_value(id, value)?)
            }
            id::RETRY_SOURCE_CONNECTION_ID => {
                self.retry_source_connection_id = Some(cid_value(id, value)?)
            }
            id::MAX_DATAGRAM_FRAME_SIZE => self.max_datagram_frame_size = int_value(id, value)?,
            id::GREASE_QUIC_BIT => self.grease_quic_bit = flag_value(id, value)?,
            _ => {}
        }
        Ok(())
    }

    /// Checks every value rule that needs no handshake context, for parameters sent by
    /// `sender`. [`decode`](Self::decode) calls this; an endpoint can also check its own
    /// parameters before sending them.
    pub fn validate(&self, sender: Side) -> Result<(), TransportError> {
        // RFC 9000 §18.2: a client MUST NOT include any server-only transport parameter; a
        // server MUST treat receipt of one as TRANSPORT_PARAMETER_ERROR.
        if sender == Side::Client {
            let server_only = [
                (
                    self.original_destination_connection_id.is_some(),
                    "original_destination_connection_id",
                ),
                (
                    self.stateless_reset_token.is_some(),
                    "stateless_reset_token",
                ),
                (self.preferred_address.is_some(), "preferred_address"),
                (
                    self.retry_source_connection_id.is_some(),
                    "retry_source_connection_id",
                ),
            ];
            if let Some((_, name)) = server_only.iter().find(|(present, _)| *present) {
                return Err(tp_error(format!(
                    "client sent server-only parameter {name}"
                )));
            }
        }
        // §18.2: max_udp_payload_size values below 1200 are invalid.
        if self.max_udp_payload_size.into_inner() < u64::from(MIN_MAX_UDP_PAYLOAD_SIZE) {
            return Err(tp_error("max_udp_payload_size below 1200"));
        }
        // §4.6: a max_streams transport parameter above 2^60 MUST be treated as
        // TRANSPORT_PARAMETER_ERROR.
        if self.initial_max_streams_bidi.into_inner() > MAX_STREAMS_LIMIT {
            return Err(tp_error("initial_max_streams_bidi above 2^60"));
        }
        if self.initial_max_streams_uni.into_inner() > MAX_STREAMS_LIMIT {
            return Err(tp_error("initial_max_streams_uni above 2^60"));
        }
        // §18.2: ack_delay_exponent values above 20 are invalid.
        if self.ack_delay_exponent.into_inner() > u64::from(MAX_ACK_DELAY_EXPONENT) {
            return Err(tp_error("ack_delay_exponent above 20"));
        }
        // §18.2: max_ack_delay values of 2^14 or greater are invalid.
        if self.max_ack_delay.into_inner() >= u64::from(MAX_ACK_DELAY_LIMIT_MS) {
            return Err(tp_error("max_ack_delay of 2^14 or more"));
        }
        // §18.2: active_connection_id_limit MUST be at least 2; a receiver of a smaller value
        // MUST close the connection with TRANSPORT_PARAMETER_ERROR.
        if self.active_connection_id_limit.into_inner()
            < u64::from(DEFAULT_ACTIVE_CONNECTION_ID_LIMIT)
        {
            return Err(tp_error("active_connection_id_limit below 2"));
        }
        if let Some(pa) = &self.preferred_address {
            // §18.2: a server MUST NOT include a zero-length connection ID in preferred_address
            // (decode already rejects it; this covers locally built values).
            if pa.connection_id.is_empty() {
                return Err(tp_error(
                    "preferred_address with a zero-length connection ID",
                ));
            }
            // §18.2: a server that chooses a zero-length connection ID MUST NOT provide a
            // preferred address; a client MUST treat it as TRANSPORT_PARAMETER_ERROR.
            if self
                .initial_source_connection_id
                .is_some_and(|cid| cid.is_empty())
            {
                return Err(tp_error(
                    "preferred_address with a zero-length server connection ID",
                ));
            }
        }
        Ok(())
    }

    /// Server side of RFC 9000 §7.3: checks a client's parameters against the Source
    /// Connection ID of the first Initial packet received from it.
    ///
    /// initial_source_connection_id MUST be present and match; otherwise the error is
    /// `TRANSPORT_PARAMETER_ERROR`.
    pub fn authenticate_client_cids(
        &self,
        client_initial_scid: &ConnectionId,
    ) -> Result<(), TransportError> {
        check_cid(
            "initial_source_connection_id",
            self.initial_source_connection_id,
            client_initial_scid,
        )
    }

    /// Client side of RFC 9000 §7.3: checks a server's parameters against the connection IDs
    /// of the handshake.
    ///
    /// - `server_initial_scid`: Source Connection ID of the first Initial received from the
    ///   server; initial_source_connection_id MUST be present and equal.
    /// - `original_dcid`: Destination Connection ID of the client's first Initial (before any
    ///   Retry); original_destination_connection_id MUST be present and equal.
    /// - `retry_scid`: Source Connection ID of the Retry packet the client acted on, if any;
    ///   retry_source_connection_id MUST then be present and equal, and MUST be absent
    ///   otherwise.
    ///
    /// Every mismatch or absence is `TRANSPORT_PARAMETER_ERROR` (§7.3 allows it for all).
    pub fn authenticate_server_cids(
        &self,
        server_initial_scid: &ConnectionId,
        original_dcid: &ConnectionId,
        retry_scid: Option<&ConnectionId>,
    ) -> Result<(), TransportError> {
        check_cid(
            "initial_source_connection_id",
            self.initial_source_connection_id,
            server_initial_scid,
        )?;
        check_cid(
            "original_destination_connection_id",
            self.original_destination_connection_id,
            original_dcid,
        )?;
        match (retry_scid, self.retry_source_connection_id) {
            (Some(expected), got) => check_cid("retry_source_connection_id", got, expected),
            (None, None) => Ok(()),
            (None, Some(_)) => Err(tp_error("retry_source_connection_id without a Retry")),
        }
    }

    /// The server parameters a client stores with a session ticket for 0-RTT (RFC 9000
    /// §7.4.1): a copy with the parameters a client MUST NOT use from memory
    /// (ack_delay_exponent, max_ack_delay, initial_source_connection_id,
    /// original_destination_connection_id, preferred_address, retry_source_connection_id,
    /// stateless_reset_token) reset to their defaults.
    pub fn remembered_for_0rtt(&self) -> Self {
        let d = Self::default();
        Self {
            ack_delay_exponent: d.ack_delay_exponent,
            max_ack_delay: d.max_ack_delay,
            initial_source_connection_id: None,
            original_destination_connection_id: None,
            preferred_address: None,
            retry_source_connection_id: None,
            stateless_reset_token: None,
            ..*self
        }
    }

    /// Checks that the parameters of a server that accepted 0-RTT (`self`) reduce none of the
    /// limits the client may have used in 0-RTT from `remembered` (RFC 9000 §7.4.1: the server
    /// MUST NOT set active_connection_id_limit, initial_max_data, initial_max_stream_data_*,
    /// initial_max_streams_* below the remembered values; RFC 9221 §3: the client MUST check
    /// max_datagram_frame_size and fail with PROTOCOL_VIOLATION).
    ///
    /// A client calls it when 0-RTT was accepted; a server can call it to decide whether it
    /// may accept 0-RTT. The error is `PROTOCOL_VIOLATION` (RFC 9000 names no code for the
    /// client's check; RFC 9221 does, and one code keeps it simple).
    pub fn check_0rtt_limits(&self, remembered: &Self) -> Result<(), TransportError> {
        let limits = [
            (
                "active_connection_id_limit",
                self.active_connection_id_limit,
                remembered.active_connection_id_limit,
            ),
            (
                "initial_max_data",
                self.initial_max_data,
                remembered.initial_max_data,
            ),
            (
                "initial_max_stream_data_bidi_local",
                self.initial_max_stream_data_bidi_local,
                remembered.initial_max_stream_data_bidi_local,
            ),
            (
                "initial_max_stream_data_bidi_remote",
                self.initial_max_stream_data_bidi_remote,
                remembered.initial_max_stream_data_bidi_remote,
            ),
            (
                "initial_max_stream_data_uni",
                self.initial_max_stream_data_uni,
                remembered.initial_max_stream_data_uni,
            ),
            (
                "initial_max_streams_bidi",
                self.initial_max_streams_bidi,
                remembered.initial_max_streams_bidi,
            ),
            (
                "initial_max_streams_uni",
                self.initial_max_streams_uni,
                remembered.initial_max_streams_uni,
            ),
            (
                "max_datagram_frame_size",
                self.max_datagram_frame_size,
                remembered.max_datagram_frame_size,
            ),
        ];
        match limits.iter().find(|(_, new, old)| new < old) {
            Some((name, _, _)) => Err(TransportError::protocol_violation(format!(
                "0-RTT accepted but {name} is below the remembered value"
            ))),
            None => Ok(()),
        }
    }
}

/// RFC 9000 §7.3: a connection-ID parameter MUST be present and match what was used on the wire.
fn check_cid(
    name: &'static str,
    got: Option<ConnectionId>,
    expected: &ConnectionId,
) -> Result<(), TransportError> {
    match got {
        None => Err(tp_error(format!("missing {name}"))),
        Some(cid) if cid != *expected => Err(tp_error(format!("{name} does not match"))),
        Some(_) => Ok(()),
    }
}

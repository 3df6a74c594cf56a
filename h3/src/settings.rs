//! The SETTINGS frame payload (RFC 9114 §7.2.4) with the parameters this crate understands:
//! QPACK (RFC 9204 §5), RFC 9114 §7.2.4.1, extended CONNECT (RFC 9220 §3) and HTTP Datagrams
//! (RFC 9297 §2.1.1).

use crate::error::{is_grease, Code, H3Error};
use crate::varint;
use bytes::BufMut;

/// SETTINGS_QPACK_MAX_TABLE_CAPACITY (RFC 9204 §5).
pub const QPACK_MAX_TABLE_CAPACITY: u64 = 0x01;
/// SETTINGS_MAX_FIELD_SECTION_SIZE (RFC 9114 §7.2.4.1).
pub const MAX_FIELD_SECTION_SIZE: u64 = 0x06;
/// SETTINGS_QPACK_BLOCKED_STREAMS (RFC 9204 §5).
pub const QPACK_BLOCKED_STREAMS: u64 = 0x07;
/// SETTINGS_ENABLE_CONNECT_PROTOCOL (RFC 8441 §3, RFC 9220 §3).
pub const ENABLE_CONNECT_PROTOCOL: u64 = 0x08;
/// SETTINGS_H3_DATAGRAM (RFC 9297 §2.1.1).
pub const H3_DATAGRAM: u64 = 0x33;

/// RFC 9114 §7.2.4.1 / §11.2.2: HTTP/2 setting identifiers with no HTTP/3 meaning
/// (HEADER_TABLE_SIZE is 0x01 in HTTP/2 but QPACK reuses it; 0x00 is reserved too).
pub fn is_http2_reserved(id: u64) -> bool {
    matches!(id, 0x00 | 0x02 | 0x03 | 0x04 | 0x05)
}

/// The parameters of one SETTINGS frame. `None` means "not sent": the default applies (see
/// the accessor methods).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Settings {
    /// SETTINGS_QPACK_MAX_TABLE_CAPACITY: the decoder's dynamic table limit (default 0).
    pub qpack_max_table_capacity: Option<u64>,
    /// SETTINGS_MAX_FIELD_SECTION_SIZE: the largest field section accepted, in RFC 9114 §4.2.2
    /// bytes (default unlimited).
    pub max_field_section_size: Option<u64>,
    /// SETTINGS_QPACK_BLOCKED_STREAMS (default 0).
    pub qpack_blocked_streams: Option<u64>,
    /// SETTINGS_ENABLE_CONNECT_PROTOCOL (default false).
    pub enable_connect_protocol: Option<bool>,
    /// SETTINGS_H3_DATAGRAM (default false).
    pub h3_datagram: Option<bool>,
    /// Parameters this crate does not understand, in wire order, including reserved
    /// (GREASE) ones. RFC 9114 §7.2.4: they MUST be ignored, so the connection never looks at
    /// them; they are kept so that encode/decode round-trip and so a sender can add GREASE.
    /// Must not repeat an identifier or use a known or HTTP/2-reserved one.
    pub unknown: Vec<(u64, u64)>,
}

impl Settings {
    /// The peer's dynamic table capacity limit (0 when absent).
    pub fn qpack_max_table_capacity(&self) -> u64 {
        self.qpack_max_table_capacity.unwrap_or(0)
    }

    /// The peer's field section limit (unlimited when absent).
    pub fn max_field_section_size(&self) -> u64 {
        self.max_field_section_size.unwrap_or(u64::MAX)
    }

    /// The peer's blocked streams limit (0 when absent).
    pub fn qpack_blocked_streams(&self) -> u64 {
        self.qpack_blocked_streams.unwrap_or(0)
    }

    /// Whether the peer accepts extended CONNECT (`:protocol`).
    pub fn enable_connect_protocol(&self) -> bool {
        self.enable_connect_protocol.unwrap_or(false)
    }

    /// Whether the peer accepts HTTP Datagrams.
    pub fn h3_datagram(&self) -> bool {
        self.h3_datagram.unwrap_or(false)
    }

    fn pairs(&self) -> impl Iterator<Item = (u64, u64)> + '_ {
        let known = [
            (QPACK_MAX_TABLE_CAPACITY, self.qpack_max_table_capacity),
            (MAX_FIELD_SECTION_SIZE, self.max_field_section_size),
            (QPACK_BLOCKED_STREAMS, self.qpack_blocked_streams),
            (
                ENABLE_CONNECT_PROTOCOL,
                self.enable_connect_protocol.map(u64::from),
            ),
            (H3_DATAGRAM, self.h3_datagram.map(u64::from)),
        ];
        known
            .into_iter()
            .filter_map(|(id, v)| v.map(|v| (id, v)))
            .chain(self.unknown.iter().copied())
    }

    /// Length of the encoded payload (without the frame header).
    pub fn encoded_len(&self) -> usize {
        self.pairs()
            .map(|(id, v)| varint::len(id) + varint::len(v))
            .sum()
    }

    /// Writes the payload (without the frame header).
    pub fn encode<B: BufMut>(&self, buf: &mut B) {
        for (id, v) in self.pairs() {
            varint::encode(id, buf);
            varint::encode(v, buf);
        }
    }

    /// Parses a complete SETTINGS payload.
    pub fn decode(mut payload: &[u8]) -> Result<Settings, H3Error> {
        const TRUNCATED: H3Error = H3Error::new(Code::H3_FRAME_ERROR, "truncated SETTINGS");
        const DUPLICATE: H3Error =
            H3Error::new(Code::H3_SETTINGS_ERROR, "duplicate setting identifier");
        let mut s = Settings::default();
        let mut seen_unknown: Vec<u64> = Vec::new();
        while !payload.is_empty() {
            // RFC 9114 §7.1: a payload that ends inside a field is H3_FRAME_ERROR.
            let (id, n) = varint::decode(payload).ok_or(TRUNCATED)?;
            payload = &payload[n..];
            let (value, n) = varint::decode(payload).ok_or(TRUNCATED)?;
            payload = &payload[n..];
            let slot = match id {
                QPACK_MAX_TABLE_CAPACITY => &mut s.qpack_max_table_capacity,
                MAX_FIELD_SECTION_SIZE => &mut s.max_field_section_size,
                QPACK_BLOCKED_STREAMS => &mut s.qpack_blocked_streams,
                ENABLE_CONNECT_PROTOCOL | H3_DATAGRAM => {
                    // RFC 9297 §2.1.1 (and RFC 8441 §3 for the CONNECT setting): a value
                    // other than 0 or 1 is H3_SETTINGS_ERROR.
                    if value > 1 {
                        return Err(H3Error::new(
                            Code::H3_SETTINGS_ERROR,
                            "boolean setting other than 0 or 1",
                        ));
                    }
                    let slot = if id == H3_DATAGRAM {
                        &mut s.h3_datagram
                    } else {
                        &mut s.enable_connect_protocol
                    };
                    // RFC 9114 §7.2.4: the same identifier MUST NOT occur twice; we treat it
                    // as H3_SETTINGS_ERROR.
                    if slot.replace(value == 1).is_some() {
                        return Err(DUPLICATE);
                    }
                    continue;
                }
                // RFC 9114 §7.2.4.1: HTTP/2 settings MUST be treated as H3_SETTINGS_ERROR.
                id if is_http2_reserved(id) => {
                    return Err(H3Error::new(
                        Code::H3_SETTINGS_ERROR,
                        "HTTP/2 setting identifier",
                    ))
                }
                _ => {
                    // RFC 9114 §7.2.4: unknown identifiers (GREASE included) are ignored.
                    seen_unknown.push(id);
                    s.unknown.push((id, value));
                    continue;
                }
            };
            if slot.replace(value).is_some() {
                return Err(DUPLICATE);
            }
        }
        seen_unknown.sort_unstable();
        if seen_unknown.windows(2).any(|w| w[0] == w[1]) {
            return Err(DUPLICATE);
        }
        Ok(s)
    }

    /// Adds a reserved setting (RFC 9114 §7.2.4.1: endpoints SHOULD include at least one)
    /// derived from `seed`.
    pub fn add_grease(&mut self, seed: u64) {
        let id = grease_value(seed % (1 << 16));
        if !self.unknown.iter().any(|&(i, _)| i == id) {
            self.unknown.push((id, seed >> 16 & 0xffff));
        }
    }
}

/// The `n`-th reserved value 0x1f * n + 0x21 (RFC 9114 §6.2.3, §7.2.4.1, §7.2.8).
pub fn grease_value(n: u64) -> u64 {
    0x1f * n + 0x21
}

/// Whether a setting identifier is reserved for GREASE.
pub fn is_grease_setting(id: u64) -> bool {
    is_grease(id)
}

#[cfg(test)]
pub(crate) mod tests;

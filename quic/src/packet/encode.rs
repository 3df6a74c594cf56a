//! Writing packet headers into a send buffer, leaving room to finish and protect the packet in
//! place.

use bytes::{BufMut, Bytes};

use super::{LongType, PacketNumber, FIXED_BIT, KEY_PHASE_BIT, LONG_HEADER_FORM, SPIN_BIT};
use crate::cid::ConnectionId;
use crate::coding::{put_varint, varint_len};
use crate::Version;

/// Bytes reserved for a long header's Length field. Two bytes cover packets of up to 16,383
/// bytes, more than any datagram we send (RFC 9000 §14 limits come far below), and keep the
/// header length known before the payload is written.
pub const LENGTH_FIELD_LEN: usize = 2;

/// The largest long-header packet (packet number + payload + tag) a 2-byte Length can describe.
pub const MAX_LONG_PACKET_LENGTH: usize = (1 << 14) - 1;

/// A header to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Header {
    /// Initial.
    Initial {
        /// Version.
        version: Version,
        /// Destination connection ID.
        dst_cid: ConnectionId,
        /// Source connection ID.
        src_cid: ConnectionId,
        /// Token from a Retry or NEW_TOKEN (empty if none).
        token: Bytes,
        /// Truncated packet number.
        number: PacketNumber,
    },
    /// 0-RTT or Handshake.
    Long {
        /// [`LongType::ZeroRtt`] or [`LongType::Handshake`].
        ty: LongType,
        /// Version.
        version: Version,
        /// Destination connection ID.
        dst_cid: ConnectionId,
        /// Source connection ID.
        src_cid: ConnectionId,
        /// Truncated packet number.
        number: PacketNumber,
    },
    /// Retry, without its integrity tag (the caller appends the tag computed over the
    /// pseudo-packet, RFC 9001 §5.8).
    Retry {
        /// Version.
        version: Version,
        /// Destination connection ID (the client's source connection ID).
        dst_cid: ConnectionId,
        /// Source connection ID (chosen by the server).
        src_cid: ConnectionId,
        /// The address-validation token.
        token: Bytes,
    },
    /// 1-RTT.
    Short {
        /// Spin bit (RFC 9000 §17.4).
        spin: bool,
        /// Key phase (RFC 9001 §6).
        key_phase: bool,
        /// Destination connection ID.
        dst_cid: ConnectionId,
        /// Truncated packet number.
        number: PacketNumber,
    },
}

/// Where a written header's variable parts are, so the packet can be finished in place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartialEncode {
    /// Offset of the packet's first byte in the buffer.
    pub start: usize,
    /// Header length, including the packet number.
    pub header_len: usize,
    /// Offset of the packet number from `start` and its length, if the packet has one.
    pub pn: Option<(usize, usize)>,
    /// Offset of the 2-byte Length field from `start`, for 0-RTT, Handshake and Initial.
    pub length_offset: Option<usize>,
}

impl PartialEncode {
    /// Writes the Length field once the packet's size is known. `buf` is the whole buffer the
    /// header was encoded into (the packet starts at [`start`](Self::start)); `packet_len` is
    /// the whole packet's length from `start`, including the AEAD tag.
    ///
    /// Panics if the packet exceeds [`MAX_LONG_PACKET_LENGTH`]; the send path never builds one
    /// that large (that would be a bug in our code, not peer input).
    pub fn set_length(&self, buf: &mut [u8], packet_len: usize) {
        if let (Some(len_off), Some((pn_off, _))) = (self.length_offset, self.pn) {
            // RFC 9000 §17.2: Length counts the packet number and the payload.
            let length = packet_len - pn_off;
            assert!(
                length <= MAX_LONG_PACKET_LENGTH,
                "long packet too large: {length}"
            );
            let at = self.start + len_off;
            buf[at..at + 2].copy_from_slice(&(0x4000 | length as u16).to_be_bytes());
        }
    }
}

impl Header {
    /// The length this header takes on the wire.
    pub fn encoded_len(&self) -> usize {
        match self {
            Header::Initial {
                dst_cid,
                src_cid,
                token,
                number,
                ..
            } => {
                7 + dst_cid.len()
                    + src_cid.len()
                    + varint_len(token.len() as u64)
                    + token.len()
                    + LENGTH_FIELD_LEN
                    + number.len()
            }
            Header::Long {
                dst_cid,
                src_cid,
                number,
                ..
            } => 7 + dst_cid.len() + src_cid.len() + LENGTH_FIELD_LEN + number.len(),
            Header::Retry {
                dst_cid,
                src_cid,
                token,
                ..
            } => 7 + dst_cid.len() + src_cid.len() + token.len(),
            Header::Short {
                dst_cid, number, ..
            } => 1 + dst_cid.len() + number.len(),
        }
    }

    /// Writes the header at the end of `buf`. Long headers get a Length placeholder that
    /// [`PartialEncode::set_length`] fills in.
    pub fn encode(&self, buf: &mut Vec<u8>) -> PartialEncode {
        let start = buf.len();
        let (pn, length_offset) = match self {
            Header::Initial {
                version,
                dst_cid,
                src_cid,
                token,
                number,
            } => {
                long_prefix(
                    buf,
                    LongType::Initial,
                    *version,
                    number.tag(),
                    dst_cid,
                    src_cid,
                );
                put_varint(buf, token.len() as u64);
                buf.put_slice(token);
                let length_offset = buf.len() - start;
                buf.put_u16(0x4000);
                let pn_off = buf.len() - start;
                number.encode_to(buf);
                (Some((pn_off, number.len())), Some(length_offset))
            }
            Header::Long {
                ty,
                version,
                dst_cid,
                src_cid,
                number,
            } => {
                long_prefix(buf, *ty, *version, number.tag(), dst_cid, src_cid);
                let length_offset = buf.len() - start;
                buf.put_u16(0x4000);
                let pn_off = buf.len() - start;
                number.encode_to(buf);
                (Some((pn_off, number.len())), Some(length_offset))
            }
            Header::Retry {
                version,
                dst_cid,
                src_cid,
                token,
            } => {
                // RFC 9000 §17.2.5: the four low bits are unused; we send zeros.
                long_prefix(buf, LongType::Retry, *version, 0, dst_cid, src_cid);
                buf.put_slice(token);
                (None, None)
            }
            Header::Short {
                spin,
                key_phase,
                dst_cid,
                number,
            } => {
                let mut first = FIXED_BIT | number.tag();
                if *spin {
                    first |= SPIN_BIT;
                }
                if *key_phase {
                    first |= KEY_PHASE_BIT;
                }
                buf.put_u8(first);
                buf.put_slice(dst_cid);
                let pn_off = buf.len() - start;
                number.encode_to(buf);
                (Some((pn_off, number.len())), None)
            }
        };
        PartialEncode {
            start,
            header_len: buf.len() - start,
            pn,
            length_offset,
        }
    }
}

fn long_prefix(
    buf: &mut Vec<u8>,
    ty: LongType,
    version: Version,
    low_bits: u8,
    dst_cid: &ConnectionId,
    src_cid: &ConnectionId,
) {
    buf.put_u8(LONG_HEADER_FORM | FIXED_BIT | (ty.to_bits(version) << 4) | low_bits);
    buf.put_u32(version.to_u32());
    buf.put_u8(dst_cid.len() as u8);
    buf.put_slice(dst_cid);
    buf.put_u8(src_cid.len() as u8);
    buf.put_slice(src_cid);
}

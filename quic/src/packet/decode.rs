//! Two-step header decoding: parse the unprotected fields, then remove header protection.

use std::ops::Range;

use bytes::{Buf, BytesMut};

use super::{
    LongType, PacketNumber, PacketType, FIXED_BIT, KEY_PHASE_BIT, LONG_HEADER_FORM,
    LONG_RESERVED_BITS, PN_LEN_MASK, SHORT_RESERVED_BITS, SPIN_BIT,
};
use crate::cid::{ConnectionId, MAX_CID_LEN};
use crate::coding::{get_varint, BufExt, UnexpectedEnd};
use crate::Version;

/// Bytes of ciphertext sampled for header protection (RFC 9001 §5.4.2).
pub const SAMPLE_LEN: usize = 16;

/// Why a datagram's packet could not be parsed. None of these close a connection by themselves:
/// RFC 9000 §12.2 and §5.2 say malformed or unroutable packets are discarded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PacketDecodeError {
    /// A long header with a version we do not implement; a server answers with Version
    /// Negotiation (RFC 9000 §6.1).
    #[error("unsupported version {version:#010x}")]
    UnsupportedVersion {
        /// The version field.
        version: u32,
    },
    /// The header is malformed or truncated.
    #[error("invalid packet header: {0}")]
    InvalidHeader(&'static str),
}

impl From<UnexpectedEnd> for PacketDecodeError {
    fn from(_: UnexpectedEnd) -> Self {
        PacketDecodeError::InvalidHeader("truncated")
    }
}

/// The fields readable before header protection is removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProtectedHeader {
    /// An Initial packet. Its token is [`PartialDecode::token`].
    Initial {
        /// The packet's version.
        version: Version,
        /// Destination connection ID.
        dst_cid: ConnectionId,
        /// Source connection ID.
        src_cid: ConnectionId,
    },
    /// A 0-RTT or Handshake packet.
    Long {
        /// [`LongType::ZeroRtt`] or [`LongType::Handshake`].
        ty: LongType,
        /// The packet's version.
        version: Version,
        /// Destination connection ID.
        dst_cid: ConnectionId,
        /// Source connection ID.
        src_cid: ConnectionId,
    },
    /// A Retry packet. Its token is [`PartialDecode::token`], its integrity tag the last 16
    /// bytes of [`PartialDecode::data`].
    Retry {
        /// The packet's version.
        version: Version,
        /// Destination connection ID.
        dst_cid: ConnectionId,
        /// Source connection ID (the connection ID the server chose).
        src_cid: ConnectionId,
    },
    /// A 1-RTT packet (short header).
    Short {
        /// The spin bit (RFC 9000 §17.4), not protected.
        spin: bool,
        /// Destination connection ID.
        dst_cid: ConnectionId,
    },
    /// A Version Negotiation packet; read its versions with
    /// [`PartialDecode::supported_versions`].
    VersionNegotiation {
        /// Destination connection ID.
        dst_cid: ConnectionId,
        /// Source connection ID.
        src_cid: ConnectionId,
    },
}

impl ProtectedHeader {
    /// The packet type.
    pub fn packet_type(&self) -> PacketType {
        match self {
            ProtectedHeader::Initial { .. } => PacketType::Initial,
            ProtectedHeader::Long { ty, .. } => ty.packet_type(),
            ProtectedHeader::Retry { .. } => PacketType::Retry,
            ProtectedHeader::Short { .. } => PacketType::OneRtt,
            ProtectedHeader::VersionNegotiation { .. } => PacketType::VersionNegotiation,
        }
    }

    /// The destination connection ID.
    pub fn dst_cid(&self) -> &ConnectionId {
        match self {
            ProtectedHeader::Initial { dst_cid, .. }
            | ProtectedHeader::Long { dst_cid, .. }
            | ProtectedHeader::Retry { dst_cid, .. }
            | ProtectedHeader::Short { dst_cid, .. }
            | ProtectedHeader::VersionNegotiation { dst_cid, .. } => dst_cid,
        }
    }

    /// The source connection ID (long headers only).
    pub fn src_cid(&self) -> Option<&ConnectionId> {
        match self {
            ProtectedHeader::Initial { src_cid, .. }
            | ProtectedHeader::Long { src_cid, .. }
            | ProtectedHeader::Retry { src_cid, .. }
            | ProtectedHeader::VersionNegotiation { src_cid, .. } => Some(src_cid),
            ProtectedHeader::Short { .. } => None,
        }
    }

    /// The version, for long headers other than Version Negotiation.
    pub fn version(&self) -> Option<Version> {
        match self {
            ProtectedHeader::Initial { version, .. }
            | ProtectedHeader::Long { version, .. }
            | ProtectedHeader::Retry { version, .. } => Some(*version),
            _ => None,
        }
    }
}

/// A packet whose unprotected header fields are parsed (step one of two).
#[derive(Debug)]
pub struct PartialDecode {
    header: ProtectedHeader,
    /// Exactly this packet's bytes (a coalesced datagram's remainder is split off).
    buf: BytesMut,
    /// Where the packet number starts; for packets without one, the end of the header.
    pn_offset: usize,
    token: Range<usize>,
}

impl PartialDecode {
    /// Parses the unprotected header of the first packet in `datagram`.
    ///
    /// `local_cid_len` is the length of the connection IDs this endpoint issues (short headers
    /// carry no length). `grease_quic_bit` is whether we told the peer it may send a zero
    /// fixed bit (RFC 9287). Returns the packet and, for a coalesced datagram, the bytes after
    /// it (RFC 9000 §12.2), which the caller parses next.
    pub fn new(
        mut datagram: BytesMut,
        local_cid_len: usize,
        grease_quic_bit: bool,
    ) -> Result<(Self, Option<BytesMut>), PacketDecodeError> {
        let mut r = &datagram[..];
        let first = r.try_u8()?;
        let is_long = first & LONG_HEADER_FORM != 0;
        if !is_long {
            // RFC 9000 §17.3.1: the fixed bit MUST be 1 (RFC 9287 allows 0 once negotiated).
            if first & FIXED_BIT == 0 && !grease_quic_bit {
                return Err(PacketDecodeError::InvalidHeader("fixed bit is zero"));
            }
            if local_cid_len > MAX_CID_LEN {
                return Err(PacketDecodeError::InvalidHeader(
                    "local connection ID too long",
                ));
            }
            let dst_cid = ConnectionId::decode_with_len(&mut r, local_cid_len)?;
            let pn_offset = 1 + local_cid_len;
            let header = ProtectedHeader::Short {
                spin: first & SPIN_BIT != 0,
                dst_cid,
            };
            // A short-header packet runs to the end of the datagram (RFC 9000 §12.2).
            let packet = Self {
                header,
                buf: datagram,
                pn_offset,
                token: 0..0,
            };
            return Ok((packet, None));
        }

        let version = r.try_u32()?;
        if version != 0 && Version::from_u32(version).is_none() {
            // Checked before the connection IDs: other versions may use longer ones.
            return Err(PacketDecodeError::UnsupportedVersion { version });
        }
        let dst_cid = read_cid(&mut r)?;
        let src_cid = read_cid(&mut r)?;
        if version == 0 {
            // RFC 9000 §17.2.1: Version Negotiation; the fixed bit's value is unused.
            let pn_offset = datagram.len() - r.remaining();
            let header = ProtectedHeader::VersionNegotiation { dst_cid, src_cid };
            return Ok((
                Self {
                    header,
                    buf: datagram,
                    pn_offset,
                    token: 0..0,
                },
                None,
            ));
        }
        let version =
            Version::from_u32(version).ok_or(PacketDecodeError::UnsupportedVersion { version })?;
        // RFC 9000 §17.2: packets with a zero fixed bit MUST be discarded.
        if first & FIXED_BIT == 0 && !grease_quic_bit {
            return Err(PacketDecodeError::InvalidHeader("fixed bit is zero"));
        }
        let ty = LongType::from_bits(first >> 4, version);
        let mut token = 0..0;
        if ty == LongType::Retry {
            // RFC 9000 §17.2.5: the rest of the datagram is token and 16-byte integrity tag.
            if r.remaining() < 16 {
                return Err(PacketDecodeError::InvalidHeader("retry packet too short"));
            }
            let start = datagram.len() - r.remaining();
            token = start..datagram.len() - 16;
            let header = ProtectedHeader::Retry {
                version,
                dst_cid,
                src_cid,
            };
            let pn_offset = datagram.len();
            return Ok((
                Self {
                    header,
                    buf: datagram,
                    pn_offset,
                    token,
                },
                None,
            ));
        }
        if ty == LongType::Initial {
            let token_len = get_varint(&mut r)?;
            if token_len > r.remaining() as u64 {
                return Err(PacketDecodeError::InvalidHeader("token longer than packet"));
            }
            let start = datagram.len() - r.remaining();
            token = start..start + token_len as usize;
            r.advance(token_len as usize);
        }
        // RFC 9000 §17.2: Length covers the packet number and the payload.
        let length = get_varint(&mut r)?;
        if length > r.remaining() as u64 {
            return Err(PacketDecodeError::InvalidHeader("length exceeds datagram"));
        }
        let pn_offset = datagram.len() - r.remaining();
        let end = pn_offset + length as usize;
        let rest = (end < datagram.len()).then(|| datagram.split_off(end));
        let header = match ty {
            LongType::Initial => ProtectedHeader::Initial {
                version,
                dst_cid,
                src_cid,
            },
            _ => ProtectedHeader::Long {
                ty,
                version,
                dst_cid,
                src_cid,
            },
        };
        Ok((
            Self {
                header,
                buf: datagram,
                pn_offset,
                token,
            },
            rest,
        ))
    }

    /// The fields parsed so far.
    pub fn header(&self) -> &ProtectedHeader {
        &self.header
    }

    /// The packet's bytes as received (header still protected).
    pub fn data(&self) -> &[u8] {
        &self.buf
    }

    /// The packet's length in bytes.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// Whether the packet is empty (never, for a parsed packet).
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// The token of an Initial or Retry packet (empty otherwise).
    pub fn token(&self) -> &[u8] {
        &self.buf[self.token.clone()]
    }

    /// The offset of the packet number in [`data`](Self::data).
    pub fn pn_offset(&self) -> usize {
        self.pn_offset
    }

    /// Whether this packet is protected with keys (Initial, 0-RTT, Handshake, 1-RTT).
    pub fn has_packet_number(&self) -> bool {
        !matches!(
            self.header,
            ProtectedHeader::Retry { .. } | ProtectedHeader::VersionNegotiation { .. }
        )
    }

    /// The versions offered by a Version Negotiation packet.
    pub fn supported_versions(&self) -> Option<super::VersionNegotiationIter<'_>> {
        match self.header {
            ProtectedHeader::VersionNegotiation { .. } => {
                super::VersionNegotiationIter::new(&self.buf[self.pn_offset..]).ok()
            }
            _ => None,
        }
    }

    /// The 16-byte ciphertext sample that header protection is computed from
    /// (RFC 9001 §5.4.2: it starts 4 bytes after the packet number's start, as if the packet
    /// number were 4 bytes long).
    pub fn sample(&self) -> Option<&[u8; SAMPLE_LEN]> {
        if !self.has_packet_number() {
            return None;
        }
        let start = self.pn_offset + 4;
        self.buf.get(start..start + SAMPLE_LEN)?.try_into().ok()
    }

    /// Removes header protection (step two): `header_mask` maps the sample to the 5-byte mask
    /// (the header protection key's job), and `expected_pn` is the largest packet number
    /// received in this space plus one, used to expand the truncated number (RFC 9000 §17.1).
    pub fn finish(
        self,
        header_mask: impl FnOnce(&[u8; SAMPLE_LEN]) -> [u8; 5],
        expected_pn: u64,
    ) -> Result<Packet, PacketDecodeError> {
        self.finish_with(
            |sample, first, pn| {
                let mask = header_mask(sample);
                // RFC 9001 §5.4.1: 4 bits are protected in long headers, 5 in short headers.
                *first ^= mask[0]
                    & if *first & LONG_HEADER_FORM != 0 {
                        0x0f
                    } else {
                        0x1f
                    };
                let pn_len = usize::from(*first & PN_LEN_MASK) + 1;
                for (byte, m) in pn[..pn_len].iter_mut().zip(&mask[1..]) {
                    *byte ^= m;
                }
                true
            },
            expected_pn,
        )
    }

    /// Like [`finish`](Self::finish), for header-protection keys that unmask in place (such as
    /// rustls's `quic::HeaderProtectionKey`): `unprotect(sample, first_byte, pn_field)` gets the
    /// first byte and the 4 bytes where the packet number starts, and must unmask the first
    /// byte and as many packet-number bytes as the unmasked first byte announces. It returns
    /// false if it could not.
    pub fn finish_with(
        mut self,
        unprotect: impl FnOnce(&[u8; SAMPLE_LEN], &mut u8, &mut [u8]) -> bool,
        expected_pn: u64,
    ) -> Result<Packet, PacketDecodeError> {
        let sample = *self.sample().ok_or(PacketDecodeError::InvalidHeader(
            "packet too short for header protection",
        ))?;
        let is_long = self.buf[0] & LONG_HEADER_FORM != 0;
        let (head, rest) = self.buf.split_at_mut(self.pn_offset);
        // The sample lies 4 bytes past the packet number's start, so 4 bytes are there.
        if !unprotect(&sample, &mut head[0], &mut rest[..4]) {
            return Err(PacketDecodeError::InvalidHeader("header protection failed"));
        }
        let first = self.buf[0];
        let pn_len = usize::from(first & PN_LEN_MASK) + 1;
        let pn_range = self.pn_offset..self.pn_offset + pn_len;
        let truncated = PacketNumber::decode(pn_len, &mut &self.buf[pn_range.clone()])?;
        let header_len = pn_range.end;
        // RFC 9000 §17.2: the Length field includes the packet number, so the AEAD tag must
        // still fit after it; let decryption report anything shorter.
        Ok(Packet {
            header: self.header,
            number: truncated.expand(expected_pn),
            key_phase: !is_long && first & KEY_PHASE_BIT != 0,
            reserved_bits_zero: first
                & if is_long {
                    LONG_RESERVED_BITS
                } else {
                    SHORT_RESERVED_BITS
                }
                == 0,
            header_len,
            token: self.token,
            buf: self.buf,
        })
    }
}

/// A packet with header protection removed; its payload is still AEAD-protected.
#[derive(Debug)]
pub struct Packet {
    /// The header fields.
    pub header: ProtectedHeader,
    /// The full packet number.
    pub number: u64,
    /// The key phase bit of a short header (RFC 9001 §6).
    pub key_phase: bool,
    reserved_bits_zero: bool,
    header_len: usize,
    token: Range<usize>,
    buf: BytesMut,
}

impl Packet {
    /// Whether the reserved bits are zero. RFC 9000 §17.2 / §17.3.1: non-zero reserved bits,
    /// once packet and header protection are both removed, are a PROTOCOL_VIOLATION, so the
    /// caller checks this only after the payload decrypted successfully.
    pub fn reserved_bits_zero(&self) -> bool {
        self.reserved_bits_zero
    }

    /// Header length including the packet number: the AEAD's associated data.
    pub fn header_len(&self) -> usize {
        self.header_len
    }

    /// The unprotected header bytes.
    pub fn header_bytes(&self) -> &[u8] {
        &self.buf[..self.header_len]
    }

    /// The token of an Initial packet.
    pub fn token(&self) -> &[u8] {
        &self.buf[self.token.clone()]
    }

    /// The whole packet (unprotected header ‖ protected payload), for in-place decryption.
    pub fn data_mut(&mut self) -> &mut [u8] {
        &mut self.buf
    }

    /// The whole packet.
    pub fn data(&self) -> &[u8] {
        &self.buf
    }

    /// Takes the decrypted payload (`plaintext_len` bytes after the header) without copying.
    pub fn into_payload(mut self, plaintext_len: usize) -> bytes::Bytes {
        let end = (self.header_len + plaintext_len).min(self.buf.len());
        self.buf.truncate(end);
        self.buf.split_off(self.header_len).freeze()
    }
}

fn read_cid(r: &mut &[u8]) -> Result<ConnectionId, PacketDecodeError> {
    let len = usize::from(r.try_u8()?);
    // RFC 9000 §17.2: a v1 long header with a connection ID over 20 bytes MUST be dropped.
    if len > MAX_CID_LEN {
        return Err(PacketDecodeError::InvalidHeader(
            "connection ID longer than 20 bytes",
        ));
    }
    Ok(ConnectionId::decode_with_len(r, len)?)
}

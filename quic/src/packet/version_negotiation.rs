//! Version-independent header parsing (RFC 8999) and Version Negotiation packets
//! (RFC 9000 §6, §17.2.1).
//!
//! A server must answer a long header of a version it does not know, whose connection IDs may be
//! up to 255 bytes long (RFC 8999 §5.1), so these functions work on borrowed slices rather than
//! on the 20-byte [`crate::ConnectionId`].

use bytes::BufMut;

use super::{FIXED_BIT, LONG_HEADER_FORM};
use crate::coding::UnexpectedEnd;

/// The version-independent fields of a long header (RFC 8999 §5.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvariantHeader<'a> {
    /// The version field (0 for Version Negotiation).
    pub version: u32,
    /// Destination connection ID, 0..=255 bytes.
    pub dst_cid: &'a [u8],
    /// Source connection ID, 0..=255 bytes.
    pub src_cid: &'a [u8],
}

/// Reads the invariant fields of a long-header packet; `None` for short headers or truncated
/// input.
pub fn peek_invariant_header(datagram: &[u8]) -> Option<InvariantHeader<'_>> {
    let (&first, rest) = datagram.split_first()?;
    if first & LONG_HEADER_FORM == 0 {
        return None;
    }
    let version = u32::from_be_bytes(rest.get(..4)?.try_into().ok()?);
    let rest = &rest[4..];
    let (&dcid_len, rest) = rest.split_first()?;
    let dst_cid = rest.get(..usize::from(dcid_len))?;
    let rest = &rest[usize::from(dcid_len)..];
    let (&scid_len, rest) = rest.split_first()?;
    let src_cid = rest.get(..usize::from(scid_len))?;
    Some(InvariantHeader {
        version,
        dst_cid,
        src_cid,
    })
}

/// Writes a Version Negotiation packet answering a packet with `their` header fields.
///
/// RFC 9000 §17.2.1: the Destination Connection ID echoes the client's Source Connection ID and
/// the Source Connection ID echoes its Destination Connection ID. `unused` supplies the seven
/// arbitrary low bits of the first byte (RFC 8999 §6; the caller draws them from its RNG).
/// `versions` lists the versions we support, optionally with a reserved GREASE version.
pub fn encode_version_negotiation<B: BufMut>(
    their: &InvariantHeader<'_>,
    unused: u8,
    versions: &[u32],
    buf: &mut B,
) {
    // RFC 9000 §17.2.1: the fixed bit is set so middleboxes that expect it see it.
    buf.put_u8(LONG_HEADER_FORM | FIXED_BIT | (unused & 0x3f));
    buf.put_u32(0);
    buf.put_u8(their.src_cid.len() as u8);
    buf.put_slice(their.src_cid);
    buf.put_u8(their.dst_cid.len() as u8);
    buf.put_slice(their.dst_cid);
    for v in versions {
        buf.put_u32(*v);
    }
}

/// The versions listed in a Version Negotiation packet's payload.
#[derive(Debug, Clone)]
pub struct VersionNegotiationIter<'a> {
    rest: &'a [u8],
}

impl<'a> VersionNegotiationIter<'a> {
    /// Iterates the Supported Version fields; fails if the payload is not a multiple of 4 bytes.
    pub fn new(payload: &'a [u8]) -> Result<Self, UnexpectedEnd> {
        if payload.len() % 4 != 0 {
            return Err(UnexpectedEnd);
        }
        Ok(Self { rest: payload })
    }
}

impl Iterator for VersionNegotiationIter<'_> {
    type Item = u32;
    fn next(&mut self) -> Option<u32> {
        let (v, rest) = self.rest.split_first_chunk::<4>()?;
        self.rest = rest;
        Some(u32::from_be_bytes(*v))
    }
}

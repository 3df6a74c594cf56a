//! Handshake data: CRYPTO (RFC 9000 §19.6), with a header-only encoder for the send path, and
//! NEW_TOKEN (§19.7), the address-validation token for a future connection.

use super::stream::data_fit_with_len;
use super::{put_type, type_len, FrameType, Invalid};
use crate::coding::{put_varint, take_len_prefixed, varint_len, BufExt, VarInt};
use bytes::{BufMut, Bytes};

/// The largest offset + length a CRYPTO stream can reach, 2^62 - 1 (RFC 9000 §19.6).
const MAX_CRYPTO_END: u64 = VarInt::MAX.into_inner();

/// A CRYPTO frame (RFC 9000 §19.6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Crypto {
    /// Offset of the first data byte in this encryption level's crypto stream.
    /// `offset + data.len()` must not exceed 2^62 - 1; decoding enforces it.
    pub offset: u64,
    /// The handshake data, a slice of the packet payload when decoded.
    pub data: Bytes,
}

impl Crypto {
    /// The header describing this frame.
    pub fn header(&self) -> CryptoHeader {
        CryptoHeader {
            offset: self.offset,
            len: self.data.len(),
        }
    }

    /// Bytes [`Crypto::encode`] writes.
    pub fn encoded_len(&self) -> usize {
        self.header().encoded_len() + self.data.len()
    }

    /// Writes the frame.
    pub fn encode<B: BufMut>(&self, buf: &mut B) {
        self.header().encode(buf);
        buf.put_slice(&self.data);
    }

    pub(super) fn decode(buf: &mut Bytes) -> Result<Self, Invalid> {
        let offset = buf.get_var()?;
        let data = take_len_prefixed(buf)?;
        // RFC 9000 §19.6: "The largest offset delivered on a stream -- the sum of the offset
        // and data length -- cannot exceed 2^62-1. Receipt of a frame that exceeds this limit
        // MUST be treated as a connection error of type FRAME_ENCODING_ERROR or
        // CRYPTO_BUFFER_EXCEEDED."
        match offset.checked_add(data.len() as u64) {
            Some(end) if end <= MAX_CRYPTO_END => Ok(Self { offset, data }),
            _ => Err(Invalid("CRYPTO offset + length exceeds 2^62 - 1")),
        }
    }
}

/// The header of a CRYPTO frame (type, offset, length). The send path writes it, then copies
/// `len` bytes of handshake data right after it. CRYPTO always has a Length field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CryptoHeader {
    /// Offset of the first data byte.
    pub offset: u64,
    /// Number of data bytes that follow the header.
    pub len: usize,
}

impl CryptoHeader {
    /// Bytes the header takes.
    #[inline]
    pub fn encoded_len(&self) -> usize {
        type_len(FrameType::CRYPTO) + varint_len(self.offset) + varint_len(self.len as u64)
    }

    /// Writes the header. The caller then writes exactly `len` data bytes.
    #[inline]
    pub fn encode<B: BufMut>(&self, buf: &mut B) {
        debug_assert!(self.offset.saturating_add(self.len as u64) <= MAX_CRYPTO_END);
        put_type(buf, FrameType::CRYPTO);
        put_varint(buf, self.offset);
        put_varint(buf, self.len as u64);
    }

    /// How many data bytes at `offset` fit in a CRYPTO frame of at most `space` bytes, header
    /// included; `None` if not even an empty frame fits. As with
    /// [`StreamHeader::max_data_len`](super::StreamHeader::max_data_len), the frame can end a
    /// byte or two short of `space` where the Length field changes size.
    pub fn max_data_len(offset: u64, space: usize) -> Option<usize> {
        let avail = space.checked_sub(type_len(FrameType::CRYPTO) + varint_len(offset))?;
        data_fit_with_len(avail, MAX_CRYPTO_END.saturating_sub(offset))
    }
}

/// A NEW_TOKEN frame (RFC 9000 §19.7).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewToken {
    /// The opaque token for a future Initial packet; never empty.
    pub token: Bytes,
}

impl NewToken {
    /// Bytes [`NewToken::encode`] writes.
    pub fn encoded_len(&self) -> usize {
        type_len(FrameType::NEW_TOKEN) + varint_len(self.token.len() as u64) + self.token.len()
    }

    /// Writes the frame. The token must not be empty (RFC 9000 §19.7).
    pub fn encode<B: BufMut>(&self, buf: &mut B) {
        debug_assert!(
            !self.token.is_empty(),
            "RFC 9000 §19.7: the token MUST NOT be empty"
        );
        put_type(buf, FrameType::NEW_TOKEN);
        put_varint(buf, self.token.len() as u64);
        buf.put_slice(&self.token);
    }

    pub(super) fn decode(buf: &mut Bytes) -> Result<Self, Invalid> {
        let token = take_len_prefixed(buf)?;
        // RFC 9000 §19.7: "A client MUST treat receipt of a NEW_TOKEN frame with an empty Token
        // field as a connection error of type FRAME_ENCODING_ERROR."
        if token.is_empty() {
            return Err(Invalid("NEW_TOKEN with an empty token"));
        }
        Ok(Self { token })
    }
}

//! The codec layer under everything on the wire: QUIC variable-length integers (RFC 9000 §16)
//! and small helpers for reading peer input without panicking.
//!
//! Decoding reads from a [`bytes::Buf`] and consumes what it read; every read that could run
//! past the end returns [`UnexpectedEnd`] instead. Encoding writes to a [`bytes::BufMut`], and
//! every encodable type can report its exact encoded length up front.

use bytes::{Buf, BufMut, Bytes};
use std::fmt;

/// The input ended before a complete value could be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("unexpected end of input")]
pub struct UnexpectedEnd;

/// A value does not fit in a QUIC variable-length integer (it is 2^62 or more).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("value {0} exceeds the variable-length integer range (2^62 - 1)")]
pub struct VarIntBoundsExceeded(pub u64);

/// A QUIC variable-length integer: 0 ..= 2^62 - 1 (RFC 9000 §16).
#[derive(Default, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct VarInt(u64);

impl VarInt {
    /// The largest representable value, 2^62 - 1.
    pub const MAX: VarInt = VarInt((1 << 62) - 1);
    /// Zero.
    pub const ZERO: VarInt = VarInt(0);

    /// Builds a `VarInt` from a `u32`, which always fits.
    pub const fn from_u32(v: u32) -> Self {
        VarInt(v as u64)
    }

    /// Builds a `VarInt`, failing if `v` is 2^62 or more.
    pub const fn from_u64(v: u64) -> Result<Self, VarIntBoundsExceeded> {
        if v <= Self::MAX.0 {
            Ok(VarInt(v))
        } else {
            Err(VarIntBoundsExceeded(v))
        }
    }

    /// Builds a `VarInt` without checking the bound.
    ///
    /// The caller guarantees `v < 2^62`; debug builds assert it.
    pub const fn from_u64_unchecked(v: u64) -> Self {
        debug_assert!(v <= Self::MAX.0);
        VarInt(v)
    }

    /// The value.
    pub const fn into_inner(self) -> u64 {
        self.0
    }

    /// Bytes this value takes on the wire (1, 2, 4 or 8).
    pub const fn size(self) -> usize {
        varint_len(self.0)
    }

    /// Decodes one varint from the front of `buf`.
    #[inline]
    pub fn decode<B: Buf>(buf: &mut B) -> Result<Self, UnexpectedEnd> {
        get_varint(buf).map(VarInt)
    }

    /// Encodes this varint in its shortest form.
    #[inline]
    pub fn encode<B: BufMut>(self, buf: &mut B) {
        put_varint(buf, self.0)
    }
}

impl fmt::Debug for VarInt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl fmt::Display for VarInt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl From<u8> for VarInt {
    fn from(v: u8) -> Self {
        VarInt(v.into())
    }
}
impl From<u16> for VarInt {
    fn from(v: u16) -> Self {
        VarInt(v.into())
    }
}
impl From<u32> for VarInt {
    fn from(v: u32) -> Self {
        VarInt(v.into())
    }
}
impl TryFrom<u64> for VarInt {
    type Error = VarIntBoundsExceeded;
    fn try_from(v: u64) -> Result<Self, Self::Error> {
        Self::from_u64(v)
    }
}
impl TryFrom<usize> for VarInt {
    type Error = VarIntBoundsExceeded;
    fn try_from(v: usize) -> Result<Self, Self::Error> {
        Self::from_u64(v as u64)
    }
}
impl From<VarInt> for u64 {
    fn from(v: VarInt) -> u64 {
        v.0
    }
}

/// Bytes the shortest varint encoding of `v` takes. Values above 2^62 - 1 report 8; callers
/// that accept arbitrary `u64`s must check the bound with [`VarInt::from_u64`] first.
#[inline]
pub const fn varint_len(v: u64) -> usize {
    if v < 1 << 6 {
        1
    } else if v < 1 << 14 {
        2
    } else if v < 1 << 30 {
        4
    } else {
        8
    }
}

/// Reads one varint (RFC 9000 §16). The two high bits of the first byte give the length.
/// Non-minimal encodings are accepted, as §16 requires of receivers (senders may pad).
#[inline]
pub fn get_varint<B: Buf>(buf: &mut B) -> Result<u64, UnexpectedEnd> {
    let first = *buf.chunk().first().ok_or(UnexpectedEnd)?;
    let len = 1usize << (first >> 6);
    if buf.remaining() < len {
        return Err(UnexpectedEnd);
    }
    Ok(match len {
        1 => u64::from(buf.get_u8()),
        2 => u64::from(buf.get_u16() & 0x3fff),
        4 => u64::from(buf.get_u32() & 0x3fff_ffff),
        _ => buf.get_u64() & 0x3fff_ffff_ffff_ffff,
    })
}

/// Writes `v` as a varint in its shortest form. `v` must be below 2^62; debug builds assert it
/// and release builds truncate to the low 62 bits, which never happens for a [`VarInt`].
#[inline]
pub fn put_varint<B: BufMut>(buf: &mut B, v: u64) {
    debug_assert!(v <= VarInt::MAX.0, "varint out of range: {v}");
    if v < 1 << 6 {
        buf.put_u8(v as u8);
    } else if v < 1 << 14 {
        buf.put_u16(0x4000 | v as u16);
    } else if v < 1 << 30 {
        buf.put_u32(0x8000_0000 | v as u32);
    } else {
        buf.put_u64(0xc000_0000_0000_0000 | (v & VarInt::MAX.0));
    }
}

/// Panic-free reads from peer input.
pub trait BufExt: Buf {
    /// Reads a varint.
    fn get_var(&mut self) -> Result<u64, UnexpectedEnd>;
    /// Reads one byte.
    fn try_u8(&mut self) -> Result<u8, UnexpectedEnd>;
    /// Reads a big-endian `u16`.
    fn try_u16(&mut self) -> Result<u16, UnexpectedEnd>;
    /// Reads a big-endian `u32`.
    fn try_u32(&mut self) -> Result<u32, UnexpectedEnd>;
    /// Copies exactly `out.len()` bytes.
    fn try_copy(&mut self, out: &mut [u8]) -> Result<(), UnexpectedEnd>;
}

impl<T: Buf> BufExt for T {
    #[inline]
    fn get_var(&mut self) -> Result<u64, UnexpectedEnd> {
        get_varint(self)
    }
    #[inline]
    fn try_u8(&mut self) -> Result<u8, UnexpectedEnd> {
        if self.remaining() < 1 {
            return Err(UnexpectedEnd);
        }
        Ok(self.get_u8())
    }
    #[inline]
    fn try_u16(&mut self) -> Result<u16, UnexpectedEnd> {
        if self.remaining() < 2 {
            return Err(UnexpectedEnd);
        }
        Ok(self.get_u16())
    }
    #[inline]
    fn try_u32(&mut self) -> Result<u32, UnexpectedEnd> {
        if self.remaining() < 4 {
            return Err(UnexpectedEnd);
        }
        Ok(self.get_u32())
    }
    #[inline]
    fn try_copy(&mut self, out: &mut [u8]) -> Result<(), UnexpectedEnd> {
        if self.remaining() < out.len() {
            return Err(UnexpectedEnd);
        }
        self.copy_to_slice(out);
        Ok(())
    }
}

/// Takes `len` bytes off the front of `buf` without copying (a reference-counted slice).
#[inline]
pub fn take_bytes(buf: &mut Bytes, len: u64) -> Result<Bytes, UnexpectedEnd> {
    if len > buf.len() as u64 {
        return Err(UnexpectedEnd);
    }
    Ok(buf.split_to(len as usize))
}

/// Takes a varint length followed by that many bytes, without copying.
#[inline]
pub fn take_len_prefixed(buf: &mut Bytes) -> Result<Bytes, UnexpectedEnd> {
    let len = get_varint(buf)?;
    take_bytes(buf, len)
}

/// Writes via `BufMut` the varint ops.
pub trait BufMutExt: BufMut {
    /// Writes a varint (must be below 2^62).
    fn put_var(&mut self, v: u64);
}

impl<T: BufMut> BufMutExt for T {
    #[inline]
    fn put_var(&mut self, v: u64) {
        put_varint(self, v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    // RFC 9000 Appendix A.1 examples.
    #[test]
    fn rfc9000_appendix_a1_examples() {
        let cases: &[(&str, u64)] = &[
            ("c2197c5eff14e88c", 151_288_809_941_952_652),
            ("9d7f3e7d", 494_878_333),
            ("7bbd", 15_293),
            ("25", 37),
            ("4025", 37), // non-minimal two-byte encoding must decode too
        ];
        for (hexstr, want) in cases {
            let bytes = hex::decode(hexstr).unwrap();
            let mut b = &bytes[..];
            assert_eq!(get_varint(&mut b).unwrap(), *want);
            assert!(b.is_empty());
        }
        let mut out = Vec::new();
        put_varint(&mut out, 151_288_809_941_952_652);
        assert_eq!(hex::encode(&out), "c2197c5eff14e88c");
    }

    #[test]
    fn bounds() {
        assert!(VarInt::from_u64(1 << 62).is_err());
        assert_eq!(VarInt::from_u64((1 << 62) - 1).unwrap(), VarInt::MAX);
        assert_eq!(VarInt::MAX.size(), 8);
        assert_eq!(varint_len(63), 1);
        assert_eq!(varint_len(64), 2);
        assert_eq!(varint_len(16383), 2);
        assert_eq!(varint_len(16384), 4);
        assert_eq!(varint_len((1 << 30) - 1), 4);
        assert_eq!(varint_len(1 << 30), 8);
    }

    #[test]
    fn truncated_input_is_an_error() {
        for bytes in [&[][..], &[0x40], &[0x80, 0, 0], &[0xc0, 0, 0, 0, 0, 0, 0]] {
            let mut b = bytes;
            assert_eq!(get_varint(&mut b), Err(UnexpectedEnd));
        }
    }

    proptest! {
        #[test]
        fn varint_round_trip(v in 0u64..=VarInt::MAX.into_inner()) {
            let mut out = Vec::new();
            put_varint(&mut out, v);
            prop_assert_eq!(out.len(), varint_len(v));
            let mut b = &out[..];
            prop_assert_eq!(get_varint(&mut b).unwrap(), v);
            prop_assert!(b.is_empty());
        }

        #[test]
        fn varint_garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..16)) {
            let mut b = &bytes[..];
            while get_varint(&mut b).is_ok() {}
        }
    }
}

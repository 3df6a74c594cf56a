//! String literals (RFC 9204 §4.1.2): an 'H' bit, an N-bit prefixed length, then the octets,
//! Huffman-coded when 'H' is set.

use crate::huffman;
use crate::prefix_int::{self, IntError};
use bytes::Bytes;

/// Why a string literal could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StrError {
    /// The input ended inside the literal.
    Incomplete,
    /// The length is beyond the caller's limit (or 62 bits), RFC 9204 §7.4.
    TooLong,
    /// Bad Huffman data (RFC 7541 §5.2).
    Huffman,
}

impl From<IntError> for StrError {
    fn from(e: IntError) -> Self {
        match e {
            IntError::Incomplete => StrError::Incomplete,
            IntError::Overflow => StrError::TooLong,
        }
    }
}

/// Append a string literal whose length has a `prefix_bits` prefix; the 'H' bit is the bit
/// just above the prefix and `flags` holds the bits above that. Huffman coding is used only
/// when it is strictly shorter.
pub fn encode(out: &mut Vec<u8>, flags: u8, prefix_bits: u8, s: &[u8]) {
    let h_bit = 1u8 << prefix_bits;
    let hlen = huffman::encoded_len(s);
    if hlen < s.len() {
        prefix_int::encode(out, flags | h_bit, prefix_bits, hlen as u64);
        huffman::encode(s, out);
    } else {
        prefix_int::encode(out, flags, prefix_bits, s.len() as u64);
        out.extend_from_slice(s);
    }
}

/// Number of bytes `encode` writes.
pub fn encoded_len(prefix_bits: u8, s: &[u8]) -> usize {
    let len = huffman::encoded_len(s).min(s.len());
    prefix_int::encoded_len(prefix_bits, len as u64) + len
}

/// Read a string literal from the start of `buf`. `max_len` bounds both the encoded and the
/// decoded length, so a peer cannot make us allocate more than that. Returns the string and
/// the bytes consumed.
pub fn decode(buf: &[u8], prefix_bits: u8, max_len: usize) -> Result<(Bytes, usize), StrError> {
    let huffman_coded = buf.first().is_some_and(|b| b & (1 << prefix_bits) != 0);
    let (len, n) = prefix_int::decode(buf, prefix_bits)?;
    if len > max_len as u64 {
        return Err(StrError::TooLong);
    }
    let len = len as usize;
    let end = n.checked_add(len).ok_or(StrError::TooLong)?;
    let raw = buf.get(n..end).ok_or(StrError::Incomplete)?;
    if huffman_coded {
        let mut out = Vec::new();
        huffman::decode(raw, &mut out).map_err(|_| StrError::Huffman)?;
        if out.len() > max_len {
            return Err(StrError::TooLong);
        }
        Ok((Bytes::from(out), end))
    } else {
        Ok((Bytes::copy_from_slice(raw), end))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_limits() {
        for s in [&b""[..], b"a", b"www.example.com", &[0u8, 255, 10, 13]] {
            let mut out = vec![];
            encode(&mut out, 0x80, 3, s);
            assert_eq!(out.len(), encoded_len(3, s));
            assert_eq!(out[0] & 0x80, 0x80);
            let (got, n) = decode(&out, 3, 100).unwrap();
            assert_eq!((&got[..], n), (s, out.len()));
            for cut in 0..out.len() {
                assert_eq!(decode(&out[..cut], 3, 100), Err(StrError::Incomplete));
            }
        }
        let mut out = vec![];
        encode(&mut out, 0, 7, b"0123456789");
        assert_eq!(decode(&out, 7, 5), Err(StrError::TooLong));
    }
}

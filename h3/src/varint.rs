//! QUIC variable-length integers (RFC 9000 §16), which carry every HTTP/3 frame type, length
//! and integer field (RFC 9114 §7.1).
//!
//! A copy of the few lines the frame layer needs, so `h3` builds without the QUIC crate.

use bytes::BufMut;

/// The largest value a varint can carry, 2^62 - 1.
pub const MAX: u64 = (1 << 62) - 1;

/// Bytes `v` takes in its shortest encoding (values above [`MAX`] are not encodable; they
/// report 8 and the encoder debug-asserts).
pub const fn len(v: u64) -> usize {
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

/// Writes `v` in its shortest encoding.
pub fn encode<B: BufMut>(v: u64, buf: &mut B) {
    debug_assert!(v <= MAX, "varint out of range");
    match len(v) {
        1 => buf.put_u8(v as u8),
        2 => buf.put_u16(0x4000 | v as u16),
        4 => buf.put_u32(0x8000_0000 | v as u32),
        _ => buf.put_u64(0xc000_0000_0000_0000 | (v & MAX)),
    }
}

/// Reads one varint from the front of `buf`: `Some((value, bytes used))`, or `None` if `buf`
/// ends first.
pub fn decode(buf: &[u8]) -> Option<(u64, usize)> {
    let first = *buf.first()?;
    let n = 1usize << (first >> 6);
    let bytes = buf.get(..n)?;
    let mut v = u64::from(first & 0x3f);
    for &b in &bytes[1..] {
        v = (v << 8) | u64::from(b);
    }
    Some((v, n))
}

/// Bytes of the varint starting with `first` (1, 2, 4 or 8).
pub const fn len_from_first_byte(first: u8) -> usize {
    1 << (first >> 6)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc9000_examples() {
        // RFC 9000 §A.1 sample encodings.
        for (bytes, value) in [
            (
                &[0xc2, 0x19, 0x7c, 0x5e, 0xff, 0x14, 0xe8, 0x8c][..],
                151_288_809_941_952_652,
            ),
            (&[0x9d, 0x7f, 0x3e, 0x7d][..], 494_878_333),
            (&[0x7b, 0xbd][..], 15_293),
            (&[0x25][..], 37),
        ] {
            assert_eq!(decode(bytes), Some((value, bytes.len())));
            let mut out = Vec::new();
            encode(value, &mut out);
            assert_eq!(out, bytes);
            assert_eq!(len(value), bytes.len());
        }
        assert_eq!(decode(&[0x40, 0x25]), Some((37, 2)));
        assert_eq!(decode(&[0x80, 0x00]), None);
        assert_eq!(decode(&[]), None);
    }
}

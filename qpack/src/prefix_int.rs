//! Prefixed integers (RFC 9204 §4.1.1, defined in RFC 7541 §5.1).

/// Why an integer could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntError {
    /// The input ended inside the integer; more bytes may complete it.
    Incomplete,
    /// The value does not fit in 62 bits (RFC 9204 §4.1.1 requires 62; we allow no more, so
    /// memory and arithmetic stay bounded, RFC 9204 §7.4).
    Overflow,
}

/// Largest value we decode: RFC 9204 §4.1.1 only requires 62-bit integers.
pub const MAX_INT: u64 = (1 << 62) - 1;

/// Append `value` with an N-bit prefix; `flags` holds the bits above the prefix in the
/// first byte (they must not overlap the prefix).
pub fn encode(out: &mut Vec<u8>, flags: u8, prefix_bits: u8, value: u64) {
    debug_assert!((1..=8).contains(&prefix_bits));
    let max_prefix: u64 = (1u64 << prefix_bits) - 1;
    if value < max_prefix {
        out.push(flags | value as u8);
        return;
    }
    out.push(flags | max_prefix as u8);
    let mut rest = value - max_prefix;
    while rest >= 128 {
        out.push((rest as u8 & 0x7f) | 0x80);
        rest >>= 7;
    }
    out.push(rest as u8);
}

/// Number of bytes `encode` writes.
pub fn encoded_len(prefix_bits: u8, value: u64) -> usize {
    let max_prefix: u64 = (1u64 << prefix_bits) - 1;
    if value < max_prefix {
        return 1;
    }
    let mut rest = value - max_prefix;
    let mut n = 2;
    while rest >= 128 {
        rest >>= 7;
        n += 1;
    }
    n
}

/// Read an integer with an N-bit prefix from the start of `buf` (the bits above the prefix
/// in the first byte are ignored). Returns the value and the bytes consumed.
pub fn decode(buf: &[u8], prefix_bits: u8) -> Result<(u64, usize), IntError> {
    debug_assert!((1..=8).contains(&prefix_bits));
    let first = *buf.first().ok_or(IntError::Incomplete)?;
    let max_prefix: u64 = (1u64 << prefix_bits) - 1;
    let mut value = u64::from(first) & max_prefix;
    if value < max_prefix {
        return Ok((value, 1));
    }
    let mut shift = 0u32;
    for (i, &b) in buf[1..].iter().enumerate() {
        // 62 bits need at most 9 continuation bytes; refuse longer encodings (even ones with
        // zero padding) so a peer cannot make us loop over megabytes of 0x80.
        if shift > 56 {
            return Err(IntError::Overflow);
        }
        value = value
            .checked_add(u64::from(b & 0x7f) << shift)
            .filter(|v| *v <= MAX_INT)
            .ok_or(IntError::Overflow)?;
        if b & 0x80 == 0 {
            return Ok((value, i + 2));
        }
        shift += 7;
    }
    Err(IntError::Incomplete)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7541_examples() {
        // RFC 7541 C.1.1-C.1.3.
        let mut out = Vec::new();
        encode(&mut out, 0, 5, 10);
        assert_eq!(out, [0x0a]);
        out.clear();
        encode(&mut out, 0, 5, 1337);
        assert_eq!(out, [0x1f, 0x9a, 0x0a]);
        assert_eq!(decode(&out, 5), Ok((1337, 3)));
        out.clear();
        encode(&mut out, 0, 8, 42);
        assert_eq!(out, [42]);
    }

    #[test]
    fn limits() {
        assert_eq!(decode(&[0x1f, 0x9a], 5), Err(IntError::Incomplete));
        assert_eq!(decode(&[], 5), Err(IntError::Incomplete));
        let mut big = vec![0xff];
        big.extend([0xff; 9]);
        big.push(0x7f);
        assert_eq!(decode(&big, 8), Err(IntError::Overflow));
        let mut out = Vec::new();
        encode(&mut out, 0, 3, MAX_INT);
        assert_eq!(decode(&out, 3), Ok((MAX_INT, out.len())));
        assert_eq!(encoded_len(3, MAX_INT), out.len());
    }
}

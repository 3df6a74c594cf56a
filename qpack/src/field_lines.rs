//! Encoded field sections (RFC 9204 §4.5): the prefix and the five field line
//! representations, parsed from and written to complete header blocks.

use crate::prefix_int::{self, IntError};
use crate::string::{self, StrError};
use bytes::Bytes;

/// One field line representation as it appears on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldLine {
    /// §4.5.2 Indexed Field Line: `1 T` + 6-bit index (static, or relative to Base).
    Indexed {
        /// 'T' bit.
        is_static: bool,
        /// Static or relative index.
        index: u64,
    },
    /// §4.5.3 Indexed Field Line with Post-Base Index: `0001` + 4-bit index.
    IndexedPostBase(u64),
    /// §4.5.4 Literal Field Line with Name Reference: `01 N T` + 4-bit index, value.
    LiteralNameRef {
        /// 'N' bit: never index.
        never_index: bool,
        /// 'T' bit.
        is_static: bool,
        /// Static or relative index.
        index: u64,
        /// The value.
        value: Bytes,
    },
    /// §4.5.5 Literal Field Line with Post-Base Name Reference: `0000 N` + 3-bit index, value.
    LiteralPostBaseNameRef {
        /// 'N' bit.
        never_index: bool,
        /// Post-base index.
        index: u64,
        /// The value.
        value: Bytes,
    },
    /// §4.5.6 Literal Field Line with Literal Name: `001 N H` + 3-bit name length, name, value.
    Literal {
        /// 'N' bit.
        never_index: bool,
        /// The name.
        name: Bytes,
        /// The value.
        value: Bytes,
    },
}

/// Why a field line or prefix could not be parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineError {
    /// The block ended inside a representation.
    Truncated,
    /// An integer or string beyond the limit.
    TooLong,
    /// Bad Huffman data.
    Huffman,
}

impl From<IntError> for LineError {
    fn from(e: IntError) -> Self {
        match e {
            IntError::Incomplete => LineError::Truncated,
            IntError::Overflow => LineError::TooLong,
        }
    }
}

impl From<StrError> for LineError {
    fn from(e: StrError) -> Self {
        match e {
            StrError::Incomplete => LineError::Truncated,
            StrError::TooLong => LineError::TooLong,
            StrError::Huffman => LineError::Huffman,
        }
    }
}

/// Parse the field section prefix (§4.5.1): returns (Encoded Required Insert Count,
/// sign bit, Delta Base, bytes consumed).
pub fn parse_prefix(buf: &[u8]) -> Result<(u64, bool, u64, usize), LineError> {
    let (ric, n) = prefix_int::decode(buf, 8)?;
    let sign = buf.get(n).ok_or(LineError::Truncated)? & 0x80 != 0;
    let (delta, m) = prefix_int::decode(&buf[n..], 7)?;
    Ok((ric, sign, delta, n + m))
}

/// Write the field section prefix (§4.5.1).
pub fn write_prefix(out: &mut Vec<u8>, encoded_ric: u64, sign: bool, delta_base: u64) {
    prefix_int::encode(out, 0, 8, encoded_ric);
    prefix_int::encode(out, if sign { 0x80 } else { 0 }, 7, delta_base);
}

impl FieldLine {
    /// Parse one representation from the start of `buf`; `max_str` bounds each string.
    pub fn parse(buf: &[u8], max_str: usize) -> Result<(Self, usize), LineError> {
        let first = *buf.first().ok_or(LineError::Truncated)?;
        if first & 0x80 != 0 {
            let (index, n) = prefix_int::decode(buf, 6)?;
            Ok((
                FieldLine::Indexed {
                    is_static: first & 0x40 != 0,
                    index,
                },
                n,
            ))
        } else if first & 0x40 != 0 {
            let (index, n) = prefix_int::decode(buf, 4)?;
            let (value, m) = string::decode(&buf[n..], 7, max_str)?;
            let never_index = first & 0x20 != 0;
            let is_static = first & 0x10 != 0;
            Ok((
                FieldLine::LiteralNameRef {
                    never_index,
                    is_static,
                    index,
                    value,
                },
                n + m,
            ))
        } else if first & 0x20 != 0 {
            let (name, n) = string::decode(buf, 3, max_str)?;
            let (value, m) = string::decode(&buf[n..], 7, max_str)?;
            Ok((
                FieldLine::Literal {
                    never_index: first & 0x10 != 0,
                    name,
                    value,
                },
                n + m,
            ))
        } else if first & 0x10 != 0 {
            let (index, n) = prefix_int::decode(buf, 4)?;
            Ok((FieldLine::IndexedPostBase(index), n))
        } else {
            let (index, n) = prefix_int::decode(buf, 3)?;
            let (value, m) = string::decode(&buf[n..], 7, max_str)?;
            let never_index = first & 0x08 != 0;
            Ok((
                FieldLine::LiteralPostBaseNameRef {
                    never_index,
                    index,
                    value,
                },
                n + m,
            ))
        }
    }
}

/// Writers that take borrowed strings, so the encoder needs no intermediate `FieldLine`.
pub mod write {
    use super::*;

    /// §4.5.2.
    pub fn indexed(out: &mut Vec<u8>, is_static: bool, index: u64) {
        prefix_int::encode(out, if is_static { 0xc0 } else { 0x80 }, 6, index);
    }

    /// §4.5.3.
    pub fn indexed_post_base(out: &mut Vec<u8>, index: u64) {
        prefix_int::encode(out, 0x10, 4, index);
    }

    /// §4.5.4.
    pub fn literal_name_ref(
        out: &mut Vec<u8>,
        never: bool,
        is_static: bool,
        index: u64,
        value: &[u8],
    ) {
        let flags = 0x40 | if never { 0x20 } else { 0 } | if is_static { 0x10 } else { 0 };
        prefix_int::encode(out, flags, 4, index);
        string::encode(out, 0, 7, value);
    }

    /// §4.5.5.
    pub fn literal_post_base_name_ref(out: &mut Vec<u8>, never: bool, index: u64, value: &[u8]) {
        prefix_int::encode(out, if never { 0x08 } else { 0 }, 3, index);
        string::encode(out, 0, 7, value);
    }

    /// §4.5.6.
    pub fn literal(out: &mut Vec<u8>, never: bool, name: &[u8], value: &[u8]) {
        string::encode(out, 0x20 | if never { 0x10 } else { 0 }, 3, name);
        string::encode(out, 0, 7, value);
    }
}

impl FieldLine {
    /// Append the wire form.
    pub fn write(&self, out: &mut Vec<u8>) {
        match self {
            FieldLine::Indexed { is_static, index } => write::indexed(out, *is_static, *index),
            FieldLine::IndexedPostBase(i) => write::indexed_post_base(out, *i),
            FieldLine::LiteralNameRef {
                never_index,
                is_static,
                index,
                value,
            } => write::literal_name_ref(out, *never_index, *is_static, *index, value),
            FieldLine::LiteralPostBaseNameRef {
                never_index,
                index,
                value,
            } => write::literal_post_base_name_ref(out, *never_index, *index, value),
            FieldLine::Literal {
                never_index,
                name,
                value,
            } => write::literal(out, *never_index, name, value),
        }
    }
}

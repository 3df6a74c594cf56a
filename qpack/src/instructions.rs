//! Encoder-stream (RFC 9204 §4.3) and decoder-stream (RFC 9204 §4.4) instructions: parsing
//! from possibly incomplete input, and writing.
//!
//! Parsers return `Ok(None)` when the input ends inside an instruction, so a stream reader can
//! keep the tail and retry when more bytes arrive.

use crate::prefix_int::{self, IntError};
use crate::string::{self, StrError};
use bytes::Bytes;

/// An instruction on the encoder stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EncoderInstruction {
    /// §4.3.1 Set Dynamic Table Capacity: `001` + 5-bit capacity.
    SetCapacity(u64),
    /// §4.3.2 Insert with Name Reference: `1 T` + 6-bit index, then the value.
    InsertWithNameRef {
        /// 'T' bit: the name is in the static table (else relative dynamic index).
        is_static: bool,
        /// Static index or relative index (§3.2.5).
        index: u64,
        /// The value.
        value: Bytes,
    },
    /// §4.3.3 Insert with Literal Name: `01 H` + 5-bit name length, name, value.
    InsertWithLiteralName {
        /// The name.
        name: Bytes,
        /// The value.
        value: Bytes,
    },
    /// §4.3.4 Duplicate: `000` + 5-bit relative index.
    Duplicate(u64),
}

/// Why an instruction could not be parsed (besides being incomplete).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParseError {
    /// An integer beyond 62 bits or a string beyond the limit.
    TooLong,
    /// Bad Huffman data.
    Huffman,
    /// A static index past the end of the static table (detected before the value arrives).
    BadStaticIndex,
}

fn int(buf: &[u8], prefix: u8) -> Result<Option<(u64, usize)>, ParseError> {
    match prefix_int::decode(buf, prefix) {
        Ok(v) => Ok(Some(v)),
        Err(IntError::Incomplete) => Ok(None),
        Err(IntError::Overflow) => Err(ParseError::TooLong),
    }
}

fn str_at(buf: &[u8], prefix: u8, max: usize) -> Result<Option<(Bytes, usize)>, ParseError> {
    match string::decode(buf, prefix, max) {
        Ok(v) => Ok(Some(v)),
        Err(StrError::Incomplete) => Ok(None),
        Err(StrError::TooLong) => Err(ParseError::TooLong),
        Err(StrError::Huffman) => Err(ParseError::Huffman),
    }
}

impl EncoderInstruction {
    /// Parse one instruction from the start of `buf`. `max_str` bounds each string literal
    /// (a decoder passes its maximum table capacity: no longer string can ever fit an entry).
    pub fn parse(buf: &[u8], max_str: usize) -> Result<Option<(Self, usize)>, ParseError> {
        let Some(&first) = buf.first() else {
            return Ok(None);
        };
        if first & 0x80 != 0 {
            let Some((index, n)) = int(buf, 6)? else {
                return Ok(None);
            };
            let is_static = first & 0x40 != 0;
            // Fail now rather than wait for a value that may never come (qifs err12).
            if is_static && crate::static_table::get(index).is_none() {
                return Err(ParseError::BadStaticIndex);
            }
            let Some((value, m)) = str_at(&buf[n..], 7, max_str)? else {
                return Ok(None);
            };
            Ok(Some((
                EncoderInstruction::InsertWithNameRef {
                    is_static,
                    index,
                    value,
                },
                n + m,
            )))
        } else if first & 0x40 != 0 {
            let Some((name, n)) = str_at(buf, 5, max_str)? else {
                return Ok(None);
            };
            let Some((value, m)) = str_at(&buf[n..], 7, max_str)? else {
                return Ok(None);
            };
            Ok(Some((
                EncoderInstruction::InsertWithLiteralName { name, value },
                n + m,
            )))
        } else if first & 0x20 != 0 {
            Ok(int(buf, 5)?.map(|(c, n)| (EncoderInstruction::SetCapacity(c), n)))
        } else {
            Ok(int(buf, 5)?.map(|(i, n)| (EncoderInstruction::Duplicate(i), n)))
        }
    }

    /// Append the wire form.
    pub fn write(&self, out: &mut Vec<u8>) {
        match self {
            EncoderInstruction::SetCapacity(c) => prefix_int::encode(out, 0x20, 5, *c),
            EncoderInstruction::InsertWithNameRef {
                is_static,
                index,
                value,
            } => {
                prefix_int::encode(out, if *is_static { 0xc0 } else { 0x80 }, 6, *index);
                string::encode(out, 0, 7, value);
            }
            EncoderInstruction::InsertWithLiteralName { name, value } => {
                string::encode(out, 0x40, 5, name);
                string::encode(out, 0, 7, value);
            }
            EncoderInstruction::Duplicate(i) => prefix_int::encode(out, 0, 5, *i),
        }
    }
}

/// An instruction on the decoder stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecoderInstruction {
    /// §4.4.1 Section Acknowledgment: `1` + 7-bit stream ID.
    SectionAck(u64),
    /// §4.4.2 Stream Cancellation: `01` + 6-bit stream ID.
    StreamCancel(u64),
    /// §4.4.3 Insert Count Increment: `00` + 6-bit increment.
    InsertCountIncrement(u64),
}

impl DecoderInstruction {
    /// Parse one instruction from the start of `buf`.
    pub fn parse(buf: &[u8]) -> Result<Option<(Self, usize)>, ParseError> {
        let Some(&first) = buf.first() else {
            return Ok(None);
        };
        Ok(if first & 0x80 != 0 {
            int(buf, 7)?.map(|(v, n)| (DecoderInstruction::SectionAck(v), n))
        } else if first & 0x40 != 0 {
            int(buf, 6)?.map(|(v, n)| (DecoderInstruction::StreamCancel(v), n))
        } else {
            int(buf, 6)?.map(|(v, n)| (DecoderInstruction::InsertCountIncrement(v), n))
        })
    }

    /// Append the wire form.
    pub fn write(&self, out: &mut Vec<u8>) {
        match *self {
            DecoderInstruction::SectionAck(id) => prefix_int::encode(out, 0x80, 7, id),
            DecoderInstruction::StreamCancel(id) => prefix_int::encode(out, 0x40, 6, id),
            DecoderInstruction::InsertCountIncrement(n) => prefix_int::encode(out, 0, 6, n),
        }
    }
}

/// Bytes of a stream that arrive in arbitrary pieces: keeps the unparsed tail of an
/// instruction split across calls.
#[derive(Debug, Default)]
pub(crate) struct StreamBuffer {
    pending: Vec<u8>,
}

impl StreamBuffer {
    /// Run `parse_one` over the pending tail plus `input` until it needs more bytes; whatever
    /// is left over is kept for the next call. `parse_one` returns the bytes consumed or
    /// `Ok(None)` when the instruction is incomplete.
    pub(crate) fn feed<E>(
        &mut self,
        input: &[u8],
        mut parse_one: impl FnMut(&[u8]) -> Result<Option<usize>, E>,
    ) -> Result<(), E> {
        // Common case: nothing pending, parse straight from the input and copy only the tail.
        let owned;
        let data: &[u8] = if self.pending.is_empty() {
            input
        } else {
            self.pending.extend_from_slice(input);
            owned = std::mem::take(&mut self.pending);
            &owned
        };
        let mut pos = 0;
        while pos < data.len() {
            match parse_one(&data[pos..])? {
                Some(n) => pos += n,
                None => break,
            }
        }
        self.pending = data[pos..].to_vec();
        Ok(())
    }

    /// Bytes held back because they do not yet form a whole instruction.
    pub(crate) fn pending_len(&self) -> usize {
        self.pending.len()
    }
}

//! The QPACK decoder (RFC 9204 §2.2): dynamic table fed by the peer's encoder stream,
//! field section decoding with blocking, and decoder-stream output.

use crate::error::QpackError;
use crate::field::HeaderField;
use crate::field_lines::{parse_prefix, FieldLine, LineError};
use crate::instructions::{DecoderInstruction, EncoderInstruction, ParseError, StreamBuffer};
use crate::static_table;
use crate::table::{DynamicTable, Entry};
use bytes::Bytes;

/// Decoder limits, mirroring what this endpoint advertises in SETTINGS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecoderConfig {
    /// SETTINGS_QPACK_MAX_TABLE_CAPACITY (RFC 9204 §5).
    pub max_table_capacity: u64,
    /// SETTINGS_QPACK_BLOCKED_STREAMS (RFC 9204 §5).
    pub max_blocked_streams: u64,
    /// Largest decoded field section accepted, in RFC 9114 §4.2.2 bytes (name + value + 32
    /// per line); SETTINGS_MAX_FIELD_SECTION_SIZE.
    pub max_field_section_size: u64,
    /// Start with the current capacity equal to `max_table_capacity` instead of 0.
    /// RFC 9204 §3.2.2 starts at 0; the offline qifs interop files assume the maximum
    /// (their encoders never send Set Dynamic Table Capacity). Only for that tooling.
    pub start_at_max_capacity: bool,
}

impl Default for DecoderConfig {
    fn default() -> Self {
        DecoderConfig {
            max_table_capacity: 4096,
            max_blocked_streams: 16,
            max_field_section_size: 64 * 1024,
            start_at_max_capacity: false,
        }
    }
}

/// Result of decoding a field section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decoded {
    /// The field lines, in order.
    Done(Vec<HeaderField>),
    /// The section needs table entries not received yet; the decoder keeps it and returns it
    /// from [`Decoder::on_encoder_stream`] once they arrive.
    Blocked,
}

/// A blocked field section that became decodable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unblocked {
    /// Stream the section belongs to.
    pub stream_id: u64,
    /// Its field lines, or `FieldSectionTooLarge` (connection errors are returned by
    /// `on_encoder_stream` itself).
    pub fields: Result<Vec<HeaderField>, QpackError>,
}

#[derive(Debug)]
struct BlockedSection {
    stream_id: u64,
    required_insert_count: u64,
    block: Vec<u8>,
}

/// The decoder side of one connection.
#[derive(Debug)]
pub struct Decoder {
    config: DecoderConfig,
    table: DynamicTable,
    encoder_stream: StreamBuffer,
    blocked: Vec<BlockedSection>,
    /// Decoder-stream bytes not yet taken (acks and cancellations; increments are added when
    /// taken).
    out: Vec<u8>,
    /// Inserts the encoder knows we have (RFC 9204 §2.1.4), as implied by what we sent.
    known_received_count: u64,
}

fn decompression(e: LineError) -> QpackError {
    QpackError::DecompressionFailed(match e {
        LineError::Truncated => "truncated field line",
        LineError::TooLong => "integer or string too long",
        LineError::Huffman => "invalid Huffman string",
    })
}

impl Decoder {
    /// A decoder with the given limits.
    pub fn new(config: DecoderConfig) -> Self {
        let mut table = DynamicTable::default();
        if config.start_at_max_capacity {
            table.set_capacity(config.max_table_capacity);
        }
        Decoder {
            config,
            table,
            encoder_stream: StreamBuffer::default(),
            blocked: Vec::new(),
            out: Vec::new(),
            known_received_count: 0,
        }
    }

    /// The limits in force.
    pub fn config(&self) -> &DecoderConfig {
        &self.config
    }

    /// Number of insertions received on the encoder stream.
    pub fn insert_count(&self) -> u64 {
        self.table.insert_count()
    }

    /// Current dynamic table capacity.
    pub fn table_capacity(&self) -> u64 {
        self.table.capacity()
    }

    /// Current dynamic table size in bytes.
    pub fn table_size(&self) -> u64 {
        self.table.size()
    }

    /// Number of streams with a blocked section.
    pub fn blocked_streams(&self) -> usize {
        let mut ids: Vec<u64> = self.blocked.iter().map(|b| b.stream_id).collect();
        ids.sort_unstable();
        ids.dedup();
        ids.len()
    }

    /// Process bytes from the peer's encoder stream; instructions may be split anywhere.
    /// Returns the sections that this unblocked, in the order they were blocked.
    pub fn on_encoder_stream(&mut self, bytes: &[u8]) -> Result<Vec<Unblocked>, QpackError> {
        let before = self.table.insert_count();
        let max_str = usize::try_from(self.config.max_table_capacity).unwrap_or(usize::MAX);
        let mut buffer = std::mem::take(&mut self.encoder_stream);
        let result = buffer.feed(bytes, |buf| {
            let parsed = EncoderInstruction::parse(buf, max_str).map_err(|e| {
                QpackError::EncoderStream(match e {
                    ParseError::TooLong => "integer or string too long",
                    ParseError::Huffman => "invalid Huffman string",
                    ParseError::BadStaticIndex => "static index out of range",
                })
            })?;
            match parsed {
                None => Ok(None),
                Some((instruction, n)) => {
                    self.apply(instruction)?;
                    Ok(Some(n))
                }
            }
        });
        self.encoder_stream = buffer;
        result?;
        if self.table.insert_count() == before || self.blocked.is_empty() {
            return Ok(Vec::new());
        }
        self.retry_blocked()
    }

    fn apply(&mut self, instruction: EncoderInstruction) -> Result<(), QpackError> {
        let entry = match instruction {
            EncoderInstruction::SetCapacity(c) => {
                // RFC 9204 §4.3.1: above the advertised maximum is an encoder stream error.
                if c > self.config.max_table_capacity {
                    return Err(QpackError::EncoderStream("capacity above the maximum"));
                }
                self.table.set_capacity(c);
                return Ok(());
            }
            EncoderInstruction::InsertWithNameRef {
                is_static: true,
                index,
                value,
            } => {
                let (name, _) = static_table::get(index)
                    .ok_or(QpackError::EncoderStream("static index out of range"))?;
                Entry {
                    name: Bytes::from_static(name),
                    value,
                }
            }
            EncoderInstruction::InsertWithNameRef {
                is_static: false,
                index,
                value,
            } => {
                // RFC 9204 §2.2.3: a reference to an evicted or missing entry on the encoder
                // stream is QPACK_ENCODER_STREAM_ERROR. Cloning the name (a refcount) keeps
                // it alive even if this insertion evicts the entry (§4.3.2 warns about that).
                let name = self.get_relative(index)?.name.clone();
                Entry { name, value }
            }
            EncoderInstruction::InsertWithLiteralName { name, value } => Entry { name, value },
            EncoderInstruction::Duplicate(index) => self.get_relative(index)?.clone(),
        };
        // RFC 9204 §3.2.2: an entry larger than the capacity is an encoder stream error.
        if !self.table.insert(entry) {
            return Err(QpackError::EncoderStream(
                "entry larger than the table capacity",
            ));
        }
        Ok(())
    }

    fn get_relative(&self, index: u64) -> Result<&Entry, QpackError> {
        self.table
            .get_relative(index)
            .ok_or(QpackError::EncoderStream("bad dynamic index"))
    }

    fn retry_blocked(&mut self) -> Result<Vec<Unblocked>, QpackError> {
        let insert_count = self.table.insert_count();
        let (ready, still): (Vec<_>, Vec<_>) = std::mem::take(&mut self.blocked)
            .into_iter()
            .partition(|b| b.required_insert_count <= insert_count);
        self.blocked = still;
        let mut done = Vec::with_capacity(ready.len());
        for b in ready {
            let fields = match self.decode_now(b.stream_id, &b.block) {
                Ok(fields) => Ok(fields),
                Err(e @ QpackError::FieldSectionTooLarge { .. }) => Err(e),
                Err(e) => return Err(e),
            };
            done.push(Unblocked {
                stream_id: b.stream_id,
                fields,
            });
        }
        Ok(done)
    }

    /// Decode one complete encoded field section received on `stream_id`.
    pub fn decode(&mut self, stream_id: u64, block: &[u8]) -> Result<Decoded, QpackError> {
        let (ric, _, _) = self.section_prefix(block)?;
        if ric > self.table.insert_count() {
            // RFC 9204 §2.1.2: more blocked streams than advertised is a connection error.
            let already = self.blocked.iter().any(|b| b.stream_id == stream_id);
            if !already && self.blocked_streams() as u64 >= self.config.max_blocked_streams {
                return Err(QpackError::DecompressionFailed("too many blocked streams"));
            }
            // Keep memory bounded: a sane encoding is never much larger than the decoded
            // size, which is itself limited.
            let limit = self.config.max_field_section_size;
            if block.len() as u64 > limit.saturating_mul(2).saturating_add(1024) {
                return Err(QpackError::FieldSectionTooLarge { limit });
            }
            self.blocked.push(BlockedSection {
                stream_id,
                required_insert_count: ric,
                block: block.to_vec(),
            });
            return Ok(Decoded::Blocked);
        }
        self.decode_now(stream_id, block).map(Decoded::Done)
    }

    /// The stream was reset or its reading abandoned: drop its blocked sections and tell the
    /// encoder (RFC 9204 §2.2.2.2; may be omitted when the table capacity is 0).
    pub fn cancel_stream(&mut self, stream_id: u64) {
        self.blocked.retain(|b| b.stream_id != stream_id);
        if self.config.max_table_capacity > 0 {
            DecoderInstruction::StreamCancel(stream_id).write(&mut self.out);
        }
    }

    /// Bytes to send on the decoder stream: Section Acknowledgments and Stream Cancellations
    /// in the order they arose, then an Insert Count Increment for inserts not yet
    /// acknowledged (RFC 9204 §2.2.2.3).
    pub fn take_decoder_stream_bytes(&mut self) -> Vec<u8> {
        let inserts = self.table.insert_count();
        if inserts > self.known_received_count {
            let increment = inserts - self.known_received_count;
            DecoderInstruction::InsertCountIncrement(increment).write(&mut self.out);
            self.known_received_count = inserts;
        }
        std::mem::take(&mut self.out)
    }

    /// Parse the prefix: (Required Insert Count, Base, prefix length).
    fn section_prefix(&self, block: &[u8]) -> Result<(u64, u64, usize), QpackError> {
        let (encoded, sign, delta, n) = parse_prefix(block).map_err(decompression)?;
        let ric = self.required_insert_count(encoded)?;
        let base = if sign {
            // RFC 9204 §4.5.1.2: a negative Base is invalid.
            if delta >= ric {
                return Err(QpackError::DecompressionFailed("negative Base"));
            }
            ric - delta - 1
        } else {
            ric.checked_add(delta)
                .ok_or(QpackError::DecompressionFailed("Base overflow"))?
        };
        Ok((ric, base, n))
    }

    /// RFC 9204 §4.5.1.1 decoding of the Encoded Required Insert Count.
    fn required_insert_count(&self, encoded: u64) -> Result<u64, QpackError> {
        const BAD: QpackError = QpackError::DecompressionFailed("bad Required Insert Count");
        if encoded == 0 {
            return Ok(0);
        }
        let max_entries = self.config.max_table_capacity / 32;
        let full_range = 2 * max_entries;
        if encoded > full_range {
            return Err(BAD);
        }
        let max_value = self.table.insert_count() + max_entries;
        let max_wrapped = max_value / full_range * full_range;
        let mut ric = max_wrapped + encoded - 1;
        if ric > max_value {
            if ric <= full_range {
                return Err(BAD);
            }
            ric -= full_range;
        }
        if ric == 0 {
            return Err(BAD);
        }
        Ok(ric)
    }

    fn decode_now(&mut self, stream_id: u64, block: &[u8]) -> Result<Vec<HeaderField>, QpackError> {
        let (ric, base, pos) = self.section_prefix(block)?;
        match self.decode_lines(ric, base, &block[pos..]) {
            Ok(fields) => {
                // RFC 9204 §4.4.1: acknowledge sections that used the dynamic table.
                if ric > 0 {
                    DecoderInstruction::SectionAck(stream_id).write(&mut self.out);
                    self.known_received_count = self.known_received_count.max(ric);
                }
                Ok(fields)
            }
            Err(e @ QpackError::FieldSectionTooLarge { .. }) => {
                // We stop reading the section, so release the encoder's references
                // (RFC 9204 §2.2.2.2).
                if ric > 0 {
                    DecoderInstruction::StreamCancel(stream_id).write(&mut self.out);
                }
                Err(e)
            }
            Err(e) => Err(e),
        }
    }

    fn decode_lines(
        &self,
        ric: u64,
        base: u64,
        mut buf: &[u8],
    ) -> Result<Vec<HeaderField>, QpackError> {
        let limit = self.config.max_field_section_size;
        let max_str = usize::try_from(limit).unwrap_or(usize::MAX);
        let mut total: u64 = 0;
        let mut fields = Vec::new();
        while !buf.is_empty() {
            let (line, n) = FieldLine::parse(buf, max_str).map_err(|e| match e {
                // A string longer than the whole section may be is a size problem, not a
                // malformed block.
                LineError::TooLong => QpackError::FieldSectionTooLarge { limit },
                e => decompression(e),
            })?;
            buf = &buf[n..];
            let field = self.resolve(line, ric, base)?;
            total += field.size();
            if total > limit {
                return Err(QpackError::FieldSectionTooLarge { limit });
            }
            fields.push(field);
        }
        Ok(fields)
    }

    /// Absolute index of a dynamic reference, checked against RFC 9204 §2.2.3.
    fn dynamic(&self, absolute: Option<u64>, ric: u64) -> Result<&Entry, QpackError> {
        const BAD: QpackError = QpackError::DecompressionFailed("invalid dynamic table reference");
        let abs = absolute.ok_or(BAD)?;
        // RFC 9204 §2.2.3: at or above the Required Insert Count, or evicted, is an error.
        if abs >= ric {
            return Err(BAD);
        }
        self.table.get(abs).ok_or(BAD)
    }

    fn resolve(&self, line: FieldLine, ric: u64, base: u64) -> Result<HeaderField, QpackError> {
        let relative = |i: u64| base.checked_sub(i)?.checked_sub(1);
        let static_entry = |i: u64| {
            static_table::get(i).ok_or(QpackError::DecompressionFailed("static index out of range"))
        };
        Ok(match line {
            FieldLine::Indexed {
                is_static: true,
                index,
            } => {
                let (n, v) = static_entry(index)?;
                HeaderField::new(Bytes::from_static(n), Bytes::from_static(v))
            }
            FieldLine::Indexed {
                is_static: false,
                index,
            } => {
                let e = self.dynamic(relative(index), ric)?;
                HeaderField::new(e.name.clone(), e.value.clone())
            }
            FieldLine::IndexedPostBase(index) => {
                let e = self.dynamic(base.checked_add(index), ric)?;
                HeaderField::new(e.name.clone(), e.value.clone())
            }
            FieldLine::LiteralNameRef {
                never_index,
                is_static,
                index,
                value,
            } => {
                let name = if is_static {
                    Bytes::from_static(static_entry(index)?.0)
                } else {
                    self.dynamic(relative(index), ric)?.name.clone()
                };
                HeaderField {
                    name,
                    value,
                    sensitive: never_index,
                }
            }
            FieldLine::LiteralPostBaseNameRef {
                never_index,
                index,
                value,
            } => {
                let name = self.dynamic(base.checked_add(index), ric)?.name.clone();
                HeaderField {
                    name,
                    value,
                    sensitive: never_index,
                }
            }
            FieldLine::Literal {
                never_index,
                name,
                value,
            } => HeaderField {
                name,
                value,
                sensitive: never_index,
            },
        })
    }

    /// Bytes of the encoder stream held back because they end mid-instruction.
    pub fn pending_encoder_stream_bytes(&self) -> usize {
        self.encoder_stream.pending_len()
    }
}

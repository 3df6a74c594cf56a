//! The QPACK encoder (RFC 9204 §2.1): owns the dynamic table, decides what to index, tracks
//! which entries each unacknowledged field section references, the Known Received Count and
//! the blocked-streams budget, and reads the peer's decoder stream.

mod encode;
mod policy;
mod table;

use crate::error::QpackError;
use crate::instructions::{DecoderInstruction, ParseError, StreamBuffer};
use bytes::Bytes;
use std::collections::{HashMap, VecDeque};
use table::EncoderTable;

/// Encoder preferences (the peer's limits come from [`Encoder::set_peer_settings`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncoderConfig {
    /// Upper bound on the dynamic table capacity we use, whatever the peer allows: the table
    /// mirrors the decoder's memory, and ours.
    pub max_table_capacity: u64,
    /// Names whose values are never indexed (RFC 9204 §7.1.3), in addition to fields marked
    /// sensitive; e.g. `authorization`, `cookie`. Compared exactly (lowercase).
    pub never_index_names: Vec<Bytes>,
    /// Fraction of the table, in 1/16ths, kept as a draining zone (RFC 9204 §2.1.1.1):
    /// entries there are duplicated rather than referenced.
    pub draining_sixteenths: u64,
}

impl Default for EncoderConfig {
    fn default() -> Self {
        EncoderConfig {
            max_table_capacity: 16 * 1024,
            never_index_names: Vec::new(),
            draining_sixteenths: 3,
        }
    }
}

impl EncoderConfig {
    /// Also never index `authorization`, `proxy-authorization` and `cookie` values.
    pub fn with_sensitive_defaults(mut self) -> Self {
        for n in ["authorization", "proxy-authorization", "cookie"] {
            self.never_index_names
                .push(Bytes::from_static(n.as_bytes()));
        }
        self
    }
}

/// One field section with a non-zero Required Insert Count, until acknowledged.
#[derive(Debug)]
struct Outstanding {
    required_insert_count: u64,
    /// Absolute indices referenced (with repeats), released on acknowledgment.
    refs: Vec<u64>,
}

/// The encoder side of one connection.
#[derive(Debug)]
pub struct Encoder {
    config: EncoderConfig,
    /// SETTINGS_QPACK_MAX_TABLE_CAPACITY from the peer (sets MaxEntries, RFC 9204 §4.5.1.1).
    peer_max_capacity: u64,
    /// SETTINGS_QPACK_BLOCKED_STREAMS from the peer.
    max_blocked_streams: u64,
    table: EncoderTable,
    /// Capacity to announce with Set Dynamic Table Capacity before the next instruction.
    pending_capacity: Option<u64>,
    known_received_count: u64,
    outstanding: HashMap<u64, VecDeque<Outstanding>>,
    decoder_stream: StreamBuffer,
    history: policy::History,
    /// Whether the decoder has ever acknowledged anything: until then, inserting entries
    /// that this section cannot reference may never pay off.
    acks_seen: bool,
    /// One speculative insert allowed before any acknowledgment, so a decoder that only
    /// acknowledges what it sees can start the exchange.
    probe_used: bool,
}

impl Encoder {
    /// An encoder that uses no dynamic table until the peer's settings arrive.
    pub fn new(config: EncoderConfig) -> Self {
        Encoder {
            config,
            peer_max_capacity: 0,
            max_blocked_streams: 0,
            table: EncoderTable::default(),
            pending_capacity: None,
            known_received_count: 0,
            outstanding: HashMap::new(),
            decoder_stream: StreamBuffer::default(),
            history: policy::History::new(256),
            acks_seen: false,
            probe_used: false,
        }
    }

    /// Apply the peer's SETTINGS_QPACK_MAX_TABLE_CAPACITY and SETTINGS_QPACK_BLOCKED_STREAMS.
    /// Call once, before encoding (RFC 9204 §3.2.3: the encoder MUST NOT exceed the peer's
    /// maximum; the capacity we pick is sent with the next encoder instructions).
    pub fn set_peer_settings(&mut self, max_table_capacity: u64, max_blocked_streams: u64) {
        self.peer_max_capacity = max_table_capacity;
        self.max_blocked_streams = max_blocked_streams;
        let capacity = max_table_capacity.min(self.config.max_table_capacity);
        if capacity != self.table.capacity() && self.table.is_empty() {
            self.table.set_capacity(capacity);
            self.pending_capacity = Some(capacity);
        }
    }

    /// Dynamic table capacity in use.
    pub fn table_capacity(&self) -> u64 {
        self.table.capacity()
    }

    /// Known Received Count (RFC 9204 §2.1.4).
    pub fn known_received_count(&self) -> u64 {
        self.known_received_count
    }

    /// Number of insertions so far.
    pub fn insert_count(&self) -> u64 {
        self.table.insert_count()
    }

    /// Streams that could currently be blocked at the decoder: those with an
    /// unacknowledged section needing entries the decoder may not have (RFC 9204 §2.1.2).
    pub fn blocked_streams(&self) -> usize {
        self.outstanding
            .values()
            .filter(|s| self.sections_block(s))
            .count()
    }

    fn sections_block(&self, sections: &VecDeque<Outstanding>) -> bool {
        sections
            .iter()
            .any(|s| s.required_insert_count > self.known_received_count)
    }

    /// Process bytes from the peer's decoder stream; instructions may be split anywhere.
    pub fn on_decoder_stream(&mut self, bytes: &[u8]) -> Result<(), QpackError> {
        let mut buffer = std::mem::take(&mut self.decoder_stream);
        let result = buffer.feed(bytes, |buf| {
            let parsed = DecoderInstruction::parse(buf).map_err(|e| {
                QpackError::DecoderStream(match e {
                    ParseError::Huffman | ParseError::BadStaticIndex => "malformed instruction",
                    ParseError::TooLong => "integer too long",
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
        self.decoder_stream = buffer;
        result
    }

    fn apply(&mut self, instruction: DecoderInstruction) -> Result<(), QpackError> {
        self.acks_seen = true;
        match instruction {
            DecoderInstruction::SectionAck(stream_id) => {
                // RFC 9204 §4.4.1: acknowledging a stream with nothing outstanding is a
                // decoder stream error. Sections on a stream are acknowledged in order.
                let queue =
                    self.outstanding
                        .get_mut(&stream_id)
                        .ok_or(QpackError::DecoderStream(
                            "acknowledgment of an unknown section",
                        ))?;
                let section = queue.pop_front().expect("queues are removed when empty");
                if queue.is_empty() {
                    self.outstanding.remove(&stream_id);
                }
                self.release(&section);
                // RFC 9204 §2.1.4: an acknowledged section implies its inserts arrived.
                self.known_received_count =
                    self.known_received_count.max(section.required_insert_count);
            }
            DecoderInstruction::StreamCancel(stream_id) => {
                for section in self.outstanding.remove(&stream_id).unwrap_or_default() {
                    self.release(&section);
                }
            }
            DecoderInstruction::InsertCountIncrement(increment) => {
                // RFC 9204 §4.4.3: zero, or beyond what we sent, is a decoder stream error.
                let new = self.known_received_count.checked_add(increment);
                match new {
                    Some(n) if increment > 0 && n <= self.table.insert_count() => {
                        self.known_received_count = n;
                    }
                    _ => return Err(QpackError::DecoderStream("bad Insert Count Increment")),
                }
            }
        }
        Ok(())
    }

    fn release(&mut self, section: &Outstanding) {
        for &abs in &section.refs {
            self.table.release(abs);
        }
    }
}

//! Encoding one field section: choosing a representation per field line (RFC 9204 §4.5),
//! inserting and duplicating entries on the encoder stream (§4.3), and writing the block with
//! Base = Required Insert Count so every dynamic reference is a small relative index.

use super::policy;
use super::{Encoder, Outstanding};
use crate::field::{entry_size, HeaderField};
use crate::field_lines::{write, write_prefix};
use crate::instructions::EncoderInstruction;
use crate::static_table::{self, StaticMatch};

/// How one field line is written; dynamic entries are absolute indices.
enum Rep {
    Static(u64),
    Dynamic(u64),
    StaticName(u64),
    DynamicName(u64),
    Literal,
}

/// Per-section state while choosing representations.
struct Section {
    /// May this section reference entries the decoder has not acknowledged?
    can_block: bool,
    /// Could a later section still spend a blocked-stream slot?
    slots_left: bool,
    refs: Vec<u64>,
    max_ref: Option<u64>,
}

impl Encoder {
    /// Encode `fields` for `stream_id`. Encoder-stream instructions the block depends on are
    /// appended to `encoder_stream` (send them before, or with, the block); returns the
    /// encoded field section.
    pub fn encode(
        &mut self,
        stream_id: u64,
        fields: &[HeaderField],
        encoder_stream: &mut Vec<u8>,
    ) -> Vec<u8> {
        let already_blocking = self
            .outstanding
            .get(&stream_id)
            .is_some_and(|s| self.sections_block(s));
        // RFC 9204 §2.1.2: never let more streams risk blocking than the peer allows.
        let can_block = self.peer_max_capacity > 0
            && (already_blocking || (self.blocked_streams() as u64) < self.max_blocked_streams);
        // Entries inserted now can serve later sections while blocked-stream slots remain.
        let slots_left = (self.blocked_streams() as u64) < self.max_blocked_streams;
        let mut section = Section {
            can_block,
            slots_left,
            refs: Vec::new(),
            max_ref: None,
        };
        let reps: Vec<(Rep, bool)> = fields
            .iter()
            .map(|f| self.choose(f, &mut section, encoder_stream))
            .collect();

        let ric = section.max_ref.map_or(0, |m| m + 1);
        let mut out = Vec::with_capacity(fields.len() * 4 + 2);
        // RFC 9204 §4.5.1.1: Required Insert Count is sent modulo 2 * MaxEntries.
        let encoded_ric = if ric == 0 {
            0
        } else {
            ric % (2 * (self.peer_max_capacity / 32)) + 1
        };
        // Base = Required Insert Count: Delta Base 0, and no post-base indices needed.
        write_prefix(&mut out, encoded_ric, false, 0);
        let relative = |abs: u64| ric - 1 - abs;
        for (f, (rep, never)) in fields.iter().zip(&reps) {
            match *rep {
                Rep::Static(i) => write::indexed(&mut out, true, i),
                Rep::Dynamic(abs) => write::indexed(&mut out, false, relative(abs)),
                Rep::StaticName(i) => write::literal_name_ref(&mut out, *never, true, i, &f.value),
                Rep::DynamicName(abs) => {
                    write::literal_name_ref(&mut out, *never, false, relative(abs), &f.value)
                }
                Rep::Literal => write::literal(&mut out, *never, &f.name, &f.value),
            }
        }
        if ric > 0 {
            let entry = Outstanding {
                required_insert_count: ric,
                refs: section.refs,
            };
            self.outstanding
                .entry(stream_id)
                .or_default()
                .push_back(entry);
        }
        out
    }

    fn referenceable(&self, abs: u64, section: &Section) -> bool {
        self.table.get(abs).is_some() && (abs < self.known_received_count || section.can_block)
    }

    fn reference(&mut self, abs: u64, section: &mut Section) {
        self.table.add_ref(abs);
        section.refs.push(abs);
        section.max_ref = Some(section.max_ref.map_or(abs, |m| m.max(abs)));
    }

    /// Whether new entries can pay off: this section can use them, or acknowledgments will
    /// make them usable later (or, once, to find out whether they will).
    fn insert_worthwhile(&mut self, section: &Section) -> bool {
        if section.can_block || section.slots_left || self.acks_seen {
            return true;
        }
        !std::mem::replace(&mut self.probe_used, true)
    }

    fn choose(&mut self, f: &HeaderField, section: &mut Section, enc: &mut Vec<u8>) -> (Rep, bool) {
        let never = f.sensitive
            || self
                .config
                .never_index_names
                .iter()
                .any(|n| n[..] == f.name[..]);
        let found = static_table::find(&f.name, &f.value);
        if never {
            // RFC 9204 §7.1.3: a never-indexed field is always a literal with the 'N' bit.
            return (self.literal(f, found, section), true);
        }
        if let Some(StaticMatch::Full(i)) = found {
            return (Rep::Static(i as u64), false);
        }
        let seen = self.history.record(&f.name, &f.value);
        let size = entry_size(&f.name, &f.value);
        let capacity = self.table.capacity();
        let drain = capacity * self.config.draining_sixteenths / 16;
        if let Some(abs) = self.table.find_field(&f.name, &f.value) {
            let draining = self.table.is_draining(abs, drain);
            if !draining && self.referenceable(abs, section) {
                self.reference(abs, section);
                return (Rep::Dynamic(abs), false);
            }
            if draining && self.referenceable(abs, section) && !section.can_block {
                // The duplicate could not be referenced by this section, so use the original
                // (pinning it) and duplicate it for later sections only if it still fits.
                self.reference(abs, section);
                self.try_duplicate(f, abs, size, section, enc);
                return (Rep::Dynamic(abs), false);
            }
            // RFC 9204 §2.1.1.1: rather than pin an entry about to be evicted, duplicate it.
            if draining {
                if let Some(new) = self.try_duplicate(f, abs, size, section, enc) {
                    if self.referenceable(new, section) {
                        self.reference(new, section);
                        return (Rep::Dynamic(new), false);
                    }
                }
            }
            if self.referenceable(abs, section) {
                self.reference(abs, section);
                return (Rep::Dynamic(abs), false);
            }
        } else if policy::should_insert(&self.history, &f.name, size, capacity, seen)
            && self.table.can_fit(size, self.known_received_count)
            && self.insert_worthwhile(section)
        {
            let new = self.insert(f, found, enc);
            if self.referenceable(new, section) {
                self.reference(new, section);
                return (Rep::Dynamic(new), false);
            }
        }
        (self.literal(f, found, section), false)
    }

    fn try_duplicate(
        &mut self,
        f: &HeaderField,
        abs: u64,
        size: u64,
        section: &Section,
        enc: &mut Vec<u8>,
    ) -> Option<u64> {
        if !self.table.can_fit(size, self.known_received_count) || !self.insert_worthwhile(section)
        {
            return None;
        }
        let relative = self.table.insert_count() - 1 - abs;
        self.announce_capacity(enc);
        EncoderInstruction::Duplicate(relative).write(enc);
        Some(self.table.insert(f.name.clone(), f.value.clone()))
    }

    /// A literal, with the cheapest name reference that cannot block or pin a draining entry.
    fn literal(
        &mut self,
        f: &HeaderField,
        found: Option<StaticMatch>,
        section: &mut Section,
    ) -> Rep {
        if let Some(StaticMatch::Name(i) | StaticMatch::Full(i)) = found {
            return Rep::StaticName(i as u64);
        }
        if let Some(abs) = self.table.find_name(&f.name) {
            let drain = self.table.capacity() * self.config.draining_sixteenths / 16;
            if self.referenceable(abs, section) && !self.table.is_draining(abs, drain) {
                self.reference(abs, section);
                return Rep::DynamicName(abs);
            }
        }
        Rep::Literal
    }

    /// Insert a new entry, naming it by static or dynamic reference when possible.
    fn insert(&mut self, f: &HeaderField, found: Option<StaticMatch>, enc: &mut Vec<u8>) -> u64 {
        self.announce_capacity(enc);
        let instruction = match (found, self.table.find_name(&f.name)) {
            (Some(StaticMatch::Name(i) | StaticMatch::Full(i)), _) => {
                EncoderInstruction::InsertWithNameRef {
                    is_static: true,
                    index: i as u64,
                    value: f.value.clone(),
                }
            }
            // References on the encoder stream never block or pin (RFC 9204 §2.1.1), and may
            // name an entry this very insertion evicts (§4.3.2).
            (None, Some(abs)) => EncoderInstruction::InsertWithNameRef {
                is_static: false,
                index: self.table.insert_count() - 1 - abs,
                value: f.value.clone(),
            },
            (None, None) => EncoderInstruction::InsertWithLiteralName {
                name: f.name.clone(),
                value: f.value.clone(),
            },
        };
        instruction.write(enc);
        self.table.insert(f.name.clone(), f.value.clone())
    }

    /// RFC 9204 §3.2.3: the capacity starts at 0, so announce ours before the first insert.
    fn announce_capacity(&mut self, enc: &mut Vec<u8>) {
        if let Some(c) = self.pending_capacity.take() {
            EncoderInstruction::SetCapacity(c).write(enc);
        }
    }
}

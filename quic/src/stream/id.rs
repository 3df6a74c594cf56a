//! Stream identifiers (RFC 9000 §2.1): a 62-bit integer whose two low bits say who opened the
//! stream and whether it carries data both ways.

use std::fmt;

use crate::coding::VarInt;
pub use crate::crypto::Side;

/// Whether a stream carries data in both directions or only from its initiator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Dir {
    /// Bidirectional: both endpoints send and receive.
    Bi = 0,
    /// Unidirectional: only the initiator sends.
    Uni = 1,
}

impl Dir {
    /// Both directions, bidirectional first; handy for iterating per-direction state.
    pub const ALL: [Dir; 2] = [Dir::Bi, Dir::Uni];

    /// Index into per-direction arrays.
    pub(crate) const fn idx(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Dir {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Dir::Bi => "bidirectional",
            Dir::Uni => "unidirectional",
        })
    }
}

/// A QUIC stream ID (RFC 9000 §2.1).
///
/// Bit 0 is the initiator (0 = client), bit 1 the direction (0 = bidirectional); the rest is the
/// per-type index, so the `n`th stream of a type has ID `4 * n + type`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StreamId(u64);

impl StreamId {
    /// The largest per-type index: stream IDs must fit in a varint (2^62 - 1), so there are 2^60
    /// streams of each type (RFC 9000 §4.6).
    pub const MAX_INDEX: u64 = (1 << 60) - 1;

    /// The `index`th stream of the given type. `index` above [`Self::MAX_INDEX`] is truncated to
    /// its low 60 bits; callers check the bound where it comes from the peer.
    pub const fn new(initiator: Side, dir: Dir, index: u64) -> Self {
        let side_bit = match initiator {
            Side::Client => 0,
            Side::Server => 1,
        };
        StreamId(((index & Self::MAX_INDEX) << 2) | ((dir as u64) << 1) | side_bit)
    }

    /// Wraps a raw ID as read from a frame. Fails if it is not a valid varint value.
    pub const fn from_u64(id: u64) -> Option<Self> {
        if id <= VarInt::MAX.into_inner() {
            Some(StreamId(id))
        } else {
            None
        }
    }

    /// Wraps a decoded varint; always valid.
    pub const fn from_varint(id: VarInt) -> Self {
        StreamId(id.into_inner())
    }

    /// The raw 62-bit ID.
    pub const fn into_inner(self) -> u64 {
        self.0
    }

    /// The raw ID as a varint, for encoding.
    pub const fn as_varint(self) -> VarInt {
        VarInt::from_u64_unchecked(self.0)
    }

    /// Which endpoint opened the stream (RFC 9000 §2.1: the least significant bit).
    pub const fn initiator(self) -> Side {
        if self.0 & 1 == 0 {
            Side::Client
        } else {
            Side::Server
        }
    }

    /// Whether the stream is bidirectional (RFC 9000 §2.1: the second least significant bit).
    pub const fn dir(self) -> Dir {
        if self.0 & 2 == 0 {
            Dir::Bi
        } else {
            Dir::Uni
        }
    }

    /// Position among the streams of the same initiator and direction.
    pub const fn index(self) -> u64 {
        self.0 >> 2
    }

    /// Whether `side` can send on this stream: it opened it, or the stream is bidirectional.
    pub fn can_send(self, side: Side) -> bool {
        self.dir() == Dir::Bi || self.initiator() == side
    }

    /// Whether `side` can receive on this stream.
    pub fn can_recv(self, side: Side) -> bool {
        self.dir() == Dir::Bi || self.initiator() != side
    }
}

impl fmt::Display for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let who = match self.initiator() {
            Side::Client => "client",
            Side::Server => "server",
        };
        let dir = match self.dir() {
            Dir::Bi => "bidi",
            Dir::Uni => "uni",
        };
        write!(f, "{who} {dir} stream {} (id {})", self.index(), self.0)
    }
}

impl fmt::Debug for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StreamId({})", self.0)
    }
}

impl From<StreamId> for u64 {
    fn from(id: StreamId) -> u64 {
        id.0
    }
}

impl From<StreamId> for VarInt {
    fn from(id: StreamId) -> VarInt {
        id.as_varint()
    }
}

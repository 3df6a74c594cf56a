//! What each sent packet carried, so that acknowledgments and losses can be dispatched to the
//! right owner (RFC 9000 §13.3: frames, not packets, are retransmitted).

use smallvec::SmallVec;

use crate::stream::{StreamControl, StreamId};

/// One retransmittable item of a sent packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SentFrame {
    /// CRYPTO data at this offset range of the packet's level.
    Crypto {
        /// Offset.
        offset: u64,
        /// Length.
        len: u32,
    },
    /// STREAM data.
    Stream {
        /// Stream.
        id: StreamId,
        /// Offset.
        offset: u64,
        /// Length.
        len: u32,
        /// FIN.
        fin: bool,
    },
    /// A stream-layer control frame (MAX_DATA, RESET_STREAM, ...).
    Control(StreamControl),
    /// HANDSHAKE_DONE.
    HandshakeDone,
    /// NEW_CONNECTION_ID with this sequence number.
    NewConnectionId(u64),
    /// RETIRE_CONNECTION_ID with this sequence number.
    RetireConnectionId(u64),
}

/// The record kept per sent packet.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SentFrames {
    /// Largest packet number acknowledged by an ACK frame in this packet, if any: once this
    /// packet is acknowledged, we stop acknowledging below it (RFC 9000 §13.2.4).
    pub largest_acked: Option<u64>,
    /// Retransmittable frames.
    pub frames: SmallVec<[SentFrame; 2]>,
    /// Whether the packet went out in an ECT(0)-marked datagram (ECN validation counts these,
    /// RFC 9000 §13.4.2.1).
    pub ect0: bool,
}

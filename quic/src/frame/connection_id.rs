//! NEW_CONNECTION_ID frames (RFC 9000 §19.15). RETIRE_CONNECTION_ID (§19.16) carries a single
//! sequence number and is a plain [`Frame`](super::Frame) variant.

use super::{get_var, put_type, type_len, FrameType, Invalid};
use crate::cid::{ConnectionId, MAX_CID_LEN};
use crate::coding::{BufExt, VarInt};
use bytes::{BufMut, Bytes};

/// Length of a stateless reset token (RFC 9000 §10.3).
pub const RESET_TOKEN_LEN: usize = 16;

/// A NEW_CONNECTION_ID frame (RFC 9000 §19.15).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewConnectionId {
    /// The sequence number of the new connection ID.
    pub sequence: VarInt,
    /// The peer must retire connection IDs with a lower sequence number; at most `sequence`.
    pub retire_prior_to: VarInt,
    /// The new connection ID, 1 to 20 bytes.
    pub id: ConnectionId,
    /// The stateless reset token for this connection ID.
    pub reset_token: [u8; RESET_TOKEN_LEN],
}

impl NewConnectionId {
    /// Bytes [`NewConnectionId::encode`] writes.
    pub fn encoded_len(&self) -> usize {
        type_len(FrameType::NEW_CONNECTION_ID)
            + self.sequence.size()
            + self.retire_prior_to.size()
            + 1
            + self.id.len()
            + RESET_TOKEN_LEN
    }

    /// Writes the frame.
    pub fn encode<B: BufMut>(&self, buf: &mut B) {
        debug_assert!(!self.id.is_empty(), "RFC 9000 §19.15: length 0 is invalid");
        debug_assert!(self.retire_prior_to <= self.sequence);
        put_type(buf, FrameType::NEW_CONNECTION_ID);
        self.sequence.encode(buf);
        self.retire_prior_to.encode(buf);
        buf.put_u8(self.id.len() as u8);
        self.id.encode(buf);
        buf.put_slice(&self.reset_token);
    }

    pub(super) fn decode(buf: &mut Bytes) -> Result<Self, Invalid> {
        let sequence = get_var(buf)?;
        let retire_prior_to = get_var(buf)?;
        let len = usize::from(buf.try_u8()?);
        // RFC 9000 §19.15: "Values less than 1 and greater than 20 are invalid and MUST be
        // treated as a connection error of type FRAME_ENCODING_ERROR."
        if len == 0 || len > MAX_CID_LEN {
            return Err(Invalid("NEW_CONNECTION_ID length not in 1..=20"));
        }
        let id = ConnectionId::decode_with_len(buf, len)?;
        let mut reset_token = [0; RESET_TOKEN_LEN];
        buf.try_copy(&mut reset_token)?;
        // RFC 9000 §19.15: "Receiving a value in the Retire Prior To field that is greater than
        // that in the Sequence Number field MUST be treated as a connection error of type
        // FRAME_ENCODING_ERROR."
        if retire_prior_to > sequence {
            return Err(Invalid("NEW_CONNECTION_ID retire_prior_to above sequence"));
        }
        Ok(Self {
            sequence,
            retire_prior_to,
            id,
            reset_token,
        })
    }
}

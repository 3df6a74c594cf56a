//! Connection ID bookkeeping for one connection (RFC 9000 §5.1): the IDs we issued to the peer
//! and the IDs the peer issued to us, with their sequence numbers and stateless-reset tokens.

use std::collections::VecDeque;

use crate::cid::ConnectionId;
use crate::transport_error::TransportError;

/// A stateless reset token (RFC 9000 §10.3).
pub type ResetToken = [u8; 16];

/// A connection ID the peer gave us, usable as a Destination Connection ID.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RemoteCid {
    /// Sequence number from NEW_CONNECTION_ID (0 for the handshake's ID, 1 for a server's
    /// preferred_address ID).
    pub sequence: u64,
    /// The ID.
    pub cid: ConnectionId,
    /// Its stateless-reset token, if known (the handshake ID's comes from transport
    /// parameters, and a client's initial ID has none).
    pub reset_token: Option<ResetToken>,
}

/// The peer's connection IDs: the one in use plus spares, bounded by the
/// active_connection_id_limit we advertised.
#[derive(Debug)]
pub struct RemoteCids {
    active: VecDeque<RemoteCid>,
    /// Everything below this was retired by the peer's retire_prior_to.
    retire_prior_to: u64,
    /// RETIRE_CONNECTION_ID frames to send (sequence numbers).
    pending_retirements: VecDeque<u64>,
    limit: u64,
}

impl RemoteCids {
    /// Starts with the ID used during the handshake (sequence 0). `limit` is the
    /// active_connection_id_limit we advertised.
    pub fn new(initial: ConnectionId, limit: u64) -> Self {
        let mut active = VecDeque::new();
        active.push_back(RemoteCid {
            sequence: 0,
            cid: initial,
            reset_token: None,
        });
        Self {
            active,
            retire_prior_to: 0,
            pending_retirements: VecDeque::new(),
            limit,
        }
    }

    /// The ID to put in outgoing packets.
    pub fn current(&self) -> &RemoteCid {
        // Never empty: retirement always keeps or installs a replacement first.
        &self.active[0]
    }

    /// Replaces the handshake ID (the client learns the server's chosen ID from its first
    /// Initial, or from a Retry).
    pub fn replace_initial(&mut self, cid: ConnectionId) {
        self.active[0].cid = cid;
    }

    /// Sets the stateless reset token of sequence 0 (from the server's transport parameters).
    pub fn set_initial_reset_token(&mut self, token: ResetToken) {
        if let Some(first) = self.active.iter_mut().find(|c| c.sequence == 0) {
            first.reset_token = Some(token);
        }
    }

    /// Handles a NEW_CONNECTION_ID frame (RFC 9000 §19.15, §5.1.2).
    pub fn on_new_connection_id(
        &mut self,
        sequence: u64,
        retire_prior_to: u64,
        cid: ConnectionId,
        reset_token: ResetToken,
    ) -> Result<(), TransportError> {
        if let Some(existing) = self.active.iter().find(|c| c.sequence == sequence) {
            // RFC 9000 §19.15: the same sequence number with a different ID or token is a
            // PROTOCOL_VIOLATION; an exact repeat (a retransmission) is harmless.
            if existing.cid != cid || existing.reset_token.is_some_and(|t| t != reset_token) {
                return Err(TransportError::protocol_violation(
                    "NEW_CONNECTION_ID reuses a sequence number for another ID",
                ));
            }
            return Ok(());
        }
        if self.active.iter().any(|c| c.cid == cid) {
            return Err(TransportError::protocol_violation(
                "NEW_CONNECTION_ID repeats an ID under another sequence number",
            ));
        }
        if retire_prior_to > self.retire_prior_to {
            self.retire_prior_to = retire_prior_to;
        }
        if sequence < self.retire_prior_to {
            // RFC 9000 §19.15: an ID that arrives already retired is retired at once, without
            // being added to the active set.
            self.queue_retirement(sequence);
        } else {
            self.active.push_back(RemoteCid {
                sequence,
                cid,
                reset_token: Some(reset_token),
            });
        }
        // RFC 9000 §5.1.2: retire every ID below retire_prior_to. Keep one usable ID in place
        // while doing so: the newest with a high enough sequence becomes current.
        let threshold = self.retire_prior_to;
        while let Some(pos) = self.active.iter().position(|c| c.sequence < threshold) {
            let retired = self.active.remove(pos).map(|c| c.sequence);
            if let Some(seq) = retired {
                self.queue_retirement(seq);
            }
        }
        // RFC 9000 §5.1.2: an endpoint may treat more IDs awaiting retirement than it is
        // willing to track as CONNECTION_ID_LIMIT_ERROR; otherwise a peer could grow this
        // queue without bound with IDs that arrive already retired.
        if self.pending_retirements.len() as u64 > self.max_pending_retirements() {
            return Err(TransportError::connection_id_limit_error(
                "too many connection IDs awaiting retirement",
            ));
        }
        // RFC 9000 §5.1.1: more active IDs than our limit is a CONNECTION_ID_LIMIT_ERROR.
        if self.active.len() as u64 > self.limit {
            return Err(TransportError::connection_id_limit_error(
                "peer issued more connection IDs than active_connection_id_limit",
            ));
        }
        if self.active.is_empty() {
            // retire_prior_to covered everything, including the new ID: the peer left us
            // nothing to use (RFC 9000 §5.1.2 requires it to have provided a replacement).
            return Err(TransportError::protocol_violation(
                "retire_prior_to retired every connection ID",
            ));
        }
        Ok(())
    }

    /// RETIRE_CONNECTION_ID frames we track at most: RFC 9000 §5.1.2 asks for at least twice
    /// the active_connection_id_limit.
    fn max_pending_retirements(&self) -> u64 {
        (2 * self.limit).max(16)
    }

    /// Switches to a fresh ID (e.g. on migration), retiring the current one. Returns false if
    /// no spare is available.
    pub fn rotate(&mut self) -> bool {
        if self.active.len() < 2 {
            return false;
        }
        if let Some(old) = self.active.pop_front() {
            self.queue_retirement(old.sequence);
        }
        true
    }

    /// Whether `token` matches a stateless-reset token of any of the peer's active IDs
    /// (RFC 9000 §10.3.1).
    pub fn is_stateless_reset(&self, token: &[u8]) -> bool {
        self.active
            .iter()
            .filter_map(|c| c.reset_token.as_ref())
            .any(|t| constant_time_eq(t, token))
    }

    /// The next RETIRE_CONNECTION_ID to send.
    pub fn pop_retirement(&mut self) -> Option<u64> {
        self.pending_retirements.pop_front()
    }

    /// Puts back a RETIRE_CONNECTION_ID whose packet was lost.
    pub fn retirement_lost(&mut self, sequence: u64) {
        self.queue_retirement(sequence);
    }

    /// Whether RETIRE_CONNECTION_ID frames are waiting.
    pub fn has_pending_retirements(&self) -> bool {
        !self.pending_retirements.is_empty()
    }

    fn queue_retirement(&mut self, sequence: u64) {
        // Bounded: at most one entry per sequence number still pending.
        if !self.pending_retirements.contains(&sequence) {
            self.pending_retirements.push_back(sequence);
        }
    }
}

/// The IDs we issued to the peer.
#[derive(Debug)]
pub struct LocalCids {
    /// Active IDs by sequence number.
    active: VecDeque<(u64, ConnectionId)>,
    next_sequence: u64,
    /// The peer's active_connection_id_limit.
    peer_limit: u64,
}

impl LocalCids {
    /// Starts with the ID of the handshake (sequence 0).
    pub fn new(initial: ConnectionId) -> Self {
        let mut active = VecDeque::new();
        active.push_back((0, initial));
        Self {
            active,
            next_sequence: 1,
            peer_limit: 2,
        }
    }

    /// Records the peer's active_connection_id_limit (RFC 9000 §18.2).
    pub fn set_peer_limit(&mut self, limit: u64) {
        // Never issue an absurd number even if the peer allows it: 8 is plenty for migration.
        self.peer_limit = limit.min(8);
    }

    /// How many more IDs the peer can take now.
    pub fn wanted(&self, zero_length: bool) -> u64 {
        if zero_length {
            // RFC 9000 §5.1.1: an endpoint using zero-length IDs cannot issue new ones.
            return 0;
        }
        self.peer_limit.saturating_sub(self.active.len() as u64)
    }

    /// Registers a newly generated ID and returns its sequence number.
    pub fn issue(&mut self, cid: ConnectionId) -> u64 {
        let seq = self.next_sequence;
        self.next_sequence += 1;
        self.active.push_back((seq, cid));
        seq
    }

    /// Handles RETIRE_CONNECTION_ID (RFC 9000 §19.16). `packet_dcid` is the Destination
    /// Connection ID of the packet that carried the frame. Returns the retired ID, which the
    /// endpoint must stop routing.
    pub fn on_retire(
        &mut self,
        sequence: u64,
        packet_dcid: &ConnectionId,
    ) -> Result<Option<ConnectionId>, TransportError> {
        // RFC 9000 §19.16: a sequence number never sent is a PROTOCOL_VIOLATION.
        if sequence >= self.next_sequence {
            return Err(TransportError::protocol_violation(
                "RETIRE_CONNECTION_ID for a sequence number never issued",
            ));
        }
        let Some(pos) = self.active.iter().position(|(s, _)| *s == sequence) else {
            return Ok(None); // already retired: a retransmission
        };
        // RFC 9000 §19.16: retiring the ID the frame arrived on is a PROTOCOL_VIOLATION.
        if self.active[pos].1 == *packet_dcid {
            return Err(TransportError::protocol_violation(
                "RETIRE_CONNECTION_ID retires the ID it was sent to",
            ));
        }
        Ok(self.active.remove(pos).map(|(_, cid)| cid))
    }

    /// The active ID with this sequence number.
    pub fn get(&self, sequence: u64) -> Option<ConnectionId> {
        self.active
            .iter()
            .find(|(s, _)| *s == sequence)
            .map(|(_, c)| *c)
    }

    /// Every ID currently routed to this connection.
    pub fn iter(&self) -> impl Iterator<Item = &ConnectionId> {
        self.active.iter().map(|(_, c)| c)
    }
}

/// Compares without an early exit, so timing does not reveal how much of a token matched
/// (RFC 9000 §10.3.1 asks for this when comparing reset tokens).
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Derives a stateless reset token for `cid` from the endpoint's static key
/// (RFC 9000 §10.3.2: a keyed hash of the ID, so any instance can recompute it statelessly).
pub fn reset_token_for(key: &ring::hmac::Key, cid: &ConnectionId) -> ResetToken {
    let tag = ring::hmac::sign(key, cid);
    let mut token = [0; 16];
    token.copy_from_slice(&tag.as_ref()[..16]);
    token
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::TransportErrorCode;

    fn cid(b: u8) -> ConnectionId {
        ConnectionId::new(&[b; 8]).unwrap()
    }

    #[test]
    fn limit_is_enforced() {
        let mut r = RemoteCids::new(cid(0), 2);
        r.on_new_connection_id(1, 0, cid(1), [1; 16]).unwrap();
        let err = r.on_new_connection_id(2, 0, cid(2), [2; 16]).unwrap_err();
        assert_eq!(err.code, TransportErrorCode::CONNECTION_ID_LIMIT_ERROR);
    }

    #[test]
    fn retire_prior_to_retires_and_replaces() {
        let mut r = RemoteCids::new(cid(0), 2);
        r.on_new_connection_id(1, 1, cid(1), [1; 16]).unwrap();
        assert_eq!(r.current().cid, cid(1));
        assert_eq!(r.pop_retirement(), Some(0));
        // An ID arriving already below retire_prior_to is retired at once.
        r.on_new_connection_id(5, 3, cid(5), [5; 16]).unwrap();
        r.on_new_connection_id(2, 0, cid(2), [2; 16]).unwrap();
        let retired: Vec<_> = std::iter::from_fn(|| r.pop_retirement()).collect();
        assert_eq!(retired, vec![1, 2]);
        assert_eq!(r.current().cid, cid(5));
        assert!(r.is_stateless_reset(&[5; 16]));
        assert!(!r.is_stateless_reset(&[1; 16]));
    }

    #[test]
    fn ids_arriving_retired_cannot_grow_the_retirement_queue_without_bound() {
        let mut r = RemoteCids::new(cid(0), 4);
        r.on_new_connection_id(1000, 1000, cid(1), [1; 16]).unwrap();
        let mut result = Ok(());
        for seq in 1..200u64 {
            let id = ConnectionId::new(&seq.to_be_bytes()).unwrap();
            result = r.on_new_connection_id(seq, 1000, id, [2; 16]);
            if result.is_err() {
                break;
            }
        }
        let e = result.unwrap_err();
        assert_eq!(e.code, TransportErrorCode::CONNECTION_ID_LIMIT_ERROR);
        assert!(r.pending_retirements.len() <= 17);
    }

    #[test]
    fn duplicates_and_conflicts() {
        let mut r = RemoteCids::new(cid(0), 4);
        r.on_new_connection_id(1, 0, cid(1), [1; 16]).unwrap();
        r.on_new_connection_id(1, 0, cid(1), [1; 16]).unwrap(); // retransmission
        let e = r.on_new_connection_id(1, 0, cid(9), [1; 16]).unwrap_err();
        assert_eq!(e.code, TransportErrorCode::PROTOCOL_VIOLATION);
    }

    #[test]
    fn local_retirement_rules() {
        let mut l = LocalCids::new(cid(0));
        l.set_peer_limit(3);
        assert_eq!(l.wanted(false), 2);
        assert_eq!(l.wanted(true), 0);
        let s1 = l.issue(cid(1));
        assert_eq!(s1, 1);
        let e = l.on_retire(7, &cid(0)).unwrap_err();
        assert_eq!(e.code, TransportErrorCode::PROTOCOL_VIOLATION);
        let e = l.on_retire(1, &cid(1)).unwrap_err();
        assert_eq!(e.code, TransportErrorCode::PROTOCOL_VIOLATION);
        assert_eq!(l.on_retire(1, &cid(0)).unwrap(), Some(cid(1)));
        assert_eq!(l.on_retire(1, &cid(0)).unwrap(), None);
    }

    #[test]
    fn reset_tokens_are_keyed() {
        let k1 = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &[1; 32]);
        let k2 = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &[2; 32]);
        assert_eq!(reset_token_for(&k1, &cid(1)), reset_token_for(&k1, &cid(1)));
        assert_ne!(reset_token_for(&k1, &cid(1)), reset_token_for(&k2, &cid(1)));
        assert_ne!(reset_token_for(&k1, &cid(1)), reset_token_for(&k1, &cid(2)));
    }
}

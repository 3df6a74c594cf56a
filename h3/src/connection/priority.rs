//! RFC 9218 priorities of request streams: where a stream's priority comes from, and handing
//! it to the transport's send scheduler ([`Transport::set_priority`]).
//!
//! Signals, each replacing what came before (RFC 9218 §7: the most recent PRIORITY_UPDATE
//! "overrides any other signal"; §8 leaves merging with the server's view to us):
//!
//! * the request's `priority` header (§5; defaults u=3, i=?0 when absent or unparsable);
//! * a PRIORITY_UPDATE from the client (§7.2) — a complete set of parameters, applied even if
//!   it arrived before its stream (then it also wins over the header, which is older in
//!   intent);
//! * on the server, the response's `priority` header (§8: only the parameters it carries
//!   change the client's value) or [`Connection::set_priority`].
//!
//! A client uses its request's priority (header, then its own `set_priority` calls) for its
//! own sending too, so a large upload at u=7 does not delay small urgent requests.

use std::collections::BTreeSet;

use super::{Connection, Event, Role};
use crate::error::{Code, H3Error, SendError};
use crate::frame::{Frame, PriorityTarget};
use crate::priority::{Priority, PriorityParams};
use crate::transport::{request_urgency, Transport, CRITICAL_URGENCY};
use crate::StreamId;
use bytes::Bytes;

/// Server: which request streams have been seen (opened, rejected or reset), so that a
/// PRIORITY_UPDATE can tell a stream not opened yet (buffer it) from one already gone
/// (ignore it), even when streams arrive out of order.
#[derive(Debug, Default)]
pub(super) struct SeenRequests {
    /// Every request stream below this ID has been seen.
    floor: u64,
    /// Seen streams at or above `floor`: the gaps below them have not arrived yet.
    above: BTreeSet<u64>,
}

impl SeenRequests {
    /// How many out-of-order streams are remembered. A client that leaves a gap open forever
    /// would otherwise grow the set without bound; beyond this the oldest gaps count as
    /// seen (an update for them is then ignored, which only loses a scheduling hint).
    const MAX_ABOVE: usize = 1024;

    pub fn insert(&mut self, id: StreamId) {
        if id.0 < self.floor {
            return;
        }
        self.above.insert(id.0);
        if self.above.len() > Self::MAX_ABOVE {
            if let Some(first) = self.above.first().copied() {
                self.floor = first;
            }
        }
        while self.above.first() == Some(&self.floor) {
            self.above.pop_first();
            self.floor += 4;
        }
    }

    pub fn contains(&self, id: StreamId) -> bool {
        id.0 < self.floor || self.above.contains(&id.0)
    }
}

impl Connection {
    /// Gives the transport the current priority of request stream `id`, if it changed since
    /// the last time.
    pub(super) fn push_priority(&mut self, t: &mut dyn Transport, id: StreamId) {
        let Some(r) = self.requests.get_mut(&id) else {
            return;
        };
        if r.applied_priority == Some(r.priority) {
            return;
        }
        r.applied_priority = Some(r.priority);
        t.set_priority(id, request_urgency(r.priority), r.priority.incremental);
    }

    /// Our control and QPACK streams go ahead of every request: a response's header section
    /// may need the encoder instructions, and SETTINGS and GOAWAY should not wait behind
    /// bodies.
    pub(super) fn prioritize_critical(t: &mut dyn Transport, id: StreamId) {
        t.set_priority(id, CRITICAL_URGENCY, true);
    }

    /// Server: a request stream arrived; note it and apply a buffered PRIORITY_UPDATE.
    pub(super) fn on_request_stream_seen(&mut self, id: StreamId) -> Option<Priority> {
        self.seen_requests.insert(id);
        self.pending_priorities.remove(&id)
    }

    /// A PRIORITY_UPDATE frame on the peer's control stream (the frame decoder rejects it on
    /// any other stream with H3_FRAME_UNEXPECTED, RFC 9218 §7.2).
    pub(super) fn on_priority_update(
        &mut self,
        t: &mut dyn Transport,
        target: PriorityTarget,
        id: u64,
        value: &[u8],
    ) -> Result<(), H3Error> {
        if self.role == Role::Client {
            // RFC 9218 §7.2: a client receiving PRIORITY_UPDATE MUST treat it as
            // H3_FRAME_UNEXPECTED.
            return Err(H3Error::new(
                Code::H3_FRAME_UNEXPECTED,
                "PRIORITY_UPDATE from a server",
            ));
        }
        if target == PriorityTarget::Push {
            // RFC 9218 §7.2: a push ID above the maximum push ID or never promised MUST be
            // H3_ID_ERROR. We never promise pushes, so every push ID is one of those.
            return Err(H3Error::new(
                Code::H3_ID_ERROR,
                "PRIORITY_UPDATE for an unpromised push",
            ));
        }
        let stream = StreamId(id);
        // RFC 9218 §7.2: the request variant MUST reference a request stream, else
        // H3_ID_ERROR.
        if !stream.is_request() {
            return Err(H3Error::new(
                Code::H3_ID_ERROR,
                "PRIORITY_UPDATE for a non-request stream",
            ));
        }
        // RFC 9218 §7.2: a stream ID beyond the client-initiated bidirectional stream limit
        // SHOULD be H3_ID_ERROR. The limit only grows and the client cannot know a larger
        // one than we sent, so this never rejects a stream it may open.
        if t.peer_bidi_limit().is_some_and(|limit| id >> 2 >= limit) {
            return Err(H3Error::new(
                Code::H3_ID_ERROR,
                "PRIORITY_UPDATE for a stream beyond the stream limit",
            ));
        }
        // RFC 9218 §7: a value that does not parse MAY be a connection error; we ignore it,
        // as a bad `priority` header is ignored.
        let Some(priority) = Priority::parse(value) else {
            return Ok(());
        };
        if let Some(r) = self.requests.get_mut(&stream) {
            r.priority = priority;
            r.priority_from_frame = true;
            self.push_priority(t, stream);
            self.events
                .push_back(Event::PriorityUpdate { stream, priority });
        } else if !self.seen_requests.contains(stream) {
            // RFC 9218 §7: servers SHOULD buffer the most recent PRIORITY_UPDATE for a
            // stream not opened yet and apply it when it opens; the number held is bounded
            // by local policy (beyond it, updates for further streams are dropped).
            let bound = self.config.max_pending_priority_updates;
            if self.pending_priorities.len() < bound
                || self.pending_priorities.contains_key(&stream)
            {
                self.pending_priorities.insert(stream, priority);
            }
        }
        // Otherwise the stream has come and gone: nothing left to schedule.
        Ok(())
    }

    /// Server: a response we send carries a `priority` header: RFC 9218 §8, the parameters
    /// it has replace the client's, the ones it lacks keep the client's value.
    pub(super) fn on_response_priority(
        &mut self,
        t: &mut dyn Transport,
        id: StreamId,
        headers: &http::HeaderMap,
    ) {
        let Some(params) = PriorityParams::from_headers(headers) else {
            return;
        };
        if let Some(r) = self.requests.get_mut(&id) {
            r.priority = params.apply_to(r.priority);
            self.push_priority(t, id);
        }
    }

    /// Changes a request's priority (RFC 9218).
    ///
    /// A client sends a PRIORITY_UPDATE on its control stream (§6, §7.2) and sends its own
    /// remaining request body at the new priority. A server reprioritizes its response
    /// (§8): the transport schedules the stream's remaining data at `priority`, until the
    /// client's next PRIORITY_UPDATE, if any, replaces it.
    pub fn set_priority(
        &mut self,
        t: &mut dyn Transport,
        id: StreamId,
        priority: Priority,
    ) -> Result<(), SendError> {
        self.check_send()?;
        let r = self.requests.get_mut(&id).ok_or(SendError::UnknownStream)?;
        r.priority = priority;
        r.priority_from_frame = true;
        self.push_priority(t, id);
        if self.role == Role::Client {
            self.open_local_streams(t);
            // RFC 9218 §7: the frame carries the complete set of parameters.
            let frame = Frame::PriorityUpdate {
                target: PriorityTarget::Request,
                id: id.0,
                value: Bytes::from(priority.to_string()),
            };
            self.write_control(t, &frame);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seen_requests_track_gaps() {
        let mut s = SeenRequests::default();
        assert!(!s.contains(StreamId(0)));
        s.insert(StreamId(8));
        assert!(s.contains(StreamId(8)));
        assert!(!s.contains(StreamId(0)) && !s.contains(StreamId(4)));
        s.insert(StreamId(0));
        s.insert(StreamId(4));
        assert_eq!(s.floor, 12);
        assert!(s.above.is_empty());
        assert!(s.contains(StreamId(4)) && !s.contains(StreamId(12)));
    }

    #[test]
    fn seen_requests_are_bounded() {
        let mut s = SeenRequests::default();
        // Stream 0 never arrives.
        for n in 1..=(SeenRequests::MAX_ABOVE as u64 + 10) {
            s.insert(StreamId(4 * n));
        }
        assert!(s.above.len() <= SeenRequests::MAX_ABOVE);
        // The oldest gap now counts as seen.
        assert!(s.contains(StreamId(0)));
    }
}

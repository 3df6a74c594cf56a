//! Path validation (RFC 9000 §8.2) and following a peer whose address changes, as after a NAT
//! rebinding (RFC 9000 §9.3).
//!
//! Only the server follows its peer: a client never moves to a new server address (RFC 9000
//! §9, §9.6), and this stack's client does not migrate actively, though a NAT in front of it may
//! change its address at any time.
//!
//! RFC 9000 §9: a peer that sent disable_active_migration forbids *active* migration, but a
//! NAT rebinding is not something the peer chose and cannot be told apart from one; the RFC
//! lets the endpoint "proceed with path validation and allow the peer to migrate", which is
//! what happens here whatever we advertised.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use rand::RngCore;

use super::{Connection, EndpointEvent, State};
use crate::crypto::Side;
use crate::packet::{Header, PacketNumber};
use crate::recovery::{EcnCodepoint, PacketSpace, PathCongestion, RttEstimator, INITIAL_RTT};

/// RFC 9000 §8.2.1: datagrams with PATH_CHALLENGE, and §8.2.2 with PATH_RESPONSE, are expanded
/// to at least this many bytes unless the anti-amplification limit forbids it.
pub(super) const MIN_PROBE_DATAGRAM: usize = 1200;
/// Challenges outstanding per validation; a response to any of them validates the path.
const MAX_TOKENS: usize = 8;
/// PATH_RESPONSEs owed, on the current path and on others, each (bounded: a peer's probes
/// cannot grow our state).
const MAX_PENDING_RESPONSES: usize = 4;

/// One path validation in progress (RFC 9000 §8.2).
#[derive(Debug)]
pub(super) struct Validation {
    addr: SocketAddr,
    /// The data of every PATH_CHALLENGE sent for it, newest last, with whether its datagram
    /// was expanded to 1200 bytes.
    tokens: Vec<([u8; 8], bool)>,
    /// A PATH_CHALLENGE is owed now.
    send_pending: bool,
    /// When to send the next one if no response has come.
    next_send: Instant,
    /// When the validation is abandoned (RFC 9000 §8.2.4).
    deadline: Instant,
}

impl Validation {
    fn new(addr: SocketAddr, now: Instant, timeout: Duration) -> Self {
        Self {
            addr,
            tokens: Vec::new(),
            send_pending: true,
            next_send: now,
            deadline: now + timeout,
        }
    }

    /// A new challenge's data from the connection's seeded RNG (RFC 9000 §8.2.1: "unpredictable").
    fn new_token(&mut self, rng: &mut impl RngCore, full_size: bool) -> [u8; 8] {
        let mut data = [0u8; 8];
        rng.fill_bytes(&mut data);
        if self.tokens.len() == MAX_TOKENS {
            self.tokens.remove(0);
        }
        self.tokens.push((data, full_size));
        data
    }

    /// Whether `data` answers one of our challenges, and if so whether that one went in a
    /// 1200-byte datagram.
    fn answered(&self, data: &[u8; 8]) -> Option<bool> {
        self.tokens
            .iter()
            .find(|(t, _)| t == data)
            .map(|&(_, full)| full)
    }

    fn timer(&self) -> Instant {
        if self.send_pending {
            self.deadline
        } else {
            self.deadline.min(self.next_send)
        }
    }
}

/// The last validated path, kept while the current one is unvalidated (RFC 9000 §9.3.2).
#[derive(Debug)]
struct SavedPath {
    addr: SocketAddr,
    /// Its RTT and congestion state, if the move reset them (RFC 9000 §9.4).
    congestion: Option<PathCongestion>,
}

/// A PATH_RESPONSE owed to an address other than the current peer address.
#[derive(Debug)]
struct OffPathResponse {
    addr: SocketAddr,
    data: [u8; 8],
    /// Bytes we may send there: three times what came from it (RFC 9000 §8, §9.3.1).
    budget: usize,
}

/// Path state beyond the current peer address, which lives in `Connection::remote`.
#[derive(Debug, Default)]
pub(super) struct Paths {
    prev: Option<SavedPath>,
    /// Validation of the current peer address after a move.
    current: Option<Validation>,
    /// Validation of the previous address (RFC 9000 §9.3.3).
    old: Option<Validation>,
    off_path_responses: VecDeque<OffPathResponse>,
    /// Counters, exposed through [`PathStats`].
    stats: PathStats,
}

/// Counters of path events.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PathStats {
    /// Times the peer address changed (moves to a new address and returns to the old one).
    pub migrations: u64,
    /// Paths whose validation succeeded.
    pub validated: u64,
    /// Validations that timed out.
    pub validation_failures: u64,
    /// Times the connection went back to the last validated address.
    pub reverted: u64,
    /// PATH_CHALLENGE frames sent.
    pub challenges_sent: u64,
    /// PATH_RESPONSE frames sent.
    pub responses_sent: u64,
}

impl Connection {
    /// Path counters.
    pub fn path_stats(&self) -> PathStats {
        self.paths.stats
    }

    /// Whether the current peer address is validated (RFC 9000 §8).
    pub fn is_path_validated(&self) -> bool {
        self.address_validated
    }

    /// RFC 9000 §8.2.4: "three times the larger of the current PTO or the PTO for the new path
    /// (using kInitialRtt)" is RECOMMENDED: the new path may be slower than the old one.
    fn validation_timeout(&self) -> Duration {
        let current = self.recovery.pto(PacketSpace::Data);
        let ack_delay = current.saturating_sub(self.recovery.rtt().pto_base());
        let fresh = RttEstimator::new(INITIAL_RTT).pto_base() + ack_delay;
        3 * current.max(fresh)
    }

    /// A PATH_CHALLENGE arrived in a datagram from `self.datagram_remote`.
    pub(super) fn on_path_challenge(&mut self, data: [u8; 8]) {
        let from = self.datagram_remote;
        if from == self.remote {
            // RFC 9000 §8.2.2: answer on the path it arrived on; bounded.
            if self.path_responses.len() < MAX_PENDING_RESPONSES {
                self.path_responses.push_back(data);
            }
            return;
        }
        // RFC 9000 §8.2.2: the response goes back to where the challenge came from, and what we
        // send to an unvalidated address stays within three times what it sent (RFC 9000 §8).
        if self.paths.off_path_responses.len() >= MAX_PENDING_RESPONSES {
            return;
        }
        self.paths.off_path_responses.push_back(OffPathResponse {
            addr: from,
            data,
            budget: 3 * self.datagram_len,
        });
    }

    /// RFC 9000 §8.2.3: a PATH_RESPONSE on any path validates the path its challenge was sent
    /// on; one that matches nothing is ignored.
    pub(super) fn on_path_response(&mut self, now: Instant, data: [u8; 8]) {
        let current = self.paths.current.as_ref().and_then(|v| v.answered(&data));
        if current == Some(false) {
            // The peer owns the address, so the amplification limit goes; but the challenge
            // went in a datagram the limit kept under 1200 bytes, so the path MTU is not
            // validated: RFC 9000 §8.2.1 "the endpoint MUST perform a second path validation
            // by sending a PATH_CHALLENGE frame in a datagram of at least 1200 bytes".
            self.address_validated = true;
            self.recovery.set_amplification_blocked(now, false);
            let timeout = self.validation_timeout();
            if let Some(v) = &mut self.paths.current {
                v.tokens.clear();
                v.send_pending = true;
                v.deadline = now + timeout;
            }
            tracing::debug!(remote = %self.remote, "peer address validated, path MTU next");
        } else if current == Some(true) {
            self.paths.current = None;
            // The new address is now the last validated one: the old one is no longer needed.
            self.paths.prev = None;
            self.paths.old = None;
            self.paths.stats.validated += 1;
            self.address_validated = true;
            self.recovery.set_amplification_blocked(now, false);
            tracing::debug!(remote = %self.remote, "peer address validated");
        } else if self
            .paths
            .old
            .as_ref()
            .is_some_and(|v| v.answered(&data).is_some())
        {
            // The previous path still works; it stays the one to return to.
            self.paths.old = None;
            self.paths.stats.validated += 1;
        }
    }

    /// Called for every 1-RTT packet processed from `self.datagram_remote`; `non_probing` and
    /// `largest` tell whether it is a non-probing packet with the highest number so far.
    pub(super) fn maybe_follow_peer(&mut self, now: Instant, non_probing: bool, largest: bool) {
        let new = self.datagram_remote;
        // RFC 9000 §9.3: only the highest-numbered non-probing packet moves the path; RFC 9000
        // §9: not before the handshake is confirmed, and a client never follows a server.
        if new == self.remote
            || !non_probing
            || !largest
            || self.side != Side::Server
            || !self.handshake_confirmed
            || self.is_closed()
        {
            return;
        }
        self.paths.stats.migrations += 1;
        if self.paths.prev.as_ref().is_some_and(|p| p.addr == new) {
            // RFC 9000 §9.3.2: back to the last validated address (the move was spurious or
            // the NAT changed its mind): RFC 9000 §9.3 lets us skip validation and restore its
            // loss detection and congestion state.
            tracing::debug!(from = %self.remote, to = %new, "peer returned to its validated address");
            self.return_to_prev(now);
            return;
        }
        let old = self.remote;
        // RFC 9000 §9.4: the endpoint resets its congestion controller and RTT estimate,
        // unless only the port changed: then the path is most likely the same one behind a
        // NAT that picked a new mapping, and its state is kept.
        let same_host = old.ip() == new.ip();
        match &mut self.paths.prev {
            None => {
                // The current path is validated: it is the one to come back to.
                let congestion = (!same_host).then(|| self.recovery.replace_path_state(now, None));
                self.paths.prev = Some(SavedPath {
                    addr: old,
                    congestion,
                });
                // RFC 9000 §9.3.3: "In response to an apparent migration, endpoints MUST
                // validate the previously active path using a PATH_CHALLENGE frame."
                let timeout = self.validation_timeout();
                self.paths.old = Some(Validation::new(old, now, timeout));
            }
            Some(prev) => {
                // Moving on from an unvalidated address: the saved path stays the last
                // validated one, with its congestion state.
                if !same_host {
                    let replaced = self.recovery.replace_path_state(now, None);
                    prev.congestion.get_or_insert(replaced);
                }
            }
        }
        tracing::debug!(from = %old, to = %new, same_host, "peer address changed");
        // RFC 9000 §9.3: "it MUST send subsequent packets to the new peer address and MUST
        // initiate path validation"; until it is validated, RFC 9000 §9.3.1 and §8 limit what
        // we send there to three times what we received from it. RFC 9000 §9.5 allows keeping
        // the connection ID when the peer kept its own, as a rebinding peer does.
        self.remote = new;
        self.address_validated = false;
        self.anti_amplification_received = self.datagram_len as u64;
        self.anti_amplification_sent = 0;
        let timeout = self.validation_timeout();
        self.paths.current = Some(Validation::new(new, now, timeout));
    }

    fn return_to_prev(&mut self, now: Instant) {
        let Some(prev) = self.paths.prev.take() else {
            return;
        };
        self.remote = prev.addr;
        if let Some(congestion) = prev.congestion {
            self.recovery.replace_path_state(now, Some(congestion));
        }
        self.paths.current = None;
        self.paths.old = None;
        self.address_validated = true;
        self.recovery.set_amplification_blocked(now, false);
    }

    /// The earliest path timer.
    pub(super) fn path_timer(&self) -> Option<Instant> {
        [self.paths.current.as_ref(), self.paths.old.as_ref()]
            .into_iter()
            .flatten()
            .map(Validation::timer)
            .min()
    }

    /// Runs the path timers: challenges are repeated every PTO, and a validation that outlives
    /// its deadline fails.
    pub(super) fn handle_path_timers(&mut self, now: Instant) {
        if let Some(v) = &mut self.paths.current {
            if now >= v.deadline {
                self.paths.stats.validation_failures += 1;
                tracing::debug!(remote = %self.remote, "peer address validation failed");
                if self.paths.prev.is_some() {
                    // RFC 9000 §9.3.2: "an endpoint MUST revert to using the last validated
                    // peer address when validation of a new peer address fails".
                    self.paths.stats.reverted += 1;
                    self.return_to_prev(now);
                } else {
                    // RFC 9000 §9.3.2: with no validated address left, the connection is
                    // closed silently by discarding its state.
                    self.paths.current = None;
                    self.error = Some(super::ConnectionError::TimedOut);
                    self.events
                        .push_back(super::Event::Closed(super::ConnectionError::TimedOut));
                    self.state = State::Drained;
                    self.endpoint_events.push_back(EndpointEvent::Drained);
                    return;
                }
            } else if !v.send_pending && now >= v.next_send {
                v.send_pending = true;
            }
        }
        if let Some(v) = &mut self.paths.old {
            if now >= v.deadline {
                // The previous path did not answer; it is still the one to revert to, as the
                // RFC names no better (a failed revert closes nothing by itself).
                self.paths.stats.validation_failures += 1;
                self.paths.old = None;
            } else if !v.send_pending && now >= v.next_send {
                v.send_pending = true;
            }
        }
    }

    pub(super) fn paths_response_sent(&mut self) {
        self.paths.stats.responses_sent += 1;
    }

    /// Whether a PATH_CHALLENGE for the current path is owed.
    pub(super) fn challenge_pending(&self) -> bool {
        self.paths.current.as_ref().is_some_and(|v| v.send_pending)
    }

    /// Writes the PATH_CHALLENGE owed on the current path, if any; `full_size` tells whether
    /// the datagram will be expanded to 1200 bytes.
    pub(super) fn write_current_challenge(
        &mut self,
        now: Instant,
        buf: &mut Vec<u8>,
        end: usize,
        full_size: bool,
    ) {
        if end.saturating_sub(buf.len()) < 9 {
            return;
        }
        let pto = self.recovery.pto(PacketSpace::Data);
        let Some(v) = self.paths.current.as_mut().filter(|v| v.send_pending) else {
            return;
        };
        let data = v.new_token(&mut self.rng, full_size);
        v.send_pending = false;
        v.next_send = now + pto;
        crate::frame::Frame::PathChallenge(data).encode(buf);
        self.paths.stats.challenges_sent += 1;
    }

    /// Builds a datagram for an address other than the current one: a PATH_RESPONSE owed there
    /// or a PATH_CHALLENGE for the previous path. Returns its destination.
    pub(super) fn build_off_path_datagram(
        &mut self,
        now: Instant,
        buf: &mut Vec<u8>,
    ) -> Option<SocketAddr> {
        if !matches!(self.state, State::Established) || self.space(PacketSpace::Data).keys.is_none()
        {
            return None;
        }
        let (dest, frame, budget) = if let Some(r) = self.paths.off_path_responses.pop_front() {
            self.paths.stats.responses_sent += 1;
            (r.addr, crate::frame::Frame::PathResponse(r.data), r.budget)
        } else {
            let pto = self.recovery.pto(PacketSpace::Data);
            let v = self.paths.old.as_mut().filter(|v| v.send_pending)?;
            // Its datagram is expanded to 1200 bytes below: no limit on a validated path.
            let data = v.new_token(&mut self.rng, true);
            v.send_pending = false;
            v.next_send = now + pto;
            self.paths.stats.challenges_sent += 1;
            // The previous path was validated: no amplification limit there.
            (v.addr, crate::frame::Frame::PathChallenge(data), usize::MAX)
        };
        // RFC 9000 §8.2.1, §8.2.2: expanded to 1200 bytes unless amplification-limited, in
        // which case the response still goes out at the size allowed (§8.2.2 permits it).
        let target = MIN_PROBE_DATAGRAM.min(budget);
        if target < super::send::MIN_PACKET_ROOM {
            return None;
        }
        let pn = self.space(PacketSpace::Data).next_pn;
        let header = Header::Short {
            spin: false,
            key_phase: self.key_phase,
            dst_cid: self.remote_cids.current().cid,
            number: PacketNumber::encode(pn, self.recovery.largest_acked(PacketSpace::Data)),
        };
        let partial = header.encode(buf);
        frame.encode(buf);
        self.datagram_ecn = EcnCodepoint::NotEct;
        self.sending_off_path = true;
        self.finish_packet(
            now,
            PacketSpace::Data,
            pn,
            partial,
            0,
            buf,
            Some(target),
            true,
            super::SentFrames::default(),
        );
        self.sending_off_path = false;
        Some(dest)
    }
}

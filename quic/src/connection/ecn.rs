//! ECN on the connection's path (RFC 9000 §13.4, RFC 9002 §7.1): which codepoint outgoing
//! datagrams carry, and the validation of the peer's ACK_ECN counts that decides whether we keep
//! marking and whether a growing ECN-CE count is believed as a congestion signal.
//!
//! The state machine is the one of RFC 9000 Appendix A.4: "testing" (mark ECT(0) on the first
//! [`TESTING_PACKETS`] packets, or for three PTOs), then "unknown" (no marking, waiting for the
//! acknowledgments of the marked packets), then "capable" (marking again) or "failed" (never
//! again on this path). A successful validation that covers a marked packet moves straight to
//! "capable", from "testing" as well: the path has shown it carries ECT(0) and that the peer
//! reports it, so there is nothing left to test.
//!
//! Only ECT(0) is ever sent (ECT(1) is for L4S, which we do not implement), so any ECT(1) the
//! peer reports was remarked by the network and fails validation (RFC 9000 §13.4.2.1).
//!
//! Datagrams with an Initial packet are never marked: the server's endpoint creates the
//! connection from the client's first Initial and the codepoint of that datagram does not reach
//! the connection, so counts in the Initial space would not add up; and a middlebox dropping
//! ECT packets would then stall the handshake before validation could notice.

use std::time::{Duration, Instant};

use crate::frame::EcnCounts;
use crate::recovery::{EcnCodepoint, PacketSpace};

/// RFC 9000 §13.4.2: "set an ECT codepoint for only the first ten outgoing packets on a path, or
/// for a period of three PTOs".
pub(super) const TESTING_PACKETS: u64 = 10;

/// Where ECN stands on the path (RFC 9000 Appendix A.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EcnState {
    /// Marking the first packets to see how the path and the peer treat them.
    Testing,
    /// The testing period ended; unmarked until the marked packets are acknowledged.
    Unknown,
    /// Validated: marking ECT(0), and reacting to ECN-CE.
    Capable,
    /// Validation failed, or ECN is switched off in the configuration: no marking, no reaction.
    Failed,
}

/// What one ACK frame's counts said.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Verdict {
    /// The counts are plausible; the ECN-CE count may be acted on.
    Valid { ce: u64 },
    /// Nothing to validate (no counts and no marked packet newly acknowledged, or a reordered
    /// frame); the frame's ECN-CE count is ignored.
    Ignored,
    /// Validation failed; ECN is now off.
    Failed,
}

/// ECN state of the connection's one path.
#[derive(Debug, Clone)]
pub(super) struct Ecn {
    state: EcnState,
    /// When the first marked packet went out (the testing period's three PTOs start there).
    testing_since: Option<Instant>,
    /// Marked packets sent while testing.
    testing_sent: u64,
    /// ECT(0)-marked packets sent per packet number space: the peer's ECT(0) + CE counts can
    /// never legitimately exceed this (RFC 9000 §13.4.2.1).
    sent_ect0: [u64; 3],
    /// The counts of the last ACK frame that passed validation, per space.
    peer: [EcnCounts; 3],
    /// Marked packets neither acknowledged nor declared lost nor discarded.
    marked_outstanding: u64,
    /// Marked packets acknowledged / declared lost, over the path's life.
    marked_acked: u64,
    marked_lost: u64,
}

impl Ecn {
    /// `enabled` is the configuration's switch; when off we never mark (but still report the
    /// marks we receive, which RFC 9000 §13.4.1 requires regardless).
    pub fn new(enabled: bool) -> Self {
        Self {
            state: if enabled {
                EcnState::Testing
            } else {
                EcnState::Failed
            },
            testing_since: None,
            testing_sent: 0,
            sent_ect0: [0; 3],
            peer: [EcnCounts::default(); 3],
            marked_outstanding: 0,
            marked_acked: 0,
            marked_lost: 0,
        }
    }

    pub fn state(&self) -> EcnState {
        self.state
    }

    /// The peer's counts in `space` from the last frame that passed validation.
    #[cfg(test)]
    pub fn peer_counts(&self, space: PacketSpace) -> EcnCounts {
        self.peer[space.index()]
    }

    /// The codepoint for the next datagram; `pto` is the path's current PTO period, which bounds
    /// the testing period in time.
    pub fn codepoint(&mut self, now: Instant, pto: Duration) -> EcnCodepoint {
        if self.state == EcnState::Testing {
            let expired = self
                .testing_since
                .is_some_and(|t| now.saturating_duration_since(t) >= 3 * pto);
            if expired || self.testing_sent >= TESTING_PACKETS {
                self.state = EcnState::Unknown;
            }
        }
        match self.state {
            EcnState::Testing | EcnState::Capable => EcnCodepoint::Ect0,
            EcnState::Unknown | EcnState::Failed => EcnCodepoint::NotEct,
        }
    }

    /// A packet of `space` went out in a datagram marked ECT(0).
    pub fn on_marked_sent(&mut self, now: Instant, space: PacketSpace) {
        self.sent_ect0[space.index()] += 1;
        self.marked_outstanding += 1;
        if self.state == EcnState::Testing {
            self.testing_since.get_or_insert(now);
            self.testing_sent += 1;
        }
    }

    /// A marked packet was declared lost (`lost`) or discarded with its keys.
    pub fn on_marked_gone(&mut self, lost: bool) {
        self.marked_outstanding = self.marked_outstanding.saturating_sub(1);
        if lost {
            self.marked_lost += 1;
        }
        self.check_all_lost();
    }

    /// RFC 9000 §13.4.2: "If all packets marked with non-zero ECN codepoints are subsequently
    /// lost, it can disable marking on the assumption that the marking caused the loss."
    fn check_all_lost(&mut self) {
        if matches!(self.state, EcnState::Testing | EcnState::Unknown)
            && self.marked_acked == 0
            && self.marked_lost > 0
            && self.marked_outstanding == 0
        {
            self.fail("every ECT(0)-marked packet was lost");
        }
    }

    fn fail(&mut self, why: &str) {
        if self.state != EcnState::Failed {
            tracing::debug!(why, "ECN validation failed; marking stops");
            self.state = EcnState::Failed;
        }
    }

    /// Validates an ACK frame's ECN section (RFC 9000 §13.4.2.1). `newly_acked_ect0` is the
    /// number of ECT(0)-marked packets the frame newly acknowledges; `largest_increased` says
    /// whether it raised the largest acknowledged packet number of the space.
    pub fn on_ack(
        &mut self,
        space: PacketSpace,
        counts: Option<EcnCounts>,
        newly_acked_ect0: u64,
        largest_increased: bool,
    ) -> Verdict {
        self.marked_outstanding = self.marked_outstanding.saturating_sub(newly_acked_ect0);
        self.marked_acked += newly_acked_ect0;
        if self.state == EcnState::Failed {
            // RFC 9002 §7.1: ECN-CE is only a congestion signal on a path validated for ECN.
            return Verdict::Failed;
        }
        // RFC 9000 §13.4.2.1: "An endpoint MUST NOT fail ECN validation as a result of
        // processing an ACK frame that does not increase the largest acknowledged packet
        // number."
        if !largest_increased {
            return Verdict::Ignored;
        }
        let i = space.index();
        let Some(counts) = counts else {
            if newly_acked_ect0 > 0 {
                // RFC 9000 §13.4.2.1: a newly acknowledged ECT packet without counts: the
                // network zeroes the field or the peer does not report.
                self.fail("marked packets acknowledged without ECN counts");
                return Verdict::Failed;
            }
            return Verdict::Ignored;
        };
        let prev = self.peer[i];
        if counts.ect0 < prev.ect0 || counts.ect1 < prev.ect1 || counts.ce < prev.ce {
            // Counts only grow (RFC 9000 §13.4.1); a decrease in a frame that acknowledges
            // newer packets is a peer or path error.
            self.fail("ECN counts decreased");
            return Verdict::Failed;
        }
        // RFC 9000 §13.4.2.1: "validation will fail when an endpoint receives a non-zero ECN
        // count corresponding to an ECT codepoint that it never applied", and when the ECT(0)
        // count exceeds the packets sent with it. A CE mark can only replace an ECT mark, so
        // ECT(0) + CE is bounded the same way.
        if counts.ect1 > 0 {
            self.fail("ECT(1) reported but never sent");
            return Verdict::Failed;
        }
        if counts.ect0.saturating_add(counts.ce) > self.sent_ect0[i] {
            self.fail("more ECT(0)/CE reported than ECT(0) packets sent");
            return Verdict::Failed;
        }
        // RFC 9000 §13.4.2.1: "ECN validation also fails if the sum of the increase in ECT(0)
        // and ECN-CE counts is less than the number of newly acknowledged packets that were
        // originally sent with an ECT(0) marking."
        let increase = (counts.ect0 - prev.ect0) + (counts.ce - prev.ce);
        if increase < newly_acked_ect0 {
            self.fail("ECT(0) marks lost or bleached on the path");
            return Verdict::Failed;
        }
        self.peer[i] = counts;
        if newly_acked_ect0 > 0 && self.state != EcnState::Capable {
            // RFC 9000 Appendix A.4: validation with a marked packet acknowledged makes the
            // path "capable".
            tracing::debug!("ECN validated on the path");
            self.state = EcnState::Capable;
        }
        Verdict::Valid { ce: counts.ce }
    }
}

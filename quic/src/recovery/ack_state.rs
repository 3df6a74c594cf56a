//! Generating acknowledgments for one packet number space (RFC 9000 §13.2): which packets to
//! acknowledge, when an ACK frame is due, the ACK Delay to report and the ECN counts.
//!
//! The connection drives it in four places:
//!
//! 1. after removing packet protection, [`AckState::is_duplicate`] says whether to drop the
//!    packet (RFC 9000 §12.3: duplicate suppression "MUST happen after removing packet
//!    protection");
//! 2. once every frame of the packet was processed, [`AckState::on_packet_received`] records it
//!    (RFC 9000 §13.1: "A packet MUST NOT be acknowledged until packet protection has been
//!    successfully removed and all frames contained in the packet have been processed");
//! 3. when building a packet, [`AckState::should_send_ack`] (and [`AckState::ack_deadline`] for
//!    the timer) says whether an ACK frame must go out now, [`AckState::ack_ranges`],
//!    [`AckState::ack_delay`] and [`AckState::ecn_counts`] fill it, and
//!    [`AckState::on_ack_sent`] records that it went out;
//! 4. when a packet that carried an ACK frame is acknowledged, [`AckState::on_ack_frame_acked`]
//!    stops reporting what that frame covered (RFC 9000 §13.2.4).

use super::ack_ranges::AckRanges;
use super::PacketSpace;
use std::ops::Range;
use std::time::{Duration, Instant};

/// The ECN codepoint of the IP header a packet arrived in (RFC 3168 §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum EcnCodepoint {
    /// Not-ECT, or the platform cannot read the ECN field.
    #[default]
    NotEct,
    /// ECT(0).
    Ect0,
    /// ECT(1).
    Ect1,
    /// Congestion Experienced.
    Ce,
}

impl EcnCodepoint {
    /// The codepoint of the two low bits of an IPv4 TOS or IPv6 Traffic Class byte (RFC 3168
    /// §5: 00 Not-ECT, 01 ECT(1), 10 ECT(0), 11 CE).
    pub fn from_bits(tos: u8) -> Self {
        match tos & 0b11 {
            0b01 => Self::Ect1,
            0b10 => Self::Ect0,
            0b11 => Self::Ce,
            _ => Self::NotEct,
        }
    }

    /// The two ECN bits of the TOS / Traffic Class byte for this codepoint.
    pub fn to_bits(self) -> u8 {
        match self {
            Self::NotEct => 0b00,
            Self::Ect1 => 0b01,
            Self::Ect0 => 0b10,
            Self::Ce => 0b11,
        }
    }
}

/// ECN counters for one packet number space, as reported in ACK_ECN frames (RFC 9000 §13.4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct EcnCounters {
    /// Packets received with ECT(0).
    pub ect0: u64,
    /// Packets received with ECT(1).
    pub ect1: u64,
    /// Packets received with ECN-CE.
    pub ce: u64,
}

/// RFC 9000 §13.2.2: "A receiver SHOULD send an ACK frame after receiving at least two
/// ack-eliciting packets."
pub const DEFAULT_ACK_ELICITING_THRESHOLD: u32 = 2;

/// Pending-acknowledgment state for one packet number space.
#[derive(Debug, Clone)]
pub struct AckState {
    ranges: AckRanges,
    /// Initial and Handshake packets are acknowledged immediately (RFC 9000 §13.2.1).
    no_delay: bool,
    /// Our own max_ack_delay transport parameter.
    max_ack_delay: Duration,
    ack_eliciting_threshold: u32,
    /// Largest packet number received and when; the ACK Delay is measured from it (§13.2.5).
    largest: Option<(u64, Instant)>,
    largest_ack_eliciting: Option<u64>,
    /// Ack-eliciting packets received since the last ACK frame was sent.
    unacked_ack_eliciting: u32,
    /// Any packet received since the last ACK frame was sent.
    unacked_any: bool,
    /// When an ACK frame must be sent: the receive time for an immediate ACK, or the
    /// max_ack_delay deadline. `None` when no ack-eliciting packet awaits acknowledgment.
    deadline: Option<Instant>,
    ecn: EcnCounters,
    ecn_seen: bool,
}

impl AckState {
    /// State for `space`. `max_ack_delay` is the value of our own transport parameter; it only
    /// matters for the application data space.
    pub fn new(space: PacketSpace, max_ack_delay: Duration) -> Self {
        Self::with_ranges(space, max_ack_delay, AckRanges::default())
    }

    /// Like [`AckState::new`] with a custom range set (for a different range bound).
    pub fn with_ranges(space: PacketSpace, max_ack_delay: Duration, ranges: AckRanges) -> Self {
        Self {
            ranges,
            no_delay: space != PacketSpace::Data,
            max_ack_delay,
            ack_eliciting_threshold: DEFAULT_ACK_ELICITING_THRESHOLD,
            largest: None,
            largest_ack_eliciting: None,
            unacked_ack_eliciting: 0,
            unacked_any: false,
            deadline: None,
            ecn: EcnCounters::default(),
            ecn_seen: false,
        }
    }

    /// Changes how many ack-eliciting packets trigger an immediate ACK (at least 1).
    pub fn set_ack_eliciting_threshold(&mut self, threshold: u32) {
        self.ack_eliciting_threshold = threshold.max(1);
    }

    /// Changes our max_ack_delay (it must match what we advertised).
    pub fn set_max_ack_delay(&mut self, max_ack_delay: Duration) {
        self.max_ack_delay = max_ack_delay;
    }

    /// Whether a packet with this number must be discarded as a duplicate (RFC 9000 §12.3).
    pub fn is_duplicate(&self, pn: u64) -> bool {
        self.ranges.contains(pn)
    }

    /// Records a fully processed packet. Returns `false`, recording nothing, if it is a
    /// duplicate; the caller should have dropped it after [`AckState::is_duplicate`] anyway.
    pub fn on_packet_received(
        &mut self,
        now: Instant,
        pn: u64,
        ack_eliciting: bool,
        ecn: EcnCodepoint,
    ) -> bool {
        if !self.ranges.insert(pn) {
            return false;
        }
        // RFC 9000 §13.4.1: counts grow only for processed, non-duplicate packets.
        match ecn {
            EcnCodepoint::NotEct => {}
            EcnCodepoint::Ect0 => self.ecn.ect0 = self.ecn.ect0.saturating_add(1),
            EcnCodepoint::Ect1 => self.ecn.ect1 = self.ecn.ect1.saturating_add(1),
            EcnCodepoint::Ce => self.ecn.ce = self.ecn.ce.saturating_add(1),
        }
        self.ecn_seen |= ecn != EcnCodepoint::NotEct;
        if self.largest.map_or(true, |(largest, _)| pn > largest) {
            self.largest = Some((pn, now));
        }
        self.unacked_any = true;
        if !ack_eliciting {
            // RFC 9000 §13.2.1: "An endpoint MUST NOT send a non-ack-eliciting packet in
            // response to a non-ack-eliciting packet, even if there are packet gaps that precede
            // the received packet." Such packets only ride along with a later ACK.
            return true;
        }
        self.unacked_ack_eliciting = self.unacked_ack_eliciting.saturating_add(1);
        let immediate = self.no_delay
            // RFC 9000 §13.2.2: ACK after at least two ack-eliciting packets.
            || self.unacked_ack_eliciting >= self.ack_eliciting_threshold
            // RFC 9000 §13.2.1: CE-marked packets "SHOULD be acknowledged immediately".
            || ecn == EcnCodepoint::Ce
            || self.out_of_order(pn);
        self.largest_ack_eliciting = Some(self.largest_ack_eliciting.map_or(pn, |l| l.max(pn)));
        let due = if immediate {
            // RFC 9000 §13.2.1: "An endpoint MUST acknowledge all ack-eliciting Initial and
            // Handshake packets immediately".
            now
        } else {
            // RFC 9000 §13.2.1: ack-eliciting 0-RTT and 1-RTT packets are acknowledged "within
            // its advertised max_ack_delay".
            now.checked_add(self.max_ack_delay).unwrap_or(now)
        };
        self.deadline = Some(self.deadline.map_or(due, |d| d.min(due)));
        true
    }

    /// RFC 9000 §13.2.1: an ACK frame SHOULD go out without delay when an ack-eliciting packet
    /// "has a packet number less than another ack-eliciting packet that has been received" or is
    /// above the highest one "and there are missing packets between that packet and this
    /// packet". `pn` is already in the range set.
    fn out_of_order(&self, pn: u64) -> bool {
        let Some(largest) = self.largest_ack_eliciting else {
            return false;
        };
        if pn < largest {
            return true;
        }
        // Anything below the floor was received or given up on, so it is not a gap.
        let from = largest.saturating_add(1).max(self.ranges.floor());
        from < pn && !self.ranges.contains_all(from..pn)
    }

    /// Whether an ACK frame must be sent now: an immediate ACK is pending or the max_ack_delay
    /// deadline has passed. The ACK may go in a packet of its own (RFC 9000 §13.2.1 allows one
    /// ACK-only packet per ack-eliciting packet received, which this respects since the state
    /// resets on [`AckState::on_ack_sent`]).
    pub fn should_send_ack(&self, now: Instant) -> bool {
        self.deadline.is_some_and(|d| d <= now)
    }

    /// When an ACK frame will be due, for the connection's timer. A deadline at or before the
    /// current time means "send now".
    pub fn ack_deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// Whether there is anything new to acknowledge: worth adding an ACK frame to a packet that
    /// is being sent anyway (RFC 9000 §13.2: "When sending a packet for any reason, an endpoint
    /// SHOULD attempt to include an ACK frame if one has not been sent recently").
    pub fn has_new_packets(&self) -> bool {
        self.unacked_any && !self.ranges.is_empty()
    }

    /// Whether ack-eliciting packets await acknowledgment.
    pub fn ack_eliciting_pending(&self) -> bool {
        self.unacked_ack_eliciting > 0
    }

    /// Records that an ACK frame built from the current ranges was sent.
    pub fn on_ack_sent(&mut self) {
        self.unacked_ack_eliciting = 0;
        self.unacked_any = false;
        self.deadline = None;
    }

    /// A packet carrying an ACK frame whose Largest Acknowledged was `largest` was itself
    /// acknowledged: RFC 9000 §13.2.3 "After receiving acknowledgments for an ACK frame, the
    /// receiver SHOULD stop tracking those acknowledged ACK Ranges." Packet numbers up to
    /// `largest` are then refused as duplicates (see [`AckRanges::prune_through`]).
    pub fn on_ack_frame_acked(&mut self, largest: u64) {
        self.ranges.prune_through(largest);
    }

    /// The ranges to acknowledge, ascending and half-open (the order
    /// [`crate::frame::AckEncoder::ascending`] takes). Empty when nothing needs acknowledging.
    pub fn ack_ranges(&self) -> &[Range<u64>] {
        self.ranges.as_slice()
    }

    /// The range set itself.
    pub fn ranges(&self) -> &AckRanges {
        &self.ranges
    }

    /// The largest packet number received and when it was received. It is kept even after its
    /// range is pruned: RFC 9000 §13.2.3 says receivers "MUST retain the largest packet number
    /// that has been successfully processed" for packet number decoding.
    pub fn largest_received(&self) -> Option<(u64, Instant)> {
        self.largest
    }

    /// The ACK Delay to report: time since the largest packet number was received (RFC 9000
    /// §13.2.5). The caller encodes it in microseconds divided by 2^ack_delay_exponent (RFC 9000
    /// §19.3). It is reported in every space; for Initial packets the peer may ignore it (RFC
    /// 9002 §5.3).
    pub fn ack_delay(&self, now: Instant) -> Duration {
        self.largest
            .map_or(Duration::ZERO, |(_, at)| now.saturating_duration_since(at))
    }

    /// The ECN counters, once any ECN-marked packet arrived. RFC 9000 §13.4.1: an endpoint
    /// "MUST provide feedback about ECN markings it receives, if these are accessible".
    pub fn ecn_counts(&self) -> Option<EcnCounters> {
        self.ecn_seen.then_some(self.ecn)
    }
}

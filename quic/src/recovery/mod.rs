//! Loss detection and acknowledgment generation (RFC 9002 §5–§6, RFC 9000 §13.2).
//!
//! - [`AckState`] (receiver side, one per packet number space): which packets to acknowledge and
//!   when, over a bounded [`AckRanges`] set that also discards duplicates.
//! - [`RttEstimator`]: RFC 9002 §5.
//! - [`Recovery`] (sender side, one per path): sent-packet tracking in the three packet number
//!   spaces, acknowledgment processing, packet- and time-threshold loss detection, the probe
//!   timeout, persistent congestion, and the congestion controller it feeds
//!   ([`crate::congestion::Controller`]).
//!
//! # Who tracks bytes in flight
//!
//! [`Recovery`] does: it alone knows which tracked packets are in flight, and it removes them
//! when they are acknowledged, lost or discarded with their keys. Controllers are told about
//! each event but keep no count of their own; [`Recovery::can_send`] compares the count with
//! [`crate::congestion::Controller::window`].
//!
//! # Driving [`Recovery`] from a connection
//!
//! - **On send**: for every packet number used, [`Recovery::on_packet_sent`] (ACK-only packets
//!   included, with `in_flight = false`, so their acknowledgment hands the token back); for a
//!   number deliberately skipped, [`Recovery::on_packet_number_skipped`]. Before building an
//!   in-flight packet, check [`Recovery::can_send`] unless [`Recovery::probes_pending`] says a
//!   probe is owed (RFC 9002 §7.5: "Probe packets MUST NOT be blocked by the congestion
//!   controller").
//! - **On an ACK frame**: [`Recovery::on_ack_received`] with the frame's ranges (largest
//!   first), the scaled ACK Delay, and the ECN-CE count if the path's ECN is validated (or
//!   [`Recovery::on_ack_received_with`], to validate the counts against the newly acknowledged
//!   packets first). Newly acknowledged and newly lost packets come back in a reusable
//!   [`AckOutcome`] with their tokens: free the frame records of acknowledged ones, requeue
//!   what lost ones carried (RFC 9000 §13.3). An `Err` is a connection error to close with.
//! - **On the timer**: [`Recovery::loss_detection_timer`] is one of the connection's deadlines;
//!   when it passes, [`Recovery::on_loss_detection_timeout`] says what to do
//!   ([`TimeoutOutcome`]).
//! - **On handshake progress**: [`Recovery::set_handshake_keys_available`],
//!   [`Recovery::set_handshake_confirmed`], [`Recovery::discard_space`] when Initial or
//!   Handshake keys are dropped, [`Recovery::set_amplification_blocked`] (server),
//!   [`Recovery::set_peer_max_ack_delay`] once transport parameters arrive,
//!   [`Recovery::on_zero_rtt_rejected`], [`Recovery::on_retry`].
//!
//! ```
//! use quic::crypto::Side;
//! use quic::recovery::{AckOutcome, PacketSpace, Recovery, RecoveryConfig, TimeoutOutcome};
//! use std::time::{Duration, Instant};
//!
//! # let start = Instant::now();
//! // The token is the connection's handle on what each packet carried.
//! let mut recovery: Recovery<u32> = Recovery::new(RecoveryConfig::new(Side::Server));
//! recovery.set_handshake_confirmed(start);
//! recovery.on_packet_sent(start, PacketSpace::Data, 0, 1200, true, true, 70);
//! recovery.on_packet_sent(start, PacketSpace::Data, 1, 1200, true, true, 71);
//!
//! let mut out = AckOutcome::new(); // reused for every call
//! let ack_time = start + Duration::from_millis(30);
//! recovery
//!     .on_ack_received(ack_time, PacketSpace::Data, [1..=1], Duration::ZERO, None, &mut out)
//!     .expect("packet 1 was sent");
//! assert_eq!(out.acked[0].token, 71);
//!
//! // Packet 0 is not yet lost (one packet behind, 30 ms old): a loss timer is armed.
//! let deadline = recovery.loss_detection_timer().unwrap();
//! let outcome = recovery.on_loss_detection_timeout(deadline, &mut out);
//! assert!(matches!(outcome, TimeoutOutcome::Lost { space: PacketSpace::Data, .. }));
//! assert_eq!(out.lost[0].token, 70);
//! ```
//!
//! # Simplifications
//!
//! Persistent congestion (RFC 9002 §7.6.2) is judged from the packets declared lost together
//! in one packet number space, which §7.6.2 permits ("MAY use state for just the packet number
//! space that was acknowledged"). ECN validation (RFC 9000 §13.4.2) is left to the connection,
//! which decides through [`Recovery::on_ack_received_with`] whether a frame's ECN-CE count is
//! believed.

pub mod ack_ranges;
pub mod ack_state;
pub mod rtt;
mod sent;

#[cfg(test)]
mod tests;

pub use ack_ranges::AckRanges;
pub use ack_state::{AckState, EcnCodepoint, EcnCounters};
pub use rtt::{RttEstimator, GRANULARITY, INITIAL_RTT};
pub use sent::{SentPacket, PACKET_THRESHOLD};

use crate::congestion::{CongestionConfig, Controller};
use crate::crypto::Side;
use crate::transport_error::TransportError;
use sent::{LossScan, SentPackets};
use std::ops::RangeInclusive;
use std::time::{Duration, Instant};

/// kPersistentCongestionThreshold (RFC 9002 §7.6.1: "The RECOMMENDED value for
/// kPersistentCongestionThreshold is 3").
pub const PERSISTENT_CONGESTION_THRESHOLD: u32 = 3;

/// The PTO backoff stops doubling after this many consecutive timeouts; by then the idle
/// timeout has long closed the connection, and it keeps the arithmetic far from overflow.
const MAX_PTO_BACKOFF_EXPONENT: u32 = 16;

/// Upper bound on any timer this module computes from peer-influenced values, so that adding
/// it to an `Instant` cannot overflow.
const MAX_TIMER: Duration = Duration::from_secs(24 * 60 * 60);

/// Default `max_ack_delay` assumed for the peer until its transport parameters arrive (RFC 9000
/// §18.2: "If this value is absent, a default of 25 milliseconds is assumed").
pub const DEFAULT_MAX_ACK_DELAY: Duration = Duration::from_millis(25);

/// The three packet number spaces (RFC 9000 §12.3). 0-RTT and 1-RTT share [`PacketSpace::Data`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PacketSpace {
    /// Initial packets.
    Initial,
    /// Handshake packets.
    Handshake,
    /// 0-RTT and 1-RTT packets (application data).
    Data,
}

impl PacketSpace {
    /// All spaces, in the order RFC 9002 Appendix A.8 walks them.
    pub const ALL: [Self; 3] = [Self::Initial, Self::Handshake, Self::Data];

    /// An index for per-space arrays.
    pub const fn index(self) -> usize {
        self as usize
    }
}

/// What [`Recovery`] needs to start.
#[derive(Debug, Clone)]
pub struct RecoveryConfig {
    /// Which end of the connection this is; address validation rules differ (RFC 9002
    /// §6.2.2.1).
    pub side: Side,
    /// kInitialRtt, or the previous connection's smoothed RTT when resuming (RFC 9002 §6.2.2).
    pub initial_rtt: Duration,
    /// The current maximum datagram size (RFC 9002 Appendix B.2: at least 1200).
    pub max_datagram_size: u64,
    /// The congestion controller to build.
    pub congestion: CongestionConfig,
}

impl RecoveryConfig {
    /// Defaults for `side`: 333 ms initial RTT, 1200-byte datagrams, NewReno.
    pub fn new(side: Side) -> Self {
        Self {
            side,
            initial_rtt: INITIAL_RTT,
            max_datagram_size: 1200,
            congestion: CongestionConfig::default(),
        }
    }
}

/// Packets resolved by an acknowledgment or a timeout. Keep one per connection and pass it to
/// every call: it is cleared first, and reusing it keeps the hot path free of allocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AckOutcome<T> {
    /// Packets newly acknowledged, in no particular order.
    pub acked: Vec<SentPacket<T>>,
    /// Packets newly declared lost, in packet number order.
    pub lost: Vec<SentPacket<T>>,
}

impl<T> Default for AckOutcome<T> {
    fn default() -> Self {
        Self {
            acked: Vec::new(),
            lost: Vec::new(),
        }
    }
}

impl<T> AckOutcome<T> {
    /// An empty outcome.
    pub fn new() -> Self {
        Self::default()
    }

    /// Empties both lists, keeping their capacity.
    pub fn clear(&mut self) {
        self.acked.clear();
        self.lost.clear();
    }
}

/// What one ACK frame did, beyond the packets listed in the [`AckOutcome`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AckSummary {
    /// An RTT sample was taken (RFC 9002 §5.1).
    pub rtt_sampled: bool,
    /// The peer's ECN-CE count grew and was reported to the controller (RFC 9002 §7.1).
    pub ecn_ce_increased: bool,
    /// Persistent congestion was established (RFC 9002 §7.6).
    pub persistent_congestion: bool,
    /// Packets acknowledged after having been declared lost.
    pub spurious_losses: usize,
}

/// What the connection must do after [`Recovery::on_loss_detection_timeout`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeoutOutcome {
    /// The timer was not due, or there was nothing left to do.
    Nothing,
    /// Time-threshold loss detection declared packets lost in `space`; they are in
    /// [`AckOutcome::lost`].
    Lost {
        /// The space whose packets were lost.
        space: PacketSpace,
        /// Whether the losses established persistent congestion.
        persistent_congestion: bool,
    },
    /// The probe timeout fired: send `count` ack-eliciting packets in `space`, even beyond the
    /// congestion window (RFC 9002 §6.2.4, §7.5). New data is preferred, else data still
    /// unacknowledged, else a PING. RFC 9002 §6.2.4 adds that the sender "SHOULD send
    /// ack-eliciting packets from other packet number spaces with in-flight data, coalescing
    /// packets if possible".
    Probe {
        /// The space to probe.
        space: PacketSpace,
        /// How many probe packets (1 or 2).
        count: u8,
    },
    /// A client that might be blocking the server's anti-amplification limit must send one
    /// ack-eliciting packet (RFC 9002 §6.2.2.1): "a Handshake packet if it has Handshake keys,
    /// otherwise it MUST send an Initial packet in a UDP datagram with a payload of at least
    /// 1200 bytes."
    AntiDeadlock {
        /// [`PacketSpace::Handshake`] or [`PacketSpace::Initial`].
        space: PacketSpace,
    },
}

/// Counters for logging and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RecoveryStats {
    /// Packets declared lost.
    pub lost_packets: u64,
    /// Bytes of in-flight packets declared lost.
    pub lost_bytes: u64,
    /// Packets acknowledged after being declared lost.
    pub spurious_losses: u64,
    /// Probe timeouts that fired.
    pub ptos: u64,
    /// Congestion events reported to the controller (losses and ECN-CE).
    pub congestion_events: u64,
    /// Times persistent congestion was established.
    pub persistent_congestion: u64,
}

/// The per-path part of recovery: RTT estimate and congestion controller (RFC 9000 §9.4),
/// set aside while the connection tries another path.
#[derive(Debug)]
pub struct PathCongestion {
    rtt: RttEstimator,
    cc: Box<dyn Controller>,
}

/// Sender-side loss recovery for one path: RFC 9002 §6 and Appendix A, feeding a congestion
/// controller (§7).
///
/// `T` is whatever the connection needs to know what a packet carried, e.g. an index into its
/// own table of frame records; it is handed back when the packet is resolved.
#[derive(Debug)]
pub struct Recovery<T> {
    side: Side,
    config: RecoveryConfig,
    spaces: [SentPackets<T>; 3],
    /// Spaces whose keys were discarded (RFC 9002 §6.4); nothing more is tracked in them.
    discarded: [bool; 3],
    rtt: RttEstimator,
    cc: Box<dyn Controller>,
    pto_count: u32,
    timer: Option<Instant>,
    peer_max_ack_delay: Duration,
    handshake_confirmed: bool,
    has_handshake_keys: bool,
    /// A client received an acknowledgment in the Handshake space, so the server validated its
    /// address (RFC 9002 Appendix A.8 `PeerCompletedAddressValidation`).
    handshake_acked: bool,
    amplification_blocked: bool,
    app_limited: bool,
    /// Probe packets owed after a PTO, per space.
    probes: [u8; 3],
    /// One packet may exceed the window right after entering recovery (RFC 9002 Appendix B.6
    /// `MaybeSendOnePacket`).
    recovery_packet: bool,
    stats: RecoveryStats,
}

impl<T> Recovery<T> {
    /// Fresh state (RFC 9002 Appendix A.4, B.3).
    pub fn new(config: RecoveryConfig) -> Self {
        let cc = config.congestion.build(config.max_datagram_size);
        Self {
            side: config.side,
            rtt: RttEstimator::new(config.initial_rtt),
            config,
            spaces: Default::default(),
            discarded: [false; 3],
            cc,
            pto_count: 0,
            timer: None,
            peer_max_ack_delay: DEFAULT_MAX_ACK_DELAY,
            handshake_confirmed: false,
            has_handshake_keys: false,
            handshake_acked: false,
            amplification_blocked: false,
            app_limited: false,
            probes: [0; 3],
            recovery_packet: false,
            stats: RecoveryStats::default(),
        }
    }

    /// Records a sent packet (RFC 9002 Appendix A.5, B.4).
    ///
    /// `size` counts the QUIC packet with header and AEAD tag, not UDP/IP. `in_flight` is true
    /// for packets with any frame other than ACK and CONNECTION_CLOSE (PADDING included: RFC
    /// 9000 §13.2.7); an ack-eliciting packet is always in flight. Packet numbers must grow
    /// within a space (RFC 9000 §12.3); a packet that breaks this, or is sent in a discarded
    /// space, is a connection bug and is not tracked.
    #[allow(clippy::too_many_arguments)]
    pub fn on_packet_sent(
        &mut self,
        now: Instant,
        space: PacketSpace,
        pn: u64,
        size: usize,
        ack_eliciting: bool,
        in_flight: bool,
        token: T,
    ) {
        let i = space.index();
        if self.discarded[i] || !self.spaces[i].is_next(pn) {
            debug_assert!(false, "packet {pn} in {space:?} is not trackable");
            return;
        }
        let in_flight = in_flight || ack_eliciting;
        // UDP payloads cannot exceed 65527 bytes, so this never saturates in practice.
        let size = u16::try_from(size).unwrap_or(u16::MAX);
        self.spaces[i].push(pn, now, size, ack_eliciting, in_flight, token);
        if ack_eliciting {
            self.probes[i] = self.probes[i].saturating_sub(1);
        }
        if in_flight {
            let bytes_in_flight = self.bytes_in_flight();
            self.cc
                .on_packet_sent(now, u64::from(size), bytes_in_flight);
            // RFC 9002 §7.8: a sender that fills the window is not application limited.
            if bytes_in_flight >= self.cc.window() {
                self.app_limited = false;
            }
            if bytes_in_flight > self.cc.window() {
                // That was the one packet allowed beyond the window on entering recovery (or
                // a probe, which does not need the allowance).
                self.recovery_packet = false;
            }
            self.set_loss_detection_timer(now);
        }
    }

    /// Records that packet number `pn` was deliberately not used, so that an acknowledgment for
    /// it is caught as one for a packet never sent (RFC 9000 §21.4, §13.1).
    pub fn on_packet_number_skipped(&mut self, space: PacketSpace, pn: u64) {
        let sent = &mut self.spaces[space.index()];
        if sent.is_next(pn) {
            sent.skip(pn);
        }
    }

    /// Processes an ACK frame received in `space` (RFC 9002 Appendix A.7).
    ///
    /// `ranges` are the acknowledged ranges, inclusive, normally from the largest down (as
    /// [`crate::frame::Ack::iter`] yields them); any order and overlap is tolerated. It is
    /// walked twice, to validate before changing anything. `ack_delay` is the ACK Delay field
    /// scaled by the peer's ack_delay_exponent. `ecn_ce` is the frame's ECN-CE count, to pass
    /// only when ECN is validated on the path.
    ///
    /// Fails with PROTOCOL_VIOLATION if the frame acknowledges a packet number above the largest
    /// sent in the space or one that was skipped (RFC 9000 §13.1: "An endpoint SHOULD treat
    /// receipt of an acknowledgment for a packet it did not send as a connection error of type
    /// PROTOCOL_VIOLATION, if it is able to detect the condition").
    pub fn on_ack_received<I>(
        &mut self,
        now: Instant,
        space: PacketSpace,
        ranges: I,
        ack_delay: Duration,
        ecn_ce: Option<u64>,
        out: &mut AckOutcome<T>,
    ) -> Result<AckSummary, TransportError>
    where
        I: IntoIterator<Item = RangeInclusive<u64>>,
        I::IntoIter: Clone,
    {
        self.on_ack_received_with(now, space, ranges, ack_delay, |_| ecn_ce, out)
            .map_err(|e| match ecn_ce {
                Some(_) => e.with_frame(0x03),
                None => e,
            })
    }

    /// Like [`Recovery::on_ack_received`], but the ECN-CE count to act on is decided by
    /// `ecn_ce` once the newly acknowledged packets are known: ECN validation (RFC 9000
    /// §13.4.2.1) needs to know how many of them were sent ECT-marked before the count may be
    /// believed. It is called once, only if the frame newly acknowledges something, before
    /// loss detection and the controller's acknowledgment processing, the order of RFC 9002
    /// Appendix A.7. Errors carry frame type 0x02; the caller knows the real one.
    pub fn on_ack_received_with<I, F>(
        &mut self,
        now: Instant,
        space: PacketSpace,
        ranges: I,
        ack_delay: Duration,
        ecn_ce: F,
        out: &mut AckOutcome<T>,
    ) -> Result<AckSummary, TransportError>
    where
        I: IntoIterator<Item = RangeInclusive<u64>>,
        I::IntoIter: Clone,
        F: FnOnce(&[SentPacket<T>]) -> Option<u64>,
    {
        out.clear();
        // The allowance of one packet beyond the window only follows the ACK that entered
        // recovery.
        self.recovery_packet = false;
        let mut summary = AckSummary::default();
        let i = space.index();
        if self.discarded[i] {
            // Keys are gone, so such a frame cannot arrive; ignore rather than fail.
            return Ok(summary);
        }
        let ranges = ranges.into_iter();
        let frame_type = 0x02;
        let mut largest: Option<u64> = None;
        for range in ranges.clone() {
            if range.is_empty() {
                continue;
            }
            let sent = &self.spaces[i];
            if sent.largest_sent.map_or(true, |l| *range.end() > l) {
                return Err(TransportError::protocol_violation(
                    "ACK for a packet number that was never sent",
                )
                .with_frame(frame_type));
            }
            if sent.covers_skipped(&range) {
                return Err(
                    TransportError::protocol_violation("ACK for a skipped packet number")
                        .with_frame(frame_type),
                );
            }
            largest = Some(largest.map_or(*range.end(), |l| l.max(*range.end())));
        }
        let Some(largest) = largest else {
            return Ok(summary);
        };

        // Lost packets are remembered for about three PTOs to recognise spurious losses.
        let keep_lost = self.persistent_congestion_duration();
        let sent = &mut self.spaces[i];
        sent.largest_acked = Some(sent.largest_acked.map_or(largest, |l| l.max(largest)));
        if space == PacketSpace::Handshake {
            self.handshake_acked = true;
        }
        for range in ranges {
            if !range.is_empty() {
                summary.spurious_losses += sent.ack_range(range, &mut out.acked);
            }
        }
        self.stats.spurious_losses += summary.spurious_losses as u64;
        if out.acked.is_empty() {
            // RFC 9002 Appendix A.7: "Nothing to do if there are no newly acked packets."
            // A duplicate or reordered ACK ends here without touching RTT, PTO or the window.
            sent.pop_resolved(now, keep_lost);
            return Ok(summary);
        }

        // RFC 9002 §5.1: a sample only if the largest acknowledged is newly acknowledged and
        // at least one newly acknowledged packet was ack-eliciting.
        let newest = out
            .acked
            .iter()
            .max_by_key(|p| p.pn)
            .map(|p| (p.pn, p.time_sent));
        let any_eliciting = out.acked.iter().any(|p| p.ack_eliciting);
        if let Some((pn, time_sent)) = newest {
            if pn == largest && any_eliciting {
                let latest = now.saturating_duration_since(time_sent);
                // RFC 9002 §5.3: an endpoint "MAY ignore the acknowledgment delay for Initial
                // packets, since these acknowledgments are not delayed by the peer".
                let ack_delay = if space == PacketSpace::Initial {
                    Duration::ZERO
                } else {
                    ack_delay
                };
                let max_ack_delay = self.handshake_confirmed.then_some(self.peer_max_ack_delay);
                self.rtt.update(now, latest, ack_delay, max_ack_delay);
                summary.rtt_sampled = true;
            }
            // RFC 9002 §7.1, Appendix B.7: an increase of the ECN-CE count is a congestion
            // event dated by the send time of the packet that carried the news.
            if let Some(ce) = ecn_ce(&out.acked) {
                let sent = &mut self.spaces[i];
                if ce > sent.ecn_ce {
                    sent.ecn_ce = ce;
                    summary.ecn_ce_increased = true;
                    self.stats.congestion_events += 1;
                    self.congestion_event(now, time_sent, false, 0);
                }
            }
        }

        let scan = self.detect_and_handle_lost(now, space, &mut out.lost);
        summary.persistent_congestion = scan.persistent_congestion;

        // RFC 9002 Appendix B.5 OnPacketsAcked.
        for packet in out.acked.iter().filter(|p| p.in_flight) {
            let bytes = u64::from(packet.size);
            self.cc
                .on_ack(now, packet.time_sent, bytes, self.app_limited, &self.rtt);
        }

        // RFC 9002 §6.2.1: "The PTO backoff factor is reset when an acknowledgment is
        // received, except ... a client does not reset the PTO backoff factor on receiving
        // acknowledgments in Initial packets."
        if self.peer_completed_address_validation() {
            self.pto_count = 0;
        }
        self.spaces[i].pop_resolved(now, keep_lost);
        self.set_loss_detection_timer(now);
        Ok(summary)
    }

    /// Handles expiry of [`Recovery::loss_detection_timer`] (RFC 9002 Appendix A.9). Lost
    /// packets, if any, are put in `out.lost`. Calling it early is harmless: it returns
    /// [`TimeoutOutcome::Nothing`].
    pub fn on_loss_detection_timeout(
        &mut self,
        now: Instant,
        out: &mut AckOutcome<T>,
    ) -> TimeoutOutcome {
        out.clear();
        if self.timer.map_or(true, |t| t > now) {
            return TimeoutOutcome::Nothing;
        }
        if let Some((_, space)) = self.earliest_loss_time() {
            // Time-threshold loss detection (RFC 9002 §6.1.2).
            let scan = self.detect_and_handle_lost(now, space, &mut out.lost);
            let keep_lost = self.persistent_congestion_duration();
            self.spaces[space.index()].pop_resolved(now, keep_lost);
            self.set_loss_detection_timer(now);
            return TimeoutOutcome::Lost {
                space,
                persistent_congestion: scan.persistent_congestion,
            };
        }
        // RFC 9002 §6.2: "A PTO timer expiration event does not indicate packet loss and MUST
        // NOT cause prior unacknowledged packets to be marked as lost."
        let outcome = if !self.has_ack_eliciting_in_flight() {
            if self.peer_completed_address_validation() {
                // Nothing to probe for; only reachable through a stale timer.
                self.set_loss_detection_timer(now);
                return TimeoutOutcome::Nothing;
            }
            TimeoutOutcome::AntiDeadlock {
                space: self.anti_deadlock_space(),
            }
        } else {
            let Some((_, space)) = self.pto_time_and_space(now) else {
                self.set_loss_detection_timer(now);
                return TimeoutOutcome::Nothing;
            };
            // RFC 9002 §6.2.4: "An endpoint MAY send up to two full-sized datagrams containing
            // ack-eliciting packets to avoid an expensive consecutive PTO expiration due to a
            // single lost datagram".
            TimeoutOutcome::Probe { space, count: 2 }
        };
        match outcome {
            TimeoutOutcome::Probe { space, count } => self.probes[space.index()] = count,
            TimeoutOutcome::AntiDeadlock { space } => self.probes[space.index()] = 1,
            _ => {}
        }
        // RFC 9002 §6.2.1: "When a PTO timer expires, the PTO backoff MUST be increased".
        self.pto_count = self.pto_count.saturating_add(1);
        self.stats.ptos += 1;
        self.set_loss_detection_timer(now);
        outcome
    }

    /// When [`Recovery::on_loss_detection_timeout`] must run, if at all. It may be in the past
    /// (RFC 9002 Appendix A.8: "Timers set in the past fire immediately").
    pub fn loss_detection_timer(&self) -> Option<Instant> {
        self.timer
    }

    /// Drops all state of `space` when its keys are discarded (RFC 9002 §6.4, Appendix A.11):
    /// "The sender MUST discard all recovery state associated with those packets and MUST
    /// remove them from the count of bytes in flight." The packets are neither acknowledged nor
    /// lost, so the controller only hears of them through
    /// [`Controller::on_packet_discarded`]; their tokens are appended to `out`.
    pub fn discard_space(
        &mut self,
        now: Instant,
        space: PacketSpace,
        out: &mut Vec<SentPacket<T>>,
    ) {
        let i = space.index();
        if self.discarded[i] {
            return;
        }
        self.drop_outstanding(space, out);
        self.discarded[i] = true;
        self.probes[i] = 0;
        if space == PacketSpace::Handshake {
            // Handshake keys are discarded once the handshake is confirmed (RFC 9001 §4.9.2).
            self.handshake_acked = true;
        }
        self.pto_count = 0;
        // RFC 9002 §6.2.2: "When Initial or Handshake keys are discarded, the PTO and loss
        // detection timers MUST be reset".
        self.set_loss_detection_timer(now);
    }

    /// 0-RTT was rejected: RFC 9002 §6.4 "recovery state for all in-flight 0-RTT packets is
    /// discarded". Call before sending any 1-RTT packet; the tokens go to `out` so that their
    /// data can be sent again in 1-RTT packets.
    pub fn on_zero_rtt_rejected(&mut self, now: Instant, out: &mut Vec<SentPacket<T>>) {
        self.drop_outstanding(PacketSpace::Data, out);
        self.set_loss_detection_timer(now);
    }

    /// A client processed a Retry: RFC 9002 §6.3 "Clients that receive a Retry packet reset
    /// congestion control and loss recovery state, including resetting any pending timers."
    /// Outstanding packets go to `out` (their CRYPTO data must be sent again); packet numbers
    /// keep growing (RFC 9000 §17.2.5.3). `rtt_sample`, if given, seeds the RTT estimate with
    /// the time from the first Initial to the Retry (RFC 9002 §6.3 allows this).
    pub fn on_retry(
        &mut self,
        now: Instant,
        rtt_sample: Option<Duration>,
        out: &mut Vec<SentPacket<T>>,
    ) {
        for space in PacketSpace::ALL {
            self.drop_outstanding(space, out);
        }
        self.rtt = RttEstimator::new(rtt_sample.unwrap_or(self.config.initial_rtt));
        self.cc = self.config.congestion.build(self.config.max_datagram_size);
        self.pto_count = 0;
        self.probes = [0; 3];
        self.set_loss_detection_timer(now);
    }

    /// The peer moved to a new address (RFC 9000 §9.4): the congestion controller and RTT
    /// estimate start over for the new path, or take `restore`, the state of a path used before
    /// (RFC 9000 §9.3: returning to a validated path may restore its congestion state). The
    /// state being replaced is returned so that the caller can restore it if the move is
    /// undone. Packets in flight stay tracked: they may still be acknowledged.
    pub fn replace_path_state(
        &mut self,
        now: Instant,
        restore: Option<PathCongestion>,
    ) -> PathCongestion {
        let fresh = || PathCongestion {
            rtt: RttEstimator::new(self.config.initial_rtt),
            cc: self.config.congestion.build(self.config.max_datagram_size),
        };
        let next = restore.unwrap_or_else(fresh);
        let old = PathCongestion {
            rtt: std::mem::replace(&mut self.rtt, next.rtt),
            cc: std::mem::replace(&mut self.cc, next.cc),
        };
        self.pto_count = 0;
        self.recovery_packet = false;
        self.set_loss_detection_timer(now);
        old
    }

    /// The client now has Handshake keys, which changes where an anti-deadlock probe goes
    /// (RFC 9002 §6.2.2.1).
    pub fn set_handshake_keys_available(&mut self, now: Instant) {
        self.has_handshake_keys = true;
        self.set_loss_detection_timer(now);
    }

    /// The handshake is confirmed (RFC 9001 §4.1.2): the Application Data PTO may be armed
    /// (RFC 9002 §6.2.1) and the peer's max_ack_delay bounds reported delays (§5.3).
    pub fn set_handshake_confirmed(&mut self, now: Instant) {
        self.handshake_confirmed = true;
        self.set_loss_detection_timer(now);
    }

    /// A server reports whether the anti-amplification limit (RFC 9000 §8.1) blocks it. While
    /// blocked, its timer is not armed (RFC 9002 §6.2.2.1). Returns `true` when the re-armed
    /// timer is already due, in which case the caller runs
    /// [`Recovery::on_loss_detection_timeout`] at once (RFC 9002 Appendix A.6).
    pub fn set_amplification_blocked(&mut self, now: Instant, blocked: bool) -> bool {
        self.amplification_blocked = blocked;
        self.set_loss_detection_timer(now);
        self.timer.is_some_and(|t| t <= now)
    }

    /// The peer's max_ack_delay transport parameter.
    pub fn set_peer_max_ack_delay(&mut self, now: Instant, max_ack_delay: Duration) {
        self.peer_max_ack_delay = max_ack_delay;
        self.set_loss_detection_timer(now);
    }

    /// Whether the sender currently lacks data (or flow-control credit) to fill the window.
    /// RFC 9002 §7.8: then "the congestion window SHOULD NOT be increased in either slow start
    /// or congestion avoidance". A sender held back only by pacing is not application limited.
    /// Sending enough to fill the window clears the flag automatically.
    pub fn set_app_limited(&mut self, app_limited: bool) {
        self.app_limited = app_limited;
    }

    /// The maximum datagram size the congestion controller counts in.
    pub fn max_datagram_size(&self) -> u64 {
        self.config.max_datagram_size
    }

    /// The path's maximum datagram size changed (RFC 9002 §7.2).
    pub fn on_max_datagram_size_changed(&mut self, max_datagram_size: u64) {
        self.config.max_datagram_size = max_datagram_size;
        self.cc.on_max_datagram_size_changed(max_datagram_size);
    }

    /// The RTT estimate.
    pub fn rtt(&self) -> &RttEstimator {
        &self.rtt
    }

    /// The congestion controller.
    pub fn controller(&self) -> &dyn Controller {
        &*self.cc
    }

    /// bytes_in_flight across all spaces (RFC 9002 Appendix B.2).
    pub fn bytes_in_flight(&self) -> u64 {
        self.spaces.iter().map(|s| s.bytes_in_flight).sum()
    }

    /// The congestion window.
    pub fn congestion_window(&self) -> u64 {
        self.cc.window()
    }

    /// Bytes that may still be sent before the window is full.
    pub fn available_window(&self) -> u64 {
        self.cc.window().saturating_sub(self.bytes_in_flight())
    }

    /// RFC 9002 §7: "An endpoint MUST NOT send a packet if it would cause bytes_in_flight ... to
    /// be larger than the congestion window, unless the packet is sent on a PTO timer
    /// expiration ... or when entering recovery". Only in-flight packets are limited.
    /// After entering recovery one packet may go beyond the window (RFC 9002 §7.3.2: "If the
    /// congestion window is reduced immediately, a single packet can be sent prior to
    /// reduction").
    pub fn can_send(&self, bytes: u64) -> bool {
        self.recovery_packet || self.bytes_in_flight().saturating_add(bytes) <= self.cc.window()
    }

    /// Probe packets still owed in `space` after a PTO; they are exempt from the congestion
    /// window (RFC 9002 §7.5). Each ack-eliciting packet sent in the space pays one off.
    pub fn probes_pending(&self, space: PacketSpace) -> u8 {
        self.probes[space.index()]
    }

    /// Consecutive PTOs without an acknowledgment.
    pub fn pto_count(&self) -> u32 {
        self.pto_count
    }

    /// The PTO period for `space` without backoff (RFC 9002 §6.2.1), e.g. for the idle timeout
    /// and closing period (RFC 9000 §10.1, §10.2). max_ack_delay only counts for
    /// Application Data.
    pub fn pto(&self, space: PacketSpace) -> Duration {
        let base = self.rtt.pto_base();
        match space {
            PacketSpace::Data => base.saturating_add(self.peer_max_ack_delay),
            _ => base,
        }
    }

    /// The largest packet number the peer acknowledged in `space`, for packet number encoding
    /// (RFC 9000 §17.1).
    pub fn largest_acked(&self, space: PacketSpace) -> Option<u64> {
        self.spaces[space.index()].largest_acked
    }

    /// Whether any ack-eliciting packet is in flight in any space.
    pub fn has_ack_eliciting_in_flight(&self) -> bool {
        self.spaces.iter().any(|s| s.ack_eliciting_in_flight > 0)
    }

    /// Whether the application was last reported as limiting the sender.
    pub fn is_app_limited(&self) -> bool {
        self.app_limited
    }

    /// Counters.
    pub fn stats(&self) -> RecoveryStats {
        self.stats
    }

    /// Number of sent packets still tracked in `space`, acknowledged or lost ones included
    /// while older packets are unresolved.
    pub fn tracked_packets(&self, space: PacketSpace) -> usize {
        self.spaces[space.index()].tracked()
    }

    /// Removes every outstanding packet of `space` from tracking and from bytes in flight.
    fn drop_outstanding(&mut self, space: PacketSpace, out: &mut Vec<SentPacket<T>>) {
        let bytes = self.spaces[space.index()].discard_outstanding(out);
        if bytes > 0 {
            // RFC 9002 Appendix B.9: removed from bytes in flight, not treated as lost.
            self.cc.on_packet_discarded(bytes);
        }
    }

    /// DetectAndRemoveLostPackets and OnPacketsLost (RFC 9002 Appendix A.10, B.8).
    fn detect_and_handle_lost(
        &mut self,
        now: Instant,
        space: PacketSpace,
        lost: &mut Vec<SentPacket<T>>,
    ) -> LossScan {
        let before = lost.len();
        let scan = self.spaces[space.index()].detect_lost(
            now,
            self.rtt.loss_delay(),
            self.persistent_congestion_duration(),
            self.rtt.first_sample_time(),
            lost,
        );
        self.stats.lost_packets += (lost.len() - before) as u64;
        self.stats.lost_bytes += scan.lost_bytes;
        // RFC 9002 Appendix B.8: "Congestion event if in-flight packets were lost".
        if let Some(sent_time) = scan.largest_lost_time {
            self.stats.congestion_events += 1;
            if scan.persistent_congestion {
                self.stats.persistent_congestion += 1;
                tracing::debug!(?space, "persistent congestion");
            }
            self.congestion_event(now, sent_time, scan.persistent_congestion, scan.lost_bytes);
            if scan.persistent_congestion {
                // RFC 9002 §5.2: "Endpoints SHOULD set the min_rtt to the newest RTT sample
                // after persistent congestion is established."
                self.rtt.reset_min_rtt();
            }
        }
        scan
    }

    /// Reports a congestion event to the controller; a reduced window entitles the sender to
    /// one packet beyond it (RFC 9002 Appendix B.6 `MaybeSendOnePacket`).
    fn congestion_event(
        &mut self,
        now: Instant,
        sent_time: Instant,
        persistent_congestion: bool,
        lost_bytes: u64,
    ) {
        let before = self.cc.window();
        self.cc
            .on_congestion_event(now, sent_time, persistent_congestion, lost_bytes);
        if persistent_congestion {
            self.recovery_packet = false;
        } else if self.cc.window() < before {
            self.recovery_packet = true;
        }
    }

    /// RFC 9002 §7.6.1: "(smoothed_rtt + max(4*rttvar, kGranularity) + max_ack_delay) *
    /// kPersistentCongestionThreshold", including max_ack_delay "irrespective of the packet
    /// number spaces in which losses are established".
    fn persistent_congestion_duration(&self) -> Duration {
        self.rtt
            .pto_base()
            .saturating_add(self.peer_max_ack_delay)
            .saturating_mul(PERSISTENT_CONGESTION_THRESHOLD)
    }

    /// PeerCompletedAddressValidation (RFC 9002 Appendix A.8): servers assume the client
    /// validated their address; a client knows the server validated its address once a
    /// Handshake packet was acknowledged or the handshake is confirmed.
    fn peer_completed_address_validation(&self) -> bool {
        !self.side.is_client() || self.handshake_acked || self.handshake_confirmed
    }

    fn anti_deadlock_space(&self) -> PacketSpace {
        if self.has_handshake_keys {
            PacketSpace::Handshake
        } else {
            PacketSpace::Initial
        }
    }

    /// GetLossTimeAndSpace (RFC 9002 Appendix A.8).
    fn earliest_loss_time(&self) -> Option<(Instant, PacketSpace)> {
        PacketSpace::ALL
            .into_iter()
            .filter_map(|s| self.spaces[s.index()].loss_time.map(|t| (t, s)))
            .min_by_key(|&(t, _)| t)
    }

    /// GetPtoTimeAndSpace (RFC 9002 Appendix A.8).
    fn pto_time_and_space(&self, now: Instant) -> Option<(Instant, PacketSpace)> {
        let backoff = 1u32 << self.pto_count.min(MAX_PTO_BACKOFF_EXPONENT);
        let duration = self.rtt.pto_base().saturating_mul(backoff);
        if !self.has_ack_eliciting_in_flight() {
            // Anti-deadlock PTO starts from the current time.
            return Some((add(now, duration), self.anti_deadlock_space()));
        }
        let mut best: Option<(Instant, PacketSpace)> = None;
        for space in PacketSpace::ALL {
            let sent = &self.spaces[space.index()];
            if sent.ack_eliciting_in_flight == 0 {
                continue;
            }
            let Some(last) = sent.time_of_last_ack_eliciting else {
                continue;
            };
            let mut duration = duration;
            if space == PacketSpace::Data {
                // RFC 9002 §6.2.1: "An endpoint MUST NOT set its PTO timer for the Application
                // Data packet number space until the handshake is confirmed."
                if !self.handshake_confirmed {
                    break;
                }
                // max_ack_delay only for Application Data, with the same backoff. Initial and
                // Handshake use 0: the peer does not delay those acknowledgments (§6.2.1).
                duration = duration.saturating_add(self.peer_max_ack_delay.saturating_mul(backoff));
            }
            let at = add(last, duration);
            // RFC 9002 §6.2.1: with packets in flight in several spaces, "the timer MUST be
            // set to the earlier value".
            if best.map_or(true, |(b, _)| at < b) {
                best = Some((at, space));
            }
        }
        best
    }

    /// SetLossDetectionTimer (RFC 9002 Appendix A.8).
    fn set_loss_detection_timer(&mut self, now: Instant) {
        if let Some((t, _)) = self.earliest_loss_time() {
            // RFC 9002 §6.2.1: "The PTO timer MUST NOT be set if a timer is set for time
            // threshold loss detection".
            self.timer = Some(t);
            return;
        }
        if !self.side.is_client() && self.amplification_blocked {
            // RFC 9002 §6.2.2.1: "If no additional data can be sent, the server's PTO timer
            // MUST NOT be armed until datagrams have been received from the client".
            self.timer = None;
            return;
        }
        if !self.has_ack_eliciting_in_flight() && self.peer_completed_address_validation() {
            // Nothing to detect lost. A client not yet sure the server validated its address
            // keeps the timer: RFC 9002 §6.2.2.1 "the client MUST set the PTO timer if the
            // client has not received an acknowledgment for any of its Handshake packets and
            // the handshake is not confirmed ..., even if there are no packets in flight."
            self.timer = None;
            return;
        }
        self.timer = self.pto_time_and_space(now).map(|(t, _)| t);
    }
}

/// `t + d`, with `d` bounded so that a peer-inflated duration cannot overflow an `Instant`.
fn add(t: Instant, d: Duration) -> Instant {
    t.checked_add(d.min(MAX_TIMER)).unwrap_or(t)
}

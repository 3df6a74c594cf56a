//! Sent-packet tracking for one packet number space (RFC 9002 Appendix A.1) and the per-space
//! halves of acknowledgment processing and loss detection (Appendix A.7, A.10).
//!
//! Packets are kept in a `VecDeque` in packet number order (packet numbers only grow, RFC 9000
//! §12.3, so pushing at the back keeps it sorted and lookups are binary searches). An
//! acknowledged or lost packet stays as a tombstone until everything before it is resolved,
//! then it is popped from the front; tombstones let persistent-congestion detection see which
//! packets between two losses were acknowledged (RFC 9002 §7.6.2). In steady state nothing is
//! allocated: the deque keeps its capacity.

use smallvec::SmallVec;
use std::collections::VecDeque;
use std::ops::RangeInclusive;
use std::time::{Duration, Instant};

/// kPacketThreshold (RFC 9002 §6.1.1: "The RECOMMENDED initial value for the packet reordering
/// threshold (kPacketThreshold) is 3").
pub const PACKET_THRESHOLD: u64 = 3;

/// How many deliberately skipped packet numbers to remember per space (RFC 9000 §21.4). Older
/// ones are forgotten; this only bounds memory for a connection that skips often.
const MAX_SKIPPED: usize = 8;

/// A sent packet handed back to the connection once it is acknowledged, declared lost or
/// discarded with its keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentPacket<T> {
    /// Its packet number.
    pub pn: u64,
    /// When it was sent.
    pub time_sent: Instant,
    /// Bytes on the wire, QUIC header and AEAD tag included, UDP and IP excluded.
    pub size: u16,
    /// Whether it contained an ack-eliciting frame.
    pub ack_eliciting: bool,
    /// Whether it counted toward bytes in flight (ack-eliciting or PADDING).
    pub in_flight: bool,
    /// The connection's record of what the packet carried.
    pub token: T,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Outstanding,
    Acked,
    Lost,
}

#[derive(Debug, Clone)]
struct Entry<T> {
    pn: u64,
    time_sent: Instant,
    size: u16,
    ack_eliciting: bool,
    in_flight: bool,
    state: State,
    /// `Some` exactly while outstanding; moved out when the packet is resolved.
    token: Option<T>,
}

impl<T> Entry<T> {
    /// Resolves the packet, handing back what the connection needs.
    fn resolve(&mut self, state: State) -> Option<SentPacket<T>> {
        self.state = state;
        let token = self.token.take()?;
        Some(SentPacket {
            pn: self.pn,
            time_sent: self.time_sent,
            size: self.size,
            ack_eliciting: self.ack_eliciting,
            in_flight: self.in_flight,
            token,
        })
    }
}

/// What one pass of loss detection found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct LossScan {
    /// Bytes of in-flight packets newly declared lost.
    pub lost_bytes: u64,
    /// Send time of the newest in-flight packet declared lost (RFC 9002 Appendix B.8).
    pub largest_lost_time: Option<Instant>,
    /// Whether two lost ack-eliciting packets span more than the persistent congestion
    /// duration with nothing acknowledged between them (RFC 9002 §7.6.2).
    pub persistent_congestion: bool,
}

/// Sent packets and loss-detection variables of one packet number space.
#[derive(Debug, Clone)]
pub(super) struct SentPackets<T> {
    entries: VecDeque<Entry<T>>,
    /// Number of leading entries known to be resolved. States only move away from
    /// `Outstanding`, so this only grows (until entries are popped); loss detection starts here
    /// instead of rescanning tombstones kept for spurious-loss detection.
    resolved_prefix: usize,
    skipped: SmallVec<[u64; MAX_SKIPPED]>,
    /// Largest packet number sent or skipped; packet numbers must exceed it.
    pub largest_sent: Option<u64>,
    /// largest_acked_packet (RFC 9002 Appendix A.3).
    pub largest_acked: Option<u64>,
    /// time_of_last_ack_eliciting_packet (RFC 9002 Appendix A.3).
    pub time_of_last_ack_eliciting: Option<Instant>,
    /// loss_time (RFC 9002 Appendix A.3).
    pub loss_time: Option<Instant>,
    /// Bytes of outstanding in-flight packets in this space.
    pub bytes_in_flight: u64,
    /// Outstanding ack-eliciting in-flight packets in this space.
    pub ack_eliciting_in_flight: u64,
    /// The highest ECN-CE count the peer reported (RFC 9002 Appendix B.2 ecn_ce_counters).
    pub ecn_ce: u64,
}

impl<T> Default for SentPackets<T> {
    fn default() -> Self {
        Self {
            entries: VecDeque::new(),
            resolved_prefix: 0,
            skipped: SmallVec::new(),
            largest_sent: None,
            largest_acked: None,
            time_of_last_ack_eliciting: None,
            loss_time: None,
            bytes_in_flight: 0,
            ack_eliciting_in_flight: 0,
            ecn_ce: 0,
        }
    }
}

impl<T> SentPackets<T> {
    /// Whether `pn` may be used next: packet numbers strictly increase (RFC 9000 §12.3).
    pub fn is_next(&self, pn: u64) -> bool {
        self.largest_sent.map_or(true, |l| pn > l)
    }

    /// Records a sent packet (RFC 9002 Appendix A.5). The caller checked [`Self::is_next`].
    pub fn push(
        &mut self,
        pn: u64,
        now: Instant,
        size: u16,
        eliciting: bool,
        in_flight: bool,
        token: T,
    ) {
        self.largest_sent = Some(pn);
        if in_flight {
            self.bytes_in_flight += u64::from(size);
            if eliciting {
                self.ack_eliciting_in_flight += 1;
                self.time_of_last_ack_eliciting = Some(now);
            }
        }
        self.entries.push_back(Entry {
            pn,
            time_sent: now,
            size,
            ack_eliciting: eliciting,
            in_flight,
            state: State::Outstanding,
            token: Some(token),
        });
    }

    /// Records a packet number deliberately left unused, so that an acknowledgment for it can
    /// be recognised as one for a packet never sent (RFC 9000 §21.4).
    pub fn skip(&mut self, pn: u64) {
        self.largest_sent = Some(pn);
        if self.skipped.len() == MAX_SKIPPED {
            self.skipped.remove(0);
        }
        self.skipped.push(pn);
    }

    /// Whether `range` contains a packet number that was skipped.
    pub fn covers_skipped(&self, range: &RangeInclusive<u64>) -> bool {
        self.skipped.iter().any(|pn| range.contains(pn))
    }

    /// Marks every outstanding packet in `range` as acknowledged and appends it to `out`.
    /// Returns how many packets in the range had already been declared lost (spurious losses).
    pub fn ack_range(&mut self, range: RangeInclusive<u64>, out: &mut Vec<SentPacket<T>>) -> usize {
        let (start, end) = (*range.start(), *range.end());
        let first = self.entries.partition_point(|e| e.pn < start);
        let mut spurious = 0;
        for entry in self.entries.range_mut(first..) {
            if entry.pn > end {
                break;
            }
            match entry.state {
                State::Outstanding => {
                    if entry.in_flight {
                        self.bytes_in_flight -= u64::from(entry.size);
                        if entry.ack_eliciting {
                            self.ack_eliciting_in_flight -= 1;
                        }
                    }
                    out.extend(entry.resolve(State::Acked));
                }
                State::Lost => spurious += 1,
                State::Acked => {}
            }
        }
        spurious
    }

    /// DetectAndRemoveLostPackets (RFC 9002 Appendix A.10) plus the persistent-congestion check
    /// of RFC 9002 §7.6.2 over the packets it declares lost.
    ///
    /// `pc_duration` is the persistent congestion duration (§7.6.1) and `first_rtt_sample` the
    /// time of the first RTT sample: "a prior RTT sample existed when these two packets were
    /// sent". Lost packets are appended to `out`; `loss_time` is updated.
    pub fn detect_lost(
        &mut self,
        now: Instant,
        loss_delay: Duration,
        pc_duration: Duration,
        first_rtt_sample: Option<Instant>,
        out: &mut Vec<SentPacket<T>>,
    ) -> LossScan {
        self.loss_time = None;
        let mut scan = LossScan::default();
        let Some(largest_acked) = self.largest_acked else {
            return scan;
        };
        // Packets sent at or before this time are deemed lost (None: the connection is younger
        // than the loss delay, so no packet is old enough).
        let lost_send_time = now.checked_sub(loss_delay);
        // Send time of the first packet of the current run of lost ack-eliciting packets with
        // no acknowledged packet between them.
        let mut run_start: Option<Instant> = None;
        while self
            .entries
            .get(self.resolved_prefix)
            .is_some_and(|e| e.state != State::Outstanding)
        {
            self.resolved_prefix += 1;
        }
        // Everything before the first outstanding packet is resolved: nothing to declare lost
        // there, and a persistent-congestion run can only start at an outstanding packet.
        for entry in self.entries.range_mut(self.resolved_prefix..) {
            if entry.pn > largest_acked {
                break;
            }
            match entry.state {
                // RFC 9002 §7.6.2: "none of the packets sent between the send times of these
                // two packets are acknowledged".
                State::Acked => {
                    run_start = None;
                    continue;
                }
                State::Lost => continue,
                State::Outstanding => {}
            }
            // RFC 9002 §6.1: lost if sent kPacketThreshold packets before an acknowledged one
            // (§6.1.1) or long enough in the past (§6.1.2).
            let by_time = lost_send_time.is_some_and(|t| entry.time_sent <= t);
            let by_count = largest_acked >= entry.pn.saturating_add(PACKET_THRESHOLD);
            if !(by_time || by_count) {
                // RFC 9002 §6.1.2: "If packets sent prior to the largest acknowledged packet
                // cannot yet be declared lost, then a timer SHOULD be set for the remaining
                // time."
                let at = entry
                    .time_sent
                    .checked_add(loss_delay)
                    .unwrap_or(entry.time_sent);
                self.loss_time = Some(self.loss_time.map_or(at, |t| t.min(at)));
                continue;
            }
            if entry.in_flight {
                let size = u64::from(entry.size);
                self.bytes_in_flight -= size;
                scan.lost_bytes += size;
                scan.largest_lost_time = Some(entry.time_sent);
                if entry.ack_eliciting {
                    self.ack_eliciting_in_flight -= 1;
                }
            }
            // RFC 9002 §7.6.2: both packets "MUST be ack-eliciting", and only packets sent
            // after the first RTT sample count (Appendix B.8).
            if entry.ack_eliciting && first_rtt_sample.is_some_and(|f| entry.time_sent > f) {
                match run_start {
                    None => run_start = Some(entry.time_sent),
                    Some(start) => {
                        if entry.time_sent.saturating_duration_since(start) > pc_duration {
                            scan.persistent_congestion = true;
                        }
                    }
                }
            }
            out.extend(entry.resolve(State::Lost));
        }
        scan
    }

    /// Drops resolved packets from the front so the deque only holds what may still matter.
    /// Lost packets are kept until `keep_lost` after they were sent, so that a late
    /// acknowledgment is recognised as a spurious loss (RFC 9002 Appendix A.1: "After a packet
    /// is declared lost, the endpoint can still maintain state for it for an amount of time to
    /// allow for packet reordering").
    pub fn pop_resolved(&mut self, now: Instant, keep_lost: Duration) {
        while let Some(front) = self.entries.front() {
            let done = match front.state {
                State::Outstanding => false,
                State::Acked => true,
                State::Lost => front
                    .time_sent
                    .checked_add(keep_lost)
                    .map_or(true, |t| t <= now),
            };
            if !done {
                break;
            }
            self.entries.pop_front();
            self.resolved_prefix = self.resolved_prefix.saturating_sub(1);
        }
    }

    /// Removes every outstanding packet without declaring it lost or acknowledged (RFC 9002
    /// §6.4), appending them to `out`. Returns the in-flight bytes removed. The largest sent
    /// packet number is kept: numbers never repeat in a space, even after a Retry (RFC 9000
    /// §17.2.5.3).
    pub fn discard_outstanding(&mut self, out: &mut Vec<SentPacket<T>>) -> u64 {
        let bytes = self.bytes_in_flight;
        for entry in self.entries.iter_mut() {
            if entry.state == State::Outstanding {
                out.extend(entry.resolve(State::Lost));
            }
        }
        self.entries.clear();
        self.resolved_prefix = 0;
        self.bytes_in_flight = 0;
        self.ack_eliciting_in_flight = 0;
        self.time_of_last_ack_eliciting = None;
        self.loss_time = None;
        bytes
    }

    /// Number of tracked entries, tombstones included (for tests and memory accounting).
    pub fn tracked(&self) -> usize {
        self.entries.len()
    }
}

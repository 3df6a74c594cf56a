//! Round-trip time estimation (RFC 9002 §5).

use std::time::{Duration, Instant};

/// kGranularity: timer granularity (RFC 9002 §6.1.2 recommends 1 ms).
pub const GRANULARITY: Duration = Duration::from_millis(1);

/// kInitialRtt: the RTT assumed before any sample (RFC 9002 §6.2.2: "When no previous RTT is
/// available, the initial RTT SHOULD be set to 333 milliseconds").
pub const INITIAL_RTT: Duration = Duration::from_millis(333);

/// The RTT statistics of one path: latest, minimum, smoothed and variation (RFC 9002 §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RttEstimator {
    initial: Duration,
    latest: Duration,
    /// `None` until the first sample (RFC 9002 §5.2: set on the first sample).
    min: Option<Duration>,
    smoothed: Duration,
    var: Duration,
    /// When the first sample was taken; persistent congestion only counts packets sent after it
    /// (RFC 9002 §7.6.2).
    first_sample: Option<Instant>,
}

impl Default for RttEstimator {
    fn default() -> Self {
        Self::new(INITIAL_RTT)
    }
}

impl RttEstimator {
    /// An estimator with no samples yet, seeded with `initial_rtt` (RFC 9002 §5.3:
    /// smoothed_rtt = kInitialRtt, rttvar = kInitialRtt / 2). A resumed connection may pass the
    /// previous connection's smoothed RTT (RFC 9002 §6.2.2).
    pub fn new(initial_rtt: Duration) -> Self {
        Self {
            initial: initial_rtt,
            latest: Duration::ZERO,
            min: None,
            smoothed: initial_rtt,
            var: initial_rtt / 2,
            first_sample: None,
        }
    }

    /// Forgets every sample and starts again from the initial RTT, as for a new path (RFC 9002
    /// §5.3) or after a Retry (RFC 9002 §6.3).
    pub fn reset(&mut self) {
        *self = Self::new(self.initial);
    }

    /// Takes one RTT sample (RFC 9002 §5.1–§5.3, Appendix A.7 `UpdateRtt`).
    ///
    /// `latest_rtt` is ack time minus the send time of the largest acknowledged packet.
    /// `ack_delay` is the peer-reported delay, already scaled. `max_ack_delay` is the peer's
    /// transport parameter once the handshake is confirmed and `None` before: RFC 9002 §5.3 says
    /// the sender "SHOULD ignore the peer's max_ack_delay until the handshake is confirmed" and
    /// "MUST use the lesser of the acknowledgment delay and the peer's max_ack_delay after the
    /// handshake is confirmed".
    pub fn update(
        &mut self,
        now: Instant,
        latest_rtt: Duration,
        ack_delay: Duration,
        max_ack_delay: Option<Duration>,
    ) {
        self.latest = latest_rtt;
        let Some(min) = self.min else {
            // RFC 9002 §5.2: "min_rtt MUST be set to the latest_rtt on the first RTT sample."
            // RFC 9002 §5.3: the first sample resets the estimator so it keeps no history.
            self.min = Some(latest_rtt);
            self.smoothed = latest_rtt;
            self.var = latest_rtt / 2;
            self.first_sample = Some(now);
            return;
        };
        // RFC 9002 §5.2: "min_rtt MUST be set to the lesser of min_rtt and latest_rtt"; it
        // ignores ack delay so that a misreporting peer cannot drag it down.
        let min = min.min(latest_rtt);
        self.min = Some(min);
        let ack_delay = match max_ack_delay {
            Some(max) => ack_delay.min(max),
            None => ack_delay,
        };
        // RFC 9002 §5.3: "MUST NOT subtract the acknowledgment delay from the RTT sample if the
        // resulting value is smaller than the min_rtt." Saturating: a peer can report any delay.
        let adjusted = if latest_rtt >= min.saturating_add(ack_delay) {
            latest_rtt - ack_delay
        } else {
            latest_rtt
        };
        // RFC 9002 Appendix A.7 (and RFC 6298): rttvar uses the smoothed RTT from before this
        // sample, so it is updated first.
        let deviation = if self.smoothed > adjusted {
            self.smoothed - adjusted
        } else {
            adjusted - self.smoothed
        };
        // Saturating only guards absurd inputs; real RTTs are far from overflowing.
        self.var = self.var.saturating_mul(3).saturating_add(deviation) / 4;
        self.smoothed = self.smoothed.saturating_mul(7).saturating_add(adjusted) / 8;
    }

    /// RFC 9002 §5.2: "Endpoints SHOULD set the min_rtt to the newest RTT sample after
    /// persistent congestion is established", so that a path whose RTT grew does not keep
    /// declaring persistent congestion.
    pub fn reset_min_rtt(&mut self) {
        if self.min.is_some() {
            self.min = Some(self.latest);
        }
    }

    /// latest_rtt: the most recent sample (zero before any).
    pub fn latest(&self) -> Duration {
        self.latest
    }

    /// smoothed_rtt (the initial RTT before any sample).
    pub fn smoothed(&self) -> Duration {
        self.smoothed
    }

    /// rttvar.
    pub fn var(&self) -> Duration {
        self.var
    }

    /// min_rtt, once there is a sample.
    pub fn min(&self) -> Option<Duration> {
        self.min
    }

    /// The time of the first sample, if any.
    pub fn first_sample_time(&self) -> Option<Instant> {
        self.first_sample
    }

    /// Whether at least one sample has been taken.
    pub fn has_sample(&self) -> bool {
        self.min.is_some()
    }

    /// The PTO period without max_ack_delay or backoff (RFC 9002 §6.2.1):
    /// `smoothed_rtt + max(4*rttvar, kGranularity)`. It is never below kGranularity, as §6.2.1
    /// requires ("The PTO period MUST be at least kGranularity").
    pub fn pto_base(&self) -> Duration {
        self.smoothed
            .saturating_add(self.var.saturating_mul(4).max(GRANULARITY))
    }

    /// The time-threshold loss delay (RFC 9002 §6.1.2):
    /// `max(kTimeThreshold * max(smoothed_rtt, latest_rtt), kGranularity)` with kTimeThreshold
    /// = 9/8. "this time threshold MUST be set to at least the local timer granularity".
    pub fn loss_delay(&self) -> Duration {
        let rtt = self.smoothed.max(self.latest);
        (rtt.saturating_add(rtt / 8)).max(GRANULARITY)
    }
}

//! HyStart++ (RFC 9406): leaving the initial slow start on a rise in RTT instead of a loss.
//!
//! [`HyStart`] runs beside a controller's slow start. It sees every acknowledgment the
//! controller would grow on, tracks the minimum RTT of the current and the previous round, and
//! says how much the window may grow and when slow start is over:
//!
//! - in standard slow start the window grows by the acknowledged bytes (L is infinite: this
//!   stack paces, RFC 9406 §4.3: "A paced TCP implementation SHOULD use L = infinity");
//! - once a round's minimum RTT exceeds the previous round's by `RttThresh`, it enters
//!   Conservative Slow Start (CSS), growing by a quarter of the acknowledged bytes;
//! - if the RTT falls back below the baseline, it resumes standard slow start;
//! - after `CSS_ROUNDS` rounds of CSS it tells the controller to enter congestion avoidance.
//!
//! Losses are the controller's business: a congestion event during slow start or CSS ends slow
//! start as usual (RFC 9406 §4.2), and the controller drops its `HyStart`, since HyStart++ is
//! only for the initial slow start (RFC 9406 §4.2: "An implementation SHOULD use HyStart++ only
//! for the initial slow start ... and fall back to using standard [RFC5681] slow start for the
//! remainder of the connection lifetime").
//!
//! Rounds are tracked by time rather than packet numbers, since a controller only sees send
//! times: a round started by the acknowledgment at time `T` ends with the first acknowledgment of
//! a packet sent at or after `T`. That is RFC 9406 §4.2's `windowEnd = SND.NXT` marker, since
//! every packet sent after the round started is beyond the packets in flight at its start.

use std::time::{Duration, Instant};

/// MIN_RTT_THRESH (RFC 9406 §4.3).
pub const MIN_RTT_THRESH: Duration = Duration::from_millis(4);
/// MAX_RTT_THRESH (RFC 9406 §4.3).
pub const MAX_RTT_THRESH: Duration = Duration::from_millis(16);
/// MIN_RTT_DIVISOR (RFC 9406 §4.3).
pub const MIN_RTT_DIVISOR: u32 = 8;
/// N_RTT_SAMPLE (RFC 9406 §4.3).
pub const N_RTT_SAMPLE: u32 = 8;
/// CSS_GROWTH_DIVISOR (RFC 9406 §4.3).
pub const CSS_GROWTH_DIVISOR: u64 = 4;
/// CSS_ROUNDS (RFC 9406 §4.3).
pub const CSS_ROUNDS: u32 = 5;

/// What one acknowledgment in slow start does to the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlowStartStep {
    /// Bytes to add to the congestion window.
    pub increase: u64,
    /// Slow start is over: the controller should set ssthresh to the (grown) window and enter
    /// congestion avoidance (RFC 9406 §4.2, after CSS_ROUNDS rounds of CSS).
    pub exit: bool,
}

/// Conservative Slow Start state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Css {
    /// cssBaselineMinRtt: the round minimum that triggered CSS.
    baseline_min_rtt: Duration,
    /// Rounds ended since CSS was entered; the partial round of entry counts (RFC 9406 §4.2).
    rounds: u32,
}

/// HyStart++ state for the initial slow start (RFC 9406 §4.2).
#[derive(Debug, Clone, Default)]
pub struct HyStart {
    /// Set while in CSS; `None` in standard slow start.
    css: Option<Css>,
    /// When the current round started; `None` before the first acknowledgment.
    round_start: Option<Instant>,
    /// lastRoundMinRTT; `None` is the RFC's infinity.
    last_round_min_rtt: Option<Duration>,
    /// currentRoundMinRTT; `None` is the RFC's infinity.
    current_round_min_rtt: Option<Duration>,
    /// rttSampleCount for the current round.
    rtt_sample_count: u32,
    /// The time of the last counted sample: one ACK frame acknowledging several packets yields
    /// one RTT sample (RFC 9002 §5.1), and every packet of it is reported at the same time.
    last_sample_time: Option<Instant>,
    /// Acknowledged bytes in CSS not yet turned into growth (integer division by 4).
    css_remainder: u64,
}

impl HyStart {
    /// HyStart++ at the start of slow start.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether it is in Conservative Slow Start.
    pub fn in_css(&self) -> bool {
        self.css.is_some()
    }

    /// The minimum RTT of the current round so far.
    pub fn current_round_min_rtt(&self) -> Option<Duration> {
        self.current_round_min_rtt
    }

    /// The minimum RTT of the previous round.
    pub fn last_round_min_rtt(&self) -> Option<Duration> {
        self.last_round_min_rtt
    }

    /// RttThresh (RFC 9406 §4.2): `max(MIN_RTT_THRESH, min(lastRoundMinRTT / MIN_RTT_DIVISOR,
    /// MAX_RTT_THRESH))`.
    pub fn rtt_thresh(last_round_min_rtt: Duration) -> Duration {
        (last_round_min_rtt / MIN_RTT_DIVISOR).clamp(MIN_RTT_THRESH, MAX_RTT_THRESH)
    }

    /// An in-flight packet sent at `sent_time`, of `bytes`, was acknowledged at `now` while the
    /// controller is in slow start and not application limited. `latest_rtt` is the path's
    /// latest RTT sample, `None` before any.
    pub fn on_ack(
        &mut self,
        now: Instant,
        sent_time: Instant,
        bytes: u64,
        latest_rtt: Option<Duration>,
    ) -> SlowStartStep {
        // A round ends with the first acknowledgment of a packet sent after it started; that
        // packet's RTT sample belongs to the next round, like the others acknowledged in it.
        let mut exit = false;
        let round_ended = !matches!(self.round_start, Some(start) if sent_time < start);
        if round_ended {
            if let Some(css) = &mut self.css {
                // RFC 9406 §4.2: "If CSS_ROUNDS rounds are complete, enter congestion
                // avoidance"; "If the transition into CSS happens in the middle of a round,
                // that partial round counts towards the limit."
                css.rounds += 1;
                exit = css.rounds >= CSS_ROUNDS;
            }
            // RFC 9406 §4.2, at the start of each round: lastRoundMinRTT =
            // currentRoundMinRTT, currentRoundMinRTT = infinity, rttSampleCount = 0.
            self.round_start = Some(now);
            self.last_round_min_rtt = self.current_round_min_rtt.take();
            self.rtt_sample_count = 0;
        }

        // RFC 9406 §4.2: "keep track of the minimum observed RTT: currentRoundMinRTT =
        // min(currentRoundMinRTT, currentRTT); rttSampleCount += 1".
        if let Some(rtt) = latest_rtt {
            if self.last_sample_time != Some(now) || round_ended {
                self.last_sample_time = Some(now);
                self.rtt_sample_count += 1;
            }
            self.current_round_min_rtt =
                Some(self.current_round_min_rtt.map_or(rtt, |m| m.min(rtt)));
        }

        let enough_samples = self.rtt_sample_count >= N_RTT_SAMPLE;
        match (&mut self.css, self.current_round_min_rtt) {
            (None, Some(current)) if enough_samples => {
                // RFC 9406 §4.2: "For rounds where at least N_RTT_SAMPLE RTT samples have been
                // obtained and currentRoundMinRTT and lastRoundMinRTT are valid, check to see
                // if delay increase triggers slow start exit": if currentRoundMinRTT >=
                // (lastRoundMinRTT + RttThresh), cssBaselineMinRtt = currentRoundMinRTT and
                // enter CSS.
                if let Some(last) = self.last_round_min_rtt {
                    if current >= last.saturating_add(Self::rtt_thresh(last)) {
                        self.css = Some(Css {
                            baseline_min_rtt: current,
                            rounds: 0,
                        });
                        self.css_remainder = 0;
                    }
                }
            }
            // RFC 9406 §4.2: "For CSS rounds where at least N_RTT_SAMPLE RTT samples have been
            // obtained, check to see if the current round's minRTT drops below baseline
            // (cssBaselineMinRtt) indicating that slow start exit was spurious": then resume
            // slow start, HyStart++ included.
            (Some(css), Some(current))
                if enough_samples && !exit && current < css.baseline_min_rtt =>
            {
                self.css = None;
            }
            _ => {}
        }

        // RFC 9406 §4.2: cwnd grows by min(N, L*SMSS) in slow start (L infinite here), and by
        // min(N, L*SMSS) / CSS_GROWTH_DIVISOR in CSS.
        let increase = if self.css.is_some() {
            let total = self.css_remainder.saturating_add(bytes);
            self.css_remainder = total % CSS_GROWTH_DIVISOR;
            total / CSS_GROWTH_DIVISOR
        } else {
            bytes
        };
        SlowStartStep { increase, exit }
    }
}

//! CUBIC (RFC 9438), driven the way RFC 9002 §7 drives a QUIC controller.
//!
//! Windows are kept in bytes; RFC 9438's segments are maximum datagram sizes, so the cubic
//! function `W_cubic(t) = C*(t-K)^3 + W_max` (§4.2) is evaluated with `C * max_datagram_size`
//! bytes per second cubed. Recovery periods, the minimum window and persistent congestion follow
//! RFC 9002 §7.3.2 and §7.6.2, as for [`super::NewReno`].
//!
//! The initial slow start uses HyStart++ (RFC 9406, [`HyStart`]) when enabled; later slow starts
//! (after persistent congestion) are standard.

use super::hystart::HyStart;
use super::{initial_window, minimum_window, Controller};
use crate::recovery::RttEstimator;
use std::time::{Duration, Instant};

/// C (RFC 9438 §5.1: "C SHOULD be set to 0.4"), in segments per second cubed.
pub const C: f64 = 0.4;
/// beta_cubic (RFC 9438 §4.6: "beta_cubic SHOULD be set to 0.7").
pub const BETA: f64 = 0.7;
/// alpha_cubic (RFC 9438 §4.3: "alpha_cubic = 3 * (1 - beta_cubic) / (1 + beta_cubic)").
pub const ALPHA: f64 = 3.0 * (1.0 - BETA) / (1.0 + BETA);

/// K (RFC 9438 §4.2, Figure 2): `K = cubic_root((W_max - cwnd_epoch) / C)`, the time the cubic
/// function takes to climb from `cwnd_epoch` back to `W_max`. Both windows in bytes; zero when
/// `cwnd_epoch` is not below `W_max`.
pub fn cubic_k(w_max: u64, cwnd_epoch: u64, max_datagram_size: u64) -> Duration {
    let gap = w_max.saturating_sub(cwnd_epoch) as f64;
    let segments = gap / max_datagram_size.max(1) as f64;
    Duration::from_secs_f64((segments / C).cbrt())
}

/// One congestion avoidance stage: the cubic curve's parameters and the Reno estimate.
#[derive(Debug, Clone, Copy)]
struct Epoch {
    /// t_epoch (RFC 9438 §4.2), moved later by application-limited and idle time (§5.8).
    start: Instant,
    /// K in seconds.
    k: f64,
    /// W_max in bytes.
    w_max: f64,
    /// W_est in bytes (RFC 9438 §4.3).
    w_est: f64,
}

/// The CUBIC congestion controller of RFC 9438.
#[derive(Debug, Clone)]
pub struct Cubic {
    max_datagram_size: u64,
    /// A configured initial window, instead of RFC 9002 §7.2's formula.
    configured_initial_window: Option<u64>,
    window: u64,
    /// The fraction of a byte of growth not yet added to `window`.
    window_fraction: f64,
    /// `u64::MAX` until the first congestion event or slow start exit.
    ssthresh: u64,
    /// congestion_recovery_start_time (RFC 9002 Appendix B.2); `None` is the pseudocode's 0.
    recovery_start: Option<Instant>,
    /// W_max (RFC 9438 §4.2) in bytes; `None` when undefined (no loss yet, or after persistent
    /// congestion), when the next epoch takes the window at its start with K = 0 (§4.8, §4.10).
    w_max: Option<u64>,
    /// cwnd_prior (RFC 9438 §4.6): the window just before the last reduction.
    cwnd_prior: u64,
    /// The current congestion avoidance stage; `None` until the first acknowledgment that grows
    /// the window in congestion avoidance.
    epoch: Option<Epoch>,
    /// When growth stopped for application limits (RFC 9438 §5.8), to move t_epoch later.
    frozen_since: Option<Instant>,
    /// The time of the last acknowledgment, to measure idle periods.
    last_ack: Option<Instant>,
    /// HyStart++ for the initial slow start; dropped at the first congestion event or exit.
    hystart: Option<HyStart>,
}

impl Cubic {
    /// A controller in slow start with the initial window (RFC 9002 §7.2), using HyStart++ for
    /// the initial slow start if `hystart` is set.
    pub fn new(
        max_datagram_size: u64,
        configured_initial_window: Option<u64>,
        hystart: bool,
    ) -> Self {
        let mut cc = Self {
            max_datagram_size,
            configured_initial_window,
            window: 0,
            window_fraction: 0.0,
            ssthresh: u64::MAX,
            recovery_start: None,
            w_max: None,
            cwnd_prior: 0,
            epoch: None,
            frozen_since: None,
            last_ack: None,
            hystart: hystart.then(HyStart::new),
        };
        cc.window = cc.initial_window();
        cc
    }

    /// The slow start threshold (`u64::MAX` until slow start first ends).
    pub fn ssthresh(&self) -> u64 {
        self.ssthresh
    }

    /// The start of the current recovery period, if any was entered and not reset.
    pub fn recovery_start(&self) -> Option<Instant> {
        self.recovery_start
    }

    /// W_max in bytes, once defined.
    pub fn w_max(&self) -> Option<u64> {
        self.w_max
    }

    /// K of the current congestion avoidance stage, once it has started.
    pub fn k(&self) -> Option<Duration> {
        self.epoch.map(|e| Duration::from_secs_f64(e.k))
    }

    /// The start of the current congestion avoidance stage (t_epoch), once it has started.
    pub fn epoch_start(&self) -> Option<Instant> {
        self.epoch.map(|e| e.start)
    }

    /// W_est in bytes, once the congestion avoidance stage has started.
    pub fn w_est(&self) -> Option<u64> {
        self.epoch.map(|e| e.w_est as u64)
    }

    /// The HyStart++ state while the initial slow start runs with it.
    pub fn hystart(&self) -> Option<&HyStart> {
        self.hystart.as_ref()
    }

    /// `W_cubic(t)` of the current stage in bytes, for `t` after t_epoch.
    pub fn w_cubic(&self, t: Duration) -> Option<u64> {
        self.epoch
            .map(|e| self.w_cubic_bytes(&e, t.as_secs_f64()) as u64)
    }

    fn minimum_window(&self) -> u64 {
        minimum_window(self.max_datagram_size)
    }

    /// InCongestionRecovery (RFC 9002 Appendix B.5).
    fn in_recovery(&self, sent_time: Instant) -> bool {
        self.recovery_start.is_some_and(|start| sent_time <= start)
    }

    /// RFC 9438 §4.2, Figure 1: `W_cubic(t) = C*(t-K)^3 + W_max`, in bytes.
    fn w_cubic_bytes(&self, epoch: &Epoch, t: f64) -> f64 {
        let mss = self.max_datagram_size as f64;
        let d = t - epoch.k;
        C * mss * d * d * d + epoch.w_max
    }

    /// Starts a congestion avoidance stage at `now` with the current window as cwnd_epoch.
    fn start_epoch(&mut self, now: Instant) -> Epoch {
        let cwnd = self.window;
        // RFC 9438 §4.8, §4.10: without a defined W_max (after a slow start that ended without
        // loss, or after persistent congestion) "K is set to 0, and W_max is set to the
        // congestion window size at the beginning of the current congestion avoidance stage".
        let w_max = self.w_max.unwrap_or(cwnd).max(cwnd);
        Epoch {
            start: now,
            k: cubic_k(w_max, cwnd, self.max_datagram_size).as_secs_f64(),
            w_max: w_max as f64,
            // RFC 9438 §4.3: "W_est is set equal to cwnd_epoch at the start of the congestion
            // avoidance stage."
            w_est: cwnd as f64,
        }
    }

    /// Growth in congestion avoidance for `bytes` newly acknowledged (RFC 9438 §4.3–§4.5).
    fn congestion_avoidance(&mut self, now: Instant, bytes: u64, rtt: &RttEstimator) {
        let mut epoch = match self.epoch {
            Some(epoch) => epoch,
            None => self.start_epoch(now),
        };
        let mss = self.max_datagram_size as f64;
        let cwnd = self.window as f64;

        // RFC 9438 §4.3: "W_est = W_est + alpha_cubic * segments_acked / cwnd", and "Once W_est
        // has grown to reach the cwnd at the time of most recently setting ssthresh ... the
        // sender SHOULD set alpha_cubic to 1".
        let alpha = if epoch.w_est >= self.cwnd_prior as f64 {
            1.0
        } else {
            ALPHA
        };
        epoch.w_est += alpha * mss * bytes as f64 / cwnd;

        let t = now.saturating_duration_since(epoch.start).as_secs_f64();
        let new_window = if self.w_cubic_bytes(&epoch, t) < epoch.w_est {
            // RFC 9438 §4.3: "If W_cubic(t) is less than W_est, then the protocol is in the
            // Reno-friendly region and cwnd SHOULD be set to W_est at each reception of a new
            // ACK."
            epoch.w_est.max(cwnd + self.window_fraction)
        } else {
            // RFC 9438 §4.2: target is W_cubic(t + RTT) bounded to [cwnd, 1.5 * cwnd], with RTT
            // the smoothed RTT.
            let ahead = t + rtt.smoothed().as_secs_f64();
            let target = self.w_cubic_bytes(&epoch, ahead).clamp(cwnd, 1.5 * cwnd);
            // RFC 9438 §4.4 (concave, cwnd < W_max) and §4.5 (convex, cwnd >= W_max): "cwnd
            // MUST be incremented by (target - cwnd)/cwnd for each received new ACK", per
            // segment acknowledged: in bytes, (target - cwnd) * bytes / cwnd.
            cwnd + self.window_fraction + (target - cwnd) * bytes as f64 / cwnd
        };
        self.epoch = Some(epoch);
        // f64 to u64 casts saturate; windows never come near 2^53 bytes.
        let whole = new_window.floor();
        if whole as u64 >= self.window {
            self.window = whole as u64;
            self.window_fraction = new_window - whole;
        }
    }

    /// Moves t_epoch later by the time growth was frozen (RFC 9438 §5.8), so that
    /// application-limited and idle periods are not counted in `t`.
    fn unfreeze(&mut self, now: Instant, since: Instant) {
        if let Some(epoch) = &mut self.epoch {
            epoch.start += now.saturating_duration_since(since);
        }
    }
}

impl Controller for Cubic {
    fn on_packet_sent(&mut self, now: Instant, bytes: u64, bytes_in_flight: u64) {
        // RFC 9438 §5.8: "t in Figure 1 MUST NOT include these periods" (idle or application
        // limited). A packet sent with nothing else in flight ends an idle period that began
        // with the last acknowledgment (or earlier, if acknowledgments were app-limited).
        if bytes_in_flight <= bytes {
            if let Some(since) = self.frozen_since.take().or(self.last_ack) {
                self.unfreeze(now, since);
            }
        }
    }

    fn on_ack(
        &mut self,
        now: Instant,
        sent_time: Instant,
        bytes: u64,
        app_limited: bool,
        rtt: &RttEstimator,
    ) {
        self.last_ack = Some(now);
        // RFC 9438 §5.8: "CUBIC does not increase its congestion window size if the flow is
        // currently limited by the application"; RFC 9002 §7.8: the window "SHOULD NOT be
        // increased in either slow start or congestion avoidance" then.
        if app_limited {
            self.frozen_since.get_or_insert(now);
            return;
        }
        if let Some(since) = self.frozen_since.take() {
            self.unfreeze(now, since);
        }
        // RFC 9002 §7.3.2: until a packet sent after recovery started is acknowledged, the
        // window does not grow.
        if self.in_recovery(sent_time) {
            return;
        }
        if self.window < self.ssthresh {
            // RFC 9002 §7.3.1, RFC 9438 §4.10: slow start, with HyStart++ for the initial one.
            let Some(hystart) = &mut self.hystart else {
                self.window = self.window.saturating_add(bytes);
                return;
            };
            let latest = rtt.has_sample().then(|| rtt.latest());
            let step = hystart.on_ack(now, sent_time, bytes, latest);
            self.window = self.window.saturating_add(step.increase);
            if step.exit {
                // RFC 9406 §4.2: after CSS_ROUNDS "enter congestion avoidance by setting the
                // ssthresh to the current cwnd". RFC 9438 §4.10: "CUBIC sets cwnd_prior = cwnd
                // and switches to congestion avoidance" with W_max undefined.
                self.ssthresh = self.window;
                self.cwnd_prior = self.window;
                self.w_max = None;
                self.epoch = None;
                self.hystart = None;
            }
            return;
        }
        self.congestion_avoidance(now, bytes, rtt);
    }

    fn on_congestion_event(
        &mut self,
        now: Instant,
        sent_time: Instant,
        persistent_congestion: bool,
        _lost_bytes: u64,
    ) {
        // RFC 9406 §4.2: a loss or ECN mark in slow start or CSS ends slow start; HyStart++ is
        // only for the initial slow start.
        self.hystart = None;
        // RFC 9002 §7.3.2: one reduction per recovery period; losses of packets sent before
        // the period started do not reduce the window again.
        if !self.in_recovery(sent_time) {
            self.recovery_start = Some(now);
            let cwnd = self.window;
            // RFC 9438 §4.7, fast convergence: "if cwnd < W_max and fast convergence enabled,
            // further reduce W_max: W_max = cwnd * (1 + beta_cubic) / 2; otherwise, remember
            // cwnd before reduction: W_max = cwnd".
            // (1 + 0.7) / 2 = 17 / 20, in integers.
            self.w_max = Some(match self.w_max {
                Some(w_max) if cwnd < w_max => cwnd.saturating_mul(17) / 20,
                _ => cwnd,
            });
            // RFC 9438 §4.6: "cwnd_prior = cwnd; ssthresh = cwnd * beta_cubic; cwnd =
            // max(ssthresh, 2)" (the flight size is the window in QUIC, and the floor is
            // kMinimumWindow, RFC 9002 §7.2).
            self.cwnd_prior = cwnd;
            // beta_cubic = 7 / 10, in integers.
            self.ssthresh = (cwnd.saturating_mul(7) / 10).max(self.minimum_window());
            self.window = self.ssthresh;
            self.window_fraction = 0.0;
            // RFC 9438 §4.2: a new congestion avoidance stage starts, with K from the W_max and
            // cwnd of this event; t_epoch is taken when it first grows the window.
            self.epoch = None;
        }
        if persistent_congestion {
            // RFC 9002 §7.6.2: "When persistent congestion is declared, the sender's congestion
            // window MUST be reduced to the minimum congestion window (kMinimumWindow)".
            // Appendix B.8 also clears the recovery start. RFC 9438 §4.8: the next congestion
            // avoidance stage uses K = 0 and W_max = its starting window.
            self.window = self.minimum_window();
            self.window_fraction = 0.0;
            self.recovery_start = None;
            self.w_max = None;
            self.epoch = None;
        }
    }

    fn on_max_datagram_size_changed(&mut self, max_datagram_size: u64) {
        let decreased = max_datagram_size < self.max_datagram_size;
        self.max_datagram_size = max_datagram_size;
        if decreased {
            // RFC 9002 §7.2: "If the maximum datagram size is decreased in order to complete
            // the handshake, the congestion window SHOULD be set to the new initial congestion
            // window."
            self.window = self.initial_window();
            self.window_fraction = 0.0;
        }
        self.window = self.window.max(self.minimum_window());
        // K depends on the segment size; the next acknowledgment starts a new stage.
        self.epoch = None;
    }

    fn window(&self) -> u64 {
        self.window
    }

    fn initial_window(&self) -> u64 {
        // RFC 9002 §7.2: "If the maximum datagram size changes during the connection, the
        // initial congestion window SHOULD be recalculated with the new size."
        self.configured_initial_window
            .unwrap_or_else(|| initial_window(self.max_datagram_size))
            .max(self.minimum_window())
    }

    fn name(&self) -> &'static str {
        "cubic"
    }
}

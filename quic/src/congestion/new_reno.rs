//! NewReno (RFC 9002 §7, Appendix B).

use super::{initial_window, minimum_window, Controller};
use crate::recovery::RttEstimator;
use std::time::Instant;

/// The NewReno congestion controller of RFC 9002 Appendix B.
#[derive(Debug, Clone)]
pub struct NewReno {
    max_datagram_size: u64,
    /// A configured initial window, instead of RFC 9002 §7.2's formula.
    configured_initial_window: Option<u64>,
    window: u64,
    /// `u64::MAX` stands for the infinite initial value (RFC 9002 Appendix B.3).
    ssthresh: u64,
    /// congestion_recovery_start_time; `None` is the pseudocode's 0.
    recovery_start: Option<Instant>,
    /// Bytes acknowledged in congestion avoidance not yet turned into window growth
    /// (RFC 3465 §2.1, which RFC 9002 Appendix B.5 suggests for integer windows).
    bytes_acked: u64,
}

impl NewReno {
    /// A controller in slow start with the initial window (RFC 9002 Appendix B.3).
    pub fn new(max_datagram_size: u64, configured_initial_window: Option<u64>) -> Self {
        let mut cc = Self {
            max_datagram_size,
            configured_initial_window,
            window: 0,
            ssthresh: u64::MAX,
            recovery_start: None,
            bytes_acked: 0,
        };
        cc.window = cc.initial_window();
        cc
    }

    /// The slow start threshold (`u64::MAX` until the first congestion event).
    pub fn ssthresh(&self) -> u64 {
        self.ssthresh
    }

    /// The start of the current recovery period, if any was entered and not reset.
    pub fn recovery_start(&self) -> Option<Instant> {
        self.recovery_start
    }

    fn minimum_window(&self) -> u64 {
        minimum_window(self.max_datagram_size)
    }

    /// InCongestionRecovery (RFC 9002 Appendix B.5): packets sent before the recovery period
    /// started neither grow the window nor start another reduction (§7.3.2: "during a
    /// recovery period, the congestion window does not change in response to new losses").
    fn in_recovery(&self, sent_time: Instant) -> bool {
        self.recovery_start.is_some_and(|start| sent_time <= start)
    }
}

impl Controller for NewReno {
    fn on_ack(
        &mut self,
        _now: Instant,
        sent_time: Instant,
        bytes: u64,
        app_limited: bool,
        _rtt: &RttEstimator,
    ) {
        // RFC 9002 §7.8: when the window is underutilized, it "SHOULD NOT be increased in
        // either slow start or congestion avoidance".
        if app_limited {
            return;
        }
        // RFC 9002 §7.3.2: recovery ends when a packet sent during it is acknowledged; until
        // then the window does not grow.
        if self.in_recovery(sent_time) {
            return;
        }
        if self.window < self.ssthresh {
            // RFC 9002 §7.3.1: "While a sender is in slow start, the congestion window
            // increases by the number of bytes acknowledged".
            self.window = self.window.saturating_add(bytes);
        } else {
            // RFC 9002 §7.3.3: the increase MUST be limited "to at most one maximum datagram
            // size for each congestion window that is acknowledged".
            self.bytes_acked = self.bytes_acked.saturating_add(bytes);
            if self.bytes_acked >= self.window {
                self.bytes_acked -= self.window;
                self.window = self.window.saturating_add(self.max_datagram_size);
            }
        }
    }

    fn on_congestion_event(
        &mut self,
        now: Instant,
        sent_time: Instant,
        persistent_congestion: bool,
        _lost_bytes: u64,
    ) {
        // RFC 9002 Appendix B.6 OnCongestionEvent.
        if !self.in_recovery(sent_time) {
            // RFC 9002 §7.3.2: "On entering a recovery period, a sender MUST set the slow start
            // threshold to half the value of the congestion window when loss is detected. The
            // congestion window MUST be set to the reduced value of the slow start threshold
            // before exiting the recovery period." It is reduced at once here.
            self.recovery_start = Some(now);
            self.ssthresh = self.window / 2;
            self.window = self.ssthresh.max(self.minimum_window());
            self.bytes_acked = 0;
        }
        if persistent_congestion {
            // RFC 9002 §7.6.2: "When persistent congestion is declared, the sender's congestion
            // window MUST be reduced to the minimum congestion window (kMinimumWindow)".
            // Appendix B.8 also clears the recovery start, so the sender restarts in slow start.
            self.window = self.minimum_window();
            self.recovery_start = None;
            self.bytes_acked = 0;
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
        }
        self.window = self.window.max(self.minimum_window());
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
        "new_reno"
    }
}

//! Flow control (RFC 9000 §4): the credit the peer gave us for sending, and the windows we
//! advertise for receiving, with auto-tuning.

use std::time::{Duration, Instant};

/// A window is grown when it is refreshed faster than this many RTTs (quiche uses 2 as well):
/// the application drains it faster than one round trip of credit can keep up with.
const AUTOTUNE_TRIGGER_RTTS: u32 = 2;

/// Credit granted by the peer for data we send, on one stream (MAX_STREAM_DATA) or on the
/// connection (MAX_DATA).
#[derive(Debug, Clone, Copy)]
pub(crate) struct SendCredit {
    /// The largest limit the peer has granted.
    max: u64,
    /// Bytes of new data sent (the largest offset sent, for a stream).
    used: u64,
    /// The limit for which we last queued a *_BLOCKED frame; sent once per limit (RFC 9000 §4.1).
    blocked_signaled: Option<u64>,
}

impl SendCredit {
    pub(crate) fn new(max: u64) -> Self {
        Self {
            max,
            used: 0,
            blocked_signaled: None,
        }
    }

    pub(crate) fn max(&self) -> u64 {
        self.max
    }

    #[cfg(any(test, fuzzing))]
    pub(crate) fn used(&self) -> u64 {
        self.used
    }

    pub(crate) fn available(&self) -> u64 {
        self.max.saturating_sub(self.used)
    }

    /// Raises the limit. RFC 9000 §4.1: "A sender MUST ignore any MAX_STREAM_DATA or MAX_DATA
    /// frames that do not increase flow control limits." Returns whether it grew.
    pub(crate) fn raise(&mut self, max: u64) -> bool {
        if max > self.max {
            self.max = max;
            true
        } else {
            false
        }
    }

    /// Records `n` bytes of new data sent.
    pub(crate) fn consume(&mut self, n: u64) {
        debug_assert!(n <= self.available(), "flow control exceeded");
        self.used += n;
    }

    /// If we are blocked at the current limit and have not said so yet, returns the limit to put
    /// in a *_BLOCKED frame (RFC 9000 §4.1: "A sender SHOULD send a STREAM_DATA_BLOCKED or
    /// DATA_BLOCKED frame ... when it wishes to send data but is unable to do so due to flow
    /// control limits").
    pub(crate) fn take_blocked(&mut self) -> Option<u64> {
        if self.available() == 0 && self.blocked_signaled != Some(self.max) {
            self.blocked_signaled = Some(self.max);
            Some(self.max)
        } else {
            None
        }
    }

    /// Whether we are still blocked at `limit` (a lost *_BLOCKED frame is only worth
    /// repeating then, RFC 9000 §13.3).
    pub(crate) fn blocked_at(&self, limit: u64) -> bool {
        self.available() == 0 && self.max == limit
    }
}

/// A receive window we advertise: MAX_STREAM_DATA for one stream or MAX_DATA for the
/// connection.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RecvWindow {
    /// The largest limit we have advertised (and enforce).
    max: u64,
    /// Bytes the application has read or that were discarded (stopped/reset streams).
    consumed: u64,
    /// Current window size: how far past `consumed` the next update reaches.
    window: u64,
    /// Upper bound for auto-tuning.
    max_window: u64,
    /// When the last update was issued, to measure how fast the window is drained.
    last_update: Option<Instant>,
}

impl RecvWindow {
    pub(crate) fn new(window: u64, max_window: u64) -> Self {
        Self {
            max: window,
            consumed: 0,
            window,
            max_window: max_window.max(window),
            last_update: None,
        }
    }

    /// The advertised limit.
    pub(crate) fn max(&self) -> u64 {
        self.max
    }

    pub(crate) fn window(&self) -> u64 {
        self.window
    }

    #[cfg(any(test, fuzzing))]
    pub(crate) fn consumed(&self) -> u64 {
        self.consumed
    }

    /// Records `n` more bytes read or discarded.
    pub(crate) fn consume(&mut self, n: u64) {
        self.consumed += n;
    }

    /// Whether the peer has used more than half of the window since the last update, so a new
    /// limit is worth sending (quinn and quiche use the same threshold; RFC 9000 §4.2 asks to
    /// send updates early enough to avoid blocking, but not for every byte read).
    pub(crate) fn should_update(&self) -> bool {
        self.max.saturating_sub(self.consumed) < self.window / 2
    }

    /// Auto-tunes, then raises the limit to `consumed + window`; returns the new limit.
    ///
    /// Auto-tuning: if the previous update was less than 2 RTTs ago, the application drains the
    /// window faster than credit can round-trip, so the window (not the reader) is the
    /// bottleneck: double it, up to the configured maximum.
    pub(crate) fn update(&mut self, now: Instant, rtt: Duration) -> u64 {
        if let Some(last) = self.last_update {
            if now.saturating_duration_since(last) < rtt * AUTOTUNE_TRIGGER_RTTS {
                self.window = self.window.saturating_mul(2).min(self.max_window);
            }
        }
        self.last_update = Some(now);
        self.max = self.max.max(self.consumed + self.window);
        self.max
    }

    /// Makes the window at least `min` (bounded by the maximum), so that the connection window
    /// is never the bottleneck of a single auto-tuned stream.
    pub(crate) fn ensure_window(&mut self, min: u64) {
        self.window = self.window.max(min.min(self.max_window));
    }
}

//! Pacing (RFC 9002 §7.7): a token bucket that spreads a window's worth of packets over a
//! round trip.
//!
//! RFC 9002 §7.7: "A sender SHOULD pace sending of all in-flight packets based on input from
//! the congestion controller" and "Senders MUST either use pacing or limit such bursts." The
//! bucket fills at `N * congestion_window / smoothed_rtt` with N = 5/4 and holds at most a burst
//! of [`BURST_PACKETS`] datagrams (never more than the window), following §7.7's "Senders
//! SHOULD limit bursts to the initial congestion window".
//!
//! The connection asks [`Pacer::delay`] before each in-flight packet and reports what it sent
//! with [`Pacer::on_sent`]. "packets containing only ACK frames SHOULD therefore not be paced",
//! so those skip the pacer entirely. Nothing here sleeps: a deadline comes back and the caller
//! arms its timer.

use std::time::{Duration, Instant};

/// Burst allowance in datagrams; ten matches the initial window of RFC 9002 §7.2.
pub const BURST_PACKETS: u64 = 10;

/// The pacing gain N as a fraction (RFC 9002 §7.7: "Using a value for "N" that is small, but
/// at least 1 (for example, 1.25) ensures that variations in RTT do not result in
/// underutilization of the congestion window").
const GAIN_NUM: u128 = 5;
const GAIN_DEN: u128 = 4;

/// A token-bucket pacer.
#[derive(Debug, Clone)]
pub struct Pacer {
    /// Bytes that may be sent right away.
    tokens: u64,
    /// Bucket size: the allowed burst.
    capacity: u64,
    /// Last time tokens were added.
    last_refill: Instant,
}

impl Pacer {
    /// A pacer with a full bucket, so the first burst leaves at once.
    pub fn new(now: Instant, window: u64, max_datagram_size: u64) -> Self {
        let capacity = capacity(window, max_datagram_size);
        Self {
            tokens: capacity,
            capacity,
            last_refill: now,
        }
    }

    /// When a packet of `bytes` may be sent: `None` for now, else the earliest time. The
    /// current `window`, `smoothed_rtt` and `max_datagram_size` come from the controller and
    /// the RTT estimator on each call, so the rate follows them.
    pub fn delay(
        &mut self,
        now: Instant,
        bytes: u64,
        smoothed_rtt: Duration,
        window: u64,
        max_datagram_size: u64,
    ) -> Option<Instant> {
        self.capacity = capacity(window, max_datagram_size);
        self.refill(now, smoothed_rtt, window);
        // A packet larger than the whole bucket could never leave; let it go when full.
        let needed = bytes.min(self.capacity);
        if self.tokens >= needed {
            return None;
        }
        let rtt_ns = smoothed_rtt.as_nanos();
        let window = u128::from(window);
        if rtt_ns == 0 || window == 0 {
            return None;
        }
        // Time for the missing bytes at N * window / rtt, rounded up so that the refill at
        // the returned time really covers them.
        let missing = u128::from(needed - self.tokens);
        let den = GAIN_NUM * window;
        let wait_ns = missing.saturating_mul(GAIN_DEN * rtt_ns).div_ceil(den);
        let wait = Duration::from_nanos(u64::try_from(wait_ns).unwrap_or(u64::MAX));
        Some(now.checked_add(wait).unwrap_or(now))
    }

    /// Records that `bytes` of in-flight data were sent (probes and retransmissions included).
    pub fn on_sent(&mut self, bytes: u64) {
        self.tokens = self.tokens.saturating_sub(bytes);
    }

    /// Bytes that may be sent right now, as of the last [`Pacer::delay`] call.
    pub fn tokens(&self) -> u64 {
        self.tokens
    }

    fn refill(&mut self, now: Instant, smoothed_rtt: Duration, window: u64) {
        let elapsed = now.saturating_duration_since(self.last_refill);
        let rtt_ns = smoothed_rtt.as_nanos();
        if rtt_ns == 0 {
            self.tokens = self.capacity;
            self.last_refill = now;
            return;
        }
        // rate = N * window / smoothed_rtt (RFC 9002 §7.7), in bytes per nanosecond.
        let added = elapsed
            .as_nanos()
            .saturating_mul(GAIN_NUM * u128::from(window))
            / (GAIN_DEN * rtt_ns);
        if added == 0 {
            // Keep `last_refill` so that short intervals accumulate instead of rounding away.
            self.tokens = self.tokens.min(self.capacity);
            return;
        }
        let tokens = u128::from(self.tokens).saturating_add(added);
        if tokens >= u128::from(self.capacity) {
            // A full bucket banks no time: idle periods do not build up bursts.
            self.tokens = self.capacity;
            self.last_refill = now;
        } else {
            // Advance only by the time the whole tokens took, so that the fractional remainder
            // carries into the next refill instead of being lost on every call.
            self.tokens = u64::try_from(tokens).unwrap_or(self.capacity);
            let used_ns = added.saturating_mul(GAIN_DEN * rtt_ns) / (GAIN_NUM * u128::from(window));
            let used = Duration::from_nanos(u64::try_from(used_ns).unwrap_or(u64::MAX));
            self.last_refill = self.last_refill.checked_add(used).unwrap_or(now).min(now);
        }
    }
}

/// The burst allowance: ten datagrams, but never more than the window and at least one
/// datagram.
fn capacity(window: u64, max_datagram_size: u64) -> u64 {
    max_datagram_size
        .saturating_mul(BURST_PACKETS)
        .min(window)
        .max(max_datagram_size)
}

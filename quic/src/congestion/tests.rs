//! Tests for congestion control: NewReno window arithmetic and the pacer.

use super::*;
use std::time::Duration;

const MDS: u64 = 1200;

/// A fixed starting point; tests never depend on the real clock beyond this one read.
#[allow(clippy::disallowed_methods)]
fn now() -> Instant {
    Instant::now()
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[test]
fn initial_and_minimum_windows() {
    // RFC 9002 §7.2: min(10 * mds, max(14720, 2 * mds)).
    assert_eq!(initial_window(1200), 12_000);
    assert_eq!(initial_window(1472), 14_720);
    assert_eq!(initial_window(1500), 14_720);
    assert_eq!(initial_window(9000), 18_000);
    assert_eq!(minimum_window(1200), 2_400);
    let cc = CongestionConfig::default().build(MDS);
    assert_eq!(cc.window(), 12_000);
    assert_eq!(cc.name(), "cubic");
    let cc = CongestionConfig::NewReno {
        initial_window: Some(40_000),
    }
    .build(MDS);
    assert_eq!(cc.window(), 40_000);
    assert_eq!(cc.initial_window(), 40_000);
    let cc = CongestionConfig::NewReno {
        initial_window: Some(1),
    }
    .build(MDS);
    assert_eq!(cc.window(), 2_400, "never below the minimum window");
}

/// Slow start, a loss entering recovery, no change in recovery, exit on a packet sent after
/// recovery started, then congestion avoidance at one datagram per window.
#[test]
fn new_reno_slow_start_recovery_avoidance() {
    let t0 = now();
    let rtt = RttEstimator::default();
    let mut cc = NewReno::new(MDS, None);
    assert_eq!(cc.ssthresh(), u64::MAX);

    // Slow start: the window grows by every acknowledged byte.
    for i in 0..5 {
        cc.on_ack(t0 + ms(100), t0 + ms(i), MDS, false, &rtt);
    }
    assert_eq!(cc.window(), 12_000 + 5 * MDS);

    // Loss of a packet sent at t0 + 10, detected at t0 + 150: ssthresh = window / 2.
    let recovery = t0 + ms(150);
    cc.on_congestion_event(recovery, t0 + ms(10), false, MDS);
    assert_eq!(cc.ssthresh(), 9_000);
    assert_eq!(cc.window(), 9_000);
    assert_eq!(cc.recovery_start(), Some(recovery));

    // Packets sent before recovery started neither grow the window nor reduce it again.
    cc.on_ack(t0 + ms(160), t0 + ms(20), MDS, false, &rtt);
    cc.on_congestion_event(t0 + ms(170), t0 + ms(30), false, MDS);
    cc.on_congestion_event(t0 + ms(170), recovery, false, MDS);
    assert_eq!(cc.window(), 9_000);
    assert_eq!(cc.recovery_start(), Some(recovery));

    // A packet sent after recovery started ends it. window == ssthresh: congestion avoidance,
    // one datagram per window of acknowledged bytes (RFC 9002 §7.3.3).
    let after = recovery + ms(1);
    for _ in 0..7 {
        cc.on_ack(t0 + ms(300), after, MDS, false, &rtt);
    }
    assert_eq!(cc.window(), 9_000, "8400 bytes acked < one window");
    cc.on_ack(t0 + ms(300), after, MDS, false, &rtt);
    assert_eq!(
        cc.window(),
        10_200,
        "9600 bytes acked >= 9000: one datagram more"
    );
    // The 600 surplus bytes carry over: 600 + 8 * 1200 = 10200 reaches the next window.
    for _ in 0..8 {
        cc.on_ack(t0 + ms(400), after, MDS, false, &rtt);
    }
    assert_eq!(cc.window(), 11_400);

    // A new loss of a packet sent after the first recovery started is a new event.
    cc.on_congestion_event(t0 + ms(500), after, false, MDS);
    assert_eq!(cc.window(), 5_700);
    assert_eq!(cc.ssthresh(), 5_700);
}

#[test]
fn new_reno_minimum_window_and_persistent_congestion() {
    let t0 = now();
    let rtt = RttEstimator::default();
    let mut cc = NewReno::new(MDS, None);
    for i in 0..4 {
        cc.on_congestion_event(t0 + ms(10 * i + 10), t0 + ms(10 * i + 5), false, MDS);
    }
    // 12000 → 6000 → 3000 → 2400 (floor) → 2400.
    assert_eq!(cc.window(), 2_400);

    let mut cc = NewReno::new(MDS, None);
    cc.on_ack(t0, t0, 3 * MDS, false, &rtt);
    cc.on_congestion_event(t0 + ms(100), t0 + ms(50), true, 10 * MDS);
    // RFC 9002 §7.6.2: collapse to the minimum window; ssthresh halved from 15600.
    assert_eq!(cc.window(), 2_400);
    assert_eq!(cc.ssthresh(), 7_800);
    assert_eq!(cc.recovery_start(), None);
    // Back in slow start (window < ssthresh), even for packets sent before the event.
    cc.on_ack(t0 + ms(200), t0 + ms(60), MDS, false, &rtt);
    assert_eq!(cc.window(), 3_600);

    // Persistent congestion while already in recovery still collapses the window.
    let mut cc = NewReno::new(MDS, None);
    cc.on_congestion_event(t0 + ms(100), t0 + ms(50), false, MDS);
    cc.on_congestion_event(t0 + ms(110), t0 + ms(60), true, MDS);
    assert_eq!(cc.window(), 2_400);
}

#[test]
fn new_reno_app_limited_does_not_grow() {
    let t0 = now();
    let rtt = RttEstimator::default();
    let mut cc = NewReno::new(MDS, None);
    cc.on_ack(t0, t0, MDS, true, &rtt);
    assert_eq!(cc.window(), 12_000, "slow start, app limited");
    cc.on_congestion_event(t0 + ms(1), t0, false, MDS);
    for _ in 0..20 {
        cc.on_ack(t0 + ms(50), t0 + ms(2), MDS, true, &rtt);
    }
    assert_eq!(cc.window(), 6_000, "congestion avoidance, app limited");
}

#[test]
fn new_reno_max_datagram_size_changes() {
    let mut cc = NewReno::new(MDS, None);
    cc.on_max_datagram_size_changed(1500);
    assert_eq!(cc.initial_window(), 14_720);
    assert_eq!(cc.window(), 12_000, "an increase keeps the current window");
    cc.on_max_datagram_size_changed(1200);
    assert_eq!(
        cc.window(),
        12_000,
        "a decrease resets to the new initial window"
    );
    let mut cc = NewReno::new(MDS, None);
    let t0 = now();
    for i in 0..3 {
        cc.on_congestion_event(t0 + ms(10 * i + 10), t0 + ms(10 * i + 5), false, MDS);
    }
    cc.on_max_datagram_size_changed(4000);
    assert_eq!(cc.window(), 8_000, "raised to the new minimum window");
}

#[test]
fn discarded_packets_do_not_touch_the_window() {
    let mut cc = CongestionConfig::default().build(MDS);
    cc.on_packet_sent(now(), MDS, MDS);
    cc.on_packet_discarded(MDS);
    assert_eq!(cc.window(), 12_000);
}

// ---------------------------------------------------------------------------------------------
// Pacer
// ---------------------------------------------------------------------------------------------

#[test]
fn pacer_allows_a_burst_then_spaces_packets() {
    let t0 = now();
    let rtt = ms(100);
    let window = 24_000;
    let mut p = Pacer::new(t0, window, MDS);
    // A burst of ten datagrams leaves at once.
    for _ in 0..10 {
        assert_eq!(p.delay(t0, MDS, rtt, window, MDS), None);
        p.on_sent(MDS);
    }
    // Then one datagram per rtt * mds / (1.25 * window) = 100 ms * 1200 / 30000 = 4 ms.
    let next = p.delay(t0, MDS, rtt, window, MDS).expect("paced");
    assert_eq!(next, t0 + ms(4));
    assert!(p.delay(t0 + ms(3), MDS, rtt, window, MDS).is_some());
    assert_eq!(p.delay(t0 + ms(4), MDS, rtt, window, MDS), None);
    p.on_sent(MDS);
    assert_eq!(p.delay(t0 + ms(4), MDS, rtt, window, MDS), Some(t0 + ms(8)));

    // Sending at the paced rate for one RTT sends 1.25 windows' worth.
    let mut now = t0 + ms(4);
    let mut sent = 0;
    while now <= t0 + ms(104) {
        match p.delay(now, MDS, rtt, window, MDS) {
            None => {
                p.on_sent(MDS);
                sent += MDS;
            }
            Some(at) => now = at,
        }
    }
    assert_eq!(sent, 30_000);
}

#[test]
fn pacer_burst_is_capped_by_window_and_refills_slowly() {
    let t0 = now();
    let window = 2 * MDS;
    let mut p = Pacer::new(t0, window, MDS);
    assert_eq!(p.tokens(), 2 * MDS, "burst never exceeds the window");
    p.on_sent(2 * MDS);
    // A long idle period refills only up to the burst size.
    assert_eq!(
        p.delay(t0 + Duration::from_secs(10), MDS, ms(50), window, MDS),
        None
    );
    assert_eq!(p.tokens(), 2 * MDS);
    // Tiny steps accumulate rather than round away.
    p.on_sent(2 * MDS);
    let mut now = t0 + Duration::from_secs(10);
    let deadline = p.delay(now, MDS, ms(50), window, MDS).unwrap();
    while p.delay(now, MDS, ms(50), window, MDS).is_some() {
        now += Duration::from_nanos(700);
    }
    assert!(now <= deadline + Duration::from_nanos(700));
}

#[test]
fn pacer_without_rtt_does_not_pace_and_handles_jumbo_packets() {
    let t0 = now();
    let mut p = Pacer::new(t0, 12_000, MDS);
    p.on_sent(12_000);
    assert_eq!(p.delay(t0, MDS, Duration::ZERO, 12_000, MDS), None);
    let mut p = Pacer::new(t0, 12_000, MDS);
    // A packet larger than the bucket waits for a full bucket, not forever.
    assert_eq!(p.delay(t0, 100_000, ms(10), 12_000, MDS), None);
    p.on_sent(12_000);
    assert!(p.delay(t0, 100_000, ms(10), 12_000, MDS).is_some());
}

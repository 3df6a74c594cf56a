//! Tests for CUBIC (RFC 9438) and HyStart++ (RFC 9406), on a virtual clock.

use super::cubic::{cubic_k, ALPHA, BETA, C};
use super::hystart::{SlowStartStep, CSS_ROUNDS, N_RTT_SAMPLE};
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

/// An estimator whose smoothed RTT is `rtt` (no sample taken).
fn rtt_of(rtt: Duration) -> RttEstimator {
    RttEstimator::new(rtt)
}

/// A CUBIC controller without HyStart++ with a 120,000-byte (100-datagram) window, just
/// reduced by a loss detected at `at`: window 84,000, W_max 120,000.
fn after_loss(at: Instant) -> Cubic {
    let mut cc = Cubic::new(MDS, Some(120_000), false);
    cc.on_congestion_event(at, at - ms(1), false, MDS);
    cc
}

/// One round trip of congestion avoidance: a window's worth of full-sized packets, all sent at
/// `sent`, acknowledged evenly over `rtt` from `start`.
fn ack_round(cc: &mut Cubic, start: Instant, sent: Instant, rtt: &RttEstimator) {
    let n = cc.window() / MDS;
    let step = rtt.smoothed() / n as u32;
    for i in 0..n {
        cc.on_ack(start + step * i as u32, sent, MDS, false, rtt);
    }
}

/// `W_cubic(t)` in bytes from first principles, for checking the controller's curve.
fn w_cubic(t: f64, k: f64, w_max: f64) -> f64 {
    C * MDS as f64 * (t - k).powi(3) + w_max
}

#[test]
fn cubic_is_registered_and_named() {
    let cc = CongestionConfig::Cubic {
        initial_window: None,
        hystart: true,
    }
    .build(MDS);
    assert_eq!(cc.name(), "cubic");
    assert_eq!(cc.window(), 12_000);
    assert_eq!(CongestionConfig::cubic().build(MDS).name(), "cubic");
    let cc = CongestionConfig::Cubic {
        initial_window: Some(1),
        hystart: false,
    }
    .build(MDS);
    assert_eq!(cc.window(), 2_400, "never below the minimum window");
    assert_eq!(cc.initial_window(), 2_400);
}

#[test]
fn loss_reduces_the_window_to_beta() {
    let t0 = now();
    let cc = after_loss(t0);
    // RFC 9438 §4.6: ssthresh = cwnd * 0.7 and cwnd = ssthresh.
    assert_eq!(cc.window(), 84_000);
    assert_eq!(cc.ssthresh(), 84_000);
    assert_eq!(cc.w_max(), Some(120_000));
    assert_eq!(cc.recovery_start(), Some(t0));

    let mut cc = Cubic::new(MDS, None, true);
    cc.on_congestion_event(t0, t0, false, 0);
    assert_eq!(cc.window(), 8_400, "0.7 of the initial window, ECN-CE too");
    assert!(cc.hystart().is_none(), "a congestion event ends HyStart++");

    // The floor is kMinimumWindow (RFC 9002 §7.2).
    let mut cc = Cubic::new(MDS, Some(3_000), false);
    cc.on_congestion_event(t0, t0, false, MDS);
    assert_eq!(cc.window(), 2_400);
}

#[test]
fn k_matches_hand_computed_values() {
    // K = cbrt((W_max - cwnd_epoch) / C), in segments and seconds.
    // 100 → 70 segments: cbrt(30 / 0.4) = cbrt(75) = 4.2171633...
    let k = cubic_k(120_000, 84_000, MDS).as_secs_f64();
    assert!((k - 4.217_163).abs() < 1e-5, "{k}");
    // 1000 → 700 segments: cbrt(750) = 9.0856029...
    let k = cubic_k(1_200_000, 840_000, MDS).as_secs_f64();
    assert!((k - 9.085_603).abs() < 1e-5, "{k}");
    // 10.4 segments below W_max: cbrt(26) = 2.9624961...
    let k = cubic_k(24_000, 24_000 - 12_480, MDS).as_secs_f64();
    assert!((k - 2.962_496).abs() < 1e-5, "{k}");
    // At or above W_max, K is zero.
    assert_eq!(cubic_k(10_000, 10_000, MDS), Duration::ZERO);
    assert_eq!(cubic_k(10_000, 20_000, MDS), Duration::ZERO);

    // The controller uses the W_max and window of the congestion event.
    let t0 = now();
    let rtt = rtt_of(ms(100));
    let mut cc = after_loss(t0);
    assert_eq!(
        cc.k(),
        None,
        "the stage starts with its first acknowledgment"
    );
    cc.on_ack(t0 + ms(100), t0 + ms(50), MDS, false, &rtt);
    let k = cc.k().unwrap().as_secs_f64();
    assert!((k - 4.217_163).abs() < 1e-5, "{k}");
    assert_eq!(cc.epoch_start(), Some(t0 + ms(100)));
}

/// With a 200 ms RTT the cubic curve dominates Reno: the window climbs concavely to W_max
/// around t = K, stays near it, then grows convexly beyond.
#[test]
fn growth_follows_the_cubic_curve() {
    let t0 = now();
    let rtt = rtt_of(ms(200));
    let r = 0.2;
    let mut cc = after_loss(t0);
    let epoch = t0 + ms(200);
    let k = cubic_k(120_000, 84_000, MDS).as_secs_f64();
    let mut samples = Vec::new();
    for round in 0..40u32 {
        let start = epoch + ms(200) * round;
        let t = f64::from(round) * r;
        samples.push((t, cc.window() as f64));
        ack_round(&mut cc, start, start - ms(100), &rtt);
        // Past the first moments (where the curve is flat), the cubic curve is above W_est.
        assert!(
            cc.w_cubic(Duration::from_secs_f64(t + r)).unwrap() >= cc.w_est().unwrap(),
            "cubic region at t = {t}"
        );
    }
    assert_eq!(cc.epoch_start(), Some(epoch));
    for &(t, window) in &samples {
        // The per-ACK steps toward W_cubic(t + RTT) keep the window between the curve at t
        // (give or take a round of lag) and the target one RTT ahead.
        let low = w_cubic(t - r, k, 120_000.0).min(w_cubic(t, k, 120_000.0)) - MDS as f64;
        let high = w_cubic(t + r, k, 120_000.0).max(84_000.0) + 1.0;
        assert!(
            (low..=high).contains(&window),
            "t = {t}: {window} not in {low}..={high}"
        );
        if t + r <= k {
            assert!(window <= 120_000.0, "no overshoot of W_max before K");
        }
    }
    // Concave before K: each round adds less than the one before. Convex after: more.
    let growth: Vec<(f64, f64)> = samples
        .windows(2)
        .map(|w| (w[0].0, w[1].1 - w[0].1))
        .collect();
    for pair in growth.windows(2) {
        let ((t, a), (_, b)) = (pair[0], pair[1]);
        if t + 3.0 * r < k {
            assert!(b <= a + 1.0, "concave at t = {t}: {a} then {b}");
        } else if t > k + r {
            assert!(b + 1.0 >= a, "convex at t = {t}: {a} then {b}");
        }
    }
    let at_k = samples
        .iter()
        .find(|(t, _)| *t >= k)
        .map(|&(_, w)| w)
        .unwrap();
    assert!(
        (at_k - 120_000.0).abs() < 1_200.0,
        "plateau at W_max: {at_k}"
    );
    let (t_end, end) = *samples.last().unwrap();
    assert!(
        end > 120_000.0 + 10.0 * MDS as f64,
        "probing beyond W_max: {end}"
    );
    assert!(
        (end - w_cubic(t_end, k, 120_000.0)).abs() < 0.03 * end,
        "{end}"
    );
}

/// With a 1 ms RTT the cubic curve barely moves in 100 ms while Reno's estimate grows by
/// alpha_cubic (then 1) datagram per round trip: the window follows W_est (RFC 9438 §4.3).
#[test]
fn reno_friendly_region_dominates_on_short_rtts() {
    let t0 = now();
    let rtt = rtt_of(ms(1));
    let mut cc = after_loss(t0);
    let epoch = t0 + ms(10);
    for round in 0..10u32 {
        let start = epoch + ms(1) * round;
        ack_round(&mut cc, start, start - ms(1) / 2, &rtt);
    }
    // Ten round trips of W_est += alpha_cubic * segments_acked / cwnd.
    let expected = 84_000.0 + 10.0 * ALPHA * MDS as f64;
    let window = cc.window() as f64;
    assert!(
        (window - expected).abs() < 0.05 * 10.0 * ALPHA * MDS as f64,
        "{window} vs {expected}"
    );
    for round in 10..100u32 {
        let start = epoch + ms(1) * round;
        ack_round(&mut cc, start, start - ms(1) / 2, &rtt);
    }
    let t = ms(100);
    let cubic = cc.w_cubic(t).unwrap();
    assert!(cubic < 90_000, "the cubic curve is still low: {cubic}");
    assert!(
        cc.window() > 120_000,
        "Reno-friendly growth: {}",
        cc.window()
    );
    assert!(cc.window().abs_diff(cc.w_est().unwrap()) <= 1);
    assert_eq!(
        ALPHA,
        3.0 * (1.0 - BETA) / (1.0 + BETA),
        "alpha_cubic for beta 0.7"
    );
}

#[test]
fn fast_convergence_lowers_w_max() {
    let t0 = now();
    let mut cc = after_loss(t0);
    assert_eq!(cc.w_max(), Some(120_000));
    // A second loss before the window got back to W_max: W_max = cwnd * (1 + beta) / 2.
    cc.on_congestion_event(t0 + ms(200), t0 + ms(100), false, MDS);
    assert_eq!(cc.w_max(), Some(71_400), "84000 * 0.85");
    assert_eq!(cc.window(), 58_800, "84000 * 0.7");
    // A loss above W_max just remembers the window.
    let mut cc = Cubic::new(MDS, Some(50_000), false);
    cc.on_congestion_event(t0, t0, false, MDS);
    let rtt = rtt_of(ms(10));
    for round in 0..2_000u32 {
        let start = t0 + ms(10) * (round + 1);
        ack_round(&mut cc, start, start - ms(5), &rtt);
        if cc.window() > 60_000 {
            break;
        }
    }
    let window = cc.window();
    assert!(window > 50_000);
    cc.on_congestion_event(t0 + ms(30_000), t0 + ms(29_000), false, MDS);
    assert_eq!(cc.w_max(), Some(window));
}

#[test]
fn one_reduction_per_recovery_period() {
    let t0 = now();
    let rtt = rtt_of(ms(100));
    let mut cc = after_loss(t0);
    // Losses and acknowledgments of packets sent before recovery started change nothing.
    cc.on_congestion_event(t0 + ms(10), t0 - ms(5), false, MDS);
    cc.on_congestion_event(t0 + ms(20), t0, false, MDS);
    cc.on_ack(t0 + ms(30), t0 - ms(2), MDS, false, &rtt);
    assert_eq!(cc.window(), 84_000);
    assert_eq!(cc.w_max(), Some(120_000));
    assert_eq!(cc.recovery_start(), Some(t0));
    // A packet sent after recovery started ends it; its loss is a new event.
    cc.on_congestion_event(t0 + ms(200), t0 + ms(1), false, MDS);
    assert_eq!(cc.window(), 58_800);
    assert_eq!(cc.recovery_start(), Some(t0 + ms(200)));
}

#[test]
fn persistent_congestion_collapses_and_restarts_the_epoch() {
    let t0 = now();
    let rtt = rtt_of(ms(100));
    let mut cc = after_loss(t0);
    ack_round(&mut cc, t0 + ms(100), t0 + ms(50), &rtt);
    assert!(cc.k().is_some());
    let before = cc.window();
    cc.on_congestion_event(t0 + ms(2_000), t0 + ms(1_500), true, 10 * MDS);
    // RFC 9002 §7.6.2: kMinimumWindow; the stage and W_max are forgotten.
    assert_eq!(cc.window(), 2_400);
    assert_eq!(cc.recovery_start(), None);
    assert_eq!(cc.k(), None);
    assert_eq!(cc.w_max(), None);
    let ssthresh = cc.ssthresh();
    assert_eq!(
        ssthresh,
        before * 7 / 10,
        "the loss reduction still sets ssthresh"
    );
    // Standard slow start up to ssthresh, even for packets sent before the event.
    cc.on_ack(t0 + ms(2_100), t0 + ms(1_600), MDS, false, &rtt);
    assert_eq!(cc.window(), 3_600);
    let mut at = t0 + ms(2_200);
    while cc.window() < ssthresh {
        cc.on_ack(at, at - ms(100), MDS, false, &rtt);
        at += ms(1);
    }
    assert_eq!(cc.k(), None);
    // The first stage after it: K = 0 and W_max = the window at its start (RFC 9438 §4.8).
    let start = cc.window();
    cc.on_ack(at, at - ms(100), MDS, false, &rtt);
    assert_eq!(cc.k(), Some(Duration::ZERO));
    assert_eq!(cc.epoch_start(), Some(at));
    assert_eq!(cc.w_cubic(Duration::ZERO), Some(start));

    // Persistent congestion while already in recovery still collapses the window.
    let mut cc = after_loss(t0);
    cc.on_congestion_event(t0 + ms(10), t0 - ms(10), true, MDS);
    assert_eq!(cc.window(), 2_400);
}

#[test]
fn app_limited_and_idle_time_freeze_growth() {
    let t0 = now();
    let rtt = rtt_of(ms(100));
    let mut a = after_loss(t0);
    let mut b = after_loss(t0);
    let epoch = t0 + ms(100);
    a.on_ack(epoch, epoch - ms(50), MDS, false, &rtt);
    b.on_ack(epoch, epoch - ms(50), MDS, false, &rtt);
    let window = a.window();
    // Five seconds of application-limited acknowledgments: no growth at all.
    for i in 1..=50u32 {
        a.on_ack(epoch + ms(100) * i, epoch + ms(50), MDS, true, &rtt);
    }
    assert_eq!(a.window(), window);
    // Growth resumes where it stopped, as if the time since the first application-limited
    // acknowledgment (100 ms into the stage) had not passed.
    let resume = epoch + ms(5_010);
    a.on_ack(resume, resume - ms(50), MDS, false, &rtt);
    b.on_ack(epoch + ms(100), epoch + ms(60), MDS, false, &rtt);
    assert_eq!(a.epoch_start(), Some(epoch + ms(4_910)));
    assert_eq!(a.window(), b.window());
    for round in 1..20u32 {
        ack_round(&mut a, resume + ms(100) * round, resume, &rtt);
        ack_round(&mut b, epoch + ms(100) * (round + 1), epoch + ms(100), &rtt);
    }
    assert_eq!(a.window(), b.window());
    assert!(a.window() < 120_000, "still below W_max, not jumped ahead");

    // An idle period: the next packet sent with nothing else in flight moves t_epoch on by
    // the time since the last acknowledgment (RFC 9438 §5.8).
    let last_ack = resume + ms(2_500);
    a.on_ack(last_ack, resume + ms(2_400), MDS, false, &rtt);
    let before = a.epoch_start().unwrap();
    a.on_packet_sent(last_ack + ms(3_000), MDS, MDS);
    assert_eq!(a.epoch_start(), Some(before + ms(3_000)));
    // Not idle: nothing moves.
    a.on_packet_sent(last_ack + ms(3_001), MDS, 2 * MDS);
    assert_eq!(a.epoch_start(), Some(before + ms(3_000)));

    // Slow start does not grow while application limited either.
    let mut cc = Cubic::new(MDS, None, true);
    cc.on_ack(t0, t0, MDS, true, &rtt);
    assert_eq!(cc.window(), 12_000);
}

// ---------------------------------------------------------------------------------------------
// HyStart++
// ---------------------------------------------------------------------------------------------

/// Round `round` of a run where round r starts at `t0 + r s`: acknowledgments `from..to` of it,
/// at 10 ms intervals, each of one datagram with an RTT sample of `rtt`. The first one
/// acknowledges a packet sent when the previous round started, ending it; the others
/// acknowledge packets sent before this round started.
fn hystart_acks(
    h: &mut HyStart,
    t0: Instant,
    round: u32,
    acks: std::ops::Range<u32>,
    rtt: Duration,
) -> Vec<SlowStartStep> {
    let start = t0 + Duration::from_secs(u64::from(round));
    let previous = start - Duration::from_secs(1);
    acks.map(|i| h.on_ack(start + ms(10) * i, previous + ms(10) * i, MDS, Some(rtt)))
        .collect()
}

fn hystart_round(h: &mut HyStart, t0: Instant, round: u32, rtt: Duration) -> Vec<SlowStartStep> {
    hystart_acks(h, t0, round, 0..N_RTT_SAMPLE + 2, rtt)
}

fn full(steps: &[SlowStartStep]) -> bool {
    steps.iter().all(|s| {
        *s == SlowStartStep {
            increase: MDS,
            exit: false,
        }
    })
}

#[test]
fn hystart_rtt_thresh_is_clamped() {
    assert_eq!(HyStart::rtt_thresh(ms(10)), ms(4));
    assert_eq!(HyStart::rtt_thresh(ms(100)), Duration::from_micros(12_500));
    assert_eq!(HyStart::rtt_thresh(ms(1_000)), ms(16));
}

#[test]
fn hystart_enters_css_when_the_rtt_rises() {
    let t0 = now();
    let mut h = HyStart::new();
    assert!(full(&hystart_round(&mut h, t0, 0, ms(100))));
    assert!(full(&hystart_round(&mut h, t0, 1, ms(100))));
    // 120 ms >= 100 ms + 12.5 ms, but only from the eighth sample of the round on.
    let steps = hystart_acks(&mut h, t0, 2, 0..N_RTT_SAMPLE - 1, ms(120));
    assert!(full(&steps));
    assert!(!h.in_css());
    let step = hystart_acks(&mut h, t0, 2, N_RTT_SAMPLE - 1..N_RTT_SAMPLE, ms(120))[0];
    assert!(h.in_css());
    assert_eq!(h.last_round_min_rtt(), Some(ms(100)));
    // CSS grows by a quarter of the acknowledged bytes (CSS_GROWTH_DIVISOR = 4).
    assert_eq!(step.increase, MDS / 4);
    let steps = hystart_acks(&mut h, t0, 2, N_RTT_SAMPLE..N_RTT_SAMPLE + 2, ms(120));
    assert!(steps.iter().all(|s| s.increase == 300 && !s.exit));
    // Remainders carry over: 4 acknowledgments of 1001 bytes grow by 1001.
    let at = t0 + Duration::from_millis(2_500);
    let sum: u64 = (0..4)
        .map(|_| h.on_ack(at, t0, 1_001, Some(ms(120))).increase)
        .sum();
    assert_eq!(sum, 1_001);
}

#[test]
fn hystart_ignores_noise_below_the_threshold() {
    let t0 = now();
    let mut h = HyStart::new();
    hystart_round(&mut h, t0, 0, ms(100));
    hystart_round(&mut h, t0, 1, ms(100));
    // 112 ms < 100 ms + 12.5 ms.
    assert!(full(&hystart_acks(&mut h, t0, 2, 0..30, ms(112))));
    assert!(!h.in_css());
    // A large rise with too few samples in the round is not enough either.
    assert!(full(&hystart_acks(
        &mut h,
        t0,
        3,
        0..N_RTT_SAMPLE - 1,
        ms(200)
    )));
    assert!(!h.in_css());
    // Several packets in one ACK frame (same time) are one sample.
    let at = t0 + Duration::from_secs(4);
    for _ in 0..20 {
        h.on_ack(at, t0 + Duration::from_secs(3), MDS, Some(ms(300)));
    }
    assert!(!h.in_css());
    // Without RTT samples nothing happens.
    let mut h = HyStart::new();
    for round in 0..5 {
        let at = t0 + Duration::from_secs(round);
        for i in 0..20u32 {
            h.on_ack(at + ms(1) * i, at, MDS, None);
        }
    }
    assert!(!h.in_css());
}

#[test]
fn hystart_returns_to_slow_start_when_the_rtt_falls() {
    let t0 = now();
    let mut h = HyStart::new();
    hystart_round(&mut h, t0, 0, ms(100));
    hystart_round(&mut h, t0, 1, ms(100));
    hystart_round(&mut h, t0, 2, ms(120));
    assert!(h.in_css());
    // The next round's minimum drops below the 120 ms baseline: the exit was spurious.
    let steps = hystart_acks(&mut h, t0, 3, 0..N_RTT_SAMPLE - 1, ms(105));
    assert!(h.in_css(), "not before N_RTT_SAMPLE samples");
    assert!(steps.iter().all(|s| s.increase == 300));
    let steps = hystart_acks(&mut h, t0, 3, N_RTT_SAMPLE - 1..N_RTT_SAMPLE + 2, ms(105));
    assert!(!h.in_css());
    assert!(full(&steps));
    // Back in slow start, HyStart++ still watches: 105 → 125 ms enters CSS again.
    hystart_round(&mut h, t0, 4, ms(125));
    assert!(h.in_css());
}

#[test]
fn hystart_leaves_css_after_css_rounds() {
    let t0 = now();
    let mut h = HyStart::new();
    hystart_round(&mut h, t0, 0, ms(100));
    hystart_round(&mut h, t0, 1, ms(100));
    // Enters CSS in the middle of round 2; that partial round counts.
    hystart_round(&mut h, t0, 2, ms(120));
    assert!(h.in_css());
    for round in 3..2 + CSS_ROUNDS {
        let steps = hystart_round(&mut h, t0, round, ms(120));
        assert!(steps.iter().all(|s| !s.exit), "round {round}");
        assert!(h.in_css());
    }
    // The end of the fifth CSS round is the end of slow start.
    let steps = hystart_acks(&mut h, t0, 2 + CSS_ROUNDS, 0..1, ms(120));
    assert!(steps[0].exit);
}

/// HyStart++ inside CUBIC: CSS, then congestion avoidance with ssthresh = cwnd, K = 0 and
/// W_max = the window (RFC 9438 §4.10); a loss in CSS ends it the usual way.
#[test]
fn cubic_uses_hystart_for_the_initial_slow_start() {
    let t0 = now();
    let mut rtt = RttEstimator::default();
    let mut cc = Cubic::new(MDS, None, true);
    let mut sample = ms(100);
    let mut exited_at = None;
    'rounds: for round in 0..12u32 {
        if round == 2 {
            sample = ms(130);
        }
        let start = t0 + Duration::from_secs(u64::from(round + 1));
        let previous = start - Duration::from_secs(1);
        for i in 0..10u32 {
            let at = start + ms(10) * i;
            rtt.update(at, sample, Duration::ZERO, None);
            cc.on_ack(at, previous + ms(10) * i, MDS, false, &rtt);
            if cc.ssthresh() != u64::MAX {
                exited_at = Some((round, at));
                break 'rounds;
            }
        }
        if round == 2 {
            assert!(cc.hystart().unwrap().in_css());
        }
    }
    let (round, at) = exited_at.expect("slow start ended without loss");
    assert_eq!(round, 2 + CSS_ROUNDS);
    assert!(cc.hystart().is_none());
    assert_eq!(cc.ssthresh(), cc.window());
    assert_eq!(cc.w_max(), None);
    let window = cc.window();
    cc.on_ack(at + ms(1), at, MDS, false, &rtt);
    assert_eq!(cc.k(), Some(Duration::ZERO));
    assert_eq!(cc.w_cubic(Duration::ZERO), Some(window));

    // A loss during CSS: the usual reduction, and HyStart++ is over.
    let mut cc = Cubic::new(MDS, None, true);
    let mut rtt = RttEstimator::default();
    for round in 0..3u32 {
        let start = t0 + Duration::from_secs(u64::from(round + 1));
        for i in 0..10u32 {
            let at = start + ms(10) * i;
            rtt.update(
                at,
                ms(100 + 30 * u64::from(round == 2)),
                Duration::ZERO,
                None,
            );
            cc.on_ack(
                at,
                start - Duration::from_secs(1) + ms(10) * i,
                MDS,
                false,
                &rtt,
            );
        }
    }
    assert!(cc.hystart().unwrap().in_css());
    let window = cc.window();
    cc.on_congestion_event(t0 + ms(3_500), t0 + ms(3_400), false, MDS);
    assert!(cc.hystart().is_none());
    assert_eq!(cc.window(), window * 7 / 10);
}

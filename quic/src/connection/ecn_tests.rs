//! ECN tests (RFC 9000 §13.4, RFC 9002 §7.1): the validation rules one by one, then whole
//! connections over simulated paths that carry, bleach or CE-mark the ECN field.

use std::time::Duration;

use super::ecn::{Ecn, EcnState, Verdict, TESTING_PACKETS};
use super::tests::{
    connected, pair_with, pseudo_random, server_handle, stream_transfer, transfer, Writer,
};
use super::TransportConfig;
use crate::congestion::CongestionConfig;
use crate::frame::EcnCounts;
use crate::recovery::{EcnCodepoint, PacketSpace};
use crate::testing::network::LinkConfig;
use crate::testing::pair::{CLIENT_ADDR, SERVER_ADDR};

const DATA: PacketSpace = PacketSpace::Data;

fn counts(ect0: u64, ect1: u64, ce: u64) -> Option<EcnCounts> {
    Some(EcnCounts { ect0, ect1, ce })
}

/// An arbitrary base instant; the ECN state machine never reads the clock itself.
#[allow(clippy::disallowed_methods)]
fn start() -> std::time::Instant {
    std::time::Instant::now()
}

/// An `Ecn` that sent `n` marked 1-RTT packets at one instant.
fn sent(n: u64) -> Ecn {
    sent_at(start(), n)
}

fn sent_at(now: std::time::Instant, n: u64) -> Ecn {
    let mut e = Ecn::new(true);
    for _ in 0..n {
        assert_eq!(e.codepoint(now, Duration::from_secs(1)), EcnCodepoint::Ect0);
        e.on_marked_sent(now, DATA);
    }
    e
}

#[test]
fn valid_counts_make_the_path_capable() {
    let mut e = sent(3);
    assert_eq!(
        e.on_ack(DATA, counts(2, 0, 0), 2, true),
        Verdict::Valid { ce: 0 }
    );
    assert_eq!(e.state(), EcnState::Capable);
    // Counts may run ahead of what one frame acknowledges (earlier ACKs were lost).
    assert_eq!(
        e.on_ack(DATA, counts(3, 0, 0), 0, true),
        Verdict::Valid { ce: 0 }
    );
    // A CE mark counts as a delivered ECT(0) mark.
    let mut e = sent(3);
    assert_eq!(
        e.on_ack(DATA, counts(1, 0, 2), 3, true),
        Verdict::Valid { ce: 2 }
    );
}

#[test]
fn acknowledged_marks_without_counts_fail() {
    let mut e = sent(2);
    assert_eq!(e.on_ack(DATA, None, 1, true), Verdict::Failed);
    assert_eq!(e.state(), EcnState::Failed);
    // Failed is final: later valid counts change nothing and give no CE signal.
    assert_eq!(e.on_ack(DATA, counts(2, 0, 1), 1, true), Verdict::Failed);
    let now = start();
    assert_eq!(
        e.codepoint(now, Duration::from_secs(1)),
        EcnCodepoint::NotEct
    );
}

#[test]
fn no_counts_and_no_marked_packet_is_not_a_failure() {
    let mut e = sent(2);
    assert_eq!(e.on_ack(DATA, None, 0, true), Verdict::Ignored);
    assert_eq!(e.state(), EcnState::Testing);
}

#[test]
fn too_small_an_increase_fails() {
    // Two marked packets newly acknowledged, only one counted: a mark was bleached.
    let mut e = sent(4);
    assert_eq!(
        e.on_ack(DATA, counts(1, 0, 0), 1, true),
        Verdict::Valid { ce: 0 }
    );
    assert_eq!(e.on_ack(DATA, counts(2, 0, 0), 2, true), Verdict::Failed);
}

#[test]
fn decreasing_counts_fail() {
    let mut e = sent(4);
    assert!(matches!(
        e.on_ack(DATA, counts(2, 0, 1), 3, true),
        Verdict::Valid { .. }
    ));
    assert_eq!(e.on_ack(DATA, counts(3, 0, 0), 0, true), Verdict::Failed);
}

#[test]
fn ect1_or_more_marks_than_sent_fail() {
    let mut e = sent(4);
    assert_eq!(e.on_ack(DATA, counts(1, 1, 0), 1, true), Verdict::Failed);
    let mut e = sent(2);
    assert_eq!(e.on_ack(DATA, counts(2, 0, 1), 2, true), Verdict::Failed);
    // Marks reported in a space where nothing was marked (the path remarked Not-ECT).
    let mut e = sent(2);
    assert_eq!(
        e.on_ack(PacketSpace::Handshake, counts(1, 0, 0), 0, true),
        Verdict::Failed
    );
}

#[test]
fn a_reordered_ack_never_fails_validation() {
    // RFC 9000 §13.4.2.1: a frame that does not raise the largest acknowledged is not judged.
    let mut e = sent(4);
    assert!(matches!(
        e.on_ack(DATA, counts(3, 0, 0), 3, true),
        Verdict::Valid { .. }
    ));
    assert_eq!(e.on_ack(DATA, counts(1, 0, 0), 1, false), Verdict::Ignored);
    assert_eq!(e.state(), EcnState::Capable);
}

#[test]
fn testing_ends_after_ten_packets_or_three_ptos() {
    let now = start();
    let pto = Duration::from_millis(100);
    let mut e = sent(TESTING_PACKETS);
    assert_eq!(e.codepoint(now, pto), EcnCodepoint::NotEct);
    assert_eq!(e.state(), EcnState::Unknown);
    let mut e = sent_at(now, 1);
    assert_eq!(e.codepoint(now + 2 * pto, pto), EcnCodepoint::Ect0);
    assert_eq!(e.codepoint(now + 3 * pto, pto), EcnCodepoint::NotEct);
    // From "unknown", an acknowledged and counted marked packet validates the path.
    assert!(matches!(
        e.on_ack(DATA, counts(1, 0, 0), 1, true),
        Verdict::Valid { .. }
    ));
    assert_eq!(e.codepoint(now + 4 * pto, pto), EcnCodepoint::Ect0);
}

#[test]
fn every_marked_packet_lost_fails() {
    let mut e = sent(2);
    e.on_marked_gone(true);
    assert_eq!(e.state(), EcnState::Testing);
    e.on_marked_gone(true);
    assert_eq!(e.state(), EcnState::Failed);
    // One acknowledged marked packet proves marks get through: later losses are just losses.
    let mut e = sent(3);
    e.on_ack(DATA, counts(1, 0, 0), 1, true);
    e.on_marked_gone(true);
    e.on_marked_gone(true);
    assert_eq!(e.state(), EcnState::Capable);
}

#[test]
fn disabled_in_the_configuration_never_marks() {
    let mut e = Ecn::new(false);
    let now = start();
    assert_eq!(
        e.codepoint(now, Duration::from_secs(1)),
        EcnCodepoint::NotEct
    );
    assert_eq!(e.on_ack(DATA, counts(0, 0, 5), 0, true), Verdict::Failed);
}

proptest::proptest! {
    /// A truthful peer on a clean path never fails validation, however its ACK frames are
    /// thinned (lost ACKs make counts run ahead of what a frame acknowledges) or replayed late
    /// (reordered frames that do not raise the largest acknowledged), and some marks turn CE.
    #[test]
    fn a_truthful_peer_never_fails_validation(
        ops in proptest::collection::vec((1u64..6, 0u64..6, 0u64..3, proptest::bool::ANY, proptest::bool::ANY), 1..60),
    ) {
        let now = start();
        let mut e = Ecn::new(true);
        let (mut sent, mut processed, mut ce, mut acked) = (0u64, 0u64, 0u64, 0u64);
        let mut old: Option<EcnCounts> = None;
        for (send, process, marks, ack_arrives, replay) in ops {
            for _ in 0..send {
                // Send marked packets whatever the state, to exercise the counts: the
                // validator must not assume marking stopped.
                e.on_marked_sent(now, DATA);
                sent += 1;
            }
            let newly = process.min(sent - processed);
            processed += newly;
            ce += marks.min(newly);
            let counts = EcnCounts { ect0: processed - ce, ect1: 0, ce };
            if replay {
                if let Some(stale) = old {
                    proptest::prop_assert_eq!(e.on_ack(DATA, Some(stale), 0, false), Verdict::Ignored);
                }
            }
            if ack_arrives {
                let verdict = e.on_ack(DATA, Some(counts), processed - acked, processed > acked);
                proptest::prop_assert_ne!(verdict, Verdict::Failed);
                acked = processed;
                old = Some(counts);
            }
        }
        proptest::prop_assert_ne!(e.state(), EcnState::Failed);
        if acked > 0 {
            proptest::prop_assert_eq!(e.state(), EcnState::Capable);
        }
    }

    /// A path that bleaches marks fails validation at the first frame that acknowledges a
    /// marked packet and raises the largest acknowledged.
    #[test]
    fn a_bleaching_path_always_fails(sent in 1..=TESTING_PACKETS, acked in 1u64..20) {
        let mut e = sent_at(start(), sent);
        let acked = acked.min(sent);
        let counts = EcnCounts::default();
        proptest::prop_assert_eq!(e.on_ack(DATA, Some(counts), acked, true), Verdict::Failed);
        proptest::prop_assert_eq!(e.state(), EcnState::Failed);
    }
}

fn link() -> LinkConfig {
    LinkConfig::delay(Duration::from_millis(10))
}

fn with_cc(congestion: CongestionConfig) -> TransportConfig {
    TransportConfig {
        congestion,
        ..TransportConfig::default()
    }
}

#[test]
fn ecn_is_validated_on_a_clean_path() {
    let (mut p, h) = pair_with(41, TransportConfig::default(), TransportConfig::default());
    p.set_link(link());
    assert!(p.drive_until(Duration::from_secs(5), |p| connected(p, h)));
    let data = pseudo_random(300_000, 41);
    assert_eq!(
        transfer(&mut p, h, &data, Duration::from_secs(30)),
        &data[..]
    );
    p.drive(Duration::from_millis(200));
    let s = server_handle(&p);
    let client = p.client.conn(h);
    assert_eq!(client.ecn_state(), EcnState::Capable);
    let cs = client.stats();
    eprintln!(
        "client {cs:?}, ECN counts the server reported {:?}",
        client.ecn.peer_counts(DATA)
    );
    // Capable: the whole transfer goes out marked, not just the testing period.
    assert!(cs.datagrams_sent_ect0 > 100, "{cs:?}");
    // The server echoed the marks in ACK_ECN frames that validated.
    assert!(client.ecn.peer_counts(DATA).ect0 > 100);
    assert_eq!(client.recovery_stats().congestion_events, 0);
    let server = p.server.conn(s);
    assert_eq!(server.ecn_state(), EcnState::Capable);
    let ss = server.stats();
    assert!(
        ss.datagrams_received_ect >= cs.datagrams_sent_ect0 - 5,
        "{ss:?} {cs:?}"
    );
    assert_eq!(ss.datagrams_received_ce, 0);
    // The server's own marks came back in the client's ACK_ECN frames too.
    assert!(server.ecn.peer_counts(DATA).ect0 > 0);
    let up = p
        .network
        .stats(CLIENT_ADDR.parse().unwrap(), SERVER_ADDR.parse().unwrap());
    assert_eq!(up.ce_marked, 0);
}

#[test]
fn a_bleaching_path_fails_validation_and_marking_stops() {
    let (mut p, h) = pair_with(42, TransportConfig::default(), TransportConfig::default());
    p.set_link(LinkConfig {
        ecn_bleach: true,
        ..link()
    });
    assert!(p.drive_until(Duration::from_secs(5), |p| connected(p, h)));
    p.drive(Duration::from_millis(300));
    assert_eq!(p.client.conn(h).ecn_state(), EcnState::Failed);
    let marked = p.client.conn(h).stats().datagrams_sent_ect0;
    assert!((1..=TESTING_PACKETS).contains(&marked), "{marked}");
    let data = pseudo_random(200_000, 42);
    assert_eq!(
        transfer(&mut p, h, &data, Duration::from_secs(30)),
        &data[..]
    );
    let s = server_handle(&p);
    let client = p.client.conn(h);
    assert_eq!(
        client.stats().datagrams_sent_ect0,
        marked,
        "marking stopped"
    );
    assert_eq!(client.recovery_stats().congestion_events, 0);
    let server = p.server.conn(s);
    assert_eq!(server.ecn_state(), EcnState::Failed);
    assert_eq!(server.stats().datagrams_received_ect, 0);
}

/// A 10 Mbit/s bottleneck whose queue never overflows but CE-marks ECT datagrams once ten wait
/// (a step-threshold AQM): the sender reduces its window with no loss at all, and at most once
/// per round trip although many marks arrive in each (RFC 9002 §7.3.2 recovery periods apply to
/// ECN-CE too).
fn ce_marking_reduces_the_window(congestion: CongestionConfig, seed: u64) {
    let (mut p, h) = pair_with(seed, with_cc(congestion), TransportConfig::default());
    let rtt = Duration::from_millis(40);
    p.set_link(LinkConfig {
        ce_queue_threshold: Some(10),
        ..LinkConfig::simple_p2p(rtt / 2, 10_000_000, 1000)
    });
    assert!(p.drive_until(Duration::from_secs(5), |p| connected(p, h)));
    let initial = p.client.conn(h).congestion_window();
    let start = p.now;

    let data = pseudo_random(2_000_000, seed);
    let (mut reductions, mut last_window, mut max_window) = (0u32, initial, initial);
    let (done, received) = stream_transfer(
        &mut p,
        h,
        Writer::Client,
        &data,
        Duration::from_secs(60),
        |p, _| {
            let w = p.client.conn(h).congestion_window();
            if w < last_window {
                reductions += 1;
            }
            last_window = w;
            max_window = max_window.max(w);
        },
    );
    let received = received.len();
    assert!(done, "{received} of {} bytes", data.len());
    let elapsed = p.now - start;
    let client = p.client.conn(h);
    assert_eq!(client.ecn_state(), EcnState::Capable);
    assert_eq!(client.stats().packets_lost, 0, "no loss needed");
    assert!(client.recovery_stats().congestion_events > 0);
    // Without a reaction to CE the window would grow until the 1000-datagram queue overflowed;
    // with it, it stays within a few times the path's bandwidth-delay product plus the marking
    // threshold (50 kB + 12 kB).
    assert!(max_window < 250_000, "{max_window}");
    assert!(reductions >= 2, "{reductions}");
    let rounds = (elapsed.as_millis() / rtt.as_millis()) as u32;
    eprintln!(
        "{}: window {initial} -> max {max_window}, {reductions} reductions in {rounds} round \
         trips, {} congestion events, {elapsed:?}",
        client.recovery.controller().name(),
        client.recovery_stats().congestion_events
    );
    assert!(
        reductions <= rounds + 1,
        "{reductions} reductions in {rounds} round trips"
    );
    let s = server_handle(&p);
    assert!(p.server.conn(s).stats().datagrams_received_ce > 0);
}

#[test]
fn ce_marks_reduce_the_cubic_window_once_per_round_trip() {
    ce_marking_reduces_the_window(CongestionConfig::cubic(), 43);
}

#[test]
fn ce_marks_reduce_the_new_reno_window_once_per_round_trip() {
    ce_marking_reduces_the_window(
        CongestionConfig::NewReno {
            initial_window: None,
        },
        44,
    );
}

#[test]
fn with_ecn_off_nothing_is_marked_but_marks_are_reported() {
    let off = TransportConfig {
        ecn: false,
        ..TransportConfig::default()
    };
    let (mut p, h) = pair_with(45, off, TransportConfig::default());
    p.set_link(link());
    assert!(p.drive_until(Duration::from_secs(5), |p| connected(p, h)));
    let data = pseudo_random(100_000, 45);
    assert_eq!(
        transfer(&mut p, h, &data, Duration::from_secs(30)),
        &data[..]
    );
    p.drive(Duration::from_millis(200));
    let s = server_handle(&p);
    assert_eq!(p.client.conn(h).stats().datagrams_sent_ect0, 0);
    assert_eq!(p.client.conn(h).ecn_state(), EcnState::Failed);
    // The client still reports what the server marked (RFC 9000 §13.4.1), so the server's
    // validation succeeds.
    assert_eq!(p.server.conn(s).ecn_state(), EcnState::Capable);
}

/// The client's first Initial reaches the server's new connection through the endpoint's
/// `Incoming`; its codepoint must count in the Initial space like any other packet's (RFC 9000
/// §13.4.1), or a peer that marks its Initials fails validation against us.
#[test]
fn the_datagram_that_creates_a_connection_counts_its_codepoint() {
    use crate::endpoint::DatagramEvent;
    use crate::recovery::EcnCounters;
    let (mut p, h) = pair_with(46, TransportConfig::default(), TransportConfig::default());
    let now = p.now;
    let mut buf = Vec::new();
    let t = p.client.conn(h).poll_transmit(now, &mut buf).unwrap();
    assert_eq!(
        t.ecn,
        EcnCodepoint::NotEct,
        "we never mark Initials ourselves"
    );
    let from = CLIENT_ADDR.parse().unwrap();
    let datagram = bytes::BytesMut::from(&buf[..t.size]);
    let Some(DatagramEvent::NewConnection(mut incoming)) = p.server.endpoint.handle(from, datagram)
    else {
        panic!("a new connection");
    };
    incoming.ecn = EcnCodepoint::Ect0;
    let config =
        crate::testing::pair::server_config(super::tests::ALPN, TransportConfig::default());
    let (_, conn) = p.server.endpoint.accept(now, incoming, &config).unwrap();
    assert_eq!(
        conn.space(PacketSpace::Initial).ack.ecn_counts(),
        Some(EcnCounters {
            ect0: 1,
            ect1: 0,
            ce: 0
        })
    );
}

/// A path that drops every ECT-marked datagram (the faulty middlebox RFC 9000 §13.4.2 guards
/// against): the testing period ends, unmarked packets get through, the marked ones are all
/// declared lost, validation fails, and the connection carries on without ECN.
#[test]
fn a_path_dropping_marked_packets_fails_validation_and_the_transfer_completes() {
    let (mut p, h) = pair_with(47, TransportConfig::default(), TransportConfig::default());
    p.set_link(link());
    let (c, s): (std::net::SocketAddr, std::net::SocketAddr) =
        (CLIENT_ADDR.parse().unwrap(), SERVER_ADDR.parse().unwrap());
    for (from, to) in [(c, s), (s, c)] {
        p.network.set_filter(
            from,
            to,
            |meta: &crate::testing::network::Meta, _: &[u8]| meta.ecn != EcnCodepoint::NotEct,
        );
    }
    assert!(p.drive_until(Duration::from_secs(30), |p| connected(p, h)));
    let data = pseudo_random(100_000, 47);
    assert_eq!(
        transfer(&mut p, h, &data, Duration::from_secs(60)),
        &data[..]
    );
    p.drive(Duration::from_secs(1));
    let sh = server_handle(&p);
    for conn in [p.client.conn(h) as &super::Connection, &p.server.conns[&sh]] {
        assert_eq!(conn.ecn_state(), EcnState::Failed, "{:?}", conn.side());
        assert!(conn.stats().datagrams_sent_ect0 <= TESTING_PACKETS);
        assert_eq!(conn.stats().datagrams_received_ect, 0);
    }
    eprintln!("connected and transferred after {:?}", p.elapsed());
}

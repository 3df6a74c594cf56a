//! The interop runner's goodput measurement (RUNNER.md §3) on the simulated network: 10 MiB
//! over `simple-p2p` (10 Mbit/s, 15 ms one-way, 25-packet drop-tail queue), clean and with 1%
//! random loss each way, over several seeds. Each row is a sender and a receiver: ours (with
//! CUBIC or NewReno) or quinn's sans-IO core (quinn-proto, its defaults), in every pairing, on
//! the same links with the same seeds. Deterministic (virtual clock, seeded loss), so a change
//! to recovery or congestion control can be judged in seconds without the noise of the
//! loopback runner, and each stack's sender and receiver can be told apart.
//!
//! `[LOSSES=0,0.01] [LOSS_ONLY=data|acks] cargo bench -p benches --bench goodput_sim [-- SEEDS]`
//!
//! The time is the span between the arrivals of the sender's first and last 1-RTT datagrams
//! (the runner takes the span of the server's 1-RTT packets in the client's capture). Besides
//! goodput it prints the sender's losses, congestion events, window reductions, and its
//! time-weighted mean congestion window and smoothed RTT, which say whether a change moved the
//! window or only how well it is used.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use quic::congestion::CongestionConfig;
use quic::connection::TransportConfig;
use quic::testing::network::{LinkConfig, Meta, Network};
use quic::testing::pair::{CLIENT_ADDR, SERVER_ADDR};

#[path = "support/quinn_tls.rs"]
mod quinn_tls;
#[path = "support/sim_peers.rs"]
mod sim_peers;
use sim_peers::{SenderStats, Stack};

const FILE: usize = 10 << 20;

/// The links from the sender and to it: `loss` on both unless LOSS_ONLY says "data" (the
/// sender's direction) or "acks" (the receiver's).
fn links(loss: f64) -> (LinkConfig, LinkConfig) {
    let only = std::env::var("LOSS_ONLY").unwrap_or_default();
    let with = |on: bool| LinkConfig::interop().with_drop_rate(if on { loss } else { 0.0 }, None);
    (with(only != "acks"), with(only != "data"))
}

struct Run {
    goodput_mbps: f64,
    sender: SenderStats,
}

fn run(seed: u64, sender: &Stack, receiver: &Stack, loss: f64) -> Run {
    // The base instant is arbitrary; all time from here on is virtual.
    let start = std::time::Instant::now();
    let mut now = start;
    let mut network = Network::new(seed, start);
    let client: SocketAddr = CLIENT_ADDR.parse().expect("address");
    let server: SocketAddr = SERVER_ADDR.parse().expect("address");
    let (up, down) = links(loss);
    network.set_link(client, server, up);
    network.set_link(server, client, down);
    // Arrival times of the sender's short-header datagrams, as a capture at the receiver sees
    // them (one the link drops later still counts; its retransmission comes after).
    let span: Arc<Mutex<(Option<Duration>, Duration)>> = Arc::default();
    let seen = span.clone();
    network.set_filter(client, server, move |m: &Meta, d: &[u8]| {
        if d[0] & 0x80 == 0 {
            let mut s = seen.lock().expect("not poisoned");
            s.0.get_or_insert(m.arrival);
            s.1 = s.1.max(m.arrival);
        }
        false
    });
    let stats = sim_peers::transfer(
        &mut network,
        &mut now,
        client,
        server,
        sender,
        receiver,
        FILE,
        Duration::from_secs(120),
    )
    .unwrap_or_else(|| panic!("seed {seed}: the transfer did not finish in 120 s"));
    let (first, last) = *span.lock().expect("not poisoned");
    let secs = (last - first.expect("1-RTT datagrams")).as_secs_f64();
    Run {
        goodput_mbps: FILE as f64 * 8.0 / secs / 1e6,
        sender: stats,
    }
}

fn ours(congestion: CongestionConfig) -> Stack {
    Stack::Ours(TransportConfig {
        max_datagram_size: 1452,
        congestion,
        ..Default::default()
    })
}

fn main() {
    let seeds: u64 = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(8);
    let losses: Vec<f64> = match std::env::var("LOSSES") {
        Ok(list) => list
            .split(',')
            .map(|x| {
                x.trim()
                    .parse()
                    .expect("LOSSES: comma list of rates, e.g. 0,0.01")
            })
            .collect(),
        Err(_) => vec![0.0, 0.01],
    };
    let cubic = ours(CongestionConfig::cubic());
    let new_reno = ours(CongestionConfig::NewReno {
        initial_window: None,
    });
    let pairs = [
        ("ours cubic", &cubic, "ours", &cubic),
        ("ours newreno", &new_reno, "ours", &new_reno),
        ("quinn", &Stack::Quinn, "quinn", &Stack::Quinn),
        ("ours cubic", &cubic, "quinn", &Stack::Quinn),
        ("quinn", &Stack::Quinn, "ours", &cubic),
    ];
    println!(
        "10 MiB over simple-p2p 10 Mbit/s, 15 ms, queue 25; {seeds} seeds; Mbit/s; sender's means"
    );
    println!(
        "sender       receiver loss  | mean   min    max    | lost  cong.ev reductions cwnd(pkts) srtt(ms)"
    );
    for (sender_name, sender, receiver_name, receiver) in pairs {
        for &loss in &losses {
            let runs: Vec<Run> = (1..=seeds)
                .map(|seed| run(seed, sender, receiver, loss))
                .collect();
            let n = runs.len() as f64;
            let g: Vec<f64> = runs.iter().map(|r| r.goodput_mbps).collect();
            let mean = g.iter().sum::<f64>() / n;
            let min = g.iter().cloned().fold(f64::MAX, f64::min);
            let max = g.iter().cloned().fold(0.0, f64::max);
            let avg =
                |f: fn(&SenderStats) -> f64| runs.iter().map(|r| f(&r.sender)).sum::<f64>() / n;
            println!(
                "{sender_name:<12} {receiver_name:<8} {:>3.0}% | {mean:.3}  {min:.3}  {max:.3}  | {:>5.1} {:>7.1} {:>10.1} {:>10.1} {:>8.1}",
                loss * 100.0,
                avg(|s| s.lost as f64),
                avg(|s| s.congestion_events as f64),
                avg(|s| s.reductions as f64),
                avg(|s| s.mean_cwnd),
                avg(|s| s.mean_rtt.as_secs_f64() * 1e3),
            );
        }
    }
}

//! The interop runner's goodput measurement (RUNNER.md §3) on the simulated network: 10 MiB
//! over `simple-p2p` (10 Mbit/s, 15 ms one-way, 25-packet drop-tail queue), clean and with 1%
//! random loss each way, over several seeds, for our sender with each congestion controller
//! and for quinn (quinn-proto's sans-IO core at both ends, its defaults) on the same links
//! with the same seeds.
//! Deterministic (virtual clock, seeded loss), so a change to recovery or congestion control
//! can be judged in seconds without the noise of the loopback runner.
//!
//! `[LOSSES=0,0.01] cargo bench -p benches --bench goodput_sim [-- SEEDS]`
//!
//! Besides goodput it prints the sender's losses, congestion events, PTOs, spurious losses,
//! and its time-weighted mean congestion window and smoothed RTT, which say whether a change
//! moved the window or only how well it is used.
//!
//! The time is the span between the arrivals of the sender's first and last 1-RTT datagrams
//! (the runner takes the span of the server's 1-RTT packets in the client's capture).

use std::time::Duration;

use bytes::Bytes;
use quic::congestion::CongestionConfig;
use quic::connection::TransportConfig;
use quic::stream::Dir;
use quic::testing::network::{LinkConfig, Meta};
use quic::testing::pair::{client_config, server_config, Pair};
use std::sync::{Arc, Mutex};

#[path = "quinn_sim.rs"]
mod quinn_sim;

const FILE: usize = 10 << 20;

struct Run {
    goodput_mbps: f64,
    lost: u64,
    congestion_events: u64,
    ptos: u64,
    spurious: u64,
    /// Time-weighted mean congestion window over the transfer, in datagrams.
    mean_cwnd: f64,
    /// Time-weighted mean smoothed RTT, in milliseconds.
    mean_srtt_ms: f64,
}

fn run(seed: u64, congestion: CongestionConfig, loss: f64) -> Run {
    let transport = TransportConfig {
        max_datagram_size: 1452,
        congestion,
        ..Default::default()
    };
    let mut p = Pair::new(seed, server_config(&[b"hq-interop"], transport.clone()));
    let link = LinkConfig::interop().with_drop_rate(loss, None);
    p.set_link(link);
    let h = p.connect(&client_config(&[b"hq-interop"], transport));
    // The span of the sender's short-header datagrams that the receiver got.
    let span: Arc<Mutex<(Option<Duration>, Duration)>> = Arc::default();
    let seen = span.clone();
    let (client, server) = (p.client.addr, p.server.addr);
    p.network
        .set_filter(client, server, move |m: &Meta, d: &[u8]| {
            // Arrival times of short-header datagrams, as a capture at the receiver sees them
            // (a datagram the link drops later still counts; its retransmission comes after).
            if d[0] & 0x80 == 0 {
                let mut s = seen.lock().unwrap();
                s.0.get_or_insert(m.arrival);
                s.1 = s.1.max(m.arrival);
            }
            false
        });
    assert!(p.drive_until(Duration::from_secs(10), |p| {
        !p.client.conn(h).is_handshaking() && !p.server.accepted.is_empty()
    }));
    let chunk = Bytes::from(vec![0x5a; 1 << 20]);
    let id = p.client.conn(h).open_stream(Dir::Uni).unwrap();
    let (mut written, mut received, mut finished) = (0usize, 0usize, false);
    let (mut last_sample, mut cwnd_integral, mut srtt_integral) = (p.now, 0.0, 0.0);
    let start = p.now;
    let ok = p.drive_until(Duration::from_secs(120), |p| {
        let now = p.now;
        let c = p.client.conn(h);
        let dt = (now - last_sample).as_secs_f64();
        cwnd_integral += dt * c.congestion_window() as f64 / 1452.0;
        srtt_integral += dt * c.rtt().as_secs_f64() * 1e3;
        last_sample = now;
        while written < FILE {
            let n = chunk.len().min(FILE - written);
            match c.send_stream(id).unwrap().write_chunk(chunk.slice(..n)) {
                Ok(w) if w > 0 => written += w,
                _ => break,
            }
        }
        if written == FILE && !finished {
            c.send_stream(id).unwrap().finish().unwrap();
            finished = true;
        }
        let s = p.server.accepted[0];
        if let Some(mut r) = p.server.conn(s).recv_stream(id) {
            loop {
                match r.read_chunk(usize::MAX) {
                    Ok(Some(b)) => received += b.len(),
                    Ok(None) => return true,
                    Err(_) => break,
                }
            }
        }
        false
    });
    assert!(ok && received == FILE, "seed {seed}: {received} of {FILE}");
    let (first, last) = *span.lock().unwrap();
    let secs = (last - first.unwrap()).as_secs_f64();
    let stats = p.client.conn(h).recovery_stats();
    let elapsed = (p.now - start).as_secs_f64();
    Run {
        goodput_mbps: FILE as f64 * 8.0 / secs / 1e6,
        lost: stats.lost_packets,
        congestion_events: stats.congestion_events,
        ptos: stats.ptos,
        spurious: stats.spurious_losses,
        mean_cwnd: cwnd_integral / elapsed,
        mean_srtt_ms: srtt_integral / elapsed,
    }
}

/// The same transfer with quinn at both ends (quinn-proto's defaults: CUBIC, pacing, MTU
/// discovery up to 1452 bytes), on a network with the same seed and links.
fn run_quinn(seed: u64, loss: f64) -> Run {
    use quic::testing::network::Network;
    let start = std::time::Instant::now();
    let mut now = start;
    let mut network = Network::new(seed, start);
    let client: std::net::SocketAddr = quic::testing::pair::CLIENT_ADDR.parse().unwrap();
    let server: std::net::SocketAddr = quic::testing::pair::SERVER_ADDR.parse().unwrap();
    network.set_link_both(
        client,
        server,
        LinkConfig::interop().with_drop_rate(loss, None),
    );
    let span: Arc<Mutex<(Option<Duration>, Duration)>> = Arc::default();
    let seen = span.clone();
    network.set_filter(client, server, move |m: &Meta, d: &[u8]| {
        if d[0] & 0x80 == 0 {
            let mut s = seen.lock().unwrap();
            s.0.get_or_insert(m.arrival);
            s.1 = s.1.max(m.arrival);
        }
        false
    });
    let t = quinn_sim::transfer(
        &mut network,
        &mut now,
        client,
        server,
        FILE,
        Duration::from_secs(120),
    )
    .unwrap_or_else(|| panic!("quinn, seed {seed}: the transfer did not finish"));
    let (first, last) = *span.lock().unwrap();
    let secs = (last - first.unwrap()).as_secs_f64();
    Run {
        goodput_mbps: FILE as f64 * 8.0 / secs / 1e6,
        lost: t.path.lost_packets,
        congestion_events: t.path.congestion_events,
        // quinn's PathStats has no PTO or spurious-loss counters.
        ptos: 0,
        spurious: 0,
        mean_cwnd: t.mean_cwnd / f64::from(t.path.current_mtu),
        mean_srtt_ms: t.mean_rtt.as_secs_f64() * 1e3,
    }
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
    let controllers = [
        (
            "cubic",
            CongestionConfig::Cubic {
                initial_window: None,
                hystart: true,
            },
        ),
        (
            "newreno",
            CongestionConfig::NewReno {
                initial_window: None,
            },
        ),
    ];
    println!("10 MiB over simple-p2p 10 Mbit/s, 15 ms, queue 25; {seeds} seeds; Mbit/s");
    println!("controller loss  | mean   min    max    | lost  cong.ev ptos spurious cwnd(pkts) srtt(ms) (means)");
    type Runner = Box<dyn Fn(u64, f64) -> Run>;
    let mut stacks: Vec<(&str, Runner)> = controllers
        .into_iter()
        .map(|(name, cc)| {
            let runner: Runner = Box::new(move |seed, loss| run(seed, cc.clone(), loss));
            (name, runner)
        })
        .collect();
    stacks.push(("quinn", Box::new(run_quinn)));
    for (name, runner) in &stacks {
        for &loss in &losses {
            let runs: Vec<Run> = (1..=seeds).map(|s| runner(s, loss)).collect();
            let n = runs.len() as f64;
            let g: Vec<f64> = runs.iter().map(|r| r.goodput_mbps).collect();
            let mean = g.iter().sum::<f64>() / n;
            let min = g.iter().cloned().fold(f64::MAX, f64::min);
            let max = g.iter().cloned().fold(0.0, f64::max);
            let avg = |f: fn(&Run) -> u64| runs.iter().map(f).sum::<u64>() as f64 / n;
            println!(
                "{name:<10} {:>4.0}% | {mean:.3}  {min:.3}  {max:.3}  | {:>5.1} {:>7.1} {:>4.1} {:>8.1} {:>10.1} {:>8.1}",
                loss * 100.0,
                avg(|r| r.lost),
                avg(|r| r.congestion_events),
                avg(|r| r.ptos),
                avg(|r| r.spurious),
                runs.iter().map(|r| r.mean_cwnd).sum::<f64>() / n,
                runs.iter().map(|r| r.mean_srtt_ms).sum::<f64>() / n,
            );
        }
    }
}

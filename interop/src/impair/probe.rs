//! The simulator's readiness probe (RUNNER.md §1.4).
//!
//! Before ns-3 starts, the runner's sim sends every 500 ms, for up to 10 s, a 1207-byte
//! datagram to the server: first byte 0xc0, version 0x57414954 ("WAIT"), zero-length
//! connection IDs, then 1200 zero bytes, and waits for any reply whose bytes 1..4 are zero, a
//! Version Negotiation packet. A server that does not answer it fails every test.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::{Duration, Instant};

use tokio::net::UdpSocket;

use super::inspect::is_version_negotiation;

/// The probe's version field, "WAIT".
pub const WAIT_VERSION: u32 = 0x5741_4954;
/// Interval between probes.
pub const PROBE_INTERVAL: Duration = Duration::from_millis(500);
/// How long the sim waits for the server.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(10);

/// The 1207-byte probe datagram.
pub fn wait_probe() -> Vec<u8> {
    let mut d = Vec::with_capacity(1207);
    d.push(0xc0);
    d.extend_from_slice(&WAIT_VERSION.to_be_bytes());
    d.extend_from_slice(&[0, 0]);
    d.resize(1207, 0);
    d
}

/// Sends the probe to `server` every [`PROBE_INTERVAL`] until a Version Negotiation reply
/// arrives (returns the time it took) or `timeout` passes (`TimedOut`).
pub async fn probe_server(server: SocketAddr, timeout: Duration) -> io::Result<Duration> {
    let bind = match server.ip() {
        IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
    };
    let socket = UdpSocket::bind(SocketAddr::new(bind, 0)).await?;
    let probe = wait_probe();
    let start = Instant::now();
    let deadline = tokio::time::Instant::now() + timeout;
    let mut buf = vec![0u8; 2048];
    loop {
        // A refused send (nothing listening yet) is retried like a lost probe.
        let _ = socket.send_to(&probe, server).await;
        let round = (tokio::time::Instant::now() + PROBE_INTERVAL).min(deadline);
        loop {
            match tokio::time::timeout_at(round, socket.recv_from(&mut buf)).await {
                Ok(Ok((n, from))) if from == server && is_version_negotiation(&buf[..n]) => {
                    return Ok(start.elapsed());
                }
                Ok(_) => {}
                Err(_) => break,
            }
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("no Version Negotiation answer from {server} within {timeout:?}"),
            ));
        }
    }
}

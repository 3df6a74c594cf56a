//! 100 MB over one stream between our client and server on the in-memory simulated network
//! (no sockets, perfect link): the protocol stack's own CPU cost. Prints CPU seconds per GiB
//! (user + system, from getrusage) and the wall-clock rate.
//!
//! `cargo bench -p benches --bench transfer_sim [-- MB]`

use std::time::{Duration, Instant};

use bytes::Bytes;
use quic::connection::TransportConfig;
use quic::stream::Dir;
use quic::testing::pair::{client_config, server_config, Pair};

fn cpu_seconds() -> f64 {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage fills the struct it is given; RUSAGE_SELF is always valid.
    let usage = unsafe {
        libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr());
        usage.assume_init()
    };
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

fn main() {
    let mb: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(100);
    let total = mb * 1_000_000;
    let transport = TransportConfig {
        max_datagram_size: 1452,
        ..Default::default()
    };
    let mut p = Pair::new(1, server_config(&[b"bench"], transport.clone()));
    let h = p.connect(&client_config(&[b"bench"], transport));
    assert!(p.drive_until(Duration::from_secs(5), |p| {
        !p.client.conn(h).is_handshaking() && !p.server.accepted.is_empty()
    }));
    let chunk = Bytes::from(vec![0xab; 1 << 20]);
    let id = p.client.conn(h).open_stream(Dir::Uni).unwrap();
    let (mut written, mut received, mut finished) = (0usize, 0usize, false);
    let cpu0 = cpu_seconds();
    let wall0 = Instant::now();
    let ok = p.drive_until(Duration::from_secs(3600), |p| {
        let c = p.client.conn(h);
        while written < total {
            let n = chunk.len().min(total - written);
            match c.send_stream(id).unwrap().write_chunk(chunk.slice(..n)) {
                Ok(w) if w > 0 => written += w,
                _ => break,
            }
        }
        if written == total && !finished {
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
    let cpu = cpu_seconds() - cpu0;
    let wall = wall0.elapsed().as_secs_f64();
    assert!(
        ok && received == total,
        "transfer incomplete: {received} of {total}"
    );
    let gib = total as f64 / (1u64 << 30) as f64;
    println!(
        "in-memory transfer: {mb} MB in {wall:.2} s wall, {cpu:.2} s CPU (client+server in one process): \
         {:.2} CPU s/GiB, {:.2} Gbit/s",
        cpu / gib,
        total as f64 * 8.0 / wall / 1e9
    );
}

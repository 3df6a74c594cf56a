//! `impair`: a userspace UDP impairment proxy that reproduces the QUIC interop runner's network
//! scenarios on loopback, for machines without Docker, ns-3 or netem (RUNNER.md §5).
//!
//! The client talks to the proxy's listening address; the proxy keeps one upstream socket per
//! client address toward the server (a NAT mapping) and runs every datagram through the
//! virtual-time link model of [`quic::testing::network`], driven by the real clock: a datagram
//! read from a socket is handed to [`Network::send`](quic::testing::network::Network::send) at
//! `Instant::now()`, the proxy sleeps until
//! [`next_delivery`](quic::testing::network::Network::next_delivery) and forwards what
//! [`pop_due`](quic::testing::network::Network::pop_due) returns. What the model lacks (NAT
//! rebinding, sparing Version Negotiation from corruption) lives in [`proxy`].
//!
//! | Preset (`--scenario`) | Runner tests |
//! |---|---|
//! | `simple-p2p` (15 ms, 10 Mbit/s, 25 packets) | handshake, transfer, chacha20, multiplexing, retry, resumption, zerortt, http3, keyupdate, ecn, ipv6, v2, connectionmigration, goodput, crosstraffic (without the TCP flow), versionnegotiation |
//! | `longrtt` (750 ms) | longrtt |
//! | `blackhole` (both ways, 5 s..7 s) | blackhole |
//! | `droplist` (client→server #2–#7) | amplificationlimit |
//! | `handshakeloss` / `transferloss` (30 % / 2 %, burst 3) | handshakeloss / transferloss |
//! | `handshakecorruption` / `transfercorruption` | handshakecorruption / transfercorruption |
//! | `rebind-port` / `rebind-addr` (first at 1 s, every 5 s) | rebind-port / rebind-addr |
//!
//! Besides impairing, the proxy reads the cleartext long headers ([`inspect`]) and reports
//! packet types, versions and the runner's handshake count in its [`Summary`], walks the
//! server's anti-amplification budget as the runner's amplificationlimit check does
//! ([`amplification`]), and times the span of the server's 1-RTT packets as delivered to the
//! client (the runner's goodput and crosstraffic measure).
//!
//! ECN codepoints pass through (the sockets are quic's runtime sockets, which read and set the
//! IP ECN field) and are counted per direction as sent. Not reproduced: no pcaps are written,
//! and crosstraffic's competing TCP flow is absent.

pub mod amplification;
pub mod config;
pub mod inspect;
pub mod parse;
pub mod probe;
pub mod proxy;
pub mod scenario;
pub mod summary;

pub use amplification::Amplification;
pub use config::{Args, ProxyConfig, Rebind, Settings};
pub use inspect::{inspect_datagram, HeaderStats, PacketCounts};
pub use probe::{probe_server, wait_probe};
pub use proxy::Proxy;
pub use summary::{DirectionSummary, EcnSeen, Summary};

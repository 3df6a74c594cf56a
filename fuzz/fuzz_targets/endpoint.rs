#![no_main]
//! A server endpoint and its connections fed arbitrary datagrams must never panic, and what
//! the endpoint answers statelessly stays below three times what it received (RFC 9000 §8.1,
//! §10.3). Half of the inputs are wrapped as correctly protected client Initial packets (keys
//! from the chosen DCID) so the fuzzer reaches frame parsing, CRYPTO reassembly and TLS.
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use quic::connection::{ServerConfig, TransportConfig};
use quic::crypto::{initial_keys, Side};
use quic::endpoint::{DatagramEvent, Endpoint, EndpointConfig};
use quic::packet::{Header, PacketNumber};
use quic::tls::{parse_certs, parse_private_key, server_config, CipherSuites};
use quic::{ConnectionId, Version};

fn config() -> &'static ServerConfig {
    static CONFIG: OnceLock<ServerConfig> = OnceLock::new();
    CONFIG.get_or_init(|| {
        let certs = parse_certs(include_bytes!("../../quic/tests/data/ec.crt")).unwrap();
        let key = parse_private_key(include_bytes!("../../quic/tests/data/ec_pkcs8.key")).unwrap();
        let tls = server_config(certs, key, &[b"hq-interop"], CipherSuites::All).unwrap();
        ServerConfig {
            tls,
            transport: Arc::new(TransportConfig::default()),
        }
    })
}

/// Wraps `payload` as the plaintext of a client Initial to `dcid`, padded to 1200 bytes.
fn protected_initial(dcid: &ConnectionId, pn: u8, payload: &[u8]) -> Vec<u8> {
    let header = Header::Initial {
        version: Version::V1,
        dst_cid: *dcid,
        src_cid: ConnectionId::new(&[7; 8]).unwrap(),
        token: Default::default(),
        number: PacketNumber::U8(pn),
    };
    let mut buf = Vec::with_capacity(1300);
    let partial = header.encode(&mut buf);
    buf.extend_from_slice(&payload[..payload.len().min(1100)]);
    buf.resize(buf.len().max(1200 - 16), 0);
    buf.resize(buf.len() + 16, 0);
    let len = buf.len();
    partial.set_length(&mut buf, len);
    let keys = initial_keys(Version::V1, dcid, Side::Client);
    keys.local
        .protect(u64::from(pn), partial.pn.unwrap().0, &mut buf)
        .unwrap();
    buf
}

fuzz_target!(|input: (u8, Vec<Vec<u8>>)| {
    let (mode, datagrams) = input;
    #[allow(clippy::disallowed_methods)]
    let mut now = Instant::now();
    let mut endpoint = Endpoint::new(
        EndpointConfig {
            max_connections: 2,
            ..Default::default()
        },
        true,
    );
    let mut conns = std::collections::BTreeMap::new();
    let remote = std::net::SocketAddr::from(([127, 0, 0, 1], 1000 + u16::from(mode)));
    let dcid = ConnectionId::new(&[mode; 8]).unwrap();
    let mut buf = Vec::new();
    for (i, datagram) in datagrams.into_iter().enumerate().take(16) {
        let bytes = if mode & 1 == 1 {
            protected_initial(&dcid, i as u8, &datagram)
        } else {
            datagram
        };
        let len = bytes.len();
        match endpoint.handle(remote, BytesMut::from(&bytes[..])) {
            Some(DatagramEvent::Response(t)) => assert!(t.contents.len() < 3 * len),
            Some(DatagramEvent::NewConnection(incoming)) => {
                if let Ok((h, c)) = endpoint.accept(now, incoming, config()) {
                    conns.insert(h, c);
                }
            }
            Some(DatagramEvent::Known(h, d)) => {
                if let Some(c) = conns.get_mut(&h) {
                    c.handle_datagram(now, remote, d);
                }
            }
            None => {}
        }
        now += Duration::from_millis(u64::from(mode) * 10);
        for (h, c) in conns.iter_mut() {
            if c.poll_timeout().is_some_and(|t| t <= now) {
                c.handle_timeout(now);
            }
            let mut sent = 0;
            while let Some(t) = c.poll_transmit(now, &mut buf) {
                assert!(t.size <= 1500);
                sent += 1;
                assert!(sent < 1000, "a connection must not send without bound");
            }
            while let Some(ev) = c.poll_endpoint_event() {
                endpoint.handle_event(*h, ev);
            }
            while c.poll_event().is_some() {}
        }
    }
});

use std::net::SocketAddr;

use bytes::BytesMut;

use super::*;
use crate::crypto::{initial_keys, Side};
use crate::frame::{Frame, FrameIter};
use crate::packet::{Header, PacketNumber, PacketType};
use crate::TransportErrorCode;

fn addr() -> SocketAddr {
    "127.0.0.1:4433".parse().unwrap()
}

fn server() -> Endpoint {
    Endpoint::new(EndpointConfig::default(), true)
}

/// A protected client Initial of `size` bytes.
fn client_initial(dcid: &[u8], size: usize) -> BytesMut {
    let dcid = ConnectionId::new(dcid).unwrap();
    let header = Header::Initial {
        version: Version::V1,
        dst_cid: dcid,
        src_cid: ConnectionId::new(&[7; 4]).unwrap(),
        token: Default::default(),
        number: PacketNumber::U8(0),
    };
    let mut buf = Vec::new();
    let partial = header.encode(&mut buf);
    buf.push(0x01); // PING
    buf.resize(size, 0);
    partial.set_length(&mut buf, size);
    let keys = initial_keys(Version::V1, &dcid, Side::Client);
    keys.local
        .protect(0, partial.pn.unwrap().0, &mut buf)
        .unwrap();
    BytesMut::from(&buf[..])
}

#[test]
fn interop_runner_probe_gets_version_negotiation() {
    // The runner's readiness probe: 1207 bytes, version 0x57414954, empty connection IDs.
    let mut probe = vec![0xc0, 0x57, 0x41, 0x49, 0x54, 0, 0];
    probe.resize(1207, 0);
    let mut ep = server();
    let Some(DatagramEvent::Response(t)) = ep.handle(addr(), BytesMut::from(&probe[..])) else {
        panic!("expected a Version Negotiation response");
    };
    let (p, _) = PartialDecode::new(BytesMut::from(&t.contents[..]), 8, false).unwrap();
    assert_eq!(p.header().packet_type(), PacketType::VersionNegotiation);
    let versions: Vec<u32> = p.supported_versions().unwrap().collect();
    assert!(versions.contains(&1) && versions.contains(&0x6b3343cf));
    assert!(versions
        .iter()
        .any(|v| crate::version::is_reserved_version(*v)));
    // Too small: dropped (RFC 9000 §5.2.2).
    assert!(ep.handle(addr(), BytesMut::from(&probe[..1199])).is_none());
    // A client never answers with Version Negotiation.
    let mut client = Endpoint::new(EndpointConfig::default(), false);
    assert!(client.handle(addr(), BytesMut::from(&probe[..])).is_none());
}

#[test]
fn small_initials_and_short_dcids_are_dropped() {
    let mut ep = server();
    assert!(ep.handle(addr(), client_initial(&[1; 8], 1199)).is_none());
    assert!(ep.handle(addr(), client_initial(&[1; 7], 1200)).is_none());
    match ep.handle(addr(), client_initial(&[1; 8], 1200)) {
        Some(DatagramEvent::NewConnection(inc)) => {
            assert_eq!(&inc.original_dst_cid[..], &[1; 8]);
            assert_eq!(inc.version, Version::V1);
        }
        other => panic!("expected a new connection, got {other:?}"),
    }
}

#[test]
fn routing_by_cid_and_by_initial_dcid() {
    let mut ep = server();
    let local = ep.new_cid();
    let odcid = ConnectionId::new(&[9; 8]).unwrap();
    let h = ep.register(local, Some((addr(), odcid)));
    // A retransmitted first Initial still reaches the connection.
    assert!(
        matches!(ep.handle(addr(), client_initial(&[9; 8], 1200)), Some(DatagramEvent::Known(x, _)) if x == h)
    );
    // Short header to our CID.
    let mut short = vec![0x40];
    short.extend_from_slice(&local);
    short.resize(40, 0);
    assert!(
        matches!(ep.handle(addr(), BytesMut::from(&short[..])), Some(DatagramEvent::Known(x, _)) if x == h)
    );
    ep.forget_initial(h);
    assert!(matches!(
        ep.handle(addr(), client_initial(&[9; 8], 1200)),
        Some(DatagramEvent::NewConnection(_))
    ));
    ep.remove(h);
    assert_eq!(ep.connection_count(), 0);
}

#[test]
fn unknown_short_header_gets_a_smaller_stateless_reset() {
    let mut ep = server();
    let unknown = [0x41, 1, 2, 3, 4, 5, 6, 7, 8];
    let mut pkt = unknown.to_vec();
    pkt.resize(50, 0xaa);
    let Some(DatagramEvent::Response(t)) = ep.handle(addr(), BytesMut::from(&pkt[..])) else {
        panic!("expected a stateless reset");
    };
    assert!(t.contents.len() < pkt.len() && t.contents.len() >= MIN_SHORT_PACKET_SIZE);
    assert_eq!(t.contents[0] & 0xc0, 0x40);
    let token = ep.reset_token(&ConnectionId::new(&unknown[1..9]).unwrap());
    assert_eq!(&t.contents[t.contents.len() - 16..], &token);
    // Too small to answer (RFC 9000 §10.3): 21 bytes or fewer are dropped.
    assert!(ep.handle(addr(), BytesMut::from(&pkt[..21])).is_none());
}

#[test]
fn full_server_refuses_with_connection_refused() {
    let mut ep = Endpoint::new(
        EndpointConfig {
            max_connections: 1,
            ..Default::default()
        },
        true,
    );
    let cid = ep.new_cid();
    ep.register(cid, None);
    let Some(DatagramEvent::Response(t)) = ep.handle(addr(), client_initial(&[3; 8], 1200)) else {
        panic!("expected a refusal");
    };
    // Decrypt it as the client would.
    let (partial, _) = PartialDecode::new(BytesMut::from(&t.contents[..]), 8, false).unwrap();
    let keys = initial_keys(
        Version::V1,
        &ConnectionId::new(&[3; 8]).unwrap(),
        Side::Client,
    );
    let mut packet = partial.finish(|s| keys.remote.header.mask(s), 0).unwrap();
    let (n, hl) = (packet.number, packet.header_len());
    let len = keys
        .remote
        .packet
        .decrypt_in_place(n, hl, packet.data_mut())
        .unwrap();
    let frames: Vec<_> = FrameIter::new(packet.into_payload(len), PacketType::Initial)
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(frames.iter().any(|f| matches!(f,
        Frame::ConnectionClose(c) if c.error_code == TransportErrorCode::CONNECTION_REFUSED)));
}

#[test]
fn garbage_never_panics() {
    use proptest::prelude::*;
    proptest!(|(bytes in proptest::collection::vec(any::<u8>(), 0..1300))| {
        let mut ep = server();
        let _ = ep.handle(addr(), BytesMut::from(&bytes[..]));
    });
}

#[test]
fn an_initial_that_fails_authentication_creates_no_connection() {
    use crate::testing::pair::client_config;
    // The client's first datagram, with a byte of its Source Connection ID flipped as a
    // corrupting link would: the server must neither keep a connection for it (whose replies
    // would go to the corrupted ID) nor let it take the route of the intact retransmission.
    let server_config = crate::testing::pair::server_config(&[b"hq-interop"], Default::default());
    let mut pair = crate::testing::Pair::new(11, server_config.clone());
    pair.set_link(crate::testing::LinkConfig::delay(
        std::time::Duration::from_millis(10),
    ));
    let c = pair.client.addr;
    let config = client_config(&[b"hq-interop"], Default::default());
    let h = pair.connect(&config);
    let now = pair.now;
    let mut first = Vec::new();
    {
        let conn = pair.client.conn(h);
        let mut buf = Vec::new();
        let t = conn.poll_transmit(now, &mut buf).expect("a first Initial");
        first.extend_from_slice(&buf[..t.size]);
    }
    // Long header: flags, version, DCID length + 16-byte DCID, SCID length, SCID.
    let scid_at = 1 + 4 + 1 + 16 + 1;
    first[scid_at] ^= 0x55;
    let Some(DatagramEvent::NewConnection(incoming)) =
        pair.server.endpoint.handle(c, BytesMut::from(&first[..]))
    else {
        panic!("a 1200-byte Initial starts a connection attempt");
    };
    assert!(pair
        .server
        .endpoint
        .accept(now, incoming, &server_config)
        .is_err());
    assert_eq!(pair.server.endpoint.connection_count(), 0);
    // The client's retransmission (after its PTO) reaches a fresh connection that completes.
    assert!(pair.drive_until(std::time::Duration::from_secs(10), |p| {
        !p.client.conn(h).is_handshaking()
    }));
    assert!(pair.client.conn(h).error().is_none());
    assert_eq!(pair.server.accepted.len(), 1);
}

#[test]
fn a_resumed_tls_session_authenticates_the_new_connection_ids() {
    use crate::testing::pair::{client_config, server_config};
    // One client configuration for several connections: rustls resumes the session and, until
    // EncryptedExtensions arrive, reports the server's parameters remembered from the previous
    // connection, whose connection IDs must not be checked against this one's (RFC 9000 §7.3).
    let mut pair =
        crate::testing::Pair::new(3, server_config(&[b"hq-interop"], Default::default()));
    pair.set_link(crate::testing::LinkConfig::delay(
        std::time::Duration::from_millis(10),
    ));
    let config = client_config(&[b"hq-interop"], Default::default());
    for i in 0..4 {
        let h = pair.connect(&config);
        assert!(
            pair.drive_until(std::time::Duration::from_secs(10), |p| {
                !p.client.conn(h).is_handshaking() || p.client.conn(h).is_closed()
            }),
            "connection {i} did not finish its handshake"
        );
        assert_eq!(pair.client.conn(h).error(), None, "connection {i}");
        let now = pair.now;
        pair.client.conn(h).close(now, crate::VarInt::ZERO, b"");
        pair.drive_until(std::time::Duration::from_secs(10), |p| {
            p.client.conn(h).is_drained()
        });
    }
}

#[test]
fn every_client_initial_before_the_server_answers_carries_the_client_hello() {
    use crate::testing::pair::{client_config, server_config};
    // RFC 9000 §17.2.2: with the first Initial lost, each PTO probe may be the first datagram
    // the server sees, so each must be able to start the handshake on its own (a bare PING
    // is refused by servers such as aioquic). A fresh server endpoint per datagram shows it:
    // only a ClientHello gets the server's first flight (Initial + Handshake, > 1,000 bytes).
    let server_cfg = server_config(&[b"hq-interop"], Default::default());
    let mut ep = Endpoint::new(
        EndpointConfig {
            rng_seed: 5,
            ..EndpointConfig::default()
        },
        false,
    );
    // An arbitrary base instant; every later time comes from the connection's timers.
    #[allow(clippy::disallowed_methods)]
    let mut now = std::time::Instant::now();
    let config = client_config(&[b"hq-interop"], Default::default());
    let (_, mut client) = ep.connect(now, &config, addr(), "localhost").unwrap();
    let mut buf = Vec::new();
    let mut datagrams = Vec::new();
    for _ in 0..3 {
        // The previous flight is lost; the probe timer fires.
        while let Some(t) = client.poll_transmit(now, &mut buf) {
            datagrams.push(buf[..t.size].to_vec());
        }
        now = client.poll_timeout().expect("a probe timer");
        client.handle_timeout(now);
    }
    while let Some(t) = client.poll_transmit(now, &mut buf) {
        datagrams.push(buf[..t.size].to_vec());
    }
    assert!(datagrams.len() >= 4, "{} datagrams", datagrams.len());
    let client_addr: SocketAddr = "127.0.0.1:5555".parse().unwrap();
    let mut answers = Vec::new();
    for (i, d) in datagrams.iter().enumerate() {
        // Only the datagram's first packet (zero padding after it): some servers require the
        // CRYPTO frame in the first packet they see.
        let (_, rest) = PartialDecode::new(BytesMut::from(&d[..]), 8, false).unwrap();
        let mut first = d[..d.len() - rest.map_or(0, |r| r.len())].to_vec();
        first.resize(d.len(), 0);
        let mut server = Endpoint::new(EndpointConfig::default(), true);
        let Some(DatagramEvent::NewConnection(incoming)) =
            server.handle(client_addr, BytesMut::from(&first[..]))
        else {
            panic!("datagram {i} does not start a connection attempt");
        };
        let (_, mut conn) = server.accept(now, incoming, &server_cfg).unwrap();
        let mut sent = 0;
        let mut out = Vec::new();
        while let Some(t) = conn.poll_transmit(now, &mut out) {
            sent += t.size;
        }
        answers.push(sent);
    }
    assert!(
        answers.iter().all(|&a| a > 1000),
        "bytes the server answered to each client datagram: {answers:?}"
    );
}

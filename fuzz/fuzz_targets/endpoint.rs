#![no_main]
//! A server endpoint fed arbitrary datagrams from arbitrary addresses must never panic, and
//! whatever it answers statelessly must be smaller than three times what it received
//! (RFC 9000 §8.1 anti-amplification, §10.3 stateless reset size).
use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use quic::endpoint::{DatagramEvent, Endpoint, EndpointConfig};

fuzz_target!(|input: (u8, Vec<Vec<u8>>)| {
    let (port, datagrams) = input;
    let mut endpoint = Endpoint::new(EndpointConfig { max_connections: 1, ..Default::default() }, true);
    let remote = std::net::SocketAddr::from(([127, 0, 0, 1], u16::from(port) + 1000));
    for datagram in datagrams {
        let len = datagram.len();
        match endpoint.handle(remote, BytesMut::from(&datagram[..])) {
            Some(DatagramEvent::Response(t)) => assert!(t.contents.len() < 3 * len),
            Some(DatagramEvent::NewConnection(incoming)) => {
                let cid = endpoint.new_cid();
                endpoint.register(cid, Some((incoming.remote, incoming.original_dst_cid)));
            }
            Some(DatagramEvent::Known(..)) | None => {}
        }
    }
});

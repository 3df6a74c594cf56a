#![no_main]
//! Header parsing of arbitrary datagrams must never panic: split coalesced packets, remove a
//! (fake) header protection derived from the sample, and walk every packet to the end.
use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use quic::packet::{peek_invariant_header, PartialDecode};

fuzz_target!(|data: &[u8]| {
    let Some((&cid_len, datagram)) = data.split_first() else { return };
    let local_cid_len = usize::from(cid_len % 21);
    let _ = peek_invariant_header(datagram);
    let mut next = Some(BytesMut::from(datagram));
    while let Some(buf) = next.take() {
        let Ok((partial, rest)) = PartialDecode::new(buf, local_cid_len, cid_len & 0x80 != 0) else {
            break;
        };
        let _ = partial.token();
        if let Some(versions) = partial.supported_versions() {
            versions.for_each(drop);
        }
        if partial.has_packet_number() {
            if let Ok(packet) = partial.finish(|s| [s[0], s[3], s[7], s[11], s[15]], 12345) {
                let header_len = packet.header_len();
                assert!(header_len <= packet.data().len());
                let _ = packet.into_payload(usize::MAX / 2);
            }
        }
        next = rest;
    }
});

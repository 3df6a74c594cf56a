#![no_main]
//! Frame decoding must never panic under any packet type, the iterator must stop after its first
//! error, every decoded frame must be permitted in its packet type, and every decoded frame must
//! re-encode (to exactly `encoded_len` bytes) into something that decodes equal.
use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use quic::frame::{Frame, FrameIter};
use quic::packet::PacketType;

const PACKET_TYPES: [PacketType; 6] = [
    PacketType::Initial,
    PacketType::ZeroRtt,
    PacketType::Handshake,
    PacketType::OneRtt,
    PacketType::Retry,
    PacketType::VersionNegotiation,
];

fuzz_target!(|data: &[u8]| {
    let payload = Bytes::copy_from_slice(data);
    for pt in PACKET_TYPES {
        let mut iter = FrameIter::new(payload.clone(), pt);
        let mut frames = 0;
        for result in iter.by_ref() {
            let frame = match result {
                Ok(frame) => frame,
                Err(_) => break,
            };
            frames += 1;
            assert!(
                frame.frame_type().is_permitted_in(pt),
                "{frame:?} in {pt:?}"
            );
            let mut out = Vec::with_capacity(frame.encoded_len());
            frame.encode(&mut out);
            assert_eq!(out.len(), frame.encoded_len(), "{frame:?}");
            let mut buf = Bytes::from(out);
            let again = Frame::decode(&mut buf, pt);
            assert_eq!(again.as_ref(), Ok(&frame));
            assert!(buf.is_empty());
        }
        assert_eq!(iter.decoded(), frames);
        // After an error or the end, the iterator stays done.
        assert!(iter.next().is_none());
    }
});

//! Property tests: every frame type round-trips, `encoded_len` is exact, every truncation fails
//! cleanly, and arbitrary input never panics.

use super::strategies::{frame, non_padding_frame};
use super::*;
use proptest::collection::vec;
use proptest::prelude::*;

/// The type byte(s) a frame is written with.
fn written_type(frame: &Frame) -> u64 {
    frame.frame_type().0
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// decode(encode(x)) == x, encoded_len(x) == bytes written, and the decoder consumes
    /// exactly the frame.
    #[test]
    fn every_frame_round_trips(frame in frame()) {
        let bytes = encode(&frame);
        let mut buf = Bytes::from(bytes);
        let decoded = Frame::decode(&mut buf, PacketType::OneRtt);
        prop_assert_eq!(decoded, Ok(frame));
        prop_assert!(buf.is_empty());
    }

    /// Under every packet type a frame either decodes equal or is refused with
    /// PROTOCOL_VIOLATION naming its type, exactly as `is_permitted_in` says.
    #[test]
    fn every_frame_under_every_packet_type(frame in frame()) {
        let bytes = encode(&frame);
        for pt in ALL_PACKET_TYPES {
            let mut buf = Bytes::from(bytes.clone());
            let decoded = Frame::decode(&mut buf, pt);
            if frame.frame_type().is_permitted_in(pt) {
                prop_assert_eq!(decoded, Ok(frame.clone()));
            } else {
                let err = decoded.unwrap_err();
                prop_assert_eq!(err.code, TransportErrorCode::PROTOCOL_VIOLATION);
                prop_assert_eq!(err.frame_type, Some(written_type(&frame)));
            }
        }
    }

    /// Every strict prefix of an encoded frame is a FRAME_ENCODING_ERROR (with the frame type
    /// once the type byte is there), never a panic and never a different frame.
    #[test]
    fn every_truncation_is_an_error(frame in non_padding_frame()) {
        let bytes = encode(&frame);
        for cut in 0..bytes.len() {
            let err = decode_err(&bytes[..cut]);
            let want_type = if cut == 0 { None } else { Some(written_type(&frame)) };
            prop_assert_eq!(err.code, TransportErrorCode::FRAME_ENCODING_ERROR);
            prop_assert_eq!(err.frame_type, want_type);
        }
    }

    /// Arbitrary bytes never panic under any packet type; the iterator yields at most one
    /// error, last; and whatever decodes re-encodes to something that decodes equal.
    #[test]
    fn garbage_never_panics(payload in vec(any::<u8>(), 0..512)) {
        check_arbitrary_payload(&payload);
    }

    /// Garbage that starts like a real frame reaches deeper into the decoders.
    #[test]
    fn mutated_frames_never_panic(
        frame in non_padding_frame(),
        flips in vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
    ) {
        let mut bytes = encode(&frame);
        for (at, value) in flips {
            let i = at.index(bytes.len());
            bytes[i] ^= value;
        }
        check_arbitrary_payload(&bytes);
    }
}

proptest! {
    // Each case is up to eight frames; fewer cases cover the same ground.
    #![proptest_config(ProptestConfig::with_cases(400))]

    /// A payload of several frames comes back frame by frame.
    #[test]
    fn frame_sequences_round_trip(frames in vec(non_padding_frame(), 1..8)) {
        let mut payload = Vec::new();
        for f in &frames {
            f.encode(&mut payload);
        }
        let mut iter = FrameIter::new(Bytes::from(payload), PacketType::OneRtt);
        let decoded: Vec<Frame> = iter.by_ref().collect::<Result<_, _>>().unwrap();
        prop_assert_eq!(iter.decoded(), frames.len());
        prop_assert_eq!(decoded, frames);
    }
}

fn check_arbitrary_payload(payload: &[u8]) {
    for pt in ALL_PACKET_TYPES {
        let results = decode_all(payload, pt);
        let errors = results.iter().filter(|r| r.is_err()).count();
        assert!(errors <= 1);
        if errors == 1 {
            assert!(results.last().is_some_and(|r| r.is_err()));
        }
        for frame in results.into_iter().flatten() {
            assert!(frame.frame_type().is_permitted_in(pt));
            let bytes = encode(&frame);
            let mut buf = Bytes::from(bytes);
            assert_eq!(Frame::decode(&mut buf, pt), Ok(frame));
            assert!(buf.is_empty());
        }
    }
}

/// Decoding does not copy data: STREAM data, CRYPTO data, tokens, reasons and datagrams point
/// into the payload.
#[test]
fn decoding_is_zero_copy() {
    let frames = [
        Frame::Stream(Stream {
            id: VarInt::from_u32(4),
            offset: 7,
            fin: true,
            data: b"abc"[..].into(),
        }),
        Frame::Crypto(Crypto {
            offset: 0,
            data: b"hello"[..].into(),
        }),
        Frame::NewToken(NewToken {
            token: b"tok"[..].into(),
        }),
        Frame::ConnectionClose(ConnectionClose {
            error_code: TransportErrorCode::PROTOCOL_VIOLATION,
            frame_type: FrameType::STREAM,
            reason: b"why"[..].into(),
        }),
        Frame::ApplicationClose(ApplicationClose {
            error_code: VarInt::from_u32(1),
            reason: b"bye"[..].into(),
        }),
        Frame::Datagram(Datagram {
            data: b"dgram"[..].into(),
        }),
    ];
    let mut payload = Vec::new();
    for f in &frames {
        f.encode(&mut payload);
    }
    let payload = Bytes::from(payload);
    let range = payload.as_ptr_range();
    for frame in FrameIter::new(payload.clone(), PacketType::OneRtt) {
        let data = match frame.unwrap() {
            Frame::Stream(s) => s.data,
            Frame::Crypto(c) => c.data,
            Frame::NewToken(t) => t.token,
            Frame::ConnectionClose(c) => c.reason,
            Frame::ApplicationClose(c) => c.reason,
            Frame::Datagram(d) => d.data,
            other => panic!("unexpected {other:?}"),
        };
        assert!(range.contains(&data.as_ptr()), "{data:?} was copied");
    }
}

/// A run of PADDING is one frame, however long, and ends at the first non-zero byte.
#[test]
fn padding_runs_are_one_frame() {
    let mut payload = vec![0u8; 3];
    payload.push(0x01); // PING
    payload.extend_from_slice(&[0; 1200]);
    let frames: Vec<_> = decode_all(&payload, PacketType::Initial)
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        frames,
        [Frame::Padding(3), Frame::Ping, Frame::Padding(1200)]
    );
    assert_eq!(encode(&Frame::Padding(0)), b"");
}

/// STREAM and DATAGRAM frames without a Length field take the rest of the packet.
#[test]
fn frames_without_length_run_to_the_end() {
    // STREAM 0x0c: OFF set, LEN clear; stream 1, offset 2, data "xyz01" (0x01 is data, not PING).
    let frames: Vec<_> = decode_all(
        &[0x0c, 0x01, 0x02, b'x', b'y', b'z', 0x01],
        PacketType::OneRtt,
    )
    .into_iter()
    .map(Result::unwrap)
    .collect();
    assert_eq!(
        frames,
        [Frame::Stream(Stream {
            id: VarInt::from_u32(1),
            offset: 2,
            fin: false,
            data: b"xyz\x01"[..].into()
        })]
    );
    let frames: Vec<_> = decode_all(&[0x01, 0x30, 0, 0], PacketType::OneRtt)
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        frames,
        [
            Frame::Ping,
            Frame::Datagram(Datagram {
                data: b"\0\0"[..].into()
            })
        ]
    );
    // An empty datagram at the very end is allowed (RFC 9221 §4).
    let frames: Vec<_> = decode_all(&[0x30], PacketType::OneRtt)
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!(frames, [Frame::Datagram(Datagram { data: Bytes::new() })]);
}

/// A STREAM frame with the OFF bit and offset 0 decodes as offset 0; `frame_type` reports what
/// `encode` writes.
#[test]
fn stream_frame_type_bits() {
    let mut buf = Bytes::from_static(&[0x0d, 0x04, 0x00, b'a']); // OFF|FIN, no LEN
    let Frame::Stream(s) = Frame::decode(&mut buf, PacketType::OneRtt).unwrap() else {
        panic!()
    };
    assert_eq!((s.offset, s.fin), (0, true));
    assert_eq!(s.header().frame_type(true), FrameType(0x0b));
    assert_eq!(Frame::Stream(s.clone()).frame_type(), FrameType(0x0b));
    let moved = Stream { offset: 9, ..s };
    assert_eq!(moved.header().frame_type(false), FrameType(0x0d));
    assert_eq!(moved.header().frame_type(true), FrameType(0x0f));
}

/// A hand-computed ACK: ranges {0,1,2}, {5}, {9,10} (RFC 9000 §19.3.1 arithmetic).
#[test]
fn ack_known_encoding() {
    let ranges = [0..3, 5..6, 9..11];
    let enc = AckEncoder::ascending(&ranges, 0, None).unwrap();
    let mut out = Vec::new();
    enc.encode(&mut out);
    // type, largest 10, delay 0, 2 more ranges, first range 1, gap 2 (6..=8 missing), length 0,
    // gap 1 (3..=4 missing), length 2.
    assert_eq!(hex::encode(&out), "020a00020102000102");
    let Frame::Ack(ack) = Frame::decode(&mut Bytes::from(out), PacketType::OneRtt).unwrap() else {
        panic!()
    };
    assert_eq!(ack.iter().collect::<Vec<_>>(), [9..=10, 5..=5, 0..=2]);
    assert_eq!(ack.ranges().collect::<Vec<_>>(), [9..11, 5..6, 0..3]);
    assert_eq!(
        (ack.largest(), ack.delay(), ack.range_count(), ack.ecn()),
        (10, 0, 3, None)
    );
    assert_eq!(
        format!("{ack:?}"),
        "Ack { largest: 10, delay: 0, ranges: [9..=10, 5..=5, 0..=2], ecn: None }"
    );
}

#[test]
fn frame_classification() {
    let ack = Frame::Ack(AckEncoder::ascending(&[0..1], 0, None).unwrap().to_ack());
    let close = Frame::ConnectionClose(ConnectionClose {
        error_code: TransportErrorCode::NO_ERROR,
        frame_type: FrameType::PADDING,
        reason: Bytes::new(),
    });
    let app_close = Frame::ApplicationClose(ApplicationClose {
        error_code: VarInt::ZERO,
        reason: Bytes::new(),
    });
    // RFC 9002 §2: ACK, PADDING and CONNECTION_CLOSE are not ack-eliciting.
    for f in [&ack, &close, &app_close, &Frame::Padding(1)] {
        assert!(!f.is_ack_eliciting(), "{f:?}");
    }
    for f in [
        Frame::Ping,
        Frame::HandshakeDone,
        Frame::MaxData(VarInt::ZERO),
        Frame::PathChallenge([0; 8]),
    ] {
        assert!(f.is_ack_eliciting() && f.counts_in_flight(), "{f:?}");
    }
    // RFC 9002 §2: PADDING counts toward bytes in flight; ACK and CONNECTION_CLOSE do not.
    assert!(Frame::Padding(1).counts_in_flight());
    assert!(!ack.counts_in_flight() && !close.counts_in_flight() && !app_close.counts_in_flight());
    // RFC 9000 §9.1 probing frames.
    assert!(Frame::Padding(1).is_probing() && Frame::PathResponse([0; 8]).is_probing());
    assert!(!Frame::Ping.is_probing());
}

#[test]
fn frame_type_names() {
    assert_eq!(format!("{:?}", FrameType::ACK_ECN), "ACK_ECN");
    assert_eq!(format!("{}", FrameType(0x0e)), "STREAM(0x0e)");
    assert_eq!(format!("{:?}", FrameType(0x1f)), "unknown frame type 0x1f");
    assert_eq!(u64::from(FrameType::DATAGRAM_LEN), 0x31);
}

#[test]
fn connection_close_from_transport_error() {
    let err = TransportError::frame_encoding_error("bad").with_frame(0x02);
    let close = ConnectionClose::from(&err);
    assert_eq!(close.error_code, TransportErrorCode::FRAME_ENCODING_ERROR);
    assert_eq!(close.frame_type, FrameType::ACK);
    assert_eq!(&close.reason[..], b"bad");
    // RFC 9000 §19.19: frame type 0 when unknown.
    let close = ConnectionClose::from(TransportError::protocol_violation("x"));
    assert_eq!(close.frame_type, FrameType::PADDING);
}

use super::*;
use crate::settings::tests::arb_settings;
use proptest::prelude::*;

/// Decodes everything in `chunks` (fed one after the other) with a decoder of `kind`,
/// reassembling DATA payloads into `Frame::Data` and unknown frames into `Frame::Unknown`
/// with a zeroed payload of the right length.
pub(crate) fn decode_chunks(
    kind: StreamKind,
    chunks: &[Bytes],
) -> Result<(Vec<Frame>, bool), H3Error> {
    let mut d = FrameDecoder::new(kind, FrameLimits::default());
    let mut frames = Vec::new();
    let mut data: Option<(u64, Vec<u8>)> = None;
    let flush_data = |data: &mut Option<(u64, Vec<u8>)>, frames: &mut Vec<Frame>| {
        if let Some((_len, v)) = data.take() {
            frames.push(Frame::Data(Bytes::from(v)));
        }
    };
    for chunk in chunks {
        let mut input = chunk.clone();
        while let Some(event) = d.decode(&mut input)? {
            match event {
                FrameEvent::DataHeader { len } => {
                    flush_data(&mut data, &mut frames);
                    data = Some((len, Vec::new()));
                }
                FrameEvent::Data(b) => data.as_mut().expect("data header first").1.extend(&b),
                FrameEvent::Frame(f) => {
                    flush_data(&mut data, &mut frames);
                    frames.push(f);
                }
                FrameEvent::Unknown { ty, len } => {
                    flush_data(&mut data, &mut frames);
                    frames.push(Frame::Unknown {
                        ty,
                        // Only the length is known; tests use small zeroed payloads.
                        payload: Bytes::from(vec![0; (len as usize).min(4096)]),
                    });
                }
            }
        }
        assert!(input.is_empty(), "decoder must consume its input");
    }
    flush_data(&mut data, &mut frames);
    Ok((frames, d.at_frame_boundary()))
}

fn encode_all(frames: &[Frame]) -> Bytes {
    let mut v = Vec::new();
    for f in frames {
        let before = v.len();
        f.encode(&mut v);
        assert_eq!(v.len() - before, f.encoded_len(), "{f:?}");
    }
    Bytes::from(v)
}

fn varint_value() -> impl Strategy<Value = u64> {
    prop_oneof![0..64u64, 0..16384u64, 0..=varint::MAX]
}

fn bytes(max: usize) -> impl Strategy<Value = Bytes> {
    proptest::collection::vec(any::<u8>(), 0..max).prop_map(Bytes::from)
}

fn arb_frame() -> impl Strategy<Value = Frame> {
    prop_oneof![
        bytes(300).prop_map(Frame::Data),
        bytes(300).prop_map(Frame::Headers),
        varint_value().prop_map(Frame::CancelPush),
        arb_settings().prop_map(Frame::Settings),
        (varint_value(), bytes(100)).prop_map(|(push_id, field_section)| Frame::PushPromise {
            push_id,
            field_section
        }),
        varint_value().prop_map(Frame::Goaway),
        varint_value().prop_map(Frame::MaxPushId),
        (any::<bool>(), varint_value(), bytes(40)).prop_map(|(push, id, value)| {
            Frame::PriorityUpdate {
                target: if push {
                    PriorityTarget::Push
                } else {
                    PriorityTarget::Request
                },
                id,
                value,
            }
        }),
        (
            (0u64..10_000).prop_map(crate::settings::grease_value),
            0usize..50
        )
            .prop_map(|(ty, len)| Frame::Unknown {
                ty,
                payload: Bytes::from(vec![0; len])
            }),
    ]
}

/// Splits `b` at the given (sorted, deduplicated) positions.
fn split_at(b: &Bytes, cuts: &[usize]) -> Vec<Bytes> {
    let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (b.len() + 1)).collect();
    cuts.sort_unstable();
    cuts.dedup();
    let mut out = Vec::new();
    let mut prev = 0;
    for c in cuts {
        out.push(b.slice(prev..c));
        prev = c;
    }
    out.push(b.slice(prev..));
    out
}

proptest! {
    #[test]
    fn round_trip_any_split(
        frames in proptest::collection::vec(arb_frame(), 0..8),
        cuts in proptest::collection::vec(any::<usize>(), 0..12),
    ) {
        let wire = encode_all(&frames);
        let whole = decode_chunks(StreamKind::Any, std::slice::from_ref(&wire)).unwrap();
        prop_assert_eq!(&whole.0, &frames);
        prop_assert!(whole.1);
        let split = decode_chunks(StreamKind::Any, &split_at(&wire, &cuts)).unwrap();
        prop_assert_eq!(&split.0, &frames);
        // Byte by byte.
        let bytes: Vec<Bytes> = (0..wire.len()).map(|i| wire.slice(i..i + 1)).collect();
        prop_assert_eq!(decode_chunks(StreamKind::Any, &bytes).unwrap().0, frames);
    }

    #[test]
    fn truncation_is_not_a_boundary(frame in arb_frame(), cut in any::<usize>()) {
        let wire = frame.to_bytes();
        let cut = cut % wire.len();
        let (_, boundary) = decode_chunks(StreamKind::Any, &[wire.slice(..cut)]).unwrap();
        prop_assert_eq!(boundary, cut == 0);
    }

    #[test]
    fn garbage_never_panics(
        data in proptest::collection::vec(any::<u8>(), 0..200),
        cuts in proptest::collection::vec(any::<usize>(), 0..6),
        kind in prop_oneof![
            Just(StreamKind::Any),
            Just(StreamKind::Control),
            Just(StreamKind::Request),
            Just(StreamKind::Push)
        ],
    ) {
        let b = Bytes::from(data);
        let _ = decode_chunks(kind, &split_at(&b, &cuts));
    }
}

fn decode_one(kind: StreamKind, wire: &[u8]) -> Result<Vec<Frame>, H3Error> {
    decode_chunks(kind, &[Bytes::copy_from_slice(wire)]).map(|(f, _)| f)
}

fn code(kind: StreamKind, wire: &[u8]) -> Code {
    decode_one(kind, wire).unwrap_err().code
}

fn settings_frame() -> Frame {
    Frame::Settings(Settings::default())
}

#[test]
fn control_stream_rules() {
    let s = settings_frame().to_bytes();
    // RFC 9114 §6.2.1: the first frame must be SETTINGS, even before unknown frames.
    let grease = Frame::Unknown {
        ty: 0x21,
        payload: Bytes::new(),
    };
    assert_eq!(
        code(StreamKind::Control, &grease.to_bytes()),
        Code::H3_MISSING_SETTINGS
    );
    assert_eq!(
        code(StreamKind::Control, &Frame::Goaway(0).to_bytes()),
        Code::H3_MISSING_SETTINGS
    );
    // RFC 9114 §7.2.4: a second SETTINGS is H3_FRAME_UNEXPECTED.
    let twice = [&s[..], &s[..]].concat();
    assert_eq!(code(StreamKind::Control, &twice), Code::H3_FRAME_UNEXPECTED);
    // DATA, HEADERS, PUSH_PROMISE on the control stream (RFC 9114 §7.2.1, §7.2.2, §7.2.5).
    for f in [
        Frame::Data(Bytes::from_static(b"x")),
        Frame::Headers(Bytes::from_static(b"x")),
        Frame::PushPromise {
            push_id: 0,
            field_section: Bytes::new(),
        },
    ] {
        let wire = [&s[..], &f.to_bytes()[..]].concat();
        assert_eq!(
            code(StreamKind::Control, &wire),
            Code::H3_FRAME_UNEXPECTED,
            "{f:?}"
        );
    }
    // Allowed frames, and unknown ones after SETTINGS.
    let ok = [
        &s[..],
        &grease.to_bytes(),
        &Frame::Goaway(4).to_bytes(),
        &Frame::MaxPushId(3).to_bytes(),
        &Frame::CancelPush(1).to_bytes(),
        &Frame::PriorityUpdate {
            target: PriorityTarget::Request,
            id: 0,
            value: Bytes::from_static(b"u=1"),
        }
        .to_bytes(),
    ]
    .concat();
    assert_eq!(decode_one(StreamKind::Control, &ok).unwrap().len(), 6);
}

#[test]
fn request_and_push_stream_rules() {
    // RFC 9114 §7.2.3-§7.2.7, RFC 9218 §7.2: control frames on a request stream.
    for f in [
        settings_frame(),
        Frame::Goaway(0),
        Frame::MaxPushId(0),
        Frame::CancelPush(0),
        Frame::PriorityUpdate {
            target: PriorityTarget::Request,
            id: 0,
            value: Bytes::new(),
        },
    ] {
        assert_eq!(
            code(StreamKind::Request, &f.to_bytes()),
            Code::H3_FRAME_UNEXPECTED
        );
        assert_eq!(
            code(StreamKind::Push, &f.to_bytes()),
            Code::H3_FRAME_UNEXPECTED
        );
    }
    let pp = Frame::PushPromise {
        push_id: 0,
        field_section: Bytes::new(),
    };
    assert!(decode_one(StreamKind::Request, &pp.to_bytes()).is_ok());
    // RFC 9114 §4.1: PUSH_PROMISE on a push stream.
    assert_eq!(
        code(StreamKind::Push, &pp.to_bytes()),
        Code::H3_FRAME_UNEXPECTED
    );
}

#[test]
fn http2_frame_types_are_unexpected() {
    // RFC 9114 §7.2.8.
    for ty in [0x02, 0x06, 0x08, 0x09] {
        for kind in [
            StreamKind::Any,
            StreamKind::Request,
            StreamKind::Push,
            StreamKind::Control,
        ] {
            let wire = [ty as u8, 0];
            let wire = if kind == StreamKind::Control {
                [&settings_frame().to_bytes()[..], &wire[..]].concat()
            } else {
                wire.to_vec()
            };
            assert_eq!(
                code(kind, &wire),
                Code::H3_FRAME_UNEXPECTED,
                "{ty:#x} {kind:?}"
            );
        }
    }
}

#[test]
fn single_varint_frames_must_match_length() {
    for ty in [CANCEL_PUSH, GOAWAY, MAX_PUSH_ID] {
        // Empty payload.
        assert_eq!(code(StreamKind::Any, &[ty as u8, 0]), Code::H3_FRAME_ERROR);
        // A trailing byte.
        assert_eq!(
            code(StreamKind::Any, &[ty as u8, 2, 1, 0]),
            Code::H3_FRAME_ERROR
        );
        // A 2-byte varint in a 1-byte payload.
        assert_eq!(
            code(StreamKind::Any, &[ty as u8, 1, 0x40]),
            Code::H3_FRAME_ERROR
        );
        // Longer than any varint.
        assert_eq!(code(StreamKind::Any, &[ty as u8, 9]), Code::H3_FRAME_ERROR);
        // A non-minimal encoding is still valid.
        assert!(decode_one(StreamKind::Any, &[ty as u8, 2, 0x40, 5]).is_ok());
    }
    // PUSH_PROMISE and PRIORITY_UPDATE with a truncated ID.
    assert_eq!(
        code(StreamKind::Any, &[0x05, 1, 0x40]),
        Code::H3_FRAME_ERROR
    );
    assert_eq!(
        code(StreamKind::Any, &[0x80, 0x0f, 0x07, 0x00, 0]),
        Code::H3_FRAME_ERROR
    );
}

#[test]
fn oversized_frames_are_excessive_load() {
    let limits = FrameLimits::default();
    let mut wire = Vec::new();
    encode_header(SETTINGS, limits.max_control_payload + 1, &mut wire);
    assert_eq!(code(StreamKind::Control, &wire), Code::H3_EXCESSIVE_LOAD);
    wire.clear();
    encode_header(HEADERS, limits.max_field_section_payload + 1, &mut wire);
    assert_eq!(code(StreamKind::Request, &wire), Code::H3_EXCESSIVE_LOAD);
    // DATA and unknown frames are streamed, so any length is fine.
    wire.clear();
    encode_header(DATA, varint::MAX, &mut wire);
    assert!(decode_one(StreamKind::Request, &wire).is_ok());
    wire.clear();
    encode_header(0x21, varint::MAX, &mut wire);
    assert!(decode_one(StreamKind::Request, &wire).is_ok());
}

#[test]
fn data_is_streamed_without_copy() {
    let payload = Bytes::from(vec![7u8; 1000]);
    let wire = Frame::Data(payload.clone()).to_bytes();
    let mut d = FrameDecoder::new(StreamKind::Request, FrameLimits::default());
    let mut first = wire.slice(..500);
    assert_eq!(
        d.decode(&mut first).unwrap(),
        Some(FrameEvent::DataHeader { len: 1000 })
    );
    let Some(FrameEvent::Data(a)) = d.decode(&mut first).unwrap() else {
        panic!()
    };
    assert_eq!(a.len(), 500 - 3);
    assert_eq!(d.data_remaining(), Some(503));
    assert!(!d.at_frame_boundary());
    let mut rest = wire.slice(500..);
    let Some(FrameEvent::Data(b)) = d.decode(&mut rest).unwrap() else {
        panic!()
    };
    assert_eq!(b.len(), 503);
    assert!(d.at_frame_boundary());
    assert_eq!(d.decode(&mut rest).unwrap(), None);
}

#[test]
fn errors_are_sticky() {
    let mut d = FrameDecoder::new(StreamKind::Request, FrameLimits::default());
    let mut input = Bytes::from_static(&[0x02, 0x00]);
    assert!(d.decode(&mut input).is_err());
    let mut more = Bytes::from_static(&[0x00, 0x00]);
    assert!(d.decode(&mut more).is_err());
}

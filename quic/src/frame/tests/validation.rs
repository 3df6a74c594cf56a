//! One targeted test per decoding rule: the exact error code and frame type for each validation
//! of RFC 9000 §19 and RFC 9221 §4, and each packet-type permission of RFC 9000 §12.4.

use super::*;

const FEE: TransportErrorCode = TransportErrorCode::FRAME_ENCODING_ERROR;
const PV: TransportErrorCode = TransportErrorCode::PROTOCOL_VIOLATION;

/// 2^62 - 1 as an 8-byte varint.
const MAX_VARINT: [u8; 8] = [0xff; 8];

fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

/// A minimal valid frame of each type with the packet types RFC 9000 §12.4 Table 3 allows it in
/// ("I" Initial, "H" Handshake, "0" 0-RTT, "1" 1-RTT), written out independently of
/// `FrameType::is_permitted_in`.
fn permission_table() -> Vec<(Vec<u8>, &'static str)> {
    let mut table = vec![
        (vec![0x00], "IH01"),
        (vec![0x01], "IH01"),
        (vec![0x02, 0, 0, 0, 0], "IH1"),
        (vec![0x03, 0, 0, 0, 0, 0, 0, 0], "IH1"),
        (vec![0x04, 0, 0, 0], "01"),
        (vec![0x05, 0, 0], "01"),
        (vec![0x06, 0, 0], "IH1"),
        (vec![0x07, 1, 0xaa], "1"),
        (vec![0x10, 0], "01"),
        (vec![0x11, 0, 0], "01"),
        (vec![0x12, 0], "01"),
        (vec![0x13, 0], "01"),
        (vec![0x14, 0], "01"),
        (vec![0x15, 0, 0], "01"),
        (vec![0x16, 0], "01"),
        (vec![0x17, 0], "01"),
        (cat(&[&[0x18, 1, 0, 1, 0xaa], &[0; 16]]), "01"),
        // Table 3 says "__01", but RFC 9000 §12.5 lists RETIRE_CONNECTION_ID among the frames
        // that cannot be sent in 0-RTT and that a server MAY refuse there; we do.
        (vec![0x19, 0], "1"),
        (cat(&[&[0x1a], &[7; 8]]), "01"),
        (cat(&[&[0x1b], &[7; 8]]), "1"),
        // "ih01": only type 0x1c may appear in Initial and Handshake packets.
        (vec![0x1c, 0, 0, 0], "IH01"),
        (vec![0x1d, 0, 0], "01"),
        (vec![0x1e], "1"),
        // RFC 9221 §5: DATAGRAM is protected with 0-RTT or 1-RTT keys only.
        (vec![0x30], "01"),
        (vec![0x31, 0], "01"),
    ];
    for ty in 0x08..=0x0f_u8 {
        let mut frame = vec![ty, 0];
        if ty & 0x04 != 0 {
            frame.push(0); // offset
        }
        if ty & 0x02 != 0 {
            frame.push(0); // length
        }
        table.push((frame, "01"));
    }
    table
}

#[test]
fn packet_type_permissions() {
    let packets = [
        (PacketType::Initial, 'I'),
        (PacketType::Handshake, 'H'),
        (PacketType::ZeroRtt, '0'),
        (PacketType::OneRtt, '1'),
        (PacketType::Retry, 'R'),
        (PacketType::VersionNegotiation, 'V'),
    ];
    for (bytes, allowed) in permission_table() {
        let ty = u64::from(bytes[0]);
        for (pt, letter) in packets {
            let results = decode_all(&bytes, pt);
            assert_eq!(results.len(), 1, "{ty:#x} in {pt:?}: {results:?}");
            match &results[0] {
                Ok(frame) => {
                    assert!(allowed.contains(letter), "{ty:#x} accepted in {pt:?}");
                    // `frame_type` is what `encode` writes: always with a Length field, and
                    // OFF only for a non-zero offset (the table's offsets are 0).
                    let want = match ty {
                        0x08..=0x0f => (ty & !FrameType::STREAM_OFF) | FrameType::STREAM_LEN,
                        0x30 | 0x31 => 0x31,
                        _ => ty,
                    };
                    assert_eq!(frame.frame_type().0, want, "{frame:?}");
                }
                Err(err) => {
                    assert!(
                        !allowed.contains(letter),
                        "{ty:#x} refused in {pt:?}: {err}"
                    );
                    assert_error(err, PV, Some(ty));
                }
            }
            assert_eq!(FrameType(ty).is_permitted_in(pt), allowed.contains(letter));
        }
    }
}

#[test]
fn application_close_is_not_allowed_in_initial_or_handshake() {
    // RFC 9000 §12.5: "CONNECTION_CLOSE frames signaling application errors (type 0x1d) MUST
    // only appear in the application data packet number space."
    for pt in [PacketType::Initial, PacketType::Handshake] {
        assert_error(&decode_err_in(&[0x1d, 0, 0], pt), PV, Some(0x1d));
        assert!(decode_all(&[0x1c, 0x0a, 0, 0], pt)[0].is_ok());
    }
}

#[test]
fn unknown_frame_types_are_encoding_errors() {
    // RFC 9000 §12.4: unknown frame type -> FRAME_ENCODING_ERROR.
    for ty in [0x1f_u8, 0x20, 0x2f, 0x32, 0x3f] {
        assert_error(&decode_err(&[ty, 0, 0, 0]), FEE, Some(u64::from(ty)));
    }
    // Multi-byte types that are unknown, minimal or not.
    assert_error(&decode_err(&[0x40, 0x40]), FEE, Some(0x40));
    assert_error(&decode_err(&[0x40, 0x20]), FEE, Some(0x20));
    assert_error(&decode_err(&[0x80, 0x01, 0x00, 0x00]), FEE, Some(0x10000));
    // A truncated type has no type to report.
    assert_error(&decode_err(&[0x40]), FEE, None);
}

#[test]
fn non_minimal_frame_types_are_protocol_violations() {
    // RFC 9000 §12.4: a longer type encoding than necessary MAY be PROTOCOL_VIOLATION.
    assert_error(&decode_err(&[0x40, 0x01]), PV, Some(0x01));
    assert_error(&decode_err(&[0x80, 0x00, 0x00, 0x06, 0, 0]), PV, Some(0x06));
    assert_error(&decode_err(&[0xc0, 0, 0, 0, 0, 0, 0, 0x1e]), PV, Some(0x1e));
}

#[test]
fn empty_payload_is_a_protocol_violation() {
    // RFC 9000 §12.4: "An endpoint MUST treat receipt of a packet containing no frames as a
    // connection error of type PROTOCOL_VIOLATION."
    let mut iter = FrameIter::new(Bytes::new(), PacketType::OneRtt);
    assert_error(&iter.next().unwrap().unwrap_err(), PV, None);
    assert_eq!(iter.next(), None);
    assert_eq!(iter.decoded(), 0);
}

#[test]
fn iteration_stops_after_the_first_error() {
    let mut iter = FrameIter::new(
        Bytes::from_static(&[0x01, 0x1f, 0x01]),
        PacketType::Handshake,
    );
    assert_eq!(iter.next(), Some(Ok(Frame::Ping)));
    assert_error(&iter.next().unwrap().unwrap_err(), FEE, Some(0x1f));
    assert_eq!(iter.next(), None);
    assert_eq!(iter.next(), None);
    assert_eq!(iter.decoded(), 1);
    assert_eq!(iter.packet_type(), PacketType::Handshake);
}

#[test]
fn ack_first_range_below_zero() {
    // RFC 9000 §19.3.1: smallest = largest - ack_range; negative -> FRAME_ENCODING_ERROR.
    assert_error(&decode_err(&[0x02, 5, 0, 0, 6]), FEE, Some(0x02));
    let ok = decode_all(&[0x02, 5, 0, 0, 5], PacketType::OneRtt);
    let Ok(Frame::Ack(ack)) = &ok[0] else {
        panic!("{ok:?}")
    };
    assert_eq!(ack.iter().collect::<Vec<_>>(), [0..=5]);
}

#[test]
fn ack_gap_below_zero() {
    // Largest 5, first range 0 (smallest 5); RFC 9000 §19.3.1 largest = 5 - gap - 2.
    // Gap 4 gives -1.
    assert_error(&decode_err(&[0x02, 5, 0, 1, 0, 4, 0]), FEE, Some(0x02));
    // Gap 3 reaches exactly packet 0.
    let ok = decode_all(&[0x02, 5, 0, 1, 0, 3, 0], PacketType::OneRtt);
    let Ok(Frame::Ack(ack)) = &ok[0] else {
        panic!("{ok:?}")
    };
    assert_eq!(ack.iter().collect::<Vec<_>>(), [5..=5, 0..=0]);
    // Gap 3 then a range length of 1 goes below 0.
    assert_error(&decode_err(&[0x02, 5, 0, 1, 0, 3, 1]), FEE, Some(0x02));
    // Underflow in the ECN variant reports type 0x03.
    assert_error(
        &decode_err(&[0x03, 5, 0, 1, 0, 4, 0, 0, 0, 0]),
        FEE,
        Some(0x03),
    );
}

#[test]
fn ack_range_count_beyond_payload() {
    // A range count near 2^62 with two bytes of ranges fails at the end of the input, in
    // time bounded by the payload.
    let frame = cat(&[&[0x02, 5, 0], &MAX_VARINT, &[0, 0]]);
    assert_error(&decode_err(&frame), FEE, Some(0x02));
    // Fewer ranges than the count says.
    assert_error(&decode_err(&[0x02, 20, 0, 2, 0, 0, 0]), FEE, Some(0x02));
}

#[test]
fn ack_ecn_counts_required_for_type_3() {
    assert_error(&decode_err(&[0x03, 0, 0, 0, 0, 1, 2]), FEE, Some(0x03));
    let ok = decode_all(&[0x03, 0, 0, 0, 0, 1, 2, 3], PacketType::Initial);
    let Ok(Frame::Ack(ack)) = &ok[0] else {
        panic!("{ok:?}")
    };
    assert_eq!(
        ack.ecn(),
        Some(EcnCounts {
            ect0: 1,
            ect1: 2,
            ce: 3
        })
    );
}

#[test]
fn stream_beyond_2_62() {
    // RFC 9000 §19.8: offset + length > 2^62 - 1 -> FRAME_ENCODING_ERROR (or FLOW_CONTROL_ERROR).
    let with_len = cat(&[&[0x0e, 0x00], &MAX_VARINT, &[1, b'a']]);
    assert_error(&decode_err(&with_len), FEE, Some(0x0e));
    let to_end = cat(&[&[0x0d, 0x00], &MAX_VARINT, b"ab"]);
    assert_error(&decode_err(&to_end), FEE, Some(0x0d));
    // Ending exactly at 2^62 - 1 is fine.
    let at_limit = cat(&[&[0x0e, 0x00], &MAX_VARINT, &[0]]);
    assert!(decode_all(&at_limit, PacketType::OneRtt)[0].is_ok());
    // Data shorter than its Length field.
    assert_error(&decode_err(&[0x0a, 0, 5, b'a']), FEE, Some(0x0a));
}

#[test]
fn crypto_beyond_2_62() {
    // RFC 9000 §19.6: offset + length > 2^62 - 1 -> FRAME_ENCODING_ERROR (or
    // CRYPTO_BUFFER_EXCEEDED).
    let frame = cat(&[&[0x06], &MAX_VARINT, &[1, b'a']]);
    assert_error(&decode_err_in(&frame, PacketType::Initial), FEE, Some(0x06));
    let at_limit = cat(&[&[0x06], &MAX_VARINT, &[0]]);
    assert!(decode_all(&at_limit, PacketType::Initial)[0].is_ok());
}

#[test]
fn stream_counts_above_2_60() {
    // RFC 9000 §19.11 and §19.14: counts above 2^60 -> FRAME_ENCODING_ERROR.
    let limit = (MAX_STREAMS_LIMIT | 0xc000_0000_0000_0000).to_be_bytes();
    let above = ((MAX_STREAMS_LIMIT + 1) | 0xc000_0000_0000_0000).to_be_bytes();
    for ty in [0x12_u8, 0x13, 0x16, 0x17] {
        assert_error(
            &decode_err(&cat(&[&[ty], &above])),
            FEE,
            Some(u64::from(ty)),
        );
        let ok = decode_all(&cat(&[&[ty], &limit]), PacketType::OneRtt);
        let frame = ok[0].as_ref().unwrap();
        assert_eq!(frame.frame_type(), FrameType(u64::from(ty)));
        match frame {
            Frame::MaxStreams(m) => assert_eq!(m.count, MAX_STREAMS_LIMIT),
            Frame::StreamsBlocked(s) => assert_eq!(s.limit, MAX_STREAMS_LIMIT),
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn new_connection_id_rules() {
    let token = [0x55; 16];
    // RFC 9000 §19.15: length 0 or above 20 -> FRAME_ENCODING_ERROR.
    assert_error(
        &decode_err(&cat(&[&[0x18, 1, 0, 0], &token])),
        FEE,
        Some(0x18),
    );
    assert_error(
        &decode_err(&cat(&[&[0x18, 1, 0, 21], &[1; 21], &token])),
        FEE,
        Some(0x18),
    );
    // RFC 9000 §19.15: Retire Prior To above Sequence Number -> FRAME_ENCODING_ERROR.
    assert_error(
        &decode_err(&cat(&[&[0x18, 1, 2, 1, 0xaa], &token])),
        FEE,
        Some(0x18),
    );
    // 20 bytes and retire_prior_to == sequence are fine.
    let ok = decode_all(
        &cat(&[&[0x18, 2, 2, 20], &[1; 20], &token]),
        PacketType::OneRtt,
    );
    let Ok(Frame::NewConnectionId(f)) = &ok[0] else {
        panic!("{ok:?}")
    };
    assert_eq!((f.id.len(), f.reset_token), (20, token));
    // A short reset token is truncation.
    assert_error(&decode_err(&[0x18, 1, 0, 1, 0xaa, 0, 0]), FEE, Some(0x18));
}

#[test]
fn new_token_must_not_be_empty() {
    // RFC 9000 §19.7: an empty Token -> FRAME_ENCODING_ERROR.
    assert_error(&decode_err(&[0x07, 0]), FEE, Some(0x07));
}

#[test]
fn fixed_size_and_length_prefixed_fields_are_checked() {
    assert_error(&decode_err(&[0x1a, 1, 2, 3]), FEE, Some(0x1a));
    assert_error(&decode_err(&[0x1b]), FEE, Some(0x1b));
    assert_error(&decode_err(&[0x1c, 0, 0, 5, b'a']), FEE, Some(0x1c));
    assert_error(&decode_err(&[0x1d, 0, 2, b'a']), FEE, Some(0x1d));
    assert_error(&decode_err(&[0x31, 3, 0]), FEE, Some(0x31));
    assert_error(&decode_err(&[0x07, 2, 0]), FEE, Some(0x07));
    assert_error(&decode_err(&[0x11, 0x40]), FEE, Some(0x11));
}

#[test]
fn frames_carry_their_frame_type_for_close() {
    // The type a decode error reports is the one received, flag bits included.
    assert_error(&decode_err(&[0x0b, 0x40]), FEE, Some(0x0b));
    // A CONNECTION_CLOSE built from that error names the frame.
    let close = ConnectionClose::from(&decode_err(&[0x0b, 0x40]));
    assert_eq!(close.frame_type, FrameType(0x0b));
    assert_eq!(&close.reason[..], b"frame truncated");
}

//! Every connection error, with its code.

use super::*;
use crate::frame::PriorityTarget;

fn settings() -> Frame {
    Frame::Settings(Settings::default())
}

/// Feeds `data` (with `fin`) on `id` to a lone `role` connection whose peer control stream is
/// open, and returns the close code.
fn feed(role: Role, id: StreamId, data: Bytes, fin: bool) -> Option<Code> {
    let (mut c, mut t) = lone(role);
    let r = c.on_stream_data(&mut t, id, data, fin);
    assert_eq!(r.is_err(), t.closed.is_some());
    close_code(&t)
}

/// Feeds frames on the peer's control stream (after its SETTINGS).
fn control(role: Role, fs: &[Frame]) -> Option<Code> {
    feed(role, peer_uni(role, 0), frames(fs), false)
}

/// A fresh connection fed a peer control stream starting with `bytes`.
fn first_control(role: Role, bytes: Bytes) -> Option<Code> {
    let mut c = Connection::new(role, Config::default());
    let mut t = MemTransport::new(role);
    let _ = c.on_stream_data(&mut t, peer_uni(role, 0), bytes, false);
    close_code(&t)
}

fn headers(path: &str) -> Frame {
    let f = crate::message::tests::fields(&[
        (":method", "GET"),
        (":scheme", "https"),
        (":authority", "a"),
        (":path", path),
    ]);
    Frame::Headers(static_block(&f))
}

#[test]
fn critical_stream_rules() {
    for role in [Role::Client, Role::Server] {
        // RFC 9114 §6.2.1 / RFC 9204 §4.2: a second control, encoder or decoder stream.
        for ty in [0x00, 0x02, 0x03] {
            let (mut c, mut t) = lone(role);
            let first = if ty == 0 {
                None
            } else {
                Some(peer_uni(role, 1))
            };
            if let Some(id) = first {
                c.on_stream_data(&mut t, id, uni(ty, &[]), false).unwrap();
            }
            let second = peer_uni(role, 2);
            let data = uni(ty, &[]);
            let _ = c.on_stream_data(&mut t, second, data, false);
            assert_eq!(close_code(&t), Some(Code::H3_STREAM_CREATION_ERROR), "{ty}");
        }
        // Closing any of them: FIN or reset.
        for ty in [0x00, 0x02, 0x03] {
            let (mut c, mut t) = lone(role);
            let id = if ty == 0 {
                peer_uni(role, 0)
            } else {
                peer_uni(role, 1)
            };
            if ty != 0 {
                c.on_stream_data(&mut t, id, uni(ty, &[]), false).unwrap();
            }
            let _ = c.on_stream_data(&mut t, id, Bytes::new(), true);
            assert_eq!(close_code(&t), Some(Code::H3_CLOSED_CRITICAL_STREAM));
            let (mut c, mut t) = lone(role);
            if ty != 0 {
                c.on_stream_data(&mut t, id, uni(ty, &[]), false).unwrap();
            }
            let _ = c.on_stream_reset(&mut t, id, Code::H3_NO_ERROR);
            assert_eq!(close_code(&t), Some(Code::H3_CLOSED_CRITICAL_STREAM));
        }
        // The peer asks us to close our control or QPACK streams.
        for which in 0..3 {
            let (mut c, mut t) = lone(role);
            let ours = c.local_streams()[which].unwrap();
            let _ = c.on_stop_sending(&mut t, ours, Code::H3_NO_ERROR);
            assert_eq!(close_code(&t), Some(Code::H3_CLOSED_CRITICAL_STREAM));
        }
    }
}

#[test]
fn control_stream_must_start_with_settings() {
    for role in [Role::Client, Role::Server] {
        // RFC 9114 §6.2.1: H3_MISSING_SETTINGS.
        assert_eq!(
            first_control(role, uni(0, &[Frame::Goaway(0)])),
            Some(Code::H3_MISSING_SETTINGS)
        );
        let grease = Frame::Unknown {
            ty: 0x21,
            payload: Bytes::new(),
        };
        assert_eq!(
            first_control(role, uni(0, &[grease])),
            Some(Code::H3_MISSING_SETTINGS)
        );
        // Split at every byte, SETTINGS still works.
        let mut c = Connection::new(role, Config::default());
        let mut t = MemTransport::new(role);
        let all = uni(
            0,
            &[
                settings(),
                Frame::Unknown {
                    ty: 0x40,
                    payload: Bytes::from_static(b"zz"),
                },
            ],
        );
        for i in 0..all.len() {
            c.on_stream_data(&mut t, peer_uni(role, 0), all.slice(i..i + 1), false)
                .unwrap();
        }
        assert!(c.peer_settings().is_some());
        // RFC 9114 §7.2.4: a second SETTINGS is H3_FRAME_UNEXPECTED.
        assert_eq!(
            control(role, &[settings()]),
            Some(Code::H3_FRAME_UNEXPECTED)
        );
    }
}

#[test]
fn frames_on_the_wrong_stream() {
    for role in [Role::Client, Role::Server] {
        // RFC 9114 §7.2.1, §7.2.2, §7.2.5: DATA, HEADERS, PUSH_PROMISE on the control stream.
        for f in [
            Frame::Data(Bytes::from_static(b"x")),
            headers("/"),
            Frame::PushPromise {
                push_id: 0,
                field_section: Bytes::new(),
            },
        ] {
            assert_eq!(
                control(role, &[f]),
                Some(Code::H3_FRAME_UNEXPECTED),
                "{role:?}"
            );
        }
        // RFC 9114 §7.2.8: HTTP/2 frame types anywhere.
        assert_eq!(
            feed(
                role,
                peer_uni(role, 0),
                Bytes::from_static(&[0x06, 0x00]),
                false
            ),
            Some(Code::H3_FRAME_UNEXPECTED)
        );
    }
    // Control frames on a request stream (server side).
    let req = StreamId(0);
    for f in [
        settings(),
        Frame::Goaway(0),
        Frame::MaxPushId(1),
        Frame::CancelPush(0),
        Frame::PriorityUpdate {
            target: PriorityTarget::Request,
            id: 0,
            value: Bytes::new(),
        },
    ] {
        assert_eq!(
            feed(Role::Server, req, frames(&[headers("/"), f.clone()]), false),
            Some(Code::H3_FRAME_UNEXPECTED),
            "{f:?}"
        );
    }
    assert_eq!(
        feed(Role::Server, req, Bytes::from_static(&[0x08, 0x00]), false),
        Some(Code::H3_FRAME_UNEXPECTED)
    );
}

#[test]
fn request_frame_sequence() {
    let req = StreamId(0);
    let data = Frame::Data(Bytes::from_static(b"abc"));
    let trailers = Frame::Headers(static_block(&crate::message::tests::fields(&[("x", "y")])));
    // RFC 9114 §4.1: DATA before HEADERS; HEADERS or DATA after trailers.
    for seq in [
        vec![data.clone()],
        vec![headers("/"), trailers.clone(), data.clone()],
        vec![
            headers("/"),
            data.clone(),
            trailers.clone(),
            trailers.clone(),
        ],
    ] {
        assert_eq!(
            feed(Role::Server, req, frames(&seq), false),
            Some(Code::H3_FRAME_UNEXPECTED)
        );
    }
    // Unknown frames may go anywhere.
    let grease = Frame::Unknown {
        ty: 0x21 + 0x1f * 7,
        payload: Bytes::from_static(b"pad"),
    };
    let ok = [
        grease.clone(),
        headers("/"),
        grease.clone(),
        data,
        grease.clone(),
        trailers,
        grease,
    ];
    assert_eq!(feed(Role::Server, req, frames(&ok), true), None);
    // RFC 9114 §7.1: a stream that ends inside a frame is H3_FRAME_ERROR.
    let whole = frames(&[headers("/")]);
    assert_eq!(
        feed(Role::Server, req, whole.slice(..whole.len() - 1), true),
        Some(Code::H3_FRAME_ERROR)
    );
    // A bad single-varint payload.
    assert_eq!(
        control(Role::Client, &[]).or(feed(
            Role::Client,
            peer_uni(Role::Client, 0),
            Bytes::from_static(&[0x07, 0x02, 0x00, 0x00]),
            false
        )),
        Some(Code::H3_FRAME_ERROR)
    );
}

#[test]
fn settings_errors() {
    for role in [Role::Client, Role::Server] {
        let raw = |pairs: &[(u64, u64)]| {
            let mut payload = Vec::new();
            for &(id, v) in pairs {
                varint::encode(id, &mut payload);
                varint::encode(v, &mut payload);
            }
            let mut v = Vec::new();
            varint::encode(0, &mut v);
            crate::frame::encode_header(crate::frame::SETTINGS, payload.len() as u64, &mut v);
            v.extend(payload);
            Bytes::from(v)
        };
        // RFC 9114 §7.2.4: duplicates; §7.2.4.1: HTTP/2 identifiers.
        for pairs in [
            &[(0x06, 1), (0x06, 2)][..],
            &[(0x02, 1)],
            &[(0x00, 0)],
            &[(0x33, 2)],
        ] {
            assert_eq!(
                first_control(role, raw(pairs)),
                Some(Code::H3_SETTINGS_ERROR),
                "{pairs:?}"
            );
        }
        // RFC 9114 §10.5: an oversized SETTINGS frame.
        let mut v = Vec::new();
        varint::encode(0, &mut v);
        crate::frame::encode_header(crate::frame::SETTINGS, 1 << 20, &mut v);
        assert_eq!(
            first_control(role, Bytes::from(v)),
            Some(Code::H3_EXCESSIVE_LOAD)
        );
    }
}

#[test]
fn push_is_refused() {
    // RFC 9114 §6.2.2: a push stream from a client.
    assert_eq!(
        feed(
            Role::Server,
            peer_uni(Role::Server, 1),
            uni(0x01, &[]),
            false
        ),
        Some(Code::H3_STREAM_CREATION_ERROR)
    );
    // RFC 9114 §4.6: a push stream when we never sent MAX_PUSH_ID.
    let mut push = uni(0x01, &[]).to_vec();
    push.push(0);
    assert_eq!(
        feed(
            Role::Client,
            peer_uni(Role::Client, 1),
            Bytes::from(push),
            false
        ),
        Some(Code::H3_ID_ERROR)
    );
    // RFC 9114 §7.2.5: PUSH_PROMISE to a server; to a client above its (absent) maximum.
    let pp = Frame::PushPromise {
        push_id: 0,
        field_section: Bytes::from_static(&[0, 0]),
    };
    assert_eq!(
        feed(
            Role::Server,
            StreamId(0),
            frames(&[headers("/"), pp.clone()]),
            false
        ),
        Some(Code::H3_FRAME_UNEXPECTED)
    );
    let (mut c, mut t) = lone(Role::Client);
    let id = c.send_request(&mut t, &get("/"), true).unwrap();
    let _ = c.on_stream_data(&mut t, id, frames(&[pp]), false);
    assert_eq!(close_code(&t), Some(Code::H3_ID_ERROR));
    // RFC 9114 §7.2.7: MAX_PUSH_ID to a client; decreasing MAX_PUSH_ID.
    assert_eq!(
        control(Role::Client, &[Frame::MaxPushId(3)]),
        Some(Code::H3_FRAME_UNEXPECTED)
    );
    assert_eq!(
        control(Role::Server, &[Frame::MaxPushId(3), Frame::MaxPushId(4)]),
        None
    );
    assert_eq!(
        control(Role::Server, &[Frame::MaxPushId(3), Frame::MaxPushId(2)]),
        Some(Code::H3_ID_ERROR)
    );
    // RFC 9114 §7.2.3: CANCEL_PUSH for a push never promised / above the maximum.
    for role in [Role::Client, Role::Server] {
        assert_eq!(
            control(role, &[Frame::CancelPush(0)]),
            Some(Code::H3_ID_ERROR)
        );
    }
}

#[test]
fn bidirectional_stream_from_a_server() {
    // RFC 9114 §6.1.
    assert_eq!(
        feed(Role::Client, StreamId(1), frames(&[headers("/")]), false),
        Some(Code::H3_STREAM_CREATION_ERROR)
    );
}

#[test]
fn goaway_ids() {
    // RFC 9114 §7.2.6: from a server, only client-initiated bidirectional stream IDs.
    assert_eq!(control(Role::Client, &[Frame::Goaway(4)]), None);
    for bad in [1, 2, 3, 5] {
        assert_eq!(
            control(Role::Client, &[Frame::Goaway(bad)]),
            Some(Code::H3_ID_ERROR)
        );
    }
    // RFC 9114 §5.2: identifiers may only decrease (both directions).
    assert_eq!(
        control(
            Role::Client,
            &[Frame::Goaway(8), Frame::Goaway(4), Frame::Goaway(4)]
        ),
        None
    );
    assert_eq!(
        control(Role::Client, &[Frame::Goaway(4), Frame::Goaway(8)]),
        Some(Code::H3_ID_ERROR)
    );
    assert_eq!(
        control(Role::Server, &[Frame::Goaway(7), Frame::Goaway(9)]),
        Some(Code::H3_ID_ERROR)
    );
}

#[test]
fn priority_update_rules() {
    let pu = |target, id| Frame::PriorityUpdate {
        target,
        id,
        value: Bytes::from_static(b"u=1"),
    };
    // RFC 9218 §7.2: a client receiving PRIORITY_UPDATE; a non-request stream; a push.
    assert_eq!(
        control(Role::Client, &[pu(PriorityTarget::Request, 0)]),
        Some(Code::H3_FRAME_UNEXPECTED)
    );
    assert_eq!(
        control(Role::Server, &[pu(PriorityTarget::Request, 2)]),
        Some(Code::H3_ID_ERROR)
    );
    assert_eq!(
        control(Role::Server, &[pu(PriorityTarget::Push, 0)]),
        Some(Code::H3_ID_ERROR)
    );
    assert_eq!(
        control(Role::Server, &[pu(PriorityTarget::Request, 8)]),
        None
    );
    // An unparseable value is ignored.
    let bad = Frame::PriorityUpdate {
        target: PriorityTarget::Request,
        id: 0,
        value: Bytes::from_static(b"u=,,"),
    };
    assert_eq!(control(Role::Server, &[bad]), None);
}

#[test]
fn qpack_errors() {
    for role in [Role::Client, Role::Server] {
        // RFC 9204 §6: a bad encoder instruction (capacity above our maximum).
        let mut enc = uni(0x02, &[]).to_vec();
        enc.extend_from_slice(&[0x3f, 0xff, 0xff, 0x03]);
        assert_eq!(
            feed(role, peer_uni(role, 1), Bytes::from(enc), false),
            Some(Code::QPACK_ENCODER_STREAM_ERROR)
        );
        // A bad decoder instruction (acknowledging a section never sent).
        let mut dec = uni(0x03, &[]).to_vec();
        dec.push(0x80 | 0x10);
        assert_eq!(
            feed(role, peer_uni(role, 1), Bytes::from(dec), false),
            Some(Code::QPACK_DECODER_STREAM_ERROR)
        );
    }
    // A header block referencing a dynamic entry beyond anything possible.
    let block = Frame::Headers(Bytes::from_static(&[0xff, 0x7f, 0x00, 0x80]));
    assert_eq!(
        feed(Role::Server, StreamId(0), frames(&[block]), false),
        Some(Code::QPACK_DECOMPRESSION_FAILED)
    );
}

#[test]
fn unknown_stream_types_are_ignored() {
    for role in [Role::Client, Role::Server] {
        let (mut c, mut t) = lone(role);
        let id = peer_uni(role, 3);
        // A reserved type (RFC 9114 §6.2.3), split inside its varint.
        let mut v = Vec::new();
        varint::encode(0x21 + 0x1f * 1000, &mut v);
        v.extend_from_slice(b"whatever");
        let v = Bytes::from(v);
        c.on_stream_data(&mut t, id, v.slice(..1), false).unwrap();
        c.on_stream_data(&mut t, id, v.slice(1..), false).unwrap();
        c.on_stream_data(&mut t, id, Bytes::from_static(b"more"), true)
            .unwrap();
        assert!(t.closed.is_none());
        // RFC 9114 §6.2: abort reading with H3_STREAM_CREATION_ERROR.
        assert_eq!(
            t.take_ops(),
            vec![Op::StopSending {
                id,
                code: Code::H3_STREAM_CREATION_ERROR
            }]
        );
        // A stream closed or reset before its type arrives is tolerated.
        let other = peer_uni(role, 4);
        c.on_stream_data(&mut t, other, Bytes::from_static(&[0x40]), true)
            .unwrap();
        c.on_stream_reset(&mut t, peer_uni(role, 5), Code(0x21))
            .unwrap();
        assert!(t.closed.is_none());
    }
}

#[test]
fn request_incomplete() {
    // RFC 9114 §4.1: a request stream that ends without a request.
    let (mut s, mut t) = lone(Role::Server);
    s.on_stream_data(&mut t, StreamId(0), Bytes::new(), true)
        .unwrap();
    assert!(has_op(
        &t.take_ops(),
        &Op::Reset {
            id: StreamId(0),
            code: Code::H3_REQUEST_INCOMPLETE
        }
    ));
    assert!(s.poll_event().is_none());
    // Only unknown frames, then FIN.
    let grease = Frame::Unknown {
        ty: 0x21,
        payload: Bytes::from_static(b"x"),
    };
    s.on_stream_data(&mut t, StreamId(4), frames(&[grease]), true)
        .unwrap();
    assert!(has_op(
        &t.take_ops(),
        &Op::Reset {
            id: StreamId(4),
            code: Code::H3_REQUEST_INCOMPLETE
        }
    ));
    assert_eq!(s.active_requests(), 0);
    assert!(t.closed.is_none());
}

#[test]
fn errors_close_once_and_stick() {
    let (mut c, mut t) = lone(Role::Server);
    let e = c
        .on_stream_data(
            &mut t,
            peer_uni(Role::Server, 0),
            frames(&[settings()]),
            false,
        )
        .unwrap_err();
    assert_eq!(e.code(), Code::H3_FRAME_UNEXPECTED);
    assert!(matches!(c.poll_event(), Some(Event::Closed(_))));
    // Later calls report the same error and do nothing.
    assert_eq!(
        c.on_stream_data(&mut t, StreamId(0), frames(&[headers("/")]), false)
            .unwrap_err(),
        e
    );
    assert!(c.send_goaway(&mut t).is_err());
    assert!(c.poll_event().is_none());
}

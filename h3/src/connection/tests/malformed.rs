//! Malformed messages (RFC 9114 §4.1.2): stream errors of type H3_MESSAGE_ERROR, never
//! delivered as valid.

use super::*;
use crate::message::tests::{fields, malformed_requests, GET};
use crate::{BadRequest, StreamErrorKind};

fn headers_frame(f: &[qpack::HeaderField]) -> Frame {
    Frame::Headers(static_block(f))
}

#[test]
fn every_malformed_request_is_a_message_error() {
    for (rule, f) in malformed_requests() {
        let (mut s, mut t) = lone(Role::Server);
        let id = StreamId(0);
        s.on_stream_data(&mut t, id, frames(&[headers_frame(&f)]), true)
            .unwrap();
        let events: Vec<Event> = std::iter::from_fn(|| s.poll_event()).collect();
        assert!(requests(&events).is_empty(), "{rule}: delivered");
        assert!(
            matches!(
                events.as_slice(),
                [Event::BadRequest {
                    error: BadRequest::Malformed(_),
                    ..
                }]
            ),
            "{rule}: {events:?}"
        );
        // Reading stops with H3_MESSAGE_ERROR.
        let ops = t.take_ops();
        assert!(
            has_op(
                &ops,
                &Op::StopSending {
                    id,
                    code: Code::H3_MESSAGE_ERROR
                }
            ),
            "{rule}: {ops:?}"
        );
        assert!(t.closed.is_none(), "{rule}");
        // The server may answer 400 before closing (RFC 9114 §4.1.2).
        let bad = http::Response::builder().status(400).body(()).unwrap();
        s.send_response(&mut t, id, &bad, true).unwrap();
        assert_eq!(s.active_requests(), 0, "{rule}");
    }
}

#[test]
fn bad_request_answered_end_to_end() {
    let mut p = Pair::connected();
    // Bypass the client's own checks: write a raw malformed HEADERS on a request stream.
    let id = StreamId(0);
    let f = fields(&[(":method", "GET"), (":path", "/")]);
    p.server
        .on_stream_data(&mut p.st, id, frames(&[headers_frame(&f)]), true)
        .unwrap();
    p.drive();
    let (_, s) = p.take_events();
    let Event::BadRequest { stream, error } = &s[0] else {
        panic!("{s:?}")
    };
    assert_eq!(*stream, id);
    assert_eq!(error.status(), 400);
    let bad = http::Response::builder().status(400).body(()).unwrap();
    p.server.send_response(&mut p.st, id, &bad, true).unwrap();
    p.drive();
    assert_eq!(p.server.active_requests(), 0);
    assert!(p.server.closed().is_none() && p.client.closed().is_none());
}

/// A server that received a valid request on stream 0 (events drained).
fn server_with_request(extra: &[(&str, &str)]) -> (Connection, MemTransport) {
    let (mut s, mut t) = lone(Role::Server);
    let mut f = fields(GET);
    f.extend(fields(extra));
    s.on_stream_data(&mut t, StreamId(0), frames(&[headers_frame(&f)]), false)
        .unwrap();
    assert!(matches!(s.poll_event(), Some(Event::Request { .. })));
    t.take_ops();
    (s, t)
}

fn expect_message_error(s: &mut Connection, t: &mut MemTransport) {
    let events: Vec<Event> = std::iter::from_fn(|| s.poll_event()).collect();
    let errs = stream_errors(&events);
    assert_eq!(errs.len(), 1, "{events:?}");
    assert_eq!(errs[0].code, Code::H3_MESSAGE_ERROR);
    assert_eq!(errs[0].kind, StreamErrorKind::Local);
    assert!(!events.iter().any(|e| matches!(e, Event::Finished { .. })));
    let ops = t.take_ops();
    let id = StreamId(0);
    assert!(
        has_op(
            &ops,
            &Op::Reset {
                id,
                code: Code::H3_MESSAGE_ERROR
            }
        ),
        "{ops:?}"
    );
    assert!(has_op(
        &ops,
        &Op::StopSending {
            id,
            code: Code::H3_MESSAGE_ERROR
        }
    ));
    assert!(t.closed.is_none());
    assert_eq!(s.active_requests(), 0);
}

#[test]
fn content_length_mismatch() {
    let data = |n: usize| Frame::Data(Bytes::from(vec![b'x'; n]));
    // More DATA than declared: detected before the excess is delivered.
    let (mut s, mut t) = server_with_request(&[("content-length", "3")]);
    s.on_stream_data(&mut t, StreamId(0), frames(&[data(2), data(2)]), false)
        .unwrap();
    let events: Vec<Event> = std::iter::from_fn(|| s.poll_event()).collect();
    assert_eq!(body(&events, StreamId(0)), b"xx");
    let errs = stream_errors(&events);
    assert_eq!(errs[0].code, Code::H3_MESSAGE_ERROR);
    // Less DATA than declared at the end of the stream.
    let (mut s, mut t) = server_with_request(&[("content-length", "10")]);
    s.on_stream_data(&mut t, StreamId(0), frames(&[data(4)]), true)
        .unwrap();
    expect_message_error(&mut s, &mut t);
    // Exactly right is fine.
    let (mut s, mut t) = server_with_request(&[("content-length", "4")]);
    s.on_stream_data(&mut t, StreamId(0), frames(&[data(1), data(3)]), true)
        .unwrap();
    let events: Vec<Event> = std::iter::from_fn(|| s.poll_event()).collect();
    assert!(finished(&events, StreamId(0)));
}

#[test]
fn malformed_trailers() {
    for bad in [
        &[(":status", "200")][..],
        &[(":path", "/")],
        &[("Upper", "x")],
        &[("connection", "close")],
        &[("x", "a\nb")],
    ] {
        let (mut s, mut t) = server_with_request(&[]);
        s.on_stream_data(
            &mut t,
            StreamId(0),
            frames(&[headers_frame(&fields(bad))]),
            true,
        )
        .unwrap();
        expect_message_error(&mut s, &mut t);
    }
}

#[test]
fn malformed_responses_are_never_accepted() {
    let bad_responses: Vec<Vec<qpack::HeaderField>> = vec![
        fields(&[("server", "x")]),
        fields(&[(":status", "2000")]),
        fields(&[(":status", "101")]),
        fields(&[(":status", "200"), (":status", "204")]),
        fields(&[(":status", "200"), (":method", "GET")]),
        fields(&[("server", "x"), (":status", "200")]),
        fields(&[(":status", "200"), ("Server", "x")]),
        fields(&[(":status", "200"), ("transfer-encoding", "chunked")]),
        fields(&[(":status", "200"), ("x", " padded")]),
        fields(&[(":status", "200"), ("content-length", "x")]),
    ];
    for f in bad_responses {
        let (mut c, mut t) = lone(Role::Client);
        let id = c.send_request(&mut t, &get("/"), true).unwrap();
        t.take_ops();
        c.on_stream_data(&mut t, id, frames(&[headers_frame(&f)]), true)
            .unwrap();
        let events: Vec<Event> = std::iter::from_fn(|| c.poll_event()).collect();
        assert!(
            !events.iter().any(|e| matches!(e, Event::Response { .. })),
            "{f:?}"
        );
        let errs = stream_errors(&events);
        assert_eq!(errs.len(), 1, "{f:?}");
        assert_eq!(errs[0].code, Code::H3_MESSAGE_ERROR);
        assert!(has_op(
            &t.take_ops(),
            &Op::StopSending {
                id,
                code: Code::H3_MESSAGE_ERROR
            }
        ));
        assert!(t.closed.is_none());
    }
    // A response body longer than its Content-Length, and a response stream that ends with
    // no final response.
    let (mut c, mut t) = lone(Role::Client);
    let id = c.send_request(&mut t, &get("/"), true).unwrap();
    let h = headers_frame(&fields(&[(":status", "200"), ("content-length", "1")]));
    c.on_stream_data(
        &mut t,
        id,
        frames(&[h, Frame::Data(Bytes::from_static(b"ab"))]),
        true,
    )
    .unwrap();
    let events: Vec<Event> = std::iter::from_fn(|| c.poll_event()).collect();
    assert_eq!(stream_errors(&events)[0].code, Code::H3_MESSAGE_ERROR);
    let id = c.send_request(&mut t, &get("/"), true).unwrap();
    let interim = headers_frame(&fields(&[(":status", "103")]));
    c.on_stream_data(&mut t, id, frames(&[interim]), true)
        .unwrap();
    let events: Vec<Event> = std::iter::from_fn(|| c.poll_event()).collect();
    assert!(matches!(events[0], Event::InformationalResponse { .. }));
    assert_eq!(stream_errors(&events)[0].code, Code::H3_MESSAGE_ERROR);
}

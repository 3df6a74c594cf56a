//! QPACK dynamic table and blocking, GOAWAY, priorities, field section limits.

use super::*;
use crate::{Priority, SendError, StreamErrorKind};

fn with_headers(path: &str, n: usize) -> Request<()> {
    let mut b = Request::get(format!("https://example.com{path}"));
    for i in 0..n {
        b = b.header(
            format!("x-custom-{i}"),
            format!("a-fairly-long-repeated-value-{i}"),
        );
    }
    b.body(()).unwrap()
}

#[test]
fn dynamic_table_is_used_both_ways() {
    let mut p = Pair::connected();
    for i in 0..10 {
        let id = p
            .client
            .send_request(&mut p.ct, &with_headers(&format!("/{i}"), 4), true)
            .unwrap();
        p.drive();
        let resp = Response::builder()
            .status(200)
            .header("x-server-thing", "the same every time")
            .header("cache-control", "private, max-age=12345")
            .body(())
            .unwrap();
        p.server.send_response(&mut p.st, id, &resp, true).unwrap();
        p.drive();
    }
    let (c, s) = p.take_events();
    let reqs = requests(&s);
    assert_eq!(reqs.len(), 10);
    for (_, r) in &reqs {
        assert_eq!(r.headers()["x-custom-3"], "a-fairly-long-repeated-value-3");
    }
    assert_eq!(
        c.iter()
            .filter(|e| matches!(e, Event::Response { response, .. }
                if response.headers()["x-server-thing"] == "the same every time"))
            .count(),
        10
    );
    // Entries were inserted by each encoder and received by the peer's decoder.
    let (client_enc, client_dec) = p.client.qpack_insert_counts();
    let (server_enc, server_dec) = p.server.qpack_insert_counts();
    assert!(
        client_enc > 0 && server_enc > 0,
        "{client_enc} {server_enc}"
    );
    assert_eq!(client_enc, server_dec);
    assert_eq!(server_enc, client_dec);
}

#[test]
fn blocked_header_section_waits_for_the_encoder_stream() {
    let mut p = Pair::connected();
    // Warm up so the encoder is willing to reference unacknowledged entries.
    let id = p
        .client
        .send_request(&mut p.ct, &with_headers("/warm", 2), true)
        .unwrap();
    p.drive();
    p.server.send_response(&mut p.st, id, &ok(), true).unwrap();
    p.drive();
    p.take_events();

    // Hold the client's encoder stream: the next HEADERS arrive before the inserts.
    let encoder = p.client.local_streams()[1].unwrap();
    p.held.insert(encoder);
    let before = p.client.qpack_insert_counts().0;
    let req = Request::post("https://example.com/blocked")
        .header("x-brand-new", "value-never-seen-before-1234567890")
        .header("x-another", "also-new-0987654321")
        .body(())
        .unwrap();
    let id = p.client.send_request(&mut p.ct, &req, false).unwrap();
    p.client
        .send_data(&mut p.ct, id, Bytes::from_static(b"queued while blocked"))
        .unwrap();
    p.client.finish(&mut p.ct, id).unwrap();
    p.drive();
    assert!(
        p.client.qpack_insert_counts().0 > before,
        "the encoder inserted"
    );
    let (_, s) = p.take_events();
    assert!(requests(&s).is_empty(), "the section is blocked: {s:?}");
    assert!(p.server.closed().is_none());

    p.release(encoder);
    p.drive();
    let (_, s) = p.take_events();
    let reqs = requests(&s);
    assert_eq!(reqs.len(), 1);
    assert_eq!(
        reqs[0].1.headers()["x-brand-new"],
        "value-never-seen-before-1234567890"
    );
    // The body and FIN that arrived while blocked follow the request, in order.
    assert_eq!(body(&s, id), b"queued while blocked");
    assert!(finished(&s, id));
}

#[test]
fn reset_while_blocked_cancels_the_section() {
    let mut p = Pair::connected();
    let id = p
        .client
        .send_request(&mut p.ct, &with_headers("/warm", 2), true)
        .unwrap();
    p.drive();
    p.server.send_response(&mut p.st, id, &ok(), true).unwrap();
    p.drive();
    p.take_events();
    let encoder = p.client.local_streams()[1].unwrap();
    p.held.insert(encoder);
    let req = Request::get("https://example.com/x")
        .header("x-fresh", "fresh-value-abcdefghijklmnop")
        .body(())
        .unwrap();
    let id = p.client.send_request(&mut p.ct, &req, false).unwrap();
    p.drive();
    p.client
        .reset_stream(&mut p.ct, id, Code::H3_REQUEST_CANCELLED)
        .unwrap();
    p.drive();
    p.release(encoder);
    p.drive();
    let (_, s) = p.take_events();
    assert!(requests(&s).is_empty());
    assert_eq!(p.server.active_requests(), 0);
    assert!(p.server.closed().is_none() && p.client.closed().is_none());
    // The connection still works.
    let id = p
        .client
        .send_request(&mut p.ct, &get("/after"), true)
        .unwrap();
    p.drive();
    assert_eq!(requests(&p.take_events().1)[0].0, id);
}

#[test]
fn graceful_shutdown_with_goaway() {
    let mut p = Pair::connected();
    let a = p.client.send_request(&mut p.ct, &get("/a"), true).unwrap();
    let b = p.client.send_request(&mut p.ct, &get("/b"), true).unwrap();
    p.drive();
    assert_eq!(requests(&p.take_events().1).len(), 2);
    // A request in flight while the server decides to shut down.
    let late = p
        .client
        .send_request(&mut p.ct, &get("/late"), true)
        .unwrap();
    let goaway = p.server.send_goaway(&mut p.st).unwrap();
    assert_eq!(goaway, b.0 + 4);
    assert_eq!(late.0, goaway);
    p.drive();
    let (c, s) = p.take_events();
    // The server rejected the late request without processing it.
    assert!(requests(&s).is_empty());
    assert!(c
        .iter()
        .any(|e| matches!(e, Event::GoAway { id } if *id == goaway)));
    let errs = stream_errors(&c);
    assert!(errs
        .iter()
        .all(|e| e.stream == late && e.code == Code::H3_REQUEST_REJECTED));
    assert!(!errs.is_empty());
    // No new requests after GOAWAY (RFC 9114 §5.2).
    assert_eq!(
        p.client.send_request(&mut p.ct, &get("/new"), true),
        Err(SendError::GoingAway)
    );
    // The requests below the identifier complete.
    assert!(!p.server.is_drained());
    for id in [a, b] {
        p.server.send_response(&mut p.st, id, &ok(), true).unwrap();
    }
    p.drive();
    let (c, _) = p.take_events();
    assert!(finished(&c, a) && finished(&c, b));
    assert!(p.server.is_drained() && p.client.is_drained());
    // A later GOAWAY never raises the identifier.
    assert_eq!(p.server.send_goaway(&mut p.st).unwrap(), goaway);
    p.drive();
    assert!(p.client.closed().is_none());
    p.server.close(&mut p.st, Code::H3_NO_ERROR, "done");
    p.drive();
    assert_eq!(p.client.closed().unwrap().code(), Code::H3_NO_ERROR);
}

#[test]
fn client_goaway() {
    let mut p = Pair::connected();
    assert_eq!(p.client.send_goaway(&mut p.ct).unwrap(), 0);
    p.drive();
    let (_, s) = p.take_events();
    assert!(s.iter().any(|e| matches!(e, Event::GoAway { id: 0 })));
    assert!(p.server.closed().is_none());
    assert!(p.client.is_drained());
}

#[test]
fn priorities_from_header_and_update() {
    let mut p = Pair::connected();
    let req = Request::get("https://example.com/img")
        .header("priority", "u=5, i")
        .body(())
        .unwrap();
    let id = p.client.send_request(&mut p.ct, &req, true).unwrap();
    let plain = p.client.send_request(&mut p.ct, &get("/x"), true).unwrap();
    p.drive();
    assert_eq!(p.server.priority(id).unwrap().as_tuple(), (5, true));
    assert_eq!(p.server.priority(plain), Some(Priority::default()));
    assert_eq!(p.client.priority(id).unwrap().as_tuple(), (5, true));
    // Reprioritization (RFC 9218 §6) through PRIORITY_UPDATE.
    let urgent = Priority {
        urgency: 0,
        incremental: false,
    };
    p.client.set_priority(&mut p.ct, id, urgent).unwrap();
    p.drive();
    assert_eq!(p.server.priority(id), Some(urgent));
    let (_, s) = p.take_events();
    assert!(s.iter().any(
        |e| matches!(e, Event::PriorityUpdate { stream, priority } if *stream == id && *priority == urgent)
    ));
    assert_eq!(p.server.priority(StreamId(400)), None);
}

#[test]
fn priority_update_before_the_stream_opens() {
    let mut p = Pair::connected();
    // Hold request stream 0: its PRIORITY_UPDATE (on the control stream) arrives first and
    // overrides the header when the stream opens (RFC 9218 §7).
    p.held.insert(StreamId(0));
    let req = Request::get("https://example.com/")
        .header("priority", "u=6")
        .body(())
        .unwrap();
    let id = p.client.send_request(&mut p.ct, &req, true).unwrap();
    let p1 = Priority {
        urgency: 1,
        incremental: true,
    };
    p.client.set_priority(&mut p.ct, id, p1).unwrap();
    p.drive();
    assert_eq!(p.server.priority(id), None);
    p.release(StreamId(0));
    p.drive();
    assert_eq!(requests(&p.take_events().1).len(), 1);
    assert_eq!(p.server.priority(id), Some(p1));
}

#[test]
fn max_field_section_size_is_enforced_both_ways() {
    let small = Config {
        max_field_section_size: 500,
        ..Config::default()
    };
    let mut p = Pair::connected_with(small.clone(), small);
    // Sending: the peer's limit (RFC 9114 §4.2.2).
    let big = Request::get("https://example.com/")
        .header("x-big", "v".repeat(600))
        .body(())
        .unwrap();
    assert!(matches!(
        p.client.send_request(&mut p.ct, &big, true),
        Err(SendError::HeadersTooLarge { limit: 500, .. })
    ));
    let id = p.client.send_request(&mut p.ct, &get("/"), true).unwrap();
    p.drive();
    let big_resp = Response::builder()
        .status(200)
        .header("x-big", "v".repeat(600))
        .body(())
        .unwrap();
    assert!(matches!(
        p.server.send_response(&mut p.st, id, &big_resp, true),
        Err(SendError::HeadersTooLarge { .. })
    ));
    p.server.send_response(&mut p.st, id, &ok(), true).unwrap();
    p.drive();

    // Receiving: a peer that ignores our limit gets 431 material.
    let (mut s, mut t) = {
        let mut s = Connection::server(Config {
            max_field_section_size: 500,
            ..Config::default()
        });
        let mut t = MemTransport::new(Role::Server);
        s.start(&mut t).unwrap();
        (s, t)
    };
    let mut f = crate::message::tests::fields(crate::message::tests::GET);
    f.push(qpack::HeaderField::new("x-big", "v".repeat(600)));
    s.on_stream_data(
        &mut t,
        StreamId(0),
        frames(&[Frame::Headers(static_block(&f))]),
        true,
    )
    .unwrap();
    let events: Vec<Event> = std::iter::from_fn(|| s.poll_event()).collect();
    let Some(Event::BadRequest { error, .. }) = events.last() else {
        panic!("{events:?}")
    };
    assert_eq!(error.status(), 431);
    assert!(has_op(
        &t.take_ops(),
        &Op::StopSending {
            id: StreamId(0),
            code: Code::H3_EXCESSIVE_LOAD
        }
    ));
    assert!(t.closed.is_none());

    // A client receiving an oversized response resets the stream.
    let mut c = Connection::client(Config {
        max_field_section_size: 100,
        ..Config::default()
    });
    let mut ct = MemTransport::new(Role::Client);
    let id = c.send_request(&mut ct, &get("/"), true).unwrap();
    let f = crate::message::tests::fields(&[(":status", "200"), ("x-big", &"v".repeat(200))]);
    c.on_stream_data(
        &mut ct,
        id,
        frames(&[Frame::Headers(static_block(&f))]),
        true,
    )
    .unwrap();
    let events: Vec<Event> = std::iter::from_fn(|| c.poll_event()).collect();
    let errs = stream_errors(&events);
    assert_eq!(errs[0].code, Code::H3_EXCESSIVE_LOAD);
    assert_eq!(errs[0].kind, StreamErrorKind::Local);
}

#[test]
fn stream_limit_and_late_streams() {
    let mut p = Pair::connected();
    p.ct.bidi_credit = 1;
    p.client.send_request(&mut p.ct, &get("/1"), true).unwrap();
    assert_eq!(
        p.client.send_request(&mut p.ct, &get("/2"), true),
        Err(SendError::StreamLimit)
    );
    // Servers do not send requests, clients do not send responses.
    assert!(p.server.send_request(&mut p.st, &get("/"), true).is_err());
    assert!(p
        .client
        .send_response(&mut p.ct, StreamId(0), &ok(), true)
        .is_err());
}

#[test]
fn streams_opened_when_the_transport_allows() {
    // No unidirectional credit at first: nothing is lost, SETTINGS go out later.
    let mut c = Connection::client(Config::default());
    let mut t = MemTransport::new(Role::Client);
    t.uni_credit = 0;
    c.start(&mut t).unwrap();
    let id = c.send_request(&mut t, &with_headers("/", 2), true).unwrap();
    assert!(c.local_streams().iter().all(Option::is_none));
    t.uni_credit = 3;
    c.on_stream_writable(&mut t, id).unwrap();
    assert!(c.local_streams().iter().all(Option::is_some));
    let ops = t.take_ops();
    let control = c.local_streams()[0].unwrap();
    let Some(Op::Data { data, .. }) = ops
        .iter()
        .find(|op| matches!(op, Op::Data { id, .. } if *id == control))
    else {
        panic!("{ops:?}")
    };
    // Stream type 0x00 then a SETTINGS frame (type 0x04).
    assert_eq!(&data[..2], &[0x00, 0x04]);
}

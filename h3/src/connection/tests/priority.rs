//! RFC 9218 priorities as the transport's scheduler sees them: `MemTransport::priorities`
//! holds the last (urgency, incremental) each stream was given, request urgencies being
//! 1 + the RFC value (`transport::request_urgency`).

use super::*;
use crate::frame::PriorityTarget;
use crate::transport::{request_urgency, CRITICAL_URGENCY};
use crate::Priority;

fn prio(u: u8, i: bool) -> Priority {
    Priority {
        urgency: u,
        incremental: i,
    }
}

/// What the transport was told for `id`, in RFC terms.
fn scheduled(t: &MemTransport, id: StreamId) -> Option<(u8, bool)> {
    t.priorities.get(&id).map(|&(u, i)| (u - 1, i))
}

fn get_with(path: &str, priority: &str) -> Request<()> {
    Request::get(format!("https://example.com{path}"))
        .header("priority", priority)
        .body(())
        .unwrap()
}

fn priority_update(id: u64, value: &'static str) -> Frame {
    Frame::PriorityUpdate {
        target: PriorityTarget::Request,
        id,
        value: Bytes::from_static(value.as_bytes()),
    }
}

#[test]
fn critical_streams_go_first() {
    let p = Pair::connected();
    for (conn, t) in [(&p.client, &p.ct), (&p.server, &p.st)] {
        for id in conn.local_streams() {
            let id = id.expect("opened");
            assert_eq!(t.priorities.get(&id), Some(&(CRITICAL_URGENCY, true)));
        }
    }
    // Below every request urgency.
    assert!((0..8).all(|u| request_urgency(prio(u, false)) > CRITICAL_URGENCY));
}

#[test]
fn request_header_sets_the_scheduled_priority() {
    let mut p = Pair::connected();
    let cases = [
        // RFC 9218 §5 with §4's defaults (u=3, not incremental) for what is absent.
        ("u=5, i", (5, true)),
        ("u=0", (0, false)),
        ("i", (3, true)),
        // §4: invalid members are ignored, an unparsable value is the default.
        ("u=9, i", (3, true)),
        ("u=1;x, i=?0", (1, false)),
        ("u=,", (3, false)),
    ];
    let mut ids = Vec::new();
    for (value, _) in cases {
        ids.push(
            p.client
                .send_request(&mut p.ct, &get_with("/", value), true)
                .unwrap(),
        );
    }
    let plain = p.client.send_request(&mut p.ct, &get("/"), true).unwrap();
    p.drive();
    for (id, (value, want)) in ids.iter().zip(cases) {
        assert_eq!(scheduled(&p.st, *id), Some(want), "{value}");
        assert_eq!(p.server.priority(*id).unwrap().as_tuple(), want, "{value}");
        // The client sends its own side (the request) at the same priority.
        assert_eq!(scheduled(&p.ct, *id), Some(want), "{value}");
    }
    // No header: the RFC default, which is not the transport's own default, so it is set.
    assert_eq!(scheduled(&p.st, plain), Some((3, false)));
}

#[test]
fn several_priority_lines_are_one_value() {
    let mut p = Pair::connected();
    let req = Request::get("https://example.com/")
        .header("priority", "u=6")
        .header("priority", "i")
        .body(())
        .unwrap();
    let id = p.client.send_request(&mut p.ct, &req, true).unwrap();
    p.drive();
    assert_eq!(scheduled(&p.st, id), Some((6, true)));
}

#[test]
fn priority_update_reschedules_a_live_stream() {
    let mut p = Pair::connected();
    let id = p
        .client
        .send_request(&mut p.ct, &get_with("/", "u=7"), false)
        .unwrap();
    p.drive();
    assert_eq!(scheduled(&p.st, id), Some((7, false)));
    p.take_events();
    p.client.set_priority(&mut p.ct, id, prio(0, true)).unwrap();
    // The client's own request body follows the new priority at once.
    assert_eq!(scheduled(&p.ct, id), Some((0, true)));
    p.drive();
    assert_eq!(scheduled(&p.st, id), Some((0, true)));
    let (_, s) = p.take_events();
    assert!(s.iter().any(|e| matches!(
        e,
        Event::PriorityUpdate { stream, priority } if *stream == id && *priority == prio(0, true)
    )));
    // The same value again reaches the server but does not touch the scheduler.
    let calls = p.st.priority_calls;
    p.client.set_priority(&mut p.ct, id, prio(0, true)).unwrap();
    p.drive();
    assert_eq!(p.st.priority_calls, calls);
    // An update with a value that does not parse changes nothing (RFC 9218 §7 allows a
    // connection error; we ignore it like a bad header).
    let (mut s, mut t) = lone(Role::Server);
    s.on_stream_data(&mut t, StreamId(0), frames(&[]), false)
        .unwrap();
    let f = frames(&[priority_update(0, "u=2"), priority_update(0, "u=1,,")]);
    s.on_stream_data(&mut t, peer_uni(Role::Server, 0), f, false)
        .unwrap();
    assert_eq!(scheduled(&t, StreamId(0)), Some((2, false)));
}

#[test]
fn priority_update_before_its_stream_is_buffered() {
    let mut p = Pair::connected();
    // Request stream 0 is held back; its PRIORITY_UPDATE (control stream) arrives first.
    p.held.insert(StreamId(0));
    let id = p
        .client
        .send_request(&mut p.ct, &get_with("/", "u=6"), true)
        .unwrap();
    p.client.set_priority(&mut p.ct, id, prio(1, true)).unwrap();
    p.drive();
    assert_eq!(scheduled(&p.st, id), None);
    assert_eq!(p.server.pending_priorities.len(), 1);
    p.release(id);
    p.drive();
    assert_eq!(requests(&p.take_events().1).len(), 1);
    // RFC 9218 §7: the update overrides the header it raced.
    assert_eq!(scheduled(&p.st, id), Some((1, true)));
    assert!(p.server.pending_priorities.is_empty());
}

#[test]
fn buffered_update_for_a_stream_arriving_out_of_order() {
    let mut p = Pair::connected();
    p.held.insert(StreamId(0));
    let first = p.client.send_request(&mut p.ct, &get("/a"), true).unwrap();
    let second = p.client.send_request(&mut p.ct, &get("/b"), true).unwrap();
    p.drive();
    // Stream 4 is open on the server, stream 0 is not yet: an update for 0 waits for it.
    assert_eq!(scheduled(&p.st, second), Some((3, false)));
    p.client
        .set_priority(&mut p.ct, first, prio(2, true))
        .unwrap();
    p.drive();
    assert_eq!(scheduled(&p.st, first), None);
    p.release(first);
    p.drive();
    assert_eq!(scheduled(&p.st, first), Some((2, true)));
}

#[test]
fn updates_for_finished_streams_are_dropped() {
    let (mut s, mut t) = lone(Role::Server);
    let control = peer_uni(Role::Server, 0);
    // Stream 0: a whole request, answered and finished; stream 4 reset before any data.
    let req = crate::message::request_fields(&get("/"), false).unwrap();
    let headers = frames(&[Frame::Headers(static_block(&req))]);
    s.on_stream_data(&mut t, StreamId(0), headers, true)
        .unwrap();
    s.send_response(&mut t, StreamId(0), &ok(), true).unwrap();
    assert_eq!(s.active_requests(), 0);
    s.on_stream_reset(&mut t, StreamId(4), Code::H3_REQUEST_CANCELLED)
        .unwrap();
    let f = frames(&[priority_update(0, "u=1"), priority_update(4, "u=1")]);
    s.on_stream_data(&mut t, control, f, false).unwrap();
    assert!(s.pending_priorities.is_empty());
    // Stream 8 has not been seen: kept.
    s.on_stream_data(&mut t, control, frames(&[priority_update(8, "u=1")]), false)
        .unwrap();
    assert_eq!(s.pending_priorities.len(), 1);
    assert!(t.closed.is_none());
}

#[test]
fn buffered_updates_are_bounded() {
    let config = Config {
        max_pending_priority_updates: 2,
        ..Config::default()
    };
    let mut p = Pair::connected_with(Config::default(), config);
    for id in [0, 4, 8] {
        p.held.insert(StreamId(id));
    }
    let ids: Vec<StreamId> = (0..3)
        .map(|_| p.client.send_request(&mut p.ct, &get("/"), true).unwrap())
        .collect();
    for &id in &ids {
        p.client
            .set_priority(&mut p.ct, id, prio(0, false))
            .unwrap();
    }
    // The latest value for an already buffered stream still replaces it.
    p.client
        .set_priority(&mut p.ct, ids[1], prio(5, true))
        .unwrap();
    p.drive();
    assert_eq!(p.server.pending_priorities.len(), 2);
    for &id in &ids {
        p.release(id);
    }
    p.drive();
    assert_eq!(scheduled(&p.st, ids[0]), Some((0, false)));
    assert_eq!(scheduled(&p.st, ids[1]), Some((5, true)));
    // The third update was beyond the bound: that stream has its header's (default) value.
    assert_eq!(scheduled(&p.st, ids[2]), Some((3, false)));
    assert!(p.server.pending_priorities.is_empty());
}

#[test]
fn response_priority_merges_with_the_request() {
    let mut p = Pair::connected();
    let a = p
        .client
        .send_request(&mut p.ct, &get_with("/a", "u=5, i"), true)
        .unwrap();
    let b = p
        .client
        .send_request(&mut p.ct, &get_with("/b", "u=5, i"), true)
        .unwrap();
    let c = p
        .client
        .send_request(&mut p.ct, &get_with("/c", "u=5, i"), true)
        .unwrap();
    p.drive();
    // RFC 9218 §8: the response's `u=1` changes the urgency, keeps the client's `i`.
    let resp = |v: Option<&str>| {
        let mut r = Response::builder().status(200);
        if let Some(v) = v {
            r = r.header("priority", v);
        }
        r.body(()).unwrap()
    };
    p.server
        .send_response(&mut p.st, a, &resp(Some("u=1")), false)
        .unwrap();
    assert_eq!(scheduled(&p.st, a), Some((1, true)));
    // No header, or one that does not parse: the client's value stands.
    p.server
        .send_response(&mut p.st, b, &resp(None), false)
        .unwrap();
    assert_eq!(scheduled(&p.st, b), Some((5, true)));
    p.server
        .send_response(&mut p.st, c, &resp(Some("u=")), false)
        .unwrap();
    assert_eq!(scheduled(&p.st, c), Some((5, true)));
    // The server may also reprioritize through the API ...
    p.server.set_priority(&mut p.st, b, prio(7, false)).unwrap();
    assert_eq!(scheduled(&p.st, b), Some((7, false)));
    assert_eq!(p.server.priority(b), Some(prio(7, false)));
    // ... and the client's next PRIORITY_UPDATE, the latest signal, replaces that.
    p.drive();
    p.client.set_priority(&mut p.ct, b, prio(2, false)).unwrap();
    p.drive();
    assert_eq!(scheduled(&p.st, b), Some((2, false)));
    // The response still carries its priority header to the client (end to end, §5).
    let (c_events, _) = p.take_events();
    let got = c_events.iter().find_map(|e| match e {
        Event::Response { stream, response } if *stream == a => Some(response.clone()),
        _ => None,
    });
    assert_eq!(got.unwrap().headers()["priority"], "u=1");
}

#[test]
fn priority_update_errors() {
    let control = |role, f: Bytes| {
        let (mut c, mut t) = lone(role);
        let _ = c.on_stream_data(&mut t, peer_uni(role, 0), f, false);
        close_code(&t)
    };
    // RFC 9218 §7.2: the request variant naming a stream that is not client-initiated
    // bidirectional (server bidi, client uni, server uni) is H3_ID_ERROR.
    for id in [1, 2, 3, 7] {
        assert_eq!(
            control(Role::Server, frames(&[priority_update(id, "u=1")])),
            Some(Code::H3_ID_ERROR),
            "{id}"
        );
    }
    // A push ID when we never allowed a push (no MAX_PUSH_ID sent, nothing promised).
    let push = Frame::PriorityUpdate {
        target: PriorityTarget::Push,
        id: 0,
        value: Bytes::from_static(b"u=1"),
    };
    assert_eq!(
        control(Role::Server, frames(&[push])),
        Some(Code::H3_ID_ERROR)
    );
    // Received by a client, on the server's control stream: H3_FRAME_UNEXPECTED.
    assert_eq!(
        control(Role::Client, frames(&[priority_update(0, "u=1")])),
        Some(Code::H3_FRAME_UNEXPECTED)
    );
    // On a stream other than the control stream: a request stream either way.
    let (mut s, mut t) = lone(Role::Server);
    let _ = s.on_stream_data(
        &mut t,
        StreamId(0),
        frames(&[priority_update(0, "u=1")]),
        false,
    );
    assert_eq!(close_code(&t), Some(Code::H3_FRAME_UNEXPECTED));
    let mut p = Pair::connected();
    let id = p.client.send_request(&mut p.ct, &get("/"), true).unwrap();
    p.drive();
    p.server.send_response(&mut p.st, id, &ok(), false).unwrap();
    p.drive();
    let _ = p
        .client
        .on_stream_data(&mut p.ct, id, frames(&[priority_update(0, "u=1")]), false);
    assert_eq!(close_code(&p.ct), Some(Code::H3_FRAME_UNEXPECTED));
    // A malformed frame: no element ID, or an ID longer than the payload.
    for payload in [&[][..], &[0x40][..]] {
        let mut bad = Vec::new();
        crate::frame::encode_header(
            crate::frame::PRIORITY_UPDATE_REQUEST,
            payload.len() as u64,
            &mut bad,
        );
        bad.extend_from_slice(payload);
        assert_eq!(
            control(Role::Server, Bytes::from(bad)),
            Some(Code::H3_FRAME_ERROR),
            "{payload:?}"
        );
    }
    // Before SETTINGS it is no control frame yet (RFC 9114 §6.2.1).
    let mut c = Connection::server(Config::default());
    let mut t = MemTransport::new(Role::Server);
    let first = uni(0x00, &[priority_update(0, "u=1")]);
    let _ = c.on_stream_data(&mut t, peer_uni(Role::Server, 0), first, false);
    assert_eq!(close_code(&t), Some(Code::H3_MISSING_SETTINGS));
}

#[test]
fn updates_beyond_the_stream_limit() {
    // RFC 9218 §7.2: with 3 request streams allowed (IDs 0, 4, 8), stream 8 may still be
    // opened, so its update is buffered; stream 12 is beyond the limit: H3_ID_ERROR.
    let (mut s, mut t) = lone(Role::Server);
    t.peer_bidi_limit = Some(3);
    let control = peer_uni(Role::Server, 0);
    s.on_stream_data(&mut t, control, frames(&[priority_update(8, "u=1")]), false)
        .unwrap();
    assert_eq!(s.pending_priorities.len(), 1);
    let r = s.on_stream_data(
        &mut t,
        control,
        frames(&[priority_update(12, "u=1")]),
        false,
    );
    assert!(r.is_err());
    assert_eq!(close_code(&t), Some(Code::H3_ID_ERROR));
}

//! Request/response exchanges between a client and a server.

use super::*;
use http::HeaderMap;

#[test]
fn settings_are_exchanged_first() {
    let mut p = Pair::new(Config::default(), Config::default());
    p.drive();
    let s = p.client.peer_settings().expect("server SETTINGS").clone();
    assert_eq!(s.qpack_max_table_capacity(), 4096);
    assert_eq!(s.qpack_blocked_streams(), 16);
    assert_eq!(s.max_field_section_size(), 64 * 1024);
    // GREASE setting present (RFC 9114 §7.2.4.1) and ignored.
    assert!(s.unknown.iter().any(|(id, _)| crate::error::is_grease(*id)));
    assert!(p.server.peer_settings().is_some());
    let (c, s) = p.take_events();
    assert!(matches!(c[0], Event::PeerSettings(_)));
    assert!(matches!(s[0], Event::PeerSettings(_)));
    // Each side answered the GREASE stream with STOP_SENDING H3_STREAM_CREATION_ERROR and
    // nothing was closed.
    assert!(p.client.closed().is_none() && p.server.closed().is_none());
}

#[test]
fn get_with_response_body() {
    let mut p = Pair::connected();
    let id = p
        .client
        .send_request(&mut p.ct, &get("/hello"), true)
        .unwrap();
    assert_eq!(id, StreamId(0));
    p.drive();
    let (_, s) = p.take_events();
    let reqs = requests(&s);
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].0, id);
    assert_eq!(reqs[0].1.uri().path(), "/hello");
    assert_eq!(reqs[0].1.method(), http::Method::GET);
    assert!(finished(&s, id));

    let resp = Response::builder()
        .status(200)
        .header("content-length", "11")
        .header("content-type", "text/plain")
        .body(())
        .unwrap();
    p.server.send_response(&mut p.st, id, &resp, false).unwrap();
    assert_eq!(
        p.server
            .send_data(&mut p.st, id, Bytes::from_static(b"hello world"))
            .unwrap(),
        11
    );
    p.server.finish(&mut p.st, id).unwrap();
    p.drive();
    let (c, _) = p.take_events();
    let Event::Response { stream, response } = &c[0] else {
        panic!("{c:?}")
    };
    assert_eq!(*stream, id);
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/plain");
    assert_eq!(body(&c, id), b"hello world");
    assert!(finished(&c, id));
    // Both sides forgot the stream.
    assert_eq!(p.client.active_requests(), 0);
    assert_eq!(p.server.active_requests(), 0);
}

#[test]
fn post_large_streamed_body_both_ways_with_small_windows() {
    let mut p = Pair::connected();
    p.ct.window = Some(1500);
    p.st.window = Some(1000);
    let req = Request::post("https://example.com/upload")
        .body(())
        .unwrap();
    let id = p.client.send_request(&mut p.ct, &req, false).unwrap();
    let upload: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let mut sent = 0;
    let mut echoed = 0;
    let mut server_received = Vec::new();
    let mut responded = false;
    let mut client_done = false;
    let mut c = Vec::new();
    for _ in 0..100_000 {
        if sent < upload.len() {
            let end = (sent + 7000).min(upload.len());
            let chunk = Bytes::copy_from_slice(&upload[sent..end]);
            sent += p.client.send_data(&mut p.ct, id, chunk).unwrap();
        } else if !client_done {
            p.client.finish(&mut p.ct, id).unwrap();
            client_done = true;
        }
        p.drive();
        let (client_events, s) = p.take_events();
        c.extend(client_events);
        for e in s {
            match e {
                Event::Request { stream, .. } => {
                    assert_eq!(stream, id);
                    p.server.send_response(&mut p.st, id, &ok(), false).unwrap();
                    responded = true;
                }
                Event::Data { data, .. } => server_received.extend_from_slice(&data),
                Event::Finished { .. } => {}
                e => panic!("unexpected {e:?}"),
            }
        }
        // Echo what arrived, as the transport allows.
        while responded && echoed < server_received.len() {
            let end = (echoed + 5000).min(server_received.len());
            let chunk = Bytes::copy_from_slice(&server_received[echoed..end]);
            let n = p.server.send_data(&mut p.st, id, chunk).unwrap();
            if n == 0 {
                break;
            }
            echoed += n;
        }
        if client_done && echoed == upload.len() {
            break;
        }
    }
    assert_eq!(server_received, upload);
    p.server.finish(&mut p.st, id).unwrap();
    p.drive();
    c.extend(std::mem::take(&mut p.client_events));
    assert!(matches!(&c[0], Event::Response { .. }));
    assert_eq!(body(&c, id), upload);
    assert!(finished(&c, id));
    assert_eq!(p.server.active_requests(), 0);
    assert_eq!(p.client.active_requests(), 0);
}

#[test]
fn trailers_both_ways() {
    let mut p = Pair::connected();
    let req = Request::post("https://example.com/grpc")
        .header("te", "trailers")
        .body(())
        .unwrap();
    let id = p.client.send_request(&mut p.ct, &req, false).unwrap();
    p.client
        .send_data(&mut p.ct, id, Bytes::from_static(b"ping"))
        .unwrap();
    let mut t = HeaderMap::new();
    t.insert("x-checksum", "abc".parse().unwrap());
    p.client.send_trailers(&mut p.ct, id, &t).unwrap();
    p.drive();
    let (_, s) = p.take_events();
    assert_eq!(body(&s, id), b"ping");
    assert!(s
        .iter()
        .any(|e| matches!(e, Event::Trailers { trailers, .. } if trailers["x-checksum"] == "abc")));
    assert!(finished(&s, id));
    p.server.send_response(&mut p.st, id, &ok(), false).unwrap();
    p.server
        .send_data(&mut p.st, id, Bytes::from_static(b"pong"))
        .unwrap();
    let mut t = HeaderMap::new();
    t.insert("grpc-status", "0".parse().unwrap());
    p.server.send_trailers(&mut p.st, id, &t).unwrap();
    p.drive();
    let (c, _) = p.take_events();
    assert_eq!(body(&c, id), b"pong");
    assert!(c
        .iter()
        .any(|e| matches!(e, Event::Trailers { trailers, .. } if trailers["grpc-status"] == "0")));
    assert!(finished(&c, id));
    // Nothing may follow trailers.
    assert!(p
        .server
        .send_data(&mut p.st, id, Bytes::from_static(b"x"))
        .is_err());
}

#[test]
fn interim_responses() {
    let mut p = Pair::connected();
    let req = Request::post("https://example.com/")
        .header("expect", "100-continue")
        .body(())
        .unwrap();
    let id = p.client.send_request(&mut p.ct, &req, false).unwrap();
    p.drive();
    let r100 = Response::builder().status(100).body(()).unwrap();
    let r103 = Response::builder()
        .status(103)
        .header("link", "</style.css>; rel=preload")
        .body(())
        .unwrap();
    p.server.send_response(&mut p.st, id, &r100, false).unwrap();
    assert!(p.server.send_response(&mut p.st, id, &r103, true).is_err());
    p.server.send_response(&mut p.st, id, &r103, false).unwrap();
    // DATA is not allowed before the final response.
    assert!(p
        .server
        .send_data(&mut p.st, id, Bytes::from_static(b"x"))
        .is_err());
    p.drive();
    p.client
        .send_data(&mut p.ct, id, Bytes::from_static(b"body"))
        .unwrap();
    p.client.finish(&mut p.ct, id).unwrap();
    p.server.send_response(&mut p.st, id, &ok(), true).unwrap();
    // A second final response is refused.
    assert!(p.server.send_response(&mut p.st, id, &ok(), true).is_err());
    p.drive();
    let (c, _) = p.take_events();
    let statuses: Vec<u16> =
        c.iter()
            .filter_map(|e| match e {
                Event::InformationalResponse { response, .. }
                | Event::Response { response, .. } => Some(response.status().as_u16()),
                _ => None,
            })
            .collect();
    assert_eq!(statuses, [100, 103, 200]);
    assert!(matches!(c.last(), Some(Event::Finished { .. })));
}

#[test]
fn many_concurrent_requests() {
    let mut p = Pair::connected();
    let ids: Vec<StreamId> = (0..300)
        .map(|i| {
            p.client
                .send_request(&mut p.ct, &get(&format!("/item/{i}")), true)
                .unwrap()
        })
        .collect();
    p.drive();
    let (_, s) = p.take_events();
    let reqs = requests(&s);
    assert_eq!(reqs.len(), 300);
    // Answer in reverse order, each with its own path as the body.
    for (id, req) in reqs.iter().rev() {
        p.server
            .send_response(&mut p.st, *id, &ok(), false)
            .unwrap();
        let body = Bytes::from(req.uri().path().to_string());
        p.server.send_data(&mut p.st, *id, body).unwrap();
        p.server.finish(&mut p.st, *id).unwrap();
    }
    p.drive();
    let (c, _) = p.take_events();
    for (i, id) in ids.iter().enumerate() {
        assert_eq!(body(&c, *id), format!("/item/{i}").as_bytes());
        assert!(finished(&c, *id));
    }
    assert_eq!(p.client.active_requests(), 0);
    assert_eq!(p.server.active_requests(), 0);
}

#[test]
fn request_body_with_content_length() {
    let mut p = Pair::connected();
    let req = Request::put("https://example.com/x")
        .header("content-length", "5")
        .body(())
        .unwrap();
    let id = p.client.send_request(&mut p.ct, &req, false).unwrap();
    // Our own sends respect the declared length.
    assert!(p
        .client
        .send_data(&mut p.ct, id, Bytes::from_static(b"123456"))
        .is_err());
    p.client
        .send_data(&mut p.ct, id, Bytes::from_static(b"123"))
        .unwrap();
    assert!(p.client.finish(&mut p.ct, id).is_err());
    p.client
        .send_data(&mut p.ct, id, Bytes::from_static(b"45"))
        .unwrap();
    p.client.finish(&mut p.ct, id).unwrap();
    p.drive();
    let (_, s) = p.take_events();
    assert_eq!(body(&s, id), b"12345");
    assert!(finished(&s, id));
}

#[test]
fn head_response_with_content_length_and_no_body() {
    let mut p = Pair::connected();
    let req = Request::head("https://example.com/big").body(()).unwrap();
    let id = p.client.send_request(&mut p.ct, &req, true).unwrap();
    p.drive();
    let resp = Response::builder()
        .status(200)
        .header("content-length", "1000")
        .body(())
        .unwrap();
    p.server.send_response(&mut p.st, id, &resp, true).unwrap();
    p.drive();
    let (c, _) = p.take_events();
    assert!(matches!(&c[0], Event::Response { .. }));
    assert!(finished(&c, id));
    assert!(stream_errors(&c).is_empty());
}

#[test]
fn cancellation_and_early_response() {
    let mut p = Pair::connected();
    // The client cancels: the server learns the code.
    let a = p.client.send_request(&mut p.ct, &get("/a"), false).unwrap();
    p.drive();
    p.client
        .reset_stream(&mut p.ct, a, Code::H3_REQUEST_CANCELLED)
        .unwrap();
    p.drive();
    let (_, s) = p.take_events();
    let errs = stream_errors(&s);
    assert!(errs
        .iter()
        .any(|e| e.stream == a && e.code == Code::H3_REQUEST_CANCELLED));
    assert_eq!(p.server.active_requests(), 0);

    // The server answers before the body ends and stops reading with H3_NO_ERROR
    // (RFC 9114 §4.1): the client keeps the complete response.
    let b = p
        .client
        .send_request(
            &mut p.ct,
            &Request::post("https://example.com/b").body(()).unwrap(),
            false,
        )
        .unwrap();
    p.client
        .send_data(&mut p.ct, b, Bytes::from_static(b"part"))
        .unwrap();
    p.drive();
    p.server
        .stop_reading(&mut p.st, b, Code::H3_NO_ERROR)
        .unwrap();
    p.server.send_response(&mut p.st, b, &ok(), true).unwrap();
    p.drive();
    let (c, _) = p.take_events();
    assert!(matches!(&c[0], Event::Response { .. }) || matches!(&c[1], Event::Response { .. }));
    assert!(finished(&c, b));
    assert!(stream_errors(&c)
        .iter()
        .any(|e| e.kind == crate::StreamErrorKind::StoppedByPeer && e.code == Code::H3_NO_ERROR));
    assert!(p
        .client
        .send_data(&mut p.ct, b, Bytes::from_static(b"more"))
        .is_err());
    assert_eq!(p.server.active_requests(), 0);
    assert_eq!(p.client.active_requests(), 0);
}

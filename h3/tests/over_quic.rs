//! HTTP/3 over our QUIC stack, in memory: a client and a server on quic's simulated network,
//! each with an `h3::Connection` fed by `h3::quic::pump`.

use std::time::Duration;

use bytes::Bytes;
use h3::quic::{pump, QuicTransport};
use h3::{Config, Connection, Event};
use quic::connection::TransportConfig;
use quic::testing::network::LinkConfig;
use quic::testing::pair::{client_config, server_config, Pair};

fn run(seed: u64, link: LinkConfig, body_len: usize, requests: usize) {
    let mut p = Pair::new(seed, server_config(&[b"h3"], TransportConfig::default()));
    p.set_link(link);
    p.client.collect_events = false;
    p.server.collect_events = false;
    let h = p.connect(&client_config(&[b"h3"], TransportConfig::default()));
    let mut client = Connection::client(Config::default());
    let mut server = Connection::server(Config::default());
    let body = Bytes::from((0..body_len).map(|i| (i % 251) as u8).collect::<Vec<u8>>());
    let mut sent = false;
    let mut responses = 0;
    let mut received = vec![Vec::new(); requests];
    let mut ids = Vec::new();
    let mut pending_body: Vec<(h3::StreamId, Bytes)> = Vec::new();
    let done = p.drive_until(Duration::from_secs(120), |p| {
        let now = p.now;
        let c = p.client.conn(h);
        let pumped = pump(&mut client, c, now).expect("client h3");
        assert!(
            pumped.closed.is_none(),
            "client closed: {:?}",
            pumped.closed
        );
        if !sent && !c.is_handshaking() && client.peer_settings().is_some() {
            for i in 0..requests {
                let req = http::Request::get(format!("https://localhost/file/{i}"))
                    .body(())
                    .unwrap();
                ids.push(
                    client
                        .send_request(&mut QuicTransport::new(c, now), &req, true)
                        .unwrap(),
                );
            }
            sent = true;
        }
        while let Some(ev) = client.poll_event() {
            match ev {
                Event::Data { stream, data } => {
                    let i = ids.iter().position(|s| *s == stream).unwrap();
                    received[i].extend_from_slice(&data);
                }
                Event::Finished { .. } => responses += 1,
                Event::Response { response, .. } => assert_eq!(response.status(), 200),
                _ => {}
            }
        }
        if let Some(&s) = p.server.accepted.first() {
            let sc = p.server.conn(s);
            pump(&mut server, sc, now).expect("server h3");
            while let Some(ev) = server.poll_event() {
                if let Event::Request { stream, request } = ev {
                    assert_eq!(request.method(), http::Method::GET);
                    let resp = http::Response::builder().status(200).body(()).unwrap();
                    server
                        .send_response(&mut QuicTransport::new(sc, now), stream, &resp, false)
                        .unwrap();
                    pending_body.push((stream, body.clone()));
                }
            }
            // Feed bodies as flow control allows.
            pending_body.retain_mut(|(stream, rest)| {
                let mut t = QuicTransport::new(sc, now);
                while !rest.is_empty() {
                    match server.send_data(&mut t, *stream, rest.clone()) {
                        Ok(0) | Err(_) => return true,
                        Ok(n) => *rest = rest.slice(n..),
                    }
                }
                server.finish(&mut t, *stream).unwrap();
                false
            });
        }
        responses == requests
    });
    assert!(
        done,
        "{responses} of {requests} responses after {:?}",
        p.elapsed()
    );
    for r in &received {
        assert_eq!(r.len(), body.len());
        assert!(r[..] == body[..]);
    }
    // The dynamic QPACK table was used on both sides.
    let (ours, theirs) = client.qpack_insert_counts();
    assert!(ours + theirs > 0);
}

#[test]
fn get_over_quic() {
    run(1, LinkConfig::default(), 100_000, 1);
}

#[test]
fn concurrent_requests_over_a_lossy_link() {
    run(
        2,
        LinkConfig::lossy(Duration::from_millis(10), 0.03, 0.03),
        50_000,
        50,
    );
}

/// What the client saw of two responses sent at once.
#[derive(Debug)]
struct Race {
    /// Index (0 or 1) of the response that finished first.
    first: usize,
    /// Body bytes of the other response received when the first finished.
    other_progress: usize,
    /// How many times the client's body deliveries switched between the two streams.
    switches: usize,
}

/// Two requests on one connection (stream 0 then stream 4) with these `priority` headers;
/// the server answers both in the same step, writing stream 0's `body_len` bytes first, over
/// a 20 Mbit/s link with 20 ms base RTT. `update` sends a PRIORITY_UPDATE for stream 0 once the
/// responses have started.
///
/// The client's receive windows cover both bodies: when flow control stops the urgent
/// stream, the scheduler rightly sends the other one rather than nothing, which would blur
/// what is measured here (the order the scheduler chooses).
fn race(priorities: [Option<&str>; 2], update: Option<h3::Priority>, body_len: usize) -> Race {
    let mut p = Pair::new(7, server_config(&[b"h3"], TransportConfig::default()));
    // An unbounded bottleneck queue: no loss, so the client sees data in the order it was
    // sent (a lost packet would hold its stream's later data back and hide the interleaving).
    p.set_link(LinkConfig::delay(Duration::from_millis(10)).with_rate(20_000_000, None));
    p.client.collect_events = false;
    p.server.collect_events = false;
    let mut client_transport = TransportConfig::default();
    client_transport.streams.stream_receive_window = 4 * body_len as u64;
    client_transport.streams.receive_window = 8 * body_len as u64;
    let h = p.connect(&client_config(&[b"h3"], client_transport));
    let mut client = Connection::client(Config::default());
    let mut server = Connection::server(Config::default());
    let body = Bytes::from(vec![b'x'; body_len]);
    let mut ids = Vec::new();
    let mut received = [0usize; 2];
    let mut finished: Vec<usize> = Vec::new();
    let mut other_progress = None;
    let mut last = None;
    let mut switches = 0;
    let mut updated = false;
    let mut pending_body: Vec<(h3::StreamId, Bytes)> = Vec::new();
    let done = p.drive_until(Duration::from_secs(60), |p| {
        let now = p.now;
        let c = p.client.conn(h);
        pump(&mut client, c, now).expect("client h3");
        if ids.is_empty() && !c.is_handshaking() && client.peer_settings().is_some() {
            for (i, prio) in priorities.iter().enumerate() {
                let mut req = http::Request::get(format!("https://localhost/{i}"));
                if let Some(v) = prio {
                    req = req.header("priority", *v);
                }
                let req = req.body(()).unwrap();
                ids.push(
                    client
                        .send_request(&mut QuicTransport::new(c, now), &req, true)
                        .unwrap(),
                );
            }
        }
        if let (Some(u), false, true) = (update, updated, received[0] + received[1] > 0) {
            client
                .set_priority(&mut QuicTransport::new(c, now), ids[0], u)
                .unwrap();
            updated = true;
        }
        while let Some(ev) = client.poll_event() {
            match ev {
                Event::Data { stream, data } => {
                    let i = ids.iter().position(|s| *s == stream).unwrap();
                    received[i] += data.len();
                    if last.is_some_and(|l| l != i) {
                        switches += 1;
                    }
                    last = Some(i);
                }
                Event::Finished { stream } => {
                    let i = ids.iter().position(|s| *s == stream).unwrap();
                    if finished.is_empty() {
                        other_progress = Some(received[1 - i]);
                    }
                    finished.push(i);
                }
                _ => {}
            }
        }
        if let Some(&s) = p.server.accepted.first() {
            let sc = p.server.conn(s);
            pump(&mut server, sc, now).expect("server h3");
            let mut new = Vec::new();
            while let Some(ev) = server.poll_event() {
                if let Event::Request { stream, .. } = ev {
                    new.push(stream);
                }
            }
            // Lowest stream first, so without priorities stream 0 would lead.
            new.sort();
            for stream in new {
                let resp = http::Response::builder().status(200).body(()).unwrap();
                server
                    .send_response(&mut QuicTransport::new(sc, now), stream, &resp, false)
                    .unwrap();
                pending_body.push((stream, body.clone()));
            }
            pending_body.retain_mut(|(stream, rest)| {
                let mut t = QuicTransport::new(sc, now);
                while !rest.is_empty() {
                    match server.send_data(&mut t, *stream, rest.clone()) {
                        Ok(0) | Err(_) => return true,
                        Ok(n) => *rest = rest.slice(n..),
                    }
                }
                server.finish(&mut t, *stream).unwrap();
                false
            });
        }
        finished.len() == 2
    });
    assert!(
        done,
        "responses finished: {finished:?} after {:?}",
        p.elapsed()
    );
    assert_eq!(received, [body_len, body_len]);
    let race = Race {
        first: finished[0],
        other_progress: other_progress.unwrap(),
        switches,
    };
    eprintln!(
        "{priorities:?}, update {update:?}: {race:?} in {:?}",
        p.elapsed()
    );
    race
}

const RACE_BODY: usize = 1 << 20;

#[test]
fn urgent_response_overtakes_a_background_one() {
    // Stream 0 asks for u=7 (background), stream 4 for u=0: stream 4's response goes first
    // although stream 0's was written first, and stream 0 gets next to nothing meanwhile.
    let r = race([Some("u=7"), Some("u=0")], None, RACE_BODY);
    assert_eq!(r.first, 1, "{r:?}");
    assert!(r.other_progress < RACE_BODY / 10, "{r:?}");
    // Control: with the default priority (u=3, not incremental) the responses go one at a
    // time in stream order, so stream 0 leads.
    let r = race([None, None], None, RACE_BODY);
    assert_eq!(r.first, 0, "{r:?}");
    assert!(r.other_progress < RACE_BODY / 10, "{r:?}");
}

#[test]
fn incremental_responses_interleave() {
    // RFC 9218 §4.2: two incremental responses of the same urgency share the link, so both
    // progress together and the first to finish leaves the other nearly done.
    let r = race([Some("u=3, i"), Some("u=3, i")], None, RACE_BODY);
    assert!(r.other_progress > RACE_BODY / 2, "{r:?}");
    assert!(r.switches > 10, "{r:?}");
    // Non-incremental ones of the same urgency do not interleave (checked above too).
    let r = race([Some("u=3"), Some("u=3")], None, RACE_BODY);
    assert!(r.switches <= 2, "{r:?}");
}

#[test]
fn priority_update_reorders_responses_in_flight() {
    // Stream 0 starts at u=7 behind stream 4 at u=1; once data flows, the client raises
    // stream 0 to u=0 with a PRIORITY_UPDATE and it overtakes.
    let urgent = h3::Priority {
        urgency: 0,
        incremental: false,
    };
    let r = race([Some("u=7"), Some("u=1")], Some(urgent), RACE_BODY);
    assert_eq!(r.first, 0, "{r:?}");
    // Without the update, stream 4 would finish first.
    let r = race([Some("u=7"), Some("u=1")], None, RACE_BODY);
    assert_eq!(r.first, 1, "{r:?}");
}

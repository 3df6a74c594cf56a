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

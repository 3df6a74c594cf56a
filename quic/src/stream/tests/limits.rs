//! Stream IDs (RFC 9000 §2.1), opening and concurrency limits (§3.2, §4.6), MAX_STREAMS
//! re-issue, STREAMS_BLOCKED.

use bytes::Bytes;

use super::*;

#[test]
fn stream_id_bits() {
    // RFC 9000 §2.1, Table 1.
    assert_eq!(StreamId::new(Side::Client, Dir::Bi, 0).into_inner(), 0);
    assert_eq!(StreamId::new(Side::Server, Dir::Bi, 0).into_inner(), 1);
    assert_eq!(StreamId::new(Side::Client, Dir::Uni, 0).into_inner(), 2);
    assert_eq!(StreamId::new(Side::Server, Dir::Uni, 3).into_inner(), 15);
    let id = StreamId::from_u64(14).unwrap();
    assert_eq!(
        (id.initiator(), id.dir(), id.index()),
        (Side::Client, Dir::Uni, 3)
    );
    assert!(id.can_send(Side::Client) && !id.can_send(Side::Server));
    assert!(id.can_recv(Side::Server) && !id.can_recv(Side::Client));
    assert_eq!(id.to_string(), "client uni stream 3 (id 14)");
    assert_eq!(StreamId::from_u64(1 << 62), None);
    let max = StreamId::new(Side::Server, Dir::Uni, StreamId::MAX_INDEX);
    assert_eq!(max.into_inner(), (1 << 62) - 1);
}

#[test]
fn open_respects_peer_max_streams() {
    let server_cfg = StreamsConfig {
        max_concurrent_bidi_streams: 2,
        ..StreamsConfig::default()
    };
    let mut p = Pair::with_configs(StreamsConfig::default(), server_cfg);
    let a = p.client.open(Dir::Bi).unwrap();
    let b = p.client.open(Dir::Bi).unwrap();
    assert_eq!((a.index(), b.index()), (0, 1));
    assert_eq!(p.client.available(Dir::Bi), 0);
    assert_eq!(p.client.open(Dir::Bi), None);
    assert_eq!(p.client.open(Dir::Bi), None);
    // RFC 9000 §4.6: STREAMS_BLOCKED, once per limit.
    let now = p.now;
    assert_eq!(
        p.client.poll_control(now, p.rtt, 1200),
        Some(StreamControl::StreamsBlocked {
            dir: Dir::Bi,
            limit: 2
        })
    );
    assert_eq!(p.client.poll_control(now, p.rtt, 1200), None);
    Pair::events(&mut p.client);
    p.client.on_max_streams(Dir::Bi, 3).unwrap();
    p.client.on_max_streams(Dir::Bi, 1).unwrap(); // RFC 9000 §19.11: ignored
    assert_eq!(
        Pair::events(&mut p.client),
        vec![StreamEvent::Available { dir: Dir::Bi }]
    );
    assert_eq!(p.client.open(Dir::Bi).unwrap().index(), 2);
    assert_eq!(p.client.open(Dir::Bi), None);
}

#[test]
fn max_streams_beyond_2_60_is_frame_encoding_error() {
    let mut s = StreamsState::new(Side::Client, StreamsConfig::default());
    let e = s.on_max_streams(Dir::Uni, (1 << 60) + 1).unwrap_err();
    assert_eq!(code(e.clone()), TransportErrorCode::FRAME_ENCODING_ERROR);
    assert_eq!(e.frame_type, Some(0x13));
    s.on_max_streams(Dir::Uni, 1 << 60).unwrap();
    let e = s.on_streams_blocked(Dir::Bi, (1 << 60) + 1).unwrap_err();
    assert_eq!(code(e), TransportErrorCode::FRAME_ENCODING_ERROR);
    let limits = StreamLimits {
        initial_max_streams_bidi: (1 << 60) + 1,
        ..StreamLimits::default()
    };
    let e = s.set_peer_limits(limits).unwrap_err();
    assert_eq!(code(e), TransportErrorCode::TRANSPORT_PARAMETER_ERROR);
}

#[test]
fn peer_streams_open_implicitly_in_order() {
    let mut s = StreamsState::new(Side::Server, StreamsConfig::default());
    let id = StreamId::new(Side::Client, Dir::Bi, 3);
    // RFC 9000 §3.2: MAX_STREAM_DATA for an unopened peer stream opens it (and the lower ones).
    s.on_max_stream_data(id, 10).unwrap();
    let opened: Vec<_> = Pair::events(&mut s);
    assert_eq!(
        opened,
        (0..4)
            .map(|i| StreamEvent::Opened {
                id: StreamId::new(Side::Client, Dir::Bi, i)
            })
            .collect::<Vec<_>>()
    );
    // Lower streams do not reopen.
    s.on_stream_frame(
        StreamId::new(Side::Client, Dir::Bi, 1),
        0,
        Bytes::new(),
        false,
    )
    .unwrap();
    assert_eq!(
        Pair::events(&mut s),
        vec![],
        "an empty frame on an open stream is not readable"
    );
    // STOP_SENDING and STREAM_DATA_BLOCKED open streams too.
    s.on_stop_sending(StreamId::new(Side::Client, Dir::Bi, 4), vi(1))
        .unwrap();
    s.on_stream_data_blocked(StreamId::new(Side::Client, Dir::Uni, 0), 0)
        .unwrap();
    assert_eq!(s.len(), 6);
}

#[test]
fn stream_limit_error() {
    let cfg = StreamsConfig {
        max_concurrent_uni_streams: 3,
        ..StreamsConfig::default()
    };
    let mut s = StreamsState::new(Side::Server, cfg);
    // RFC 9000 §19.11 example: a limit of 3 allows client uni streams 2, 6, 10, not 14.
    s.on_stream_frame(StreamId::from_u64(10).unwrap(), 0, Bytes::new(), false)
        .unwrap();
    for e in [
        s.on_stream_frame(StreamId::from_u64(14).unwrap(), 0, Bytes::new(), false)
            .unwrap_err(),
        s.on_reset_stream(StreamId::from_u64(14).unwrap(), vi(0), 0)
            .unwrap_err(),
        s.on_stream_data_blocked(StreamId::from_u64(14).unwrap(), 0)
            .unwrap_err(),
    ] {
        assert_eq!(code(e), TransportErrorCode::STREAM_LIMIT_ERROR);
    }
}

#[test]
fn thousand_streams_open_close_and_max_streams_reissued() {
    let server_cfg = StreamsConfig {
        max_concurrent_bidi_streams: 100,
        ..StreamsConfig::default()
    };
    let mut p = Pair::with_configs(StreamsConfig::default(), server_cfg);
    let mut opened = 0;
    let mut done = 0;
    let mut open_now: Vec<StreamId> = Vec::new();
    let mut rounds = 0;
    while done < 1000 {
        rounds += 1;
        assert!(rounds < 1000, "stalled at {done}");
        // Open as many as the server allows, write and finish.
        while opened < 1000 {
            let Some(id) = p.client.open(Dir::Bi) else {
                break;
            };
            opened += 1;
            let mut s = p.client.send(id).unwrap();
            s.write(format!("request {}", id.index()).as_bytes())
                .unwrap();
            s.finish().unwrap();
            open_now.push(id);
        }
        assert!(open_now.len() <= 100, "more than MAX_STREAMS concurrently");
        p.drive();
        // The server answers each stream and finishes it.
        while let Some(ev) = p.server.poll_event() {
            if let StreamEvent::Readable { id } = ev {
                let (data, fin) = read_all(&mut p.server, id);
                assert!(fin);
                assert_eq!(data, format!("request {}", id.index()).as_bytes());
                let mut s = p.server.send(id).unwrap();
                s.write(b"ok").unwrap();
                s.finish().unwrap();
            }
        }
        p.drive();
        while let Some(ev) = p.client.poll_event() {
            if let StreamEvent::Readable { id } = ev {
                let (data, fin) = read_all(&mut p.client, id);
                assert_eq!((&data[..], fin), (&b"ok"[..], true));
                done += 1;
                open_now.retain(|&x| x != id);
            }
        }
        p.drive();
        p.client.check_invariants();
        p.server.check_invariants();
    }
    assert_eq!(opened, 1000);
    assert!(
        p.client.is_empty() && p.server.is_empty(),
        "all state freed"
    );
    // The server re-issued credit as streams closed: 100 initial + 1000 closed.
    assert_eq!(p.server.max_remote[Dir::Bi.idx()], 1100);
    assert_eq!(p.client.max_local[Dir::Bi.idx()], 1100);
}

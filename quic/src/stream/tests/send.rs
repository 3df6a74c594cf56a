//! Send side: state machine (RFC 9000 §3.1), acks, losses and retransmission order (§13.3),
//! resets and STOP_SENDING (§3.5), send buffer limits.

use bytes::Bytes;

use super::*;

fn client() -> StreamsState {
    let mut c = StreamsState::new(Side::Client, StreamsConfig::default());
    c.set_peer_limits(StreamsState::new(Side::Server, StreamsConfig::default()).local_limits())
        .unwrap();
    Pair::events(&mut c);
    c
}

#[test]
fn ready_send_data_sent_data_recvd() {
    let mut c = client();
    let id = c.open(Dir::Uni).unwrap();
    assert_eq!(id, StreamId::new(Side::Client, Dir::Uni, 0));
    assert_eq!(c.send(id).unwrap().state(), Some(SendState::Ready));
    assert_eq!(c.send(id).unwrap().write(b"hello").unwrap(), 5);
    let a = c.poll_stream_data(3).unwrap();
    assert_eq!((a.offset, &a.data[..], a.fin), (0, &b"hel"[..], false));
    assert_eq!(c.send(id).unwrap().state(), Some(SendState::Send));
    c.send(id).unwrap().finish().unwrap();
    assert_eq!(
        c.send(id).unwrap().write(b"x"),
        Err(WriteError::ClosedStream)
    );
    let b = c.poll_stream_data(100).unwrap();
    assert_eq!((b.offset, &b.data[..], b.fin), (3, &b"lo"[..], true));
    assert_eq!(c.send(id).unwrap().state(), Some(SendState::DataSent));
    assert_eq!(c.poll_stream_data(100), None);
    c.on_stream_acked(id, 3, 2, true);
    assert!(c.contains(id), "first bytes still unacknowledged");
    c.on_stream_acked(id, 0, 3, false);
    assert_eq!(Pair::events(&mut c), vec![StreamEvent::Finished { id }]);
    // Data Recvd is terminal; a uni stream is then freed.
    assert!(!c.contains(id));
    assert_eq!(c.send_buffered, 0);
}

#[test]
fn lone_fin_and_fin_loss() {
    let mut c = client();
    let id = c.open(Dir::Uni).unwrap();
    c.send(id).unwrap().write(b"ab").unwrap();
    let a = c.poll_stream_data(100).unwrap();
    assert!(!a.fin);
    c.send(id).unwrap().finish().unwrap();
    let f = c.poll_stream_data(100).unwrap();
    assert_eq!((f.offset, f.data.len(), f.fin), (2, 0, true));
    c.on_stream_acked(id, 0, 2, false);
    c.on_stream_lost(id, 2, 0, true);
    let f2 = c.poll_stream_data(100).unwrap();
    assert_eq!((f2.offset, f2.data.len(), f2.fin), (2, 0, true));
    c.on_stream_acked(id, 2, 0, true);
    assert!(!c.contains(id));
}

#[test]
fn lost_data_goes_before_new_data() {
    let mut c = client();
    let id = c.open(Dir::Uni).unwrap();
    c.send(id).unwrap().write(&[1u8; 300]).unwrap();
    let a = c.poll_stream_data(100).unwrap();
    let b = c.poll_stream_data(100).unwrap();
    assert_eq!((a.offset, b.offset), (0, 100));
    c.on_stream_acked(id, 100, 100, false);
    c.on_stream_lost(id, 0, 100, false);
    // RFC 9000 §13.3: lost data is sent again in new STREAM frames, ahead of new data.
    let r = c.poll_stream_data(60).unwrap();
    assert_eq!((r.offset, r.data.len()), (0, 60));
    let r = c.poll_stream_data(100).unwrap();
    assert_eq!((r.offset, r.data.len()), (60, 40));
    let n = c.poll_stream_data(500).unwrap();
    assert_eq!((n.offset, n.data.len()), (200, 100));
    // A loss of data acknowledged in the meantime is not retransmitted.
    c.on_stream_acked(id, 0, 100, false);
    c.on_stream_lost(id, 0, 100, false);
    assert_eq!(c.poll_stream_data(500), None);
    assert_eq!(
        c.send(id).unwrap().buffered(),
        100,
        "only 200..300 still held"
    );
}

#[test]
fn write_chunk_is_zero_copy_and_writes_coalesce() {
    let mut c = client();
    let id = c.open(Dir::Uni).unwrap();
    let big = Bytes::from(vec![9u8; 1000]);
    let ptr = big.as_ptr();
    assert_eq!(c.send(id).unwrap().write_chunk(big).unwrap(), 1000);
    let a = c.poll_stream_data(500).unwrap();
    assert_eq!(a.data.as_ptr(), ptr);
    // Many small writes come out as one frame.
    let id2 = c.open(Dir::Uni).unwrap();
    for _ in 0..100 {
        c.send(id2).unwrap().write(b"0123456789").unwrap();
    }
    let mut got = None;
    while let Some(ch) = c.poll_stream_data(2000) {
        if ch.id == id2 {
            got = Some(ch);
            break;
        }
    }
    assert_eq!(got.unwrap().data.len(), 1000);
}

#[test]
fn reset_by_application() {
    let mut c = client();
    let id = c.open(Dir::Uni).unwrap();
    c.send(id).unwrap().write(&[0u8; 50]).unwrap();
    c.poll_stream_data(20).unwrap();
    c.send(id).unwrap().reset(vi(4)).unwrap();
    assert_eq!(c.send(id).unwrap().state(), Some(SendState::ResetSent));
    assert_eq!(c.send_buffered, 0, "buffer dropped");
    assert_eq!(c.send(id).unwrap().reset(vi(4)), Err(ClosedStream));
    assert_eq!(
        c.send(id).unwrap().write(b"x"),
        Err(WriteError::ClosedStream)
    );
    // No more stream data after a reset (RFC 9000 §19.4).
    assert_eq!(c.poll_stream_data(100), None);
    let now = t0();
    let rtt = Duration::from_millis(10);
    let f = c.poll_control(now, rtt, 1200).unwrap();
    // RFC 9000 §4.5: the final size is the amount of data sent.
    assert_eq!(
        f,
        StreamControl::ResetStream {
            id,
            error_code: vi(4),
            final_size: 20
        }
    );
    // Lost: sent again until acknowledged (RFC 9000 §13.3).
    c.on_control_lost(&f);
    assert_eq!(c.poll_control(now, rtt, 1200), Some(f));
    c.on_control_acked(&f);
    assert!(!c.contains(id), "Reset Recvd is terminal");
    c.on_control_lost(&f);
    assert_eq!(c.poll_control(now, rtt, 1200), None);
}

#[test]
fn stop_sending_resets_with_same_code() {
    let mut p = Pair::new(StreamsConfig::default());
    let id = p.client.open(Dir::Bi).unwrap();
    p.client.send(id).unwrap().write(b"data").unwrap();
    p.drive();
    Pair::events(&mut p.client);
    Pair::events(&mut p.server);
    p.server.recv(id).unwrap().stop(vi(42)).unwrap();
    p.flush(Side::Server);
    assert_eq!(
        Pair::events(&mut p.client),
        vec![StreamEvent::Stopped {
            id,
            error_code: vi(42)
        }]
    );
    assert_eq!(
        p.client.send(id).unwrap().write(b"more"),
        Err(WriteError::Stopped(vi(42)))
    );
    // RFC 9000 §3.5: the RESET_STREAM carries the STOP_SENDING code.
    let now = p.now;
    let f = p.client.poll_control(now, p.rtt, 1200).unwrap();
    assert_eq!(
        f,
        StreamControl::ResetStream {
            id,
            error_code: vi(42),
            final_size: 4
        }
    );
}

#[test]
fn send_buffer_limits_block_and_wake() {
    let cfg = StreamsConfig {
        stream_send_buffer: 100,
        send_buffer: 150,
        ..StreamsConfig::default()
    };
    let mut c = StreamsState::new(Side::Client, cfg);
    c.set_peer_limits(StreamsState::new(Side::Server, StreamsConfig::default()).local_limits())
        .unwrap();
    let a = c.open(Dir::Uni).unwrap();
    let b = c.open(Dir::Uni).unwrap();
    assert_eq!(c.send(a).unwrap().write(&[0; 120]).unwrap(), 100);
    assert_eq!(c.send(a).unwrap().write(&[0; 1]), Err(WriteError::Blocked));
    assert_eq!(
        c.send(b).unwrap().write(&[0; 100]).unwrap(),
        50,
        "connection limit"
    );
    assert_eq!(c.send(b).unwrap().write(&[0; 1]), Err(WriteError::Blocked));
    let ch = c.poll_stream_data(1000).unwrap();
    assert_eq!(ch.id, a);
    c.on_stream_acked(a, 0, ch.data.len(), false);
    let ev = Pair::events(&mut c);
    assert!(ev.contains(&StreamEvent::Writable { id: a }));
    assert!(ev.contains(&StreamEvent::Writable { id: b }));
    assert_eq!(c.send(b).unwrap().write(&[0; 100]).unwrap(), 50);
}

#[test]
fn send_side_state_errors() {
    let mut c = client();
    let own_uni = c.open(Dir::Uni).unwrap();
    // RFC 9000 §19.8 / §19.4: STREAM or RESET_STREAM for a send-only stream.
    let e = c
        .on_stream_frame(own_uni, 0, Bytes::from_static(b"x"), false)
        .unwrap_err();
    assert_eq!(code(e), TransportErrorCode::STREAM_STATE_ERROR);
    let e = c.on_reset_stream(own_uni, vi(0), 0).unwrap_err();
    assert_eq!(code(e), TransportErrorCode::STREAM_STATE_ERROR);
    // RFC 9000 §19.13: STREAM_DATA_BLOCKED for a send-only stream.
    let e = c.on_stream_data_blocked(own_uni, 0).unwrap_err();
    assert_eq!(code(e), TransportErrorCode::STREAM_STATE_ERROR);
    // RFC 9000 §19.5 / §19.10: STOP_SENDING or MAX_STREAM_DATA for a receive-only stream.
    let peer_uni = StreamId::new(Side::Server, Dir::Uni, 0);
    let e = c.on_stop_sending(peer_uni, vi(0)).unwrap_err();
    assert_eq!(code(e.clone()), TransportErrorCode::STREAM_STATE_ERROR);
    assert_eq!(e.frame_type, Some(0x05));
    let e = c.on_max_stream_data(peer_uni, 10).unwrap_err();
    assert_eq!(code(e), TransportErrorCode::STREAM_STATE_ERROR);
    // Frames for a local stream not yet opened.
    let unopened = StreamId::new(Side::Client, Dir::Bi, 5);
    for e in [
        c.on_stream_frame(unopened, 0, Bytes::new(), false)
            .unwrap_err(),
        c.on_max_stream_data(unopened, 10).unwrap_err(),
        c.on_stop_sending(unopened, vi(0)).unwrap_err(),
        c.on_reset_stream(unopened, vi(0), 0).unwrap_err(),
    ] {
        assert_eq!(code(e), TransportErrorCode::STREAM_STATE_ERROR);
    }
}

#[test]
fn reset_from_ready_and_from_data_sent() {
    let mut c = client();
    let now = t0();
    let rtt = Duration::from_millis(10);
    // Ready → Reset Sent: nothing was sent, final size 0.
    let a = c.open(Dir::Bi).unwrap();
    c.send(a).unwrap().reset(vi(1)).unwrap();
    assert_eq!(
        c.poll_control(now, rtt, 1200),
        Some(StreamControl::ResetStream {
            id: a,
            error_code: vi(1),
            final_size: 0
        })
    );
    // Data Sent → Reset Sent: acks of old data are then ignored.
    let b = c.open(Dir::Uni).unwrap();
    c.send(b).unwrap().write(b"xyz").unwrap();
    c.send(b).unwrap().finish().unwrap();
    let ch = c.poll_stream_data(100).unwrap();
    assert!(ch.fin);
    assert_eq!(c.send(b).unwrap().state(), Some(SendState::DataSent));
    c.send(b).unwrap().reset(vi(2)).unwrap();
    c.on_stream_acked(b, 0, 3, true);
    c.on_stream_lost(b, 0, 3, true);
    assert_eq!(
        c.poll_stream_data(100),
        None,
        "no retransmission after a reset"
    );
    assert!(Pair::events(&mut c).is_empty(), "no Finished after a reset");
    assert_eq!(c.send(b).unwrap().state(), Some(SendState::ResetSent));
    // Data Recvd: too late to reset.
    let d = c.open(Dir::Uni).unwrap();
    c.send(d).unwrap().finish().unwrap();
    let ch = c.poll_stream_data(100).unwrap();
    c.send(d).unwrap().finish().unwrap_err();
    c.on_stream_acked(d, ch.offset, 0, true);
    assert!(c.send(d).is_none());
}

#[test]
fn available_events_are_coalesced() {
    let mut c = StreamsState::new(Side::Client, StreamsConfig::default());
    for n in 1..100 {
        c.on_max_streams(Dir::Uni, n).unwrap();
    }
    assert_eq!(
        Pair::events(&mut c),
        vec![StreamEvent::Available { dir: Dir::Uni }]
    );
    c.on_max_streams(Dir::Uni, 200).unwrap();
    assert_eq!(
        Pair::events(&mut c),
        vec![StreamEvent::Available { dir: Dir::Uni }]
    );
    assert_eq!(c.available(Dir::Uni), 200);
}

#[test]
fn poll_stream_frame_fits_the_space() {
    let mut c = client();
    let id = c.open(Dir::Uni).unwrap();
    c.send(id).unwrap().write(&[0; 5000]).unwrap();
    let ch = c.poll_stream_frame(1200).unwrap();
    let overhead = stream_frame_overhead(id, ch.offset, 1200);
    assert_eq!(ch.data.len() + overhead, 1200);
    let ch2 = c.poll_stream_frame(1200).unwrap();
    assert_eq!(ch2.offset, ch.data.len() as u64);
    assert!(ch2.data.len() + stream_frame_overhead(id, ch2.offset, 1200) <= 1200);
    // Too small for any header: nothing, and the stream stays scheduled.
    assert_eq!(c.poll_stream_frame(3), None);
    assert!(c.poll_stream_frame(100).is_some());
    c.check_invariants();
}

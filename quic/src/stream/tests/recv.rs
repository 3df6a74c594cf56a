//! Receive side: state machine (RFC 9000 §3.2), final size rules (§4.5), resets, STOP_SENDING.

use bytes::Bytes;

use super::*;

fn server() -> StreamsState {
    let mut s = StreamsState::new(Side::Server, StreamsConfig::default());
    s.set_peer_limits(StreamsState::new(Side::Client, StreamsConfig::default()).local_limits())
        .unwrap();
    Pair::events(&mut s);
    s
}

const C0: StreamId = StreamId::new(Side::Client, Dir::Bi, 0);
const CU0: StreamId = StreamId::new(Side::Client, Dir::Uni, 0);

#[test]
fn recv_size_known_data_recvd_data_read() {
    let mut s = server();
    s.on_stream_frame(CU0, 0, Bytes::from_static(b"hello "), false)
        .unwrap();
    assert_eq!(s.recv(CU0).unwrap().state(), Some(RecvState::Recv));
    assert_eq!(
        Pair::events(&mut s),
        vec![
            StreamEvent::Opened { id: CU0 },
            StreamEvent::Readable { id: CU0 }
        ]
    );
    // FIN with a gap: Size Known.
    s.on_stream_frame(CU0, 11, Bytes::from_static(b"!"), true)
        .unwrap();
    assert_eq!(s.recv(CU0).unwrap().state(), Some(RecvState::SizeKnown));
    s.on_stream_frame(CU0, 6, Bytes::from_static(b"world"), false)
        .unwrap();
    assert_eq!(s.recv(CU0).unwrap().state(), Some(RecvState::DataRecvd));
    let mut buf = [0u8; 64];
    let mut r = s.recv(CU0).unwrap();
    assert_eq!(r.read(&mut buf).unwrap(), Some(12));
    assert_eq!(&buf[..12], b"hello world!");
    assert_eq!(r.read(&mut buf).unwrap(), None, "end of stream");
    // Data Read on a unidirectional stream: nothing left, the stream is freed.
    assert!(!s.contains(CU0));
    assert!(s.recv(CU0).is_none());
    // A late retransmission for the closed stream is ignored.
    s.on_stream_frame(CU0, 0, Bytes::from_static(b"hello"), false)
        .unwrap();
}

#[test]
fn read_blocked_is_an_error_and_empty_fin_is_readable() {
    let mut s = server();
    s.on_stream_frame(CU0, 0, Bytes::new(), false).unwrap();
    let mut r = s.recv(CU0).unwrap();
    assert_eq!(r.read_chunk(10), Err(ReadError::Blocked));
    s.on_stream_frame(CU0, 0, Bytes::new(), true).unwrap();
    assert_eq!(s.recv(CU0).unwrap().read_chunk(10), Ok(None));
}

#[test]
fn final_size_errors() {
    // RFC 9000 §4.5: data beyond the final size.
    let mut s = server();
    s.on_stream_frame(CU0, 0, Bytes::from_static(b"abc"), true)
        .unwrap();
    let e = s
        .on_stream_frame(CU0, 2, Bytes::from_static(b"cd"), false)
        .unwrap_err();
    assert_eq!(code(e.clone()), TransportErrorCode::FINAL_SIZE_ERROR);
    assert_eq!(e.frame_type, Some(0x08));
    // A different final size.
    let mut s = server();
    s.on_stream_frame(CU0, 0, Bytes::from_static(b"abc"), true)
        .unwrap();
    let e = s
        .on_stream_frame(CU0, 0, Bytes::from_static(b"ab"), true)
        .unwrap_err();
    assert_eq!(code(e), TransportErrorCode::FINAL_SIZE_ERROR);
    // A final size below data already received.
    let mut s = server();
    s.on_stream_frame(CU0, 10, Bytes::from_static(b"abc"), false)
        .unwrap();
    let e = s
        .on_stream_frame(CU0, 0, Bytes::from_static(b"ab"), true)
        .unwrap_err();
    assert_eq!(code(e), TransportErrorCode::FINAL_SIZE_ERROR);
    // RESET_STREAM changing a known final size, or below received data.
    let mut s = server();
    s.on_stream_frame(CU0, 0, Bytes::from_static(b"abc"), true)
        .unwrap();
    let e = s.on_reset_stream(CU0, vi(1), 4).unwrap_err();
    assert_eq!(code(e.clone()), TransportErrorCode::FINAL_SIZE_ERROR);
    assert_eq!(e.frame_type, Some(0x04));
    let mut s = server();
    s.on_stream_frame(CU0, 0, Bytes::from_static(b"abcdef"), false)
        .unwrap();
    let e = s.on_reset_stream(CU0, vi(1), 5).unwrap_err();
    assert_eq!(code(e), TransportErrorCode::FINAL_SIZE_ERROR);
}

#[test]
fn stream_flow_control_errors() {
    let cfg = StreamsConfig {
        stream_receive_window: 100,
        ..StreamsConfig::default()
    };
    let mut s = StreamsState::new(Side::Server, cfg);
    // Exactly up to the window is fine.
    s.on_stream_frame(CU0, 99, Bytes::from_static(b"x"), false)
        .unwrap();
    // RFC 9000 §4.1: one byte beyond is a FLOW_CONTROL_ERROR.
    let e = s
        .on_stream_frame(CU0, 100, Bytes::from_static(b"x"), false)
        .unwrap_err();
    assert_eq!(code(e), TransportErrorCode::FLOW_CONTROL_ERROR);
    // A RESET_STREAM whose final size exceeds the window.
    let mut s = StreamsState::new(
        Side::Server,
        StreamsConfig {
            stream_receive_window: 100,
            ..StreamsConfig::default()
        },
    );
    let e = s.on_reset_stream(CU0, vi(0), 101).unwrap_err();
    assert_eq!(code(e), TransportErrorCode::FLOW_CONTROL_ERROR);
    // An offset beyond 2^62 - 1.
    let e = s
        .on_stream_frame(CU0, (1 << 62) - 1, Bytes::from_static(b"x"), false)
        .unwrap_err();
    assert_eq!(code(e), TransportErrorCode::FLOW_CONTROL_ERROR);
}

#[test]
fn connection_flow_control_error_and_reset_accounting() {
    let cfg = StreamsConfig {
        stream_receive_window: 1000,
        receive_window: 1500,
        ..StreamsConfig::default()
    };
    let mut s = StreamsState::new(Side::Server, cfg);
    let c4 = StreamId::new(Side::Client, Dir::Uni, 1);
    let c8 = StreamId::new(Side::Client, Dir::Uni, 2);
    s.on_stream_frame(CU0, 0, Bytes::from(vec![0; 500]), false)
        .unwrap();
    // RFC 9000 §4.5: a reset counts its whole final size against the connection.
    s.on_reset_stream(c4, vi(7), 900).unwrap();
    assert!(Pair::events(&mut s).contains(&StreamEvent::Reset {
        id: c4,
        error_code: vi(7)
    }));
    // 500 + 900 = 1400 used; 101 more exceeds 1500.
    let e = s
        .on_stream_frame(c8, 0, Bytes::from(vec![0; 101]), false)
        .unwrap_err();
    assert_eq!(code(e), TransportErrorCode::FLOW_CONTROL_ERROR);
}

#[test]
fn reset_states_and_read_reports_reset() {
    let mut s = server();
    s.on_stream_frame(CU0, 0, Bytes::from_static(b"abc"), false)
        .unwrap();
    s.on_reset_stream(CU0, vi(9), 10).unwrap();
    // Reset Recvd counts as closed for resource purposes: the event carries the code and the
    // unidirectional stream is freed without waiting for the application.
    assert!(Pair::events(&mut s).contains(&StreamEvent::Reset {
        id: CU0,
        error_code: vi(9)
    }));
    assert!(!s.contains(CU0));
    // Repeated reset with the same final size is harmless; a different one is not checked
    // after the stream is gone (RFC 9000 §4.5 makes that optional).
    s.on_reset_stream(CU0, vi(9), 10).unwrap();

    // On a bidirectional stream the receive half stays until the send half is done.
    s.on_stream_frame(C0, 0, Bytes::from_static(b"abc"), false)
        .unwrap();
    s.on_reset_stream(C0, vi(5), 3).unwrap();
    let mut r = s.recv(C0).unwrap();
    assert_eq!(r.state(), Some(RecvState::ResetRecvd));
    assert_eq!(r.read_chunk(10), Err(ReadError::Reset(vi(5))));
    assert_eq!(r.state(), Some(RecvState::ResetRead));
    assert_eq!(r.read_chunk(10), Err(ReadError::ClosedStream));
}

#[test]
fn reset_after_all_data_is_ignored() {
    let mut s = server();
    s.on_stream_frame(C0, 0, Bytes::from_static(b"abc"), true)
        .unwrap();
    s.on_reset_stream(C0, vi(1), 3).unwrap();
    let (data, fin) = read_all(&mut s, C0);
    assert_eq!((&data[..], fin), (&b"abc"[..], true));
}

#[test]
fn stop_sends_stop_sending_and_discards_but_counts() {
    let cfg = StreamsConfig {
        stream_receive_window: 100,
        ..StreamsConfig::default()
    };
    let mut s = StreamsState::new(Side::Server, cfg);
    s.on_stream_frame(CU0, 0, Bytes::from(vec![1; 60]), false)
        .unwrap();
    s.recv(CU0).unwrap().stop(vi(3)).unwrap();
    assert_eq!(s.recv(CU0).unwrap().buffered(), 0, "data discarded");
    assert_eq!(
        s.recv(CU0).unwrap().read_chunk(1),
        Err(ReadError::ClosedStream)
    );
    let now = t0();
    let f = s
        .poll_control(now, Duration::from_millis(10), 1200)
        .unwrap();
    assert_eq!(
        f,
        StreamControl::StopSending {
            id: CU0,
            error_code: vi(3)
        }
    );
    // RFC 9000 §3.5: later frames still count toward flow control.
    let e = s
        .on_stream_frame(CU0, 60, Bytes::from(vec![1; 41]), false)
        .unwrap_err();
    assert_eq!(code(e), TransportErrorCode::FLOW_CONTROL_ERROR);
}

#[test]
fn stop_then_reset_frees_and_loss_of_stop_sending_is_retransmitted_only_while_useful() {
    let mut s = server();
    s.on_stream_frame(CU0, 0, Bytes::from_static(b"abc"), false)
        .unwrap();
    s.recv(CU0).unwrap().stop(vi(3)).unwrap();
    let now = t0();
    let rtt = Duration::from_millis(10);
    let f = s.poll_control(now, rtt, 1200).unwrap();
    s.on_control_lost(&f);
    assert_eq!(s.poll_control(now, rtt, 1200), Some(f), "retransmitted");
    // The peer answers with RESET_STREAM: the stream is done.
    s.on_reset_stream(CU0, vi(3), 3).unwrap();
    assert!(!s.contains(CU0));
    s.on_control_lost(&f);
    assert_eq!(
        s.poll_control(now, rtt, 1200),
        Some(StreamControl::MaxStreams {
            dir: Dir::Uni,
            count: 101
        })
    );
    assert_eq!(
        s.poll_control(now, rtt, 1200),
        None,
        "no STOP_SENDING after Reset Recvd"
    );
    // The reset's bytes were released to the connection window.
    assert_eq!(s.recv_window.consumed(), 3);
}

#[test]
fn size_known_then_reset() {
    let mut s = server();
    s.on_stream_frame(C0, 5, Bytes::from_static(b"end"), true)
        .unwrap();
    assert_eq!(s.recv(C0).unwrap().state(), Some(RecvState::SizeKnown));
    s.on_reset_stream(C0, vi(8), 8).unwrap();
    assert_eq!(s.recv(C0).unwrap().state(), Some(RecvState::ResetRecvd));
    // The buffered out-of-order bytes went back to the connection window.
    assert_eq!(s.recv_window.consumed(), 8);
    // RFC 9000 §4.5: data beyond the final size is still an error after the reset.
    let e = s
        .on_stream_frame(C0, 8, Bytes::from_static(b"x"), false)
        .unwrap_err();
    assert_eq!(code(e), TransportErrorCode::FINAL_SIZE_ERROR);
}

#[test]
fn max_stream_data_not_sent_after_size_known() {
    let cfg = StreamsConfig {
        stream_receive_window: 100,
        ..StreamsConfig::default()
    };
    let mut s = StreamsState::new(Side::Server, cfg);
    s.on_stream_frame(CU0, 0, Bytes::from(vec![0; 90]), true)
        .unwrap();
    read_all(&mut s, CU0);
    let now = t0();
    let frames: Vec<_> =
        std::iter::from_fn(|| s.poll_control(now, Duration::from_millis(10), 1200)).collect();
    // RFC 9000 §13.3: no MAX_STREAM_DATA once the final size is known.
    assert!(frames
        .iter()
        .all(|f| !matches!(f, StreamControl::MaxStreamData { .. })));
}

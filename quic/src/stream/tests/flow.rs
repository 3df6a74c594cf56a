//! Flow control: send credit and *_BLOCKED signaling (RFC 9000 §4.1), window updates (§4.2)
//! and auto-tuning.

use bytes::Bytes;

use super::*;

fn cfg(stream_window: u64, conn_window: u64) -> StreamsConfig {
    StreamsConfig {
        stream_receive_window: stream_window,
        max_stream_receive_window: stream_window * 16,
        receive_window: conn_window,
        max_receive_window: conn_window * 16,
        ..StreamsConfig::default()
    }
}

fn controls(s: &mut StreamsState) -> Vec<StreamControl> {
    let now = t0();
    std::iter::from_fn(|| s.poll_control(now, Duration::from_millis(10), 1200)).collect()
}

#[test]
fn stream_credit_blocks_and_signals_once_per_limit() {
    let mut p = Pair::with_configs(StreamsConfig::default(), cfg(100, 10_000));
    let id = p.client.open(Dir::Uni).unwrap();
    p.client.send(id).unwrap().write(&[0; 250]).unwrap();
    let a = p.client.poll_stream_data(1000).unwrap();
    assert_eq!(
        a.data.len(),
        100,
        "RFC 9000 §4.1: no data beyond MAX_STREAM_DATA"
    );
    assert_eq!(p.client.poll_stream_data(1000), None);
    let c = controls(&mut p.client);
    assert_eq!(c, vec![StreamControl::StreamDataBlocked { id, limit: 100 }]);
    // Once per limit.
    p.client.send(id).unwrap().write(&[0; 1]).unwrap();
    assert_eq!(p.client.poll_stream_data(1000), None);
    assert!(controls(&mut p.client).is_empty());
    // Loss of the blocked frame while still blocked: repeated with the current limit.
    p.client.on_control_lost(&c[0]);
    assert_eq!(controls(&mut p.client), c);
    // Credit arrives: data flows again, and a lost STREAM_DATA_BLOCKED is no longer repeated.
    p.client.on_max_stream_data(id, 200).unwrap();
    p.client.on_max_stream_data(id, 150).unwrap(); // RFC 9000 §4.1: smaller limits ignored
    let b = p.client.poll_stream_data(1000).unwrap();
    assert_eq!((b.offset, b.data.len()), (100, 100));
    p.client.on_control_lost(&c[0]);
    assert_eq!(
        controls(&mut p.client),
        vec![StreamControl::StreamDataBlocked { id, limit: 200 }],
        "blocked again at the new limit"
    );
}

#[test]
fn connection_credit_blocks_and_data_blocked() {
    let mut p = Pair::with_configs(StreamsConfig::default(), cfg(1000, 150));
    let a = p.client.open(Dir::Uni).unwrap();
    let b = p.client.open(Dir::Uni).unwrap();
    p.client.send(a).unwrap().write(&[0; 100]).unwrap();
    p.client.send(b).unwrap().write(&[0; 100]).unwrap();
    let mut sent = 0;
    while let Some(c) = p.client.poll_stream_data(1000) {
        sent += c.data.len();
    }
    assert_eq!(sent, 150, "RFC 9000 §4.1: no data beyond MAX_DATA");
    assert_eq!(
        controls(&mut p.client),
        vec![StreamControl::DataBlocked(150)]
    );
    p.client.on_max_data(200);
    let c = p.client.poll_stream_data(1000).unwrap();
    assert_eq!(c.data.len(), 50);
    p.client.check_invariants();
}

#[test]
fn window_update_after_half_consumed() {
    let mut p = Pair::with_configs(StreamsConfig::default(), cfg(1000, 100_000));
    let id = p.client.open(Dir::Uni).unwrap();
    p.client.send(id).unwrap().write(&[0; 1000]).unwrap();
    p.flush(Side::Client);
    let mut r = p.server.recv(id).unwrap();
    r.read_chunk(400).unwrap();
    assert!(
        controls(&mut p.server).is_empty(),
        "less than half consumed"
    );
    p.server.recv(id).unwrap().read_chunk(200).unwrap();
    let c = controls(&mut p.server);
    // First update: no auto-tuning yet, the window stays 1000 past what was consumed.
    assert_eq!(c, vec![StreamControl::MaxStreamData { id, max: 1600 }]);
    // A lost update is repeated with the current value.
    p.server.on_control_lost(&c[0]);
    assert_eq!(controls(&mut p.server), c);
}

#[test]
fn lost_max_data_is_resent_only_if_latest() {
    let mut s = StreamsState::new(Side::Server, cfg(1000, 1000));
    let id = StreamId::new(Side::Client, Dir::Uni, 0);
    s.on_stream_frame(id, 0, Bytes::from(vec![0; 1000]), false)
        .unwrap();
    let now = t0();
    let rtt = Duration::from_millis(10);
    let (_, _) = read_all(&mut s, id);
    let frames: Vec<_> = std::iter::from_fn(|| s.poll_control(now, rtt, 1200)).collect();
    let md = *frames
        .iter()
        .find(|f| matches!(f, StreamControl::MaxData(_)))
        .unwrap();
    assert_eq!(md, StreamControl::MaxData(2000));
    s.on_control_lost(&md);
    assert_eq!(s.poll_control(now, rtt, 1200), Some(md));
    s.on_control_lost(&StreamControl::MaxData(1500)); // an older one
    assert_eq!(s.poll_control(now, rtt, 1200), None);
}

/// Streams 10 windows of data through a stream, reading each time after `read_delay`, and
/// returns the final stream window.
fn window_after(read_delay: Duration) -> u64 {
    let mut p = Pair::with_configs(StreamsConfig::default(), cfg(1000, 1_000_000));
    p.rtt = Duration::from_millis(100);
    let id = p.client.open(Dir::Uni).unwrap();
    for _ in 0..10 {
        p.client.send(id).unwrap().write(&[0; 4000]).unwrap();
        p.flush(Side::Client);
        p.now += read_delay;
        read_all(&mut p.server, id);
        p.flush(Side::Server);
    }
    p.server.streams[&id].recv.as_ref().unwrap().window.window()
}

#[test]
fn autotune_grows_window_when_reads_are_fast() {
    // Updates every 10 ms with a 100 ms RTT: the window is the bottleneck; it doubles per
    // update up to the maximum (16 × 1000).
    assert_eq!(window_after(Duration::from_millis(10)), 16_000);
}

#[test]
fn autotune_keeps_window_when_reads_are_slow() {
    // Updates every 500 ms (> 2 RTT): the reader is the bottleneck; no growth.
    assert_eq!(window_after(Duration::from_millis(500)), 1000);
}

#[test]
fn stream_window_growth_raises_connection_window() {
    let mut p = Pair::with_configs(StreamsConfig::default(), cfg(1000, 1000));
    let id = p.client.open(Dir::Uni).unwrap();
    for _ in 0..6 {
        p.client.send(id).unwrap().write(&[0; 4000]).unwrap();
        p.flush(Side::Client);
        p.now += Duration::from_millis(1);
        read_all(&mut p.server, id);
        p.flush(Side::Server);
    }
    let stream_window = p.server.streams[&id].recv.as_ref().unwrap().window.window();
    assert!(stream_window > 1000);
    // Kept at 1.5 × the stream window, within its own maximum (16 × 1000).
    assert!(p.server.recv_window.window() >= (stream_window * 3 / 2).min(16_000));
    p.server.check_invariants();
    p.client.check_invariants();
}

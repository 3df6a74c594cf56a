//! Scheduling: round-robin fairness and urgency levels.

use super::*;

fn client_with(n: usize) -> (StreamsState, Vec<StreamId>) {
    let mut c = StreamsState::new(Side::Client, StreamsConfig::default());
    c.set_peer_limits(StreamsState::new(Side::Server, StreamsConfig::default()).local_limits())
        .unwrap();
    let ids = (0..n)
        .map(|_| {
            let id = c.open(Dir::Uni).unwrap();
            c.send(id).unwrap().write(&[0; 10_000]).unwrap();
            id
        })
        .collect();
    (c, ids)
}

#[test]
fn round_robin_is_fair() {
    let (mut c, ids) = client_with(3);
    let order: Vec<StreamId> = (0..9)
        .map(|_| c.poll_stream_data(100).unwrap().id)
        .collect();
    assert_eq!(order, [&ids[..], &ids[..], &ids[..]].concat());
    // Bytes are shared evenly over many rounds.
    let mut per = std::collections::HashMap::new();
    for _ in 0..300 {
        let ch = c.poll_stream_data(10).unwrap();
        *per.entry(ch.id).or_insert(0) += ch.data.len();
    }
    assert!(per.values().all(|&v| v == 1000), "{per:?}");
}

#[test]
fn urgency_first_then_sequential_within_level() {
    let (mut c, ids) = client_with(4);
    c.send(ids[3]).unwrap().set_priority(Priority {
        urgency: 0,
        incremental: false,
    });
    c.send(ids[2]).unwrap().set_priority(Priority {
        urgency: 1,
        incremental: false,
    });
    c.send(ids[1]).unwrap().set_priority(Priority {
        urgency: 1,
        incremental: false,
    });
    // The most urgent stream drains first, alone.
    for _ in 0..10 {
        assert_eq!(c.poll_stream_data(1000).unwrap().id, ids[3]);
    }
    // Non-incremental streams of one urgency go one after the other, in ID order.
    for _ in 0..10 {
        assert_eq!(c.poll_stream_data(1000).unwrap().id, ids[1]);
    }
    for _ in 0..10 {
        assert_eq!(c.poll_stream_data(1000).unwrap().id, ids[2]);
    }
    assert_eq!(c.poll_stream_data(1000).unwrap().id, ids[0]);
    assert_eq!(c.poll_stream_data(1000).unwrap().id, ids[0]);
}

#[test]
fn retransmissions_requeue_a_drained_stream() {
    let (mut c, ids) = client_with(1);
    let mut chunks = Vec::new();
    while let Some(ch) = c.poll_stream_data(5000) {
        chunks.push(ch);
    }
    assert_eq!(chunks.len(), 2);
    c.on_stream_lost(ids[0], chunks[0].offset, chunks[0].data.len(), false);
    let again = c.poll_stream_data(5000).unwrap();
    assert_eq!((again.offset, again.data.len()), (0, 5000));
    c.check_invariants();
}

#[test]
fn round_robin_survives_full_packets() {
    // A packet is filled by polling until nothing fits: the stream polled when the packet is
    // already full must keep its turn, or two streams would never alternate.
    let (mut c, ids) = client_with(2);
    let mut order = Vec::new();
    for _ in 0..6 {
        let space = 1200;
        let ch = c.poll_stream_frame(space).unwrap();
        let used = ch.data.len() + crate::stream::stream_frame_overhead(ch.id, ch.offset, space);
        assert!(c.poll_stream_frame(space - used).is_none());
        order.push(ch.id);
    }
    assert_eq!(order, [ids[0], ids[1], ids[0], ids[1], ids[0], ids[1]]);
    c.check_invariants();
}

#![no_main]
//! The stream layer driven by an arbitrary sequence of application calls, peer frames, and
//! acknowledgments or losses of what was sent. It must never panic, and must keep its
//! invariants: flow control is never exceeded in either direction, retransmitted bytes are the
//! bytes written, reads return the peer's bytes in order, and the internal accounting holds.
use std::collections::HashMap;
use std::time::{Duration, Instant};

use arbitrary::Arbitrary;
use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use quic::stream::{
    stream_frame_overhead, Dir, Priority, Side, StreamChunk, StreamControl, StreamEvent, StreamId,
    StreamLimits, StreamsConfig, StreamsState,
};
use quic::VarInt;

#[derive(Arbitrary, Debug)]
enum Op {
    Open {
        uni: bool,
    },
    Write {
        stream: u8,
        len: u16,
    },
    WriteChunk {
        stream: u8,
        len: u16,
    },
    Finish {
        stream: u8,
    },
    Reset {
        stream: u8,
        code: u16,
    },
    Read {
        stream: u8,
        max: u16,
    },
    ReadInto {
        stream: u8,
        len: u16,
    },
    Stop {
        stream: u8,
        code: u16,
    },
    Priority {
        stream: u8,
        urgency: u8,
        incremental: bool,
    },
    PeerStream {
        id: u16,
        offset: u32,
        len: u16,
        fin: bool,
    },
    PeerReset {
        id: u16,
        code: u16,
        final_size: u32,
    },
    PeerStop {
        id: u16,
        code: u16,
    },
    PeerMaxData {
        max: u32,
    },
    PeerMaxStreamData {
        id: u16,
        max: u32,
    },
    PeerMaxStreams {
        uni: bool,
        count: u64,
    },
    PeerDataBlocked {
        limit: u32,
    },
    PeerStreamDataBlocked {
        id: u16,
        limit: u32,
    },
    PeerStreamsBlocked {
        uni: bool,
        limit: u64,
    },
    PollData {
        max: u16,
    },
    PollFrame {
        space: u16,
    },
    PollControl {
        max: u8,
        advance_ms: u16,
    },
    AckData {
        pick: u8,
    },
    LoseData {
        pick: u8,
    },
    AckControl {
        pick: u8,
    },
    LoseControl {
        pick: u8,
    },
}

#[derive(Arbitrary, Debug)]
struct Input {
    server: bool,
    peer_limits: [u16; 6],
    windows: [u16; 4],
    ops: Vec<Op>,
}

/// The byte the writer of `id` puts at `offset`: lets every read and every retransmission be
/// checked without storing the data.
fn byte_at(id: StreamId, offset: u64) -> u8 {
    (offset.wrapping_mul(31) ^ id.into_inner().wrapping_mul(7)) as u8
}

fn pattern(id: StreamId, offset: u64, len: usize) -> Vec<u8> {
    (0..len as u64).map(|i| byte_at(id, offset + i)).collect()
}

fn dir(uni: bool) -> Dir {
    if uni {
        Dir::Uni
    } else {
        Dir::Bi
    }
}

fuzz_target!(|input: Input| {
    let side = if input.server {
        Side::Server
    } else {
        Side::Client
    };
    let w = input.windows.map(u64::from);
    let config = StreamsConfig {
        max_concurrent_bidi_streams: 8,
        max_concurrent_uni_streams: 8,
        stream_receive_window: w[0] + 1,
        max_stream_receive_window: w[0] + 1 + w[1] * 4,
        receive_window: w[2] + 1,
        max_receive_window: w[2] + 1 + w[3] * 4,
        stream_send_buffer: 64 * 1024,
        send_buffer: 256 * 1024,
    };
    let l = input.peer_limits.map(u64::from);
    let peer = StreamLimits {
        initial_max_data: l[0] * 4,
        initial_max_stream_data_bidi_local: l[1],
        initial_max_stream_data_bidi_remote: l[2],
        initial_max_stream_data_uni: l[3],
        initial_max_streams_bidi: l[4] % 16,
        initial_max_streams_uni: l[5] % 16,
    };
    let mut s = StreamsState::new(side, config);
    s.set_peer_limits(peer).unwrap();

    #[allow(clippy::disallowed_methods)]
    let mut now = Instant::now();
    let rtt = Duration::from_millis(50);
    // Streams the application knows about, in order of appearance.
    let mut known: Vec<StreamId> = Vec::new();
    // Per stream: bytes written so far (the next write's offset) and bytes read so far.
    let mut written: HashMap<StreamId, u64> = HashMap::new();
    let mut read: HashMap<StreamId, u64> = HashMap::new();
    // What the peer allowed us: connection limit, per-stream limits, largest offsets sent.
    let mut peer_max_data = peer.initial_max_data;
    let mut peer_max_stream: HashMap<StreamId, u64> = HashMap::new();
    let mut sent_end: HashMap<StreamId, u64> = HashMap::new();
    let mut in_flight: Vec<StreamChunk> = Vec::new();
    let mut controls: Vec<StreamControl> = Vec::new();

    let pick =
        |known: &Vec<StreamId>, i: u8| known.get(usize::from(i) % known.len().max(1)).copied();
    let peer_id = |raw: u16| StreamId::from_u64(u64::from(raw)).unwrap();

    for op in input.ops {
        let result = match op {
            Op::Open { uni } => {
                if let Some(id) = s.open(dir(uni)) {
                    known.push(id);
                }
                Ok(())
            }
            Op::Write { stream, len } | Op::WriteChunk { stream, len } => {
                if let Some(id) = pick(&known, stream) {
                    let off = written.get(&id).copied().unwrap_or(0);
                    let data = pattern(id, off, usize::from(len));
                    let res = match s.send(id) {
                        Some(mut st) if matches!(op, Op::Write { .. }) => st.write(&data),
                        Some(mut st) => st.write_chunk(Bytes::from(data)),
                        None => Ok(0),
                    };
                    if let Ok(n) = res {
                        assert!(n <= usize::from(len));
                        *written.entry(id).or_default() += n as u64;
                    }
                }
                Ok(())
            }
            Op::Finish { stream } => {
                if let Some(mut st) = pick(&known, stream).and_then(|id| s.send(id)) {
                    let _ = st.finish();
                }
                Ok(())
            }
            Op::Reset { stream, code } => {
                if let Some(mut st) = pick(&known, stream).and_then(|id| s.send(id)) {
                    let _ = st.reset(VarInt::from(code));
                }
                Ok(())
            }
            Op::Read { stream, max } => {
                if let Some(id) = pick(&known, stream) {
                    if let Some(mut r) = s.recv(id) {
                        if let Ok(Some(chunk)) = r.read_chunk(usize::from(max)) {
                            assert!(chunk.len() <= usize::from(max));
                            let off = read.entry(id).or_default();
                            assert_eq!(&chunk[..], &pattern(id, *off, chunk.len())[..]);
                            *off += chunk.len() as u64;
                        }
                    }
                }
                Ok(())
            }
            Op::ReadInto { stream, len } => {
                if let Some(id) = pick(&known, stream) {
                    if let Some(mut r) = s.recv(id) {
                        let mut buf = vec![0; usize::from(len)];
                        if let Ok(Some(n)) = r.read(&mut buf) {
                            let off = read.entry(id).or_default();
                            assert_eq!(&buf[..n], &pattern(id, *off, n)[..]);
                            *off += n as u64;
                        }
                    }
                }
                Ok(())
            }
            Op::Stop { stream, code } => {
                if let Some(mut r) = pick(&known, stream).and_then(|id| s.recv(id)) {
                    let _ = r.stop(VarInt::from(code));
                }
                Ok(())
            }
            Op::Priority {
                stream,
                urgency,
                incremental,
            } => {
                if let Some(mut st) = pick(&known, stream).and_then(|id| s.send(id)) {
                    st.set_priority(Priority {
                        urgency: urgency % 8,
                        incremental,
                    });
                }
                Ok(())
            }
            Op::PeerStream {
                id,
                offset,
                len,
                fin,
            } => {
                let id = peer_id(id);
                let data = Bytes::from(pattern(id, u64::from(offset), usize::from(len)));
                s.on_stream_frame(id, u64::from(offset), data, fin)
            }
            Op::PeerReset {
                id,
                code,
                final_size,
            } => s.on_reset_stream(peer_id(id), VarInt::from(code), u64::from(final_size)),
            Op::PeerStop { id, code } => s.on_stop_sending(peer_id(id), VarInt::from(code)),
            Op::PeerMaxData { max } => {
                peer_max_data = peer_max_data.max(u64::from(max));
                s.on_max_data(u64::from(max));
                Ok(())
            }
            Op::PeerMaxStreamData { id, max } => {
                let id = peer_id(id);
                let r = s.on_max_stream_data(id, u64::from(max));
                if r.is_ok() {
                    let e = peer_max_stream.entry(id).or_default();
                    *e = (*e).max(u64::from(max));
                }
                r
            }
            Op::PeerMaxStreams { uni, count } => s.on_max_streams(dir(uni), count % (1 << 61)),
            Op::PeerDataBlocked { limit } => {
                s.on_data_blocked(u64::from(limit));
                Ok(())
            }
            Op::PeerStreamDataBlocked { id, limit } => {
                s.on_stream_data_blocked(peer_id(id), u64::from(limit))
            }
            Op::PeerStreamsBlocked { uni, limit } => {
                s.on_streams_blocked(dir(uni), limit % (1 << 61))
            }
            Op::PollData { .. } | Op::PollFrame { .. } => {
                let polled = match op {
                    Op::PollData { max } => s
                        .poll_stream_data(usize::from(max))
                        .inspect(|c| assert!(c.data.len() <= usize::from(max))),
                    Op::PollFrame { space } => {
                        let space = usize::from(space);
                        s.poll_stream_frame(space).inspect(|c| {
                            let overhead = stream_frame_overhead(c.id, c.offset, space);
                            assert!(c.data.len() + overhead <= space, "frame does not fit");
                        })
                    }
                    _ => None,
                };
                if let Some(chunk) = polled {
                    let end = chunk.offset + chunk.data.len() as u64;
                    // Retransmissions and new data carry exactly the bytes written.
                    assert_eq!(
                        &chunk.data[..],
                        &pattern(chunk.id, chunk.offset, chunk.data.len())[..]
                    );
                    assert!(end <= written.get(&chunk.id).copied().unwrap_or(0));
                    // RFC 9000 §4.1: never beyond the stream's credit...
                    let initial = stream_credit(side, &peer, chunk.id);
                    let limit = peer_max_stream
                        .get(&chunk.id)
                        .copied()
                        .unwrap_or(0)
                        .max(initial);
                    assert!(
                        end <= limit,
                        "stream flow control exceeded: {end} > {limit}"
                    );
                    let e = sent_end.entry(chunk.id).or_default();
                    *e = (*e).max(end);
                    // ...nor the connection's.
                    let total: u64 = sent_end.values().sum();
                    assert!(total <= peer_max_data, "connection flow control exceeded");
                    in_flight.push(chunk);
                }
                Ok(())
            }
            Op::PollControl { max, advance_ms } => {
                now += Duration::from_millis(u64::from(advance_ms));
                if let Some(f) = s.poll_control(now, rtt, usize::from(max)) {
                    assert!(f.encoded_len() <= usize::from(max));
                    controls.push(f);
                }
                Ok(())
            }
            Op::AckData { pick } => {
                if !in_flight.is_empty() {
                    let c = in_flight.swap_remove(usize::from(pick) % in_flight.len());
                    s.on_stream_acked(c.id, c.offset, c.data.len(), c.fin);
                }
                Ok(())
            }
            Op::LoseData { pick } => {
                if !in_flight.is_empty() {
                    let c = in_flight.swap_remove(usize::from(pick) % in_flight.len());
                    s.on_stream_lost(c.id, c.offset, c.data.len(), c.fin);
                }
                Ok(())
            }
            Op::AckControl { pick } => {
                if !controls.is_empty() {
                    let f = controls.swap_remove(usize::from(pick) % controls.len());
                    s.on_control_acked(&f);
                }
                Ok(())
            }
            Op::LoseControl { pick } => {
                if !controls.is_empty() {
                    let f = controls.swap_remove(usize::from(pick) % controls.len());
                    s.on_control_lost(&f);
                }
                Ok(())
            }
        };
        if result.is_err() {
            // A connection error: the connection closes; nothing more reaches the streams.
            return;
        }
        s.check_invariants();
        while let Some(ev) = s.poll_event() {
            if let StreamEvent::Opened { id } = ev {
                assert_ne!(id.initiator(), side);
                known.push(id);
            }
        }
    }
});

/// The send credit the peer's transport parameters give stream `id` (RFC 9000 §18.2).
fn stream_credit(side: Side, peer: &StreamLimits, id: StreamId) -> u64 {
    match (id.dir(), id.initiator() == side) {
        (Dir::Bi, true) => peer.initial_max_stream_data_bidi_remote,
        (Dir::Bi, false) => peer.initial_max_stream_data_bidi_local,
        (Dir::Uni, _) => peer.initial_max_stream_data_uni,
    }
}

//! Property tests: reassembly of arbitrarily chunked, shuffled and duplicated data, and send
//! buffer accounting under arbitrary acknowledgment and loss orders.

use std::collections::BTreeSet;

use bytes::Bytes;
use proptest::prelude::*;

use crate::stream::assembler::Assembler;
use crate::stream::range_set::RangeSet;
use crate::stream::send::{NextChunk, Send};

/// Splits `data` at `cuts` into `(offset, chunk)` pieces.
fn pieces(data: &[u8], cuts: &[usize]) -> Vec<(u64, Bytes)> {
    let mut points: Vec<usize> = cuts.iter().map(|c| c % (data.len() + 1)).collect();
    points.push(0);
    points.push(data.len());
    points.sort_unstable();
    points.dedup();
    points
        .windows(2)
        .map(|w| (w[0] as u64, Bytes::copy_from_slice(&data[w[0]..w[1]])))
        .collect()
}

proptest! {
    #[test]
    fn reassembly_is_exact(
        data in proptest::collection::vec(any::<u8>(), 0..2000),
        cuts in proptest::collection::vec(any::<usize>(), 0..40),
        overlaps in proptest::collection::vec((any::<usize>(), 1usize..300), 0..20),
        order in proptest::collection::vec(any::<u32>(), 0..80),
        read_sizes in proptest::collection::vec(1usize..500, 1..10),
    ) {
        let mut frames = pieces(&data, &cuts);
        // Arbitrary overlapping retransmissions.
        for (start, len) in overlaps {
            if data.is_empty() { break; }
            let s = start % data.len();
            let e = (s + len).min(data.len());
            frames.push((s as u64, Bytes::copy_from_slice(&data[s..e])));
        }
        // Duplicate some and shuffle deterministically from `order`.
        let dups: Vec<_> = frames.iter().step_by(3).cloned().collect();
        frames.extend(dups);
        for (i, k) in order.iter().enumerate() {
            let n = frames.len();
            if n > 1 { frames.swap(i % n, *k as usize % n); }
        }
        let mut a = Assembler::default();
        let mut out = Vec::new();
        for (i, (off, chunk)) in frames.into_iter().enumerate() {
            a.insert(off, chunk);
            a.check_invariants();
            prop_assert!(a.buffered() <= data.len() as u64);
            // Interleave reads.
            if let Some(b) = a.read(read_sizes[i % read_sizes.len()]) {
                out.extend_from_slice(&b);
            }
        }
        while let Some(b) = a.read(usize::MAX) {
            out.extend_from_slice(&b);
        }
        prop_assert_eq!(out, data);
        prop_assert_eq!(a.buffered(), 0);
    }

    #[test]
    fn range_set_matches_model(ops in proptest::collection::vec((any::<bool>(), 0u64..200, 0u64..40), 0..60)) {
        let mut s = RangeSet::new();
        let mut model = BTreeSet::new();
        for (ins, start, len) in ops {
            if ins {
                s.insert(start..start + len);
                model.extend(start..start + len);
            } else {
                s.remove(start..start + len);
                for v in start..start + len { model.remove(&v); }
            }
            let mut prev_end = None;
            for r in s.iter() {
                prop_assert!(r.start < r.end);
                if let Some(e) = prev_end { prop_assert!(r.start > e, "not merged"); }
                prev_end = Some(r.end);
            }
            prop_assert_eq!(s.total(), model.len() as u64);
            for v in 0..260 { prop_assert_eq!(s.contains(v), model.contains(&v)); }
        }
    }

    /// Whatever the order of acknowledgments and losses, every byte is eventually delivered
    /// (acknowledged) exactly once as far as the receiver is concerned, retransmissions carry
    /// the right bytes, and memory is freed once everything is acknowledged.
    #[test]
    fn send_buffer_ack_loss_orders(
        writes in proptest::collection::vec(1usize..400, 1..10),
        decisions in proptest::collection::vec((any::<u8>(), any::<u16>()), 1..200),
        max_len in 1u64..300,
    ) {
        let total: usize = writes.iter().sum();
        let data: Vec<u8> = (0..total).map(|i| (i * 31 % 251) as u8).collect();
        let mut send = Send::new(u64::MAX / 2);
        let mut pos = 0;
        for (i, w) in writes.iter().enumerate() {
            if i % 2 == 0 {
                send.buf.write(&data[pos..pos + w]);
            } else {
                send.buf.write_chunk(Bytes::copy_from_slice(&data[pos..pos + w]));
            }
            pos += w;
        }
        send.finish();
        let mut in_flight: Vec<(u64, usize, bool)> = Vec::new();
        let mut delivered = vec![false; total];
        let mut fin_acked = false;
        let mut steps = 0;
        let mut d = decisions.iter().cycle();
        loop {
            steps += 1;
            prop_assert!(steps < 100_000, "no progress");
            let &(kind, pick) = d.next().unwrap();
            // Send something, or ack/lose something in flight. After many steps, only acks,
            // so that every run terminates.
            let mut kind = kind % 3;
            if steps > 2_000 && kind == 2 {
                kind = 1;
            }
            if kind == 0 || in_flight.is_empty() {
                match send.next_chunk(max_len, u64::MAX) {
                    NextChunk::Data { offset, data: bytes, fin, .. } => {
                        prop_assert_eq!(&bytes[..], &data[offset as usize..offset as usize + bytes.len()]);
                        in_flight.push((offset, bytes.len(), fin));
                        continue;
                    }
                    _ if in_flight.is_empty() => break,
                    _ => kind = 1,
                }
            }
            let (offset, len, fin) = in_flight.swap_remove(pick as usize % in_flight.len());
            if kind == 1 {
                send.on_ack(offset..offset + len as u64, fin);
                for b in &mut delivered[offset as usize..offset as usize + len] { *b = true; }
                fin_acked |= fin;
            } else {
                send.on_lost(offset..offset + len as u64, fin);
            }
            send.check_invariants();
        }
        prop_assert!(delivered.iter().all(|&b| b), "some byte never acknowledged");
        prop_assert!(fin_acked);
        prop_assert_eq!(send.buf.buffered(), 0, "memory not released");
        prop_assert_eq!(send.state(), crate::stream::SendState::DataRecvd);
    }
}

mod pair {
    use proptest::prelude::*;

    use crate::stream::tests::{deliver_control, read_all, Pair};
    use crate::stream::{Dir, Side, StreamEvent, StreamsConfig};

    /// One direction of a lossy link: every frame is lost or delivered (and acknowledged)
    /// according to `drops`. Returns the number of frames handled.
    fn lossy_flush(p: &mut Pair, from: Side, drops: &mut impl Iterator<Item = bool>) -> usize {
        let (now, rtt) = (p.now, p.rtt);
        let (a, b) = p.side(from);
        let mut n = 0;
        while let Some(f) = a.poll_control(now, rtt, 1200) {
            n += 1;
            if drops.next().unwrap_or(false) {
                a.on_control_lost(&f);
            } else {
                deliver_control(b, f).unwrap();
                a.on_control_acked(&f);
            }
        }
        for _ in 0..64 {
            let Some(c) = a.poll_stream_data(300) else {
                break;
            };
            n += 1;
            if drops.next().unwrap_or(false) {
                a.on_stream_lost(c.id, c.offset, c.data.len(), c.fin);
            } else {
                b.on_stream_frame(c.id, c.offset, c.data.clone(), c.fin)
                    .unwrap();
                a.on_stream_acked(c.id, c.offset, c.data.len(), c.fin);
            }
        }
        n
    }

    proptest! {
        /// Several streams over a lossy link with small windows: every byte arrives exactly
        /// once and in order, lost control frames (MAX_STREAM_DATA, MAX_DATA, MAX_STREAMS) are
        /// repeated so nothing deadlocks, and all state is freed at the end.
        #[test]
        fn lossy_transfer_delivers_everything(
            sizes in proptest::collection::vec(0usize..3000, 1..6),
            drops in proptest::collection::vec(proptest::bool::weighted(0.3), 1..500),
        ) {
            let cfg = StreamsConfig {
                max_concurrent_uni_streams: 2,
                stream_receive_window: 500,
                max_stream_receive_window: 4000,
                receive_window: 800,
                max_receive_window: 8000,
                ..StreamsConfig::default()
            };
            let mut p = Pair::new(cfg);
            let mut drops = drops.into_iter().cycle().take(20_000);
            let payload = |i: usize, n: usize| -> Vec<u8> { (0..n).map(|j| (i * 7 + j) as u8).collect() };
            let mut to_open: Vec<usize> = (0..sizes.len()).rev().collect();
            let mut pending_writes: Vec<(crate::stream::StreamId, Vec<u8>, usize)> = Vec::new();
            let mut received: std::collections::HashMap<crate::stream::StreamId, Vec<u8>> = Default::default();
            let mut finished = 0;
            for round in 0..5_000 {
                prop_assert!(round < 4_999, "transfer stalled");
                while let Some(&i) = to_open.last() {
                    let Some(id) = p.client.open(Dir::Uni) else { break };
                    to_open.pop();
                    pending_writes.push((id, payload(i, sizes[i]), 0));
                }
                for (id, data, pos) in &mut pending_writes {
                    let Some(mut s) = p.client.send(*id) else { continue };
                    if *pos < data.len() {
                        if let Ok(n) = s.write(&data[*pos..]) { *pos += n; }
                    }
                    if *pos == data.len() { let _ = s.finish(); }
                }
                p.now += std::time::Duration::from_millis(5);
                let moved = lossy_flush(&mut p, Side::Client, &mut drops)
                    + lossy_flush(&mut p, Side::Server, &mut drops);
                while let Some(ev) = p.server.poll_event() {
                    if let StreamEvent::Readable { id } = ev {
                        let (data, fin) = read_all(&mut p.server, id);
                        let buf = received.entry(id).or_default();
                        buf.extend_from_slice(&data);
                        if fin { finished += 1; }
                    }
                }
                // Reads above may have freed window; fire updates in the next round.
                p.client.check_invariants();
                p.server.check_invariants();
                if finished == sizes.len() && moved == 0 && p.client.is_empty() {
                    break;
                }
            }
            prop_assert_eq!(finished, sizes.len());
            for (id, data, _) in &pending_writes {
                prop_assert_eq!(&received[id], data);
            }
            prop_assert!(p.server.is_empty(), "server kept stream state");
        }
    }
}

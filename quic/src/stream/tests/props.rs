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

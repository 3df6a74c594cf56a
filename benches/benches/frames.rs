//! Frame encode and decode cost for a typical 1-RTT payload, against raw AEAD sealing.
//!
//! The payload is what a bulk sender's packet usually carries: one ACK frame with three ranges
//! and one STREAM frame with 1,100 bytes of data (about 1,120 bytes in all).
//!
//! - `encode/headers`: the send path: [`AckEncoder`] writes the ACK from an ascending range set,
//!   [`StreamHeader`] writes the STREAM header and the data is copied after it;
//! - `encode/frames`: the same payload through [`Frame::encode`] on prebuilt frames;
//! - `decode`: [`FrameIter`] over the payload, walking the ACK ranges and touching the STREAM
//!   data slice (zero-copy, so its bytes are not read);
//! - `baseline/aes128gcm_seal_1150`: `ring`'s `seal_in_place_separate_tag` of a 1,150-byte
//!   payload, the floor per-packet work is measured against (frame cost / seal = ratio).
use std::hint::black_box;
use std::ops::Range;

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use quic::frame::{AckEncoder, Frame, FrameIter, Stream, StreamHeader};
use quic::packet::PacketType;
use quic::VarInt;
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_128_GCM};

const STREAM_DATA_LEN: usize = 1100;
const SEAL_LEN: usize = 1150;
const STREAM_ID: u32 = 4;
const STREAM_OFFSET: u64 = 1_000_000;
const ACK_DELAY: u64 = 25;

/// Three ranges, ascending, as an ack-range tracker stores them.
fn ack_ranges() -> Vec<Range<u64>> {
    vec![10_000..10_020, 10_022..10_060, 10_061..10_100]
}

fn stream_data() -> Bytes {
    (0..STREAM_DATA_LEN)
        .map(|i| i as u8)
        .collect::<Vec<u8>>()
        .into()
}

/// Writes the payload the way the send path does.
fn encode_payload(ranges: &[Range<u64>], data: &[u8], out: &mut Vec<u8>) {
    let ack = AckEncoder::ascending(ranges, ACK_DELAY, None).expect("valid ranges");
    ack.encode(out);
    let header = StreamHeader {
        id: VarInt::from_u32(STREAM_ID),
        offset: STREAM_OFFSET,
        len: data.len(),
        fin: false,
    };
    header.encode(true, out);
    out.extend_from_slice(data);
}

fn frames(c: &mut Criterion) {
    let ranges = ack_ranges();
    let data = stream_data();
    let mut payload = Vec::with_capacity(1500);
    encode_payload(&ranges, &data, &mut payload);
    let payload = Bytes::from(payload);
    let prebuilt = [
        Frame::Ack(
            AckEncoder::ascending(&ranges, ACK_DELAY, None)
                .unwrap()
                .to_ack(),
        ),
        Frame::Stream(Stream {
            id: VarInt::from_u32(STREAM_ID),
            offset: STREAM_OFFSET,
            fin: false,
            data: data.clone(),
        }),
    ];
    eprintln!("frames payload: {} bytes", payload.len());

    let mut group = c.benchmark_group("frames");
    group.throughput(Throughput::Bytes(payload.len() as u64));
    group.bench_function("encode/headers", |b| {
        let mut out = Vec::with_capacity(1500);
        b.iter(|| {
            out.clear();
            encode_payload(black_box(&ranges), black_box(&data), &mut out);
            black_box(out.len())
        })
    });
    group.bench_function("encode/frames", |b| {
        let mut out = Vec::with_capacity(1500);
        b.iter(|| {
            out.clear();
            for frame in black_box(&prebuilt) {
                frame.encode(&mut out);
            }
            black_box(out.len())
        })
    });
    group.bench_function("decode", |b| {
        b.iter(|| {
            let mut acked = 0u64;
            let mut stream_bytes = 0usize;
            for frame in FrameIter::new(black_box(&payload).clone(), PacketType::OneRtt) {
                match frame.expect("valid payload") {
                    Frame::Ack(ack) => {
                        acked += ack.iter().map(|r| r.end() - r.start() + 1).sum::<u64>()
                    }
                    Frame::Stream(s) => stream_bytes += s.data.len(),
                    _ => {}
                }
            }
            black_box((acked, stream_bytes))
        })
    });
    group.finish();
}

fn baseline(c: &mut Criterion) {
    let key = LessSafeKey::new(UnboundKey::new(&AES_128_GCM, &[0x42; 16]).expect("key"));
    let header = [0x41u8, 1, 2, 3, 4, 5, 6, 7, 8, 0x12, 0x34];
    let mut buf = vec![0u8; SEAL_LEN];
    let mut group = c.benchmark_group("baseline");
    group.throughput(Throughput::Bytes(SEAL_LEN as u64));
    group.bench_function("aes128gcm_seal_1150", |b| {
        b.iter(|| {
            let nonce = Nonce::assume_unique_for_key([7; 12]);
            let tag = key
                .seal_in_place_separate_tag(nonce, Aad::from(black_box(&header)), &mut buf)
                .expect("seal");
            black_box(tag)
        })
    });
    group.finish();
}

criterion_group!(benches, frames, baseline);
criterion_main!(benches);

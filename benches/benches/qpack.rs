//! QPACK encode and decode throughput, in header lists per second, on the qifs inputs
//! fb-req (383 requests) and netbsd (18 requests), with a 4096-byte table, 100 blocked
//! streams and acknowledgements flowing back to the encoder after every section.
//!
//! The inputs are read from `$QIFS_DIR` or `../../shared/qifs` (third-party data, not in
//! the repository); without them the bench says so and measures nothing.
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use qpack::qif::parse_qif;
use qpack::{Decoded, Decoder, DecoderConfig, Encoder, EncoderConfig, HeaderField};
use std::hint::black_box;
use std::path::PathBuf;

const TABLE: u64 = 4096;
const BLOCKED: u64 = 100;

fn qifs_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("QIFS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/qifs"));
    dir.join("qifs").is_dir().then_some(dir)
}

fn decoder() -> Decoder {
    Decoder::new(DecoderConfig {
        max_table_capacity: TABLE,
        max_blocked_streams: BLOCKED,
        max_field_section_size: u64::MAX,
        start_at_max_capacity: false,
    })
}

fn encoder() -> Encoder {
    let mut e = Encoder::new(EncoderConfig::default());
    e.set_peer_settings(TABLE, BLOCKED);
    e
}

/// One reference run: per section its encoder-stream bytes, block, and the decoder's
/// acknowledgement bytes (the encoder is deterministic, so replaying the acks in the bench
/// reproduces the same run without a decoder in the loop).
fn reference_run(lists: &[Vec<HeaderField>]) -> Vec<(Vec<u8>, Vec<u8>, Vec<u8>)> {
    let (mut e, mut d) = (encoder(), decoder());
    let mut run = Vec::new();
    for (i, list) in lists.iter().enumerate() {
        let mut ins = Vec::new();
        let block = e.encode(i as u64, list, &mut ins);
        d.on_encoder_stream(&ins).unwrap();
        assert!(matches!(
            d.decode(i as u64, &block).unwrap(),
            Decoded::Done(_)
        ));
        let acks = d.take_decoder_stream_bytes();
        e.on_decoder_stream(&acks).unwrap();
        run.push((ins, block, acks));
    }
    run
}

fn bench(c: &mut Criterion) {
    let Some(dir) = qifs_dir() else {
        println!("qpack bench: skipped: qifs corpus not found (set QIFS_DIR)");
        return;
    };
    for stem in ["fb-req", "netbsd"] {
        let lists = parse_qif(&std::fs::read(dir.join(format!("qifs/{stem}.qif"))).unwrap());
        let run = reference_run(&lists);
        let mut group = c.benchmark_group(format!("qpack/{stem}"));
        group.throughput(Throughput::Elements(lists.len() as u64));
        group.bench_function("encode", |b| {
            b.iter(|| {
                let mut e = encoder();
                let mut ins = Vec::new();
                for (i, (list, (_, _, acks))) in lists.iter().zip(&run).enumerate() {
                    ins.clear();
                    black_box(e.encode(i as u64, list, &mut ins));
                    e.on_decoder_stream(acks).unwrap();
                }
            })
        });
        group.bench_function("decode", |b| {
            b.iter(|| {
                let mut d = decoder();
                for (i, (ins, block, _)) in run.iter().enumerate() {
                    d.on_encoder_stream(ins).unwrap();
                    black_box(d.decode(i as u64, block).unwrap());
                    black_box(d.take_decoder_stream_bytes());
                }
            })
        });
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);

//! Placeholder until this bench is written; measures varint encoding so the target is real.
use criterion::{criterion_group, criterion_main, Criterion};

fn varint(c: &mut Criterion) {
    c.bench_function("varint_encode", |b| {
        let mut out = Vec::with_capacity(8);
        b.iter(|| {
            out.clear();
            quic::coding::put_varint(&mut out, std::hint::black_box(1_000_000));
            out.len()
        })
    });
}

criterion_group!(benches, varint);
criterion_main!(benches);

//! Packet protection cost for a full-size 1-RTT packet, against `ring` on its own.
//!
//! For AES-128-GCM and ChaCha20-Poly1305, a 1,200-byte short-header packet (8-byte DCID, 2-byte
//! packet number, 1,173-byte payload, 16-byte tag) is:
//!
//! - `protect`: sealed and header-protected with `quic::crypto::DirectionalKeys::protect`;
//! - `unprotect`: header-unprotected and opened with `DirectionalKeys::unprotect`;
//! - `ring_seal` / `ring_open`: the same payload sealed / opened with `ring`'s
//!   `LessSafeKey::seal_in_place_separate_tag` / `open_in_place_separate_tag` directly, the
//!   floor our code is measured against (ours / raw = overhead ratio).
//!
//! Every variant first copies the packet template into the work buffer, so the copy cost is
//! the same on both sides of the ratio.
use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use quic::crypto::{Aead, DirectionalKeys, HeaderKey, PacketKey};
use ring::aead::{self, Aad, LessSafeKey, Nonce, UnboundKey};

const PACKET_LEN: usize = 1200;
const TAG_LEN: usize = 16;
/// First byte (fixed bit, 2-byte packet number) and an 8-byte DCID.
const HEADER_PREFIX: [u8; 9] = [0x41, 1, 2, 3, 4, 5, 6, 7, 8];
const PN_OFFSET: usize = HEADER_PREFIX.len();
const HEADER_LEN: usize = PN_OFFSET + 2;
const PACKET_NUMBER: u64 = 0x1234;

fn plaintext_packet() -> Vec<u8> {
    let mut packet = vec![0u8; PACKET_LEN];
    packet[..PN_OFFSET].copy_from_slice(&HEADER_PREFIX);
    packet[PN_OFFSET..HEADER_LEN].copy_from_slice(&(PACKET_NUMBER as u16).to_be_bytes());
    for (i, b) in packet[HEADER_LEN..PACKET_LEN - TAG_LEN]
        .iter_mut()
        .enumerate()
    {
        *b = i as u8;
    }
    packet
}

fn ring_algorithm(aead: Aead) -> &'static aead::Algorithm {
    match aead {
        Aead::Aes128Gcm => &aead::AES_128_GCM,
        Aead::Aes256Gcm => &aead::AES_256_GCM,
        Aead::ChaCha20Poly1305 => &aead::CHACHA20_POLY1305,
    }
}

fn bench_aead(c: &mut Criterion, aead: Aead, name: &str) {
    let key = vec![0x42; aead.key_len()];
    let iv = [0x24; 12];
    let keys = DirectionalKeys {
        packet: PacketKey::new(aead, &key, &iv).unwrap(),
        header: HeaderKey::new(aead, &vec![0x17; aead.key_len()]).unwrap(),
    };
    let raw = LessSafeKey::new(UnboundKey::new(ring_algorithm(aead), &key).unwrap());

    let plain = plaintext_packet();
    let mut protected = plain.clone();
    keys.protect(PACKET_NUMBER, PN_OFFSET, &mut protected)
        .unwrap();
    let mut raw_sealed = plain.clone();
    {
        let (header, rest) = raw_sealed.split_at_mut(HEADER_LEN);
        let (payload, tag_out) = rest.split_at_mut(PACKET_LEN - HEADER_LEN - TAG_LEN);
        let tag = raw
            .seal_in_place_separate_tag(
                Nonce::assume_unique_for_key(iv),
                Aad::from(&*header),
                payload,
            )
            .unwrap();
        tag_out.copy_from_slice(tag.as_ref());
    }

    let mut group = c.benchmark_group(format!("crypto/{name}"));
    group.throughput(Throughput::Bytes(PACKET_LEN as u64));
    let mut buf = vec![0u8; PACKET_LEN];

    group.bench_function("protect", |b| {
        b.iter(|| {
            buf.copy_from_slice(&plain);
            keys.protect(black_box(PACKET_NUMBER), PN_OFFSET, &mut buf)
                .unwrap();
            buf[0]
        })
    });
    group.bench_function("ring_seal", |b| {
        b.iter(|| {
            buf.copy_from_slice(&plain);
            let (header, rest) = buf.split_at_mut(HEADER_LEN);
            let (payload, tag_out) = rest.split_at_mut(PACKET_LEN - HEADER_LEN - TAG_LEN);
            let tag = raw
                .seal_in_place_separate_tag(
                    Nonce::assume_unique_for_key(black_box(iv)),
                    Aad::from(&*header),
                    payload,
                )
                .unwrap();
            tag_out.copy_from_slice(tag.as_ref());
            buf[0]
        })
    });
    group.bench_function("unprotect", |b| {
        b.iter(|| {
            buf.copy_from_slice(&protected);
            keys.unprotect(PN_OFFSET, black_box(PACKET_NUMBER), &mut buf)
                .unwrap()
                .payload_len
        })
    });
    group.bench_function("ring_open", |b| {
        b.iter(|| {
            buf.copy_from_slice(&raw_sealed);
            let (header, rest) = buf.split_at_mut(HEADER_LEN);
            let (payload, tag) = rest.split_at_mut(PACKET_LEN - HEADER_LEN - TAG_LEN);
            let tag = aead::Tag::try_from(&*tag).unwrap();
            raw.open_in_place_separate_tag(
                Nonce::assume_unique_for_key(black_box(iv)),
                Aad::from(&*header),
                tag,
                payload,
                0..,
            )
            .unwrap()
            .len()
        })
    });
    group.finish();
}

fn packet_protection(c: &mut Criterion) {
    bench_aead(c, Aead::Aes128Gcm, "aes128gcm");
    bench_aead(c, Aead::ChaCha20Poly1305, "chacha20poly1305");
}

criterion_group!(benches, packet_protection);
criterion_main!(benches);

#![no_main]
//! Varint decoding must never panic, and whatever decodes re-encodes to a value that decodes the same.
use libfuzzer_sys::fuzz_target;
use quic::coding::{get_varint, put_varint, varint_len};

fuzz_target!(|data: &[u8]| {
    let mut buf = data;
    while let Ok(v) = get_varint(&mut buf) {
        let mut out = Vec::new();
        put_varint(&mut out, v);
        assert_eq!(out.len(), varint_len(v));
        assert_eq!(get_varint(&mut &out[..]).unwrap(), v);
    }
});

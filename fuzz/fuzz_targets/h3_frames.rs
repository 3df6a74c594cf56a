#![no_main]
//! The HTTP/3 frame decoder fed arbitrary bytes, split at arbitrary points, for every stream
//! kind: it must never panic, must consume all input it is given until an error, must decode
//! the same events however the input is split, and every complete frame it returns must
//! re-encode to exactly `encoded_len` bytes that decode back to the same frame.
use arbitrary::Arbitrary;
use bytes::Bytes;
use h3::frame::{FrameDecoder, FrameEvent, FrameLimits, StreamKind};
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
struct Input {
    kind: u8,
    cuts: Vec<u16>,
    data: Vec<u8>,
}

/// Decodes `chunks`; returns the events (DATA pieces merged per frame) and the error, if any.
fn decode(kind: StreamKind, chunks: &[Bytes]) -> (Vec<FrameEvent>, Option<h3::H3Error>) {
    let limits = FrameLimits {
        max_control_payload: 4096,
        max_field_section_payload: 4096,
    };
    let mut d = FrameDecoder::new(kind, limits);
    let mut events: Vec<FrameEvent> = Vec::new();
    for chunk in chunks {
        let mut input = chunk.clone();
        loop {
            match d.decode(&mut input) {
                Ok(Some(FrameEvent::Data(b))) => {
                    if let Some(FrameEvent::Data(prev)) = events.last_mut() {
                        let mut v = prev.to_vec();
                        v.extend_from_slice(&b);
                        *prev = Bytes::from(v);
                    } else {
                        events.push(FrameEvent::Data(b));
                    }
                }
                Ok(Some(e)) => events.push(e),
                Ok(None) => {
                    assert!(input.is_empty(), "input left over without an error");
                    break;
                }
                Err(e) => return (events, Some(e)),
            }
        }
    }
    (events, None)
}

fuzz_target!(|input: Input| {
    let kind = match input.kind % 4 {
        0 => StreamKind::Any,
        1 => StreamKind::Control,
        2 => StreamKind::Request,
        _ => StreamKind::Push,
    };
    let data = Bytes::from(input.data);
    let whole = decode(kind, std::slice::from_ref(&data));
    let mut cuts: Vec<usize> = input
        .cuts
        .iter()
        .map(|&c| usize::from(c) % (data.len() + 1))
        .collect();
    cuts.sort_unstable();
    let mut chunks = Vec::new();
    let mut prev = 0;
    for c in cuts {
        chunks.push(data.slice(prev..c));
        prev = c;
    }
    chunks.push(data.slice(prev..));
    let split = decode(kind, &chunks);
    // Splitting never changes the outcome (empty DATA pieces aside).
    let strip = |v: &[FrameEvent]| -> Vec<FrameEvent> {
        v.iter()
            .filter(|e| !matches!(e, FrameEvent::Data(b) if b.is_empty()))
            .cloned()
            .collect()
    };
    assert_eq!(strip(&whole.0), strip(&split.0));
    assert_eq!(whole.1.map(|e| e.code), split.1.map(|e| e.code));
    for e in &whole.0 {
        if let FrameEvent::Frame(f) = e {
            let bytes = f.to_bytes();
            assert_eq!(bytes.len(), f.encoded_len());
            let (again, err) = decode(StreamKind::Any, &[bytes]);
            assert!(err.is_none());
            assert_eq!(again, vec![FrameEvent::Frame(f.clone())]);
        }
    }
});

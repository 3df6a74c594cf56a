#![no_main]
//! Encoder -> decoder round trip on arbitrary header lists and settings. Encoder-stream bytes
//! reach the decoder in arbitrary pieces, possibly after the header block that needs them,
//! and the decoder's acknowledgements go back to the encoder in arbitrary pieces too. Every
//! list must decode to exactly what was encoded (the sensitive flag included).
use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use qpack::{Decoded, Decoder, DecoderConfig, Encoder, EncoderConfig, HeaderField};

#[derive(Arbitrary, Debug)]
struct Field {
    name: u8,
    value: Vec<u8>,
    sensitive: bool,
}

#[derive(Arbitrary, Debug)]
struct Input {
    table_capacity: u16,
    max_blocked: u8,
    sections: Vec<(Vec<Field>, bool, u8)>,
}

/// A small name vocabulary so names (and static-table hits) repeat.
const NAMES: &[&str] = &[
    ":method",
    ":path",
    ":authority",
    "user-agent",
    "cookie",
    "accept",
    "x-custom",
    "content-type",
    "authorization",
    "date",
];

fuzz_target!(|input: Input| {
    let capacity = u64::from(input.table_capacity % 8192);
    let blocked = u64::from(input.max_blocked % 8);
    let mut enc = Encoder::new(EncoderConfig::default().with_sensitive_defaults());
    enc.set_peer_settings(capacity, blocked);
    let mut dec = Decoder::new(DecoderConfig {
        max_table_capacity: capacity,
        max_blocked_streams: blocked,
        max_field_section_size: u64::MAX,
        start_at_max_capacity: false,
    });
    let mut expected = std::collections::HashMap::new();
    let mut decoded = std::collections::HashMap::new();
    let mut held_back: Option<Vec<u8>> = None;
    for (i, (fields, ack, split)) in input.sections.into_iter().enumerate().take(64) {
        let stream_id = i as u64 * 4;
        let list: Vec<HeaderField> = fields
            .into_iter()
            .map(|f| {
                let name = NAMES[f.name as usize % NAMES.len()];
                let mut v = f.value;
                v.truncate(300);
                HeaderField {
                    name: name.into(),
                    value: v.into(),
                    sensitive: f.sensitive,
                }
            })
            .collect();
        let mut instructions = Vec::new();
        let block = enc.encode(stream_id, &list, &mut instructions);
        // `with_sensitive_defaults` also sends authorization and cookie as never-indexed.
        let sent: Vec<HeaderField> = list
            .into_iter()
            .map(|mut f| {
                f.sensitive |= f.name == "authorization" || f.name == "cookie";
                f
            })
            .collect();
        expected.insert(stream_id, sent);
        // Deliver the previous section's held-back instructions first, in order.
        if let Some(prev) = held_back.take() {
            for u in dec.on_encoder_stream(&prev).expect("encoder stream") {
                decoded.insert(u.stream_id, u.fields.expect("fields"));
            }
        }
        // Sometimes send the block before its instructions (only if blocking is allowed).
        let reorder = split & 1 == 1 && blocked > 0 && dec.blocked_streams() == 0;
        if !reorder {
            let cut = (split as usize / 2).min(instructions.len());
            for piece in [&instructions[..cut], &instructions[cut..]] {
                for u in dec.on_encoder_stream(piece).expect("encoder stream") {
                    decoded.insert(u.stream_id, u.fields.expect("fields"));
                }
            }
        }
        match dec.decode(stream_id, &block).expect("block decodes") {
            Decoded::Done(f) => {
                decoded.insert(stream_id, f);
            }
            Decoded::Blocked => assert!(reorder, "blocked although in order"),
        }
        if reorder {
            held_back = Some(instructions);
        }
        if ack {
            let back = dec.take_decoder_stream_bytes();
            let cut = (split as usize / 2).min(back.len());
            enc.on_decoder_stream(&back[..cut]).expect("decoder stream");
            enc.on_decoder_stream(&back[cut..]).expect("decoder stream");
        }
    }
    if let Some(prev) = held_back.take() {
        for u in dec.on_encoder_stream(&prev).expect("encoder stream") {
            decoded.insert(u.stream_id, u.fields.expect("fields"));
        }
    }
    assert_eq!(dec.blocked_streams(), 0);
    assert_eq!(decoded, expected);
});

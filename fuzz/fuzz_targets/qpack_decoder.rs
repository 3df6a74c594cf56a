#![no_main]
//! The QPACK decoder fed arbitrary encoder-stream bytes (split into arbitrary pieces) and
//! arbitrary header blocks, interleaved with cancellations: it must never panic, and its
//! table, blocked set and buffers must stay within the limits it advertises.
use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use qpack::{Decoder, DecoderConfig};

#[derive(Arbitrary, Debug)]
enum Op {
    EncoderStream(Vec<u8>),
    Block { stream: u8, data: Vec<u8> },
    Cancel(u8),
    TakeDecoderStream,
}

#[derive(Arbitrary, Debug)]
struct Input {
    max_table_capacity: u16,
    max_blocked_streams: u8,
    max_field_section_size: u16,
    start_at_max_capacity: bool,
    ops: Vec<Op>,
}

fuzz_target!(|input: Input| {
    let config = DecoderConfig {
        max_table_capacity: u64::from(input.max_table_capacity),
        max_blocked_streams: u64::from(input.max_blocked_streams),
        max_field_section_size: u64::from(input.max_field_section_size),
        start_at_max_capacity: input.start_at_max_capacity,
    };
    let mut d = Decoder::new(config);
    for op in input.ops {
        let result = match op {
            Op::EncoderStream(bytes) => d.on_encoder_stream(&bytes).map(|_| ()),
            Op::Block { stream, data } => d.decode(u64::from(stream), &data).map(|_| ()),
            Op::Cancel(stream) => {
                d.cancel_stream(u64::from(stream));
                Ok(())
            }
            Op::TakeDecoderStream => {
                d.take_decoder_stream_bytes();
                Ok(())
            }
        };
        assert!(d.table_size() <= d.table_capacity());
        assert!(d.table_capacity() <= config.max_table_capacity);
        assert!(d.blocked_streams() as u64 <= config.max_blocked_streams);
        // A partial instruction is at most two strings no longer than the table plus headers.
        assert!(d.pending_encoder_stream_bytes() as u64 <= 2 * config.max_table_capacity + 32);
        if let Err(e) = result {
            // Every error carries an RFC 9204 code, or is the per-stream size limit.
            assert!(
                e.code().is_some() || matches!(e, qpack::QpackError::FieldSectionTooLarge { .. })
            );
            if e.code().is_some() {
                break; // a connection error ends the connection
            }
        }
    }
});

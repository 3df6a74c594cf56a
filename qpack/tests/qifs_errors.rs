//! The qifs negative vectors (`encoded/errors`), judged under RFC 9204.

mod common;

use qpack::qif::parse_records;
use qpack::{Decoder, DecoderConfig, QPACK_DECOMPRESSION_FAILED, QPACK_ENCODER_STREAM_ERROR};

#[test]
fn error_vectors() {
    let Some(dir) = common::qifs_dir("error_vectors") else {
        return;
    };
    for i in 1..=12 {
        let data = std::fs::read(dir.join(format!("encoded/errors/err{i}"))).unwrap();
        let records = parse_records(&data).unwrap();
        let mut d = Decoder::new(DecoderConfig {
            max_table_capacity: 4096,
            start_at_max_capacity: true,
            ..DecoderConfig::default()
        });
        let mut result = Ok(());
        for r in records {
            let step = if r.stream_id == 0 {
                d.on_encoder_stream(&r.payload).map(|_| ())
            } else {
                d.decode(r.stream_id, &r.payload).map(|_| ())
            };
            if let Err(e) = step {
                result = Err(e);
                break;
            }
        }
        let code = result.err().and_then(|e| e.code());
        let expected = match i {
            // Valid under RFC 9204's static table (static index 0 and 62).
            9 | 10 => None,
            11 | 12 => Some(QPACK_ENCODER_STREAM_ERROR),
            _ => Some(QPACK_DECOMPRESSION_FAILED),
        };
        assert_eq!(code, expected, "err{i}");
    }
}

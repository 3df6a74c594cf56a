//! Property tests on the primitives: every encoder agrees with its decoder and its length
//! function, and no input makes a decoder panic.

use proptest::prelude::*;
use qpack::field_lines::FieldLine;
use qpack::instructions::{DecoderInstruction, EncoderInstruction};
use qpack::{huffman, prefix_int, string};

fn bytes() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..64)
}

proptest! {
    #[test]
    fn prefix_int_round_trip(v in 0..=prefix_int::MAX_INT, prefix in 1u8..=8, flags in any::<u8>()) {
        let flags = if prefix == 8 { 0 } else { flags & !((1u8 << prefix) - 1) };
        let mut out = Vec::new();
        prefix_int::encode(&mut out, flags, prefix, v);
        prop_assert_eq!(out.len(), prefix_int::encoded_len(prefix, v));
        prop_assert_eq!(out[0] & !(((1u16 << prefix) - 1) as u8), flags);
        prop_assert_eq!(prefix_int::decode(&out, prefix), Ok((v, out.len())));
        for cut in 0..out.len() {
            prop_assert_eq!(prefix_int::decode(&out[..cut], prefix), Err(prefix_int::IntError::Incomplete));
        }
    }

    #[test]
    fn huffman_round_trip(s in bytes()) {
        let mut enc = Vec::new();
        huffman::encode(&s, &mut enc);
        prop_assert_eq!(enc.len(), huffman::encoded_len(&s));
        let mut dec = Vec::new();
        prop_assert!(huffman::decode(&enc, &mut dec).is_ok());
        prop_assert_eq!(dec, s);
    }

    #[test]
    fn huffman_decode_never_panics(s in bytes()) {
        let mut out = Vec::new();
        let _ = huffman::decode(&s, &mut out);
        prop_assert!(out.len() <= s.len() * 8 / 5);
    }

    #[test]
    fn string_round_trip(s in bytes(), prefix in 1u8..=7) {
        let mut out = Vec::new();
        string::encode(&mut out, 0, prefix, &s);
        prop_assert_eq!(out.len(), string::encoded_len(prefix, &s));
        let (got, n) = string::decode(&out, prefix, 1024).unwrap();
        prop_assert_eq!(&got[..], &s[..]);
        prop_assert_eq!(n, out.len());
    }

    #[test]
    fn encoder_instruction_round_trip(kind in 0u8..4, index in 0u64..98, name in bytes(), value in bytes(), is_static in any::<bool>()) {
        let i = match kind {
            0 => EncoderInstruction::SetCapacity(index * 1000),
            1 => EncoderInstruction::InsertWithNameRef { is_static, index, value: value.into() },
            2 => EncoderInstruction::InsertWithLiteralName { name: name.into(), value: value.into() },
            _ => EncoderInstruction::Duplicate(index),
        };
        let mut out = Vec::new();
        i.write(&mut out);
        prop_assert_eq!(EncoderInstruction::parse(&out, 1024), Ok(Some((i, out.len()))));
        prop_assert_eq!(EncoderInstruction::parse(&out[..out.len() - 1], 1024), Ok(None));
    }

    #[test]
    fn decoder_instruction_round_trip(kind in 0u8..3, v in 0..=prefix_int::MAX_INT) {
        let i = match kind {
            0 => DecoderInstruction::SectionAck(v),
            1 => DecoderInstruction::StreamCancel(v),
            _ => DecoderInstruction::InsertCountIncrement(v),
        };
        let mut out = Vec::new();
        i.write(&mut out);
        prop_assert_eq!(DecoderInstruction::parse(&out), Ok(Some((i, out.len()))));
    }

    #[test]
    fn field_line_round_trip(kind in 0u8..5, index in 0u64..1000, never in any::<bool>(), is_static in any::<bool>(), name in bytes(), value in bytes()) {
        let line = match kind {
            0 => FieldLine::Indexed { is_static, index },
            1 => FieldLine::IndexedPostBase(index),
            2 => FieldLine::LiteralNameRef { never_index: never, is_static, index, value: value.into() },
            3 => FieldLine::LiteralPostBaseNameRef { never_index: never, index, value: value.into() },
            _ => FieldLine::Literal { never_index: never, name: name.into(), value: value.into() },
        };
        let mut out = Vec::new();
        line.write(&mut out);
        prop_assert_eq!(FieldLine::parse(&out, 1024), Ok((line, out.len())));
    }

    #[test]
    fn parsers_never_panic(data in prop::collection::vec(any::<u8>(), 0..32)) {
        let _ = EncoderInstruction::parse(&data, 64);
        let _ = DecoderInstruction::parse(&data);
        let _ = FieldLine::parse(&data, 64);
        let mut d = qpack::Decoder::new(qpack::DecoderConfig::default());
        let _ = d.on_encoder_stream(&data);
        let _ = d.decode(1, &data);
    }
}

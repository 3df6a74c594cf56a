//! The send-path encoders: ACK from a range set (order, cap, byte budget), and how much data
//! fits in a STREAM, CRYPTO or DATAGRAM frame of a given size.

use super::strategies::{ack_ranges, ecn, varint, varint_u64};
use super::*;
use proptest::option;
use proptest::prelude::*;
use std::ops::Range;

const VARINT_MAX: u64 = VarInt::MAX.into_inner();

/// Bytes a frame with a Length field can end short of `space` (see `StreamHeader::max_data_len`):
/// one below 16 KiB, where only the 1- to 2-byte step of the Length field is reachable, two up to
/// 1 GiB.
fn max_slack(space: usize) -> usize {
    if space < 16_384 {
        1
    } else {
        2
    }
}

fn encode_ack(enc: &AckEncoder<'_>) -> Vec<u8> {
    let mut out = Vec::new();
    enc.encode(&mut out);
    assert_eq!(out.len(), enc.encoded_len());
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    /// Ascending and descending input give the same bytes, and decoding gives the ranges back
    /// from the highest down.
    #[test]
    fn ack_encoder_round_trips(
        ranges in ack_ranges(),
        delay in varint_u64(),
        ecn in option::of(ecn()),
    ) {
        let asc = AckEncoder::ascending(&ranges, delay, ecn).unwrap();
        let desc_ranges: Vec<_> = ranges.iter().rev().cloned().collect();
        let desc = AckEncoder::descending(&desc_ranges, delay, ecn).unwrap();
        let bytes = encode_ack(&asc);
        prop_assert_eq!(&bytes, &encode_ack(&desc));
        let ack = asc.to_ack();
        prop_assert_eq!(ack.encoded_len(), bytes.len());
        let Ok(Frame::Ack(decoded)) = Frame::decode(&mut Bytes::from(bytes), PacketType::OneRtt)
        else {
            panic!("ACK did not decode");
        };
        prop_assert_eq!(&decoded, &ack);
        prop_assert_eq!(decoded.ranges().collect::<Vec<_>>(), desc_ranges);
        prop_assert_eq!(decoded.range_count(), ranges.len() as u64);
        prop_assert_eq!(decoded.ecn(), ecn);
        prop_assert_eq!(decoded.delay(), delay);
    }

    /// `max_ranges(n)` keeps the n highest ranges, whichever the input order.
    #[test]
    fn ack_max_ranges_keeps_the_highest(ranges in ack_ranges(), n in 0usize..30) {
        let asc = AckEncoder::ascending(&ranges, 3, None).unwrap().max_ranges(n);
        let keep = n.clamp(1, ranges.len());
        prop_assert_eq!(asc.range_count(), keep);
        let want: Vec<Range<u64>> = ranges.iter().rev().take(keep).cloned().collect();
        prop_assert_eq!(asc.to_ack().ranges().collect::<Vec<_>>(), want.clone());
        let desc = AckEncoder::descending(&want, 3, None).unwrap().max_ranges(n);
        prop_assert_eq!(encode_ack(&asc), encode_ack(&desc));
    }

    /// `fit(budget)` gives the largest number of ranges whose frame fits in `budget`.
    #[test]
    fn ack_fit_is_tight(ranges in ack_ranges(), ecn in option::of(ecn()), budget in 0usize..200) {
        let enc = AckEncoder::ascending(&ranges, 1000, ecn).unwrap();
        match enc.fit(budget) {
            None => prop_assert!(enc.max_ranges(1).encoded_len() > budget),
            Some(fitted) => {
                let k = fitted.range_count();
                prop_assert!(fitted.encoded_len() <= budget);
                prop_assert_eq!(fitted, enc.max_ranges(k));
                if k < ranges.len() {
                    prop_assert!(enc.max_ranges(k + 1).encoded_len() > budget);
                }
            }
        }
    }

    /// STREAM: the frame built from `max_data_len` fits `space`, fills it exactly without a
    /// Length field, leaves at most one byte with one, and one more data byte would not fit.
    #[test]
    fn stream_max_data_len_is_tight(
        id in varint(),
        offset in prop_oneof![Just(0u64), varint_u64()],
        space in 0usize..70_000,
        with_len in any::<bool>(),
    ) {
        let fit = StreamHeader::max_data_len(id, offset, space, with_len);
        let header = |len| StreamHeader { id, offset, len, fin: false };
        match fit {
            None => prop_assert!(header(0).encoded_len(with_len) > space),
            Some(n) => {
                let total = header(n).encoded_len(with_len) + n;
                prop_assert!(total <= space);
                let capped = offset + n as u64 == VARINT_MAX;
                if !capped {
                    prop_assert!(header(n + 1).encoded_len(with_len) + n + 1 > space);
                    if with_len {
                        prop_assert!(space - total <= max_slack(space));
                    } else {
                        prop_assert_eq!(total, space);
                    }
                }
                let mut out = Vec::new();
                header(n).encode(with_len, &mut out);
                prop_assert_eq!(out.len() + n, total);
            }
        }
    }

    /// CRYPTO: same contract, always with a Length field.
    #[test]
    fn crypto_max_data_len_is_tight(offset in varint_u64(), space in 0usize..70_000) {
        let header = |len| CryptoHeader { offset, len };
        match CryptoHeader::max_data_len(offset, space) {
            None => prop_assert!(header(0).encoded_len() > space),
            Some(n) => {
                let total = header(n).encoded_len() + n;
                prop_assert!(total <= space);
                if offset + (n as u64) < VARINT_MAX {
                    prop_assert!(header(n + 1).encoded_len() + n + 1 > space);
                    prop_assert!(space - total <= max_slack(space));
                }
            }
        }
    }

    /// DATAGRAM: same contract.
    #[test]
    fn datagram_max_data_len_is_tight(space in 0usize..70_000, with_len in any::<bool>()) {
        let header = |len| DatagramHeader { len };
        match DatagramHeader::max_data_len(space, with_len) {
            None => prop_assert_eq!(space, 0),
            Some(n) => {
                let total = header(n).encoded_len(with_len) + n;
                prop_assert!(total <= space);
                prop_assert!(header(n + 1).encoded_len(with_len) + n + 1 > space);
                let slack = if with_len { max_slack(space) } else { 0 };
                prop_assert!(space - total <= slack);
            }
        }
    }
}

/// The header-only encoders write what the full frames write, so the data can follow directly.
#[test]
fn headers_match_full_frames() {
    let stream = Stream {
        id: VarInt::from_u32(7),
        offset: 1 << 20,
        fin: true,
        data: vec![9; 100].into(),
    };
    let mut by_header = Vec::new();
    stream.header().encode(true, &mut by_header);
    by_header.extend_from_slice(&stream.data);
    assert_eq!(by_header, encode(&Frame::Stream(stream.clone())));

    let crypto = Crypto {
        offset: 5,
        data: vec![1; 70].into(),
    };
    let mut by_header = Vec::new();
    crypto.header().encode(&mut by_header);
    by_header.extend_from_slice(&crypto.data);
    assert_eq!(by_header, encode(&Frame::Crypto(crypto)));

    // Without a Length field the frame is the last of the packet and decodes the same.
    let mut last = Vec::new();
    stream.header().encode(false, &mut last);
    last.extend_from_slice(&stream.data);
    assert_eq!(last.len(), stream.header().encoded_len(false) + 100);
    assert_eq!(
        decode_all(&last, PacketType::OneRtt),
        [Ok(Frame::Stream(stream))]
    );

    let dgram = Datagram {
        data: vec![3; 10].into(),
    };
    let mut last = Vec::new();
    dgram.header().encode(false, &mut last);
    last.extend_from_slice(&dgram.data);
    assert_eq!(last[0], 0x30);
    assert_eq!(
        decode_all(&last, PacketType::ZeroRtt),
        [Ok(Frame::Datagram(dgram))]
    );
}

/// The worked boundary from the `max_data_len` docs: 65 bytes after the fixed header.
#[test]
fn stream_fit_at_length_boundary() {
    let id = VarInt::from_u32(0);
    // type + id = 2 bytes, so space 67 leaves 65.
    assert_eq!(StreamHeader::max_data_len(id, 0, 67, true), Some(63));
    assert_eq!(StreamHeader::max_data_len(id, 0, 68, true), Some(64));
    assert_eq!(StreamHeader::max_data_len(id, 0, 67, false), Some(65));
    assert_eq!(StreamHeader::max_data_len(id, 0, 2, false), Some(0));
    assert_eq!(StreamHeader::max_data_len(id, 0, 2, true), None);
    assert_eq!(StreamHeader::max_data_len(id, 0, 3, true), Some(0));
    // A stream at 2^62 - 2 has room for one more byte only.
    assert_eq!(
        StreamHeader::max_data_len(id, VARINT_MAX - 1, 1200, true),
        Some(1)
    );
    assert_eq!(CryptoHeader::max_data_len(VARINT_MAX, 1200), Some(0));
}

/// ACK range cap and budget on a concrete set.
#[test]
fn ack_range_cap() {
    // 100 single-packet ranges: 0, 2, 4, ..., 198.
    let ranges: Vec<Range<u64>> = (0..100).map(|i| 2 * i..2 * i + 1).collect();
    let enc = AckEncoder::ascending(&ranges, 0, None).unwrap();
    // type, largest 198 (2 bytes), delay, count 99 (2 bytes), first range: 7 bytes; then 99
    // (gap 0, length 0) pairs of 2 bytes.
    assert_eq!(enc.encoded_len(), 7 + 99 * 2);
    let capped = enc.max_ranges(10);
    assert_eq!(capped.range_count(), 10);
    assert_eq!(capped.encoded_len(), 6 + 9 * 2);
    let ack = capped.to_ack();
    assert_eq!(ack.largest(), 198);
    assert_eq!(ack.ranges().last(), Some(180..181));
    // A 31-byte budget: 6 bytes with a 1-byte count, + 12 pairs = 30; a 13th pair needs 32.
    let fitted = enc.fit(31).unwrap();
    assert_eq!(fitted.range_count(), 13);
    assert_eq!(fitted.encoded_len(), 30);
    assert_eq!(enc.fit(6).unwrap().range_count(), 1);
    assert_eq!(enc.fit(5), None);
    assert_eq!(enc.fit(10_000).unwrap().range_count(), 100);
}

/// Range sets an ACK cannot encode are refused rather than encoded wrongly.
#[test]
fn ack_encoder_rejects_bad_ranges() {
    let bad: [&[Range<u64>]; 6] = [
        &[],
        &[3..3],                // empty range
        &[0..3, 3..5],          // adjacent: a Gap cannot encode zero missing packets
        &[0..4, 3..5],          // overlapping
        &[5..6, 0..2],          // wrong order for ascending
        &[0..(VARINT_MAX + 2)], // largest above 2^62 - 1
    ];
    for ranges in bad {
        assert_eq!(AckEncoder::ascending(ranges, 0, None), None, "{ranges:?}");
    }
    assert!(AckEncoder::descending(&[5..6, 0..2], 0, None).is_some());
    assert_eq!(AckEncoder::descending(&[0..2, 5..6], 0, None), None);
    let too_big = EcnCounts {
        ect0: VARINT_MAX + 1,
        ect1: 0,
        ce: 0,
    };
    assert_eq!(AckEncoder::ascending(&[0..1], 0, Some(too_big)), None);
    // The largest possible packet number is fine; delays are clamped.
    let top = [VARINT_MAX..VARINT_MAX + 1];
    let enc = AckEncoder::ascending(&top, u64::MAX, None).unwrap();
    assert_eq!(enc.to_ack().largest(), VARINT_MAX);
    assert_eq!(enc.to_ack().delay(), VARINT_MAX);
}

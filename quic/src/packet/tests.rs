use bytes::{Bytes, BytesMut};
use proptest::prelude::*;

use super::*;
use crate::cid::ConnectionId;
use crate::Version;

fn cid_strategy() -> impl Strategy<Value = ConnectionId> {
    proptest::collection::vec(any::<u8>(), 0..=20).prop_map(|b| ConnectionId::new(&b).unwrap())
}

fn version_strategy() -> impl Strategy<Value = Version> {
    prop_oneof![Just(Version::V1), Just(Version::V2)]
}

fn pn_strategy() -> impl Strategy<Value = PacketNumber> {
    prop_oneof![
        any::<u8>().prop_map(PacketNumber::U8),
        any::<u16>().prop_map(PacketNumber::U16),
        (0u32..1 << 24).prop_map(PacketNumber::U24),
        any::<u32>().prop_map(PacketNumber::U32),
    ]
}

fn header_strategy() -> impl Strategy<Value = Header> {
    prop_oneof![
        (
            version_strategy(),
            cid_strategy(),
            cid_strategy(),
            proptest::collection::vec(any::<u8>(), 0..100),
            pn_strategy()
        )
            .prop_map(
                |(version, dst_cid, src_cid, token, number)| Header::Initial {
                    version,
                    dst_cid,
                    src_cid,
                    token: token.into(),
                    number
                }
            ),
        (
            prop_oneof![Just(LongType::ZeroRtt), Just(LongType::Handshake)],
            version_strategy(),
            cid_strategy(),
            cid_strategy(),
            pn_strategy()
        )
            .prop_map(|(ty, version, dst_cid, src_cid, number)| Header::Long {
                ty,
                version,
                dst_cid,
                src_cid,
                number
            }),
        (any::<bool>(), any::<bool>(), cid_strategy(), pn_strategy()).prop_map(
            |(spin, key_phase, dst_cid, number)| Header::Short {
                spin,
                key_phase,
                dst_cid,
                number
            }
        ),
    ]
}

/// Builds a packet from `header` and `payload_len` payload bytes, with a zero header-protection
/// mask, as a test stand-in for the real keys.
fn build(header: &Header, payload_len: usize) -> Vec<u8> {
    let mut buf = Vec::new();
    let enc = header.encode(&mut buf);
    assert_eq!(enc.header_len, header.encoded_len());
    buf.extend((0..payload_len).map(|i| i as u8));
    let len = buf.len();
    enc.set_length(&mut buf, len);
    buf
}

fn zero_mask(_: &[u8; 16]) -> [u8; 5] {
    [0; 5]
}

proptest! {
    #[test]
    fn header_round_trip(header in header_strategy(), payload_len in 20usize..200) {
        let local_cid_len = match &header { Header::Short { dst_cid, .. } => dst_cid.len(), _ => 8 };
        let bytes = build(&header, payload_len);
        let (partial, rest) =
            PartialDecode::new(BytesMut::from(&bytes[..]), local_cid_len, false).unwrap();
        prop_assert!(rest.is_none());
        let packet = partial.finish(zero_mask, 0).unwrap();
        prop_assert_eq!(packet.header_len(), header.encoded_len());
        prop_assert!(packet.reserved_bits_zero());
        match (&header, &packet.header) {
            (
                Header::Initial { version, dst_cid, src_cid, token, number },
                ProtectedHeader::Initial { version: v, dst_cid: d, src_cid: s },
            ) => {
                prop_assert_eq!((version, dst_cid, src_cid), (v, d, s));
                prop_assert_eq!(&token[..], packet.token());
                prop_assert_eq!(u64::from(number.truncated()), packet.number);
            }
            (
                Header::Long { ty, version, dst_cid, src_cid, number },
                ProtectedHeader::Long { ty: t, version: v, dst_cid: d, src_cid: s },
            ) => {
                prop_assert_eq!((ty, version, dst_cid, src_cid), (t, v, d, s));
                prop_assert_eq!(u64::from(number.truncated()), packet.number);
            }
            (
                Header::Short { spin, key_phase, dst_cid, number },
                ProtectedHeader::Short { spin: sp, dst_cid: d },
            ) => {
                prop_assert_eq!((spin, dst_cid), (sp, d));
                prop_assert_eq!(*key_phase, packet.key_phase);
                prop_assert_eq!(u64::from(number.truncated()), packet.number);
            }
            (a, b) => prop_assert!(false, "{a:?} decoded as {b:?}"),
        }
    }

    #[test]
    fn coalesced_packets_split(
        first in header_strategy().prop_filter("long", |h| !matches!(h, Header::Short { .. })),
        second in header_strategy(),
        len1 in 20usize..100,
        len2 in 20usize..100,
    ) {
        let mut datagram = build(&first, len1);
        let boundary = datagram.len();
        datagram.extend(build(&second, len2));
        let local_cid_len = match &second { Header::Short { dst_cid, .. } => dst_cid.len(), _ => 8 };
        let (p1, rest) = PartialDecode::new(BytesMut::from(&datagram[..]), local_cid_len, false).unwrap();
        prop_assert_eq!(p1.len(), boundary);
        let rest = rest.unwrap();
        prop_assert_eq!(&rest[..], &datagram[boundary..]);
        let (p2, none) = PartialDecode::new(rest, local_cid_len, false).unwrap();
        prop_assert!(none.is_none());
        prop_assert_eq!(p2.header().packet_type(), match &second {
            Header::Short { .. } => PacketType::OneRtt,
            Header::Initial { .. } => PacketType::Initial,
            Header::Long { ty, .. } => ty.packet_type(),
            Header::Retry { .. } => PacketType::Retry,
        });
    }

    #[test]
    fn truncations_and_garbage_never_panic(
        header in header_strategy(),
        cut in 0usize..200,
        garbage in proptest::collection::vec(any::<u8>(), 0..64),
    ) {
        let bytes = build(&header, 40);
        let cut = cut.min(bytes.len());
        for input in [&bytes[..cut], &garbage[..]] {
            if let Ok((p, _)) = PartialDecode::new(BytesMut::from(input), 8, false) {
                let _ = p.finish(|s| [s[0], s[1], s[2], s[3], s[4]], 1000);
            }
        }
    }
}

#[test]
fn long_type_bits_for_v1_and_v2() {
    // RFC 9000 §17.2 table and RFC 9369 §3.2.
    let v1 = [
        (LongType::Initial, 0),
        (LongType::ZeroRtt, 1),
        (LongType::Handshake, 2),
        (LongType::Retry, 3),
    ];
    let v2 = [
        (LongType::Initial, 1),
        (LongType::ZeroRtt, 2),
        (LongType::Handshake, 3),
        (LongType::Retry, 0),
    ];
    for (ty, bits) in v1 {
        assert_eq!(ty.to_bits(Version::V1), bits);
        assert_eq!(LongType::from_bits(bits, Version::V1), ty);
    }
    for (ty, bits) in v2 {
        assert_eq!(ty.to_bits(Version::V2), bits);
        assert_eq!(LongType::from_bits(bits, Version::V2), ty);
    }
}

#[test]
fn header_protection_mask_bits() {
    let header = Header::Short {
        spin: true,
        key_phase: false,
        dst_cid: ConnectionId::new(&[9; 8]).unwrap(),
        number: PacketNumber::U16(0x1234),
    };
    let mut bytes = build(&header, 40);
    // Apply a mask by hand the way a sender would (RFC 9001 §5.4.1): low 5 bits of byte 0,
    // then the packet number bytes.
    let mask = [0xff, 0xaa, 0x55, 0x00, 0x00];
    bytes[0] ^= mask[0] & 0x1f;
    bytes[9] ^= mask[1];
    bytes[10] ^= mask[2];
    let (p, _) = PartialDecode::new(BytesMut::from(&bytes[..]), 8, false).unwrap();
    let packet = p.finish(|_| mask, 0x1200).unwrap();
    assert_eq!(packet.number, 0x1234);
    assert!(!packet.key_phase);
    assert!(matches!(
        packet.header,
        ProtectedHeader::Short { spin: true, .. }
    ));
}

#[test]
fn reserved_bits_are_reported_not_rejected() {
    let header = Header::Long {
        ty: LongType::Handshake,
        version: Version::V1,
        dst_cid: ConnectionId::EMPTY,
        src_cid: ConnectionId::EMPTY,
        number: PacketNumber::U8(1),
    };
    let mut bytes = build(&header, 40);
    bytes[0] |= LONG_RESERVED_BITS;
    let (p, _) = PartialDecode::new(BytesMut::from(&bytes[..]), 0, false).unwrap();
    // RFC 9000 §17.2: only a PROTOCOL_VIOLATION after AEAD succeeds, so it is a flag.
    assert!(!p.finish(zero_mask, 0).unwrap().reserved_bits_zero());
}

#[test]
fn fixed_bit_zero_is_dropped_unless_greased() {
    let header = Header::Short {
        spin: false,
        key_phase: false,
        dst_cid: ConnectionId::EMPTY,
        number: PacketNumber::U8(1),
    };
    let mut bytes = build(&header, 40);
    bytes[0] &= !FIXED_BIT;
    assert!(PartialDecode::new(BytesMut::from(&bytes[..]), 0, false).is_err());
    assert!(PartialDecode::new(BytesMut::from(&bytes[..]), 0, true).is_ok());
}

#[test]
fn unknown_version_and_long_cids() {
    // The interop runner's readiness probe: version 0x57414954, empty connection IDs, 1207 bytes.
    let mut probe = vec![0xc0, 0x57, 0x41, 0x49, 0x54, 0, 0];
    probe.resize(1207, 0);
    assert_eq!(
        PartialDecode::new(BytesMut::from(&probe[..]), 8, false).unwrap_err(),
        PacketDecodeError::UnsupportedVersion {
            version: 0x5741_4954
        }
    );
    let inv = peek_invariant_header(&probe).unwrap();
    assert_eq!(
        (inv.version, inv.dst_cid, inv.src_cid),
        (0x5741_4954, &[][..], &[][..])
    );

    // Unknown version with 40-byte CIDs: still a version negotiation case (RFC 8999 §5.1).
    let mut other = vec![0xc0, 0xff, 0, 0, 0x42, 40];
    other.extend([1; 40]);
    other.push(30);
    other.extend([2; 30]);
    other.resize(1200, 0);
    let inv = peek_invariant_header(&other).unwrap();
    assert_eq!((inv.dst_cid.len(), inv.src_cid.len()), (40, 30));
    let mut vn = Vec::new();
    encode_version_negotiation(
        &inv,
        0x7f,
        &[Version::V1.to_u32(), Version::V2.to_u32()],
        &mut vn,
    );
    let echoed = peek_invariant_header(&vn).unwrap();
    assert_eq!(echoed.version, 0);
    assert_eq!(echoed.dst_cid, inv.src_cid);
    assert_eq!(echoed.src_cid, inv.dst_cid);

    // A v1 packet with a 21-byte CID is dropped (RFC 9000 §17.2).
    let mut bad = vec![0xc0, 0, 0, 0, 1, 21];
    bad.extend([0; 21]);
    bad.resize(100, 0);
    assert!(matches!(
        PartialDecode::new(BytesMut::from(&bad[..]), 8, false),
        Err(PacketDecodeError::InvalidHeader(_))
    ));
}

#[test]
fn version_negotiation_round_trip() {
    let client = ConnectionId::new(&[1, 2, 3, 4]).unwrap();
    let server = ConnectionId::new(&[5, 6]).unwrap();
    let their = InvariantHeader {
        version: 0x1a2a3a4a,
        dst_cid: &server,
        src_cid: &client,
    };
    let mut vn = Vec::new();
    encode_version_negotiation(&their, 0x33, &[1, 0x6b3343cf, 0x0a0a0a0a], &mut vn);
    let (p, rest) = PartialDecode::new(BytesMut::from(&vn[..]), 4, false).unwrap();
    assert!(rest.is_none());
    assert_eq!(
        p.header(),
        &ProtectedHeader::VersionNegotiation {
            dst_cid: client,
            src_cid: server
        }
    );
    assert_eq!(
        p.supported_versions().unwrap().collect::<Vec<_>>(),
        [1, 0x6b3343cf, 0x0a0a0a0a]
    );
    assert!(!p.has_packet_number());
    assert!(p.finish(zero_mask, 0).is_err());
}

#[test]
fn retry_parses_token_and_tag() {
    let header = Header::Retry {
        version: Version::V2,
        dst_cid: ConnectionId::new(&[1; 8]).unwrap(),
        src_cid: ConnectionId::new(&[2; 8]).unwrap(),
        token: Bytes::from_static(b"a retry token"),
    };
    let mut bytes = Vec::new();
    let enc = header.encode(&mut bytes);
    assert_eq!(enc.header_len, header.encoded_len());
    bytes.extend([0xee; 16]);
    let (p, rest) = PartialDecode::new(BytesMut::from(&bytes[..]), 8, false).unwrap();
    assert!(rest.is_none());
    assert_eq!(p.header().packet_type(), PacketType::Retry);
    assert_eq!(p.token(), b"a retry token");
    assert_eq!(&p.data()[p.len() - 16..], &[0xee; 16]);
    // Shorter than a tag: invalid.
    assert!(PartialDecode::new(BytesMut::from(&bytes[..bytes.len() - 14]), 8, false).is_err());
}

#[test]
fn length_beyond_datagram_is_invalid() {
    let header = Header::Long {
        ty: LongType::Handshake,
        version: Version::V1,
        dst_cid: ConnectionId::EMPTY,
        src_cid: ConnectionId::EMPTY,
        number: PacketNumber::U8(1),
    };
    let bytes = build(&header, 40);
    assert!(PartialDecode::new(BytesMut::from(&bytes[..bytes.len() - 1]), 0, false).is_err());
}

#[test]
fn length_is_written_for_a_packet_that_does_not_start_the_buffer() {
    // Coalescing writes the second packet after the first in one buffer; its Length field
    // must land in its own header.
    let first = Header::Long {
        ty: LongType::Handshake,
        version: Version::V1,
        dst_cid: ConnectionId::new(&[1; 8]).unwrap(),
        src_cid: ConnectionId::EMPTY,
        number: PacketNumber::U8(0),
    };
    let mut buf = Vec::new();
    let p1 = first.encode(&mut buf);
    buf.extend([0u8; 40]);
    let len1 = buf.len();
    p1.set_length(&mut buf, len1);
    let p2 = first.encode(&mut buf);
    assert_eq!(p2.start, len1);
    buf.extend([0u8; 60]);
    let len2 = buf.len() - len1;
    p2.set_length(&mut buf, len2);
    let (a, rest) = PartialDecode::new(BytesMut::from(&buf[..]), 8, false).unwrap();
    assert_eq!(a.len(), len1);
    let (b, none) = PartialDecode::new(rest.unwrap(), 8, false).unwrap();
    assert_eq!(b.len(), len2);
    assert!(none.is_none());
}

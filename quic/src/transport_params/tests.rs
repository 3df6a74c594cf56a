use super::*;
use crate::coding::get_varint;
use crate::crypto::Side;
use crate::transport_error::TransportErrorCode;
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;

const CLIENT: Side = Side::Client;
const SERVER: Side = Side::Server;

fn enc(p: &TransportParameters) -> Vec<u8> {
    let mut out = Vec::new();
    p.encode(&mut out);
    out
}

/// Raw (id, value) tuples, encoded with shortest varints for id and length.
fn raw(params: &[(u64, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    for (id, value) in params {
        put_varint(&mut out, *id);
        put_varint(&mut out, value.len() as u64);
        out.extend_from_slice(value);
    }
    out
}

/// A varint value field.
fn vi(v: u64) -> Vec<u8> {
    let mut out = Vec::new();
    put_varint(&mut out, v);
    out
}

fn cid(bytes: &[u8]) -> ConnectionId {
    ConnectionId::new(bytes).unwrap()
}

#[track_caller]
fn assert_tpe(sender: Side, bytes: &[u8]) {
    match TransportParameters::decode(sender, bytes) {
        Err(e) => assert_eq!(e.code, TransportErrorCode::TRANSPORT_PARAMETER_ERROR, "{e}"),
        Ok(p) => panic!("expected TRANSPORT_PARAMETER_ERROR, decoded {p:?}"),
    }
}

#[track_caller]
fn decode_ok(sender: Side, bytes: &[u8]) -> TransportParameters {
    TransportParameters::decode(sender, bytes).unwrap()
}

fn preferred(cid_len: usize) -> PreferredAddress {
    PreferredAddress {
        address_v4: Some(SocketAddrV4::new(Ipv4Addr::new(192, 0, 2, 1), 443)),
        address_v6: Some(SocketAddrV6::new(
            "2001:db8::1".parse().unwrap(),
            8443,
            0,
            0,
        )),
        connection_id: ConnectionId::new(&[7; 20][..cid_len]).unwrap(),
        stateless_reset_token: [0xab; 16],
    }
}

fn preferred_bytes(p: &PreferredAddress) -> Vec<u8> {
    let mut out = Vec::new();
    p.encode(&mut out);
    assert_eq!(out.len(), p.encoded_len());
    out
}

// ---------------------------------------------------------------------------------------------
// Defaults and fixed encodings

#[test]
fn defaults_follow_rfc_9000_section_18_2() {
    let d = TransportParameters::default();
    assert_eq!(d.max_udp_payload_size.into_inner(), 65527);
    assert_eq!(d.ack_delay_exponent.into_inner(), 3);
    assert_eq!(d.max_ack_delay.into_inner(), 25);
    assert_eq!(d.active_connection_id_limit.into_inner(), 2);
    assert_eq!(d.max_idle_timeout, VarInt::ZERO);
    assert_eq!(d.initial_max_data, VarInt::ZERO);
    assert_eq!(d.max_datagram_frame_size, VarInt::ZERO);
    assert!(!d.disable_active_migration && !d.grease_quic_bit);
    assert!(d.initial_source_connection_id.is_none() && d.preferred_address.is_none());
    // Nothing differs from the defaults, so nothing is written.
    assert!(enc(&d).is_empty());
    assert_eq!(d.encoded_len(), 0);
    assert_eq!(decode_ok(CLIENT, &[]), d);
    assert_eq!(decode_ok(SERVER, &[]), d);
}

#[test]
fn explicit_default_values_decode_like_absent_ones() {
    let bytes = raw(&[
        (id::MAX_UDP_PAYLOAD_SIZE, &vi(65527)),
        (id::ACK_DELAY_EXPONENT, &vi(3)),
        (id::MAX_ACK_DELAY, &vi(25)),
        (id::ACTIVE_CONNECTION_ID_LIMIT, &vi(2)),
        (id::INITIAL_MAX_DATA, &vi(0)),
    ]);
    assert_eq!(decode_ok(CLIENT, &bytes), TransportParameters::default());
}

#[test]
fn known_encoding() {
    let p = TransportParameters {
        max_idle_timeout: VarInt::from_u32(30_000),
        initial_max_data: VarInt::from_u32(1 << 20),
        initial_max_streams_bidi: VarInt::from_u32(100),
        disable_active_migration: true,
        initial_source_connection_id: Some(cid(&[0xc1, 0xc2])),
        max_datagram_frame_size: VarInt::from_u32(65535),
        grease_quic_bit: true,
        ..Default::default()
    };
    let bytes = enc(&p);
    assert_eq!(
        hex::encode(&bytes),
        concat!(
            "0104", "80007530", // max_idle_timeout 30000
            "0404", "80100000", // initial_max_data 2^20
            "0802", "4064", // initial_max_streams_bidi 100
            "0c00", // disable_active_migration
            "0f02", "c1c2", // initial_source_connection_id
            "2004", "8000ffff", // max_datagram_frame_size 65535
            "6ab200",   // grease_quic_bit (0x2ab2 as a 2-byte varint), empty
        )
    );
    assert_eq!(bytes.len(), p.encoded_len());
    assert_eq!(decode_ok(CLIENT, &bytes), p);
}

#[test]
fn non_minimal_varint_values_are_accepted() {
    // RFC 9000 §16: receivers accept non-minimal encodings; the length field covers them.
    let bytes = raw(&[
        (id::INITIAL_MAX_DATA, &[0x40, 0x05]),
        (id::MAX_IDLE_TIMEOUT, &[0xc0, 0, 0, 0, 0, 0, 0, 0x07]),
    ]);
    let p = decode_ok(CLIENT, &bytes);
    assert_eq!(p.initial_max_data.into_inner(), 5);
    assert_eq!(p.max_idle_timeout.into_inner(), 7);
    // Non-minimal parameter id and length fields too.
    let p = decode_ok(CLIENT, &[0x40, 0x04, 0x40, 0x01, 0x09]);
    assert_eq!(p.initial_max_data.into_inner(), 9);
}

#[test]
fn zero_length_connection_ids_are_valid() {
    // RFC 9000 §7.3: a zero-length connection ID is sent as a zero-length value.
    let p = TransportParameters {
        original_destination_connection_id: Some(ConnectionId::EMPTY),
        initial_source_connection_id: Some(ConnectionId::EMPTY),
        retry_source_connection_id: Some(ConnectionId::EMPTY),
        ..Default::default()
    };
    let bytes = enc(&p);
    assert_eq!(bytes, [0x00, 0x00, 0x0f, 0x00, 0x10, 0x00]);
    assert_eq!(decode_ok(SERVER, &bytes), p);
}

#[test]
fn preferred_address_families_may_be_omitted() {
    let mut pa = preferred(8);
    pa.address_v4 = None;
    let p = TransportParameters {
        preferred_address: Some(pa),
        ..Default::default()
    };
    let bytes = enc(&p);
    // The omitted family is sent as 0.0.0.0:0.
    assert_eq!(&bytes[2..8], &[0; 6]);
    assert_eq!(decode_ok(SERVER, &bytes), p);

    pa.address_v4 = Some(SocketAddrV4::new(Ipv4Addr::new(192, 0, 2, 1), 443));
    pa.address_v6 = None;
    let p = TransportParameters {
        preferred_address: Some(pa),
        ..Default::default()
    };
    assert_eq!(decode_ok(SERVER, &enc(&p)), p);

    // An unspecified address with a non-zero port is kept as sent.
    pa.address_v4 = Some(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 443));
    let p = TransportParameters {
        preferred_address: Some(pa),
        ..Default::default()
    };
    assert_eq!(decode_ok(SERVER, &enc(&p)), p);
}

// ---------------------------------------------------------------------------------------------
// Validation: one test per rule

#[test]
fn duplicate_parameters_are_rejected() {
    // RFC 9000 §7.4.
    assert_tpe(
        CLIENT,
        &raw(&[
            (id::MAX_IDLE_TIMEOUT, &vi(1)),
            (id::MAX_IDLE_TIMEOUT, &vi(1)),
        ]),
    );
    assert_tpe(
        CLIENT,
        &raw(&[
            (id::INITIAL_MAX_DATA, &vi(1)),
            (id::MAX_IDLE_TIMEOUT, &vi(1)),
            (id::INITIAL_MAX_DATA, &vi(2)),
        ]),
    );
    // Even when both carry the default value.
    assert_tpe(
        CLIENT,
        &raw(&[
            (id::ACK_DELAY_EXPONENT, &vi(3)),
            (id::ACK_DELAY_EXPONENT, &vi(3)),
        ]),
    );
    assert_tpe(
        CLIENT,
        &raw(&[
            (id::DISABLE_ACTIVE_MIGRATION, &[]),
            (id::DISABLE_ACTIVE_MIGRATION, &[]),
        ]),
    );
    assert_tpe(
        CLIENT,
        &raw(&[(id::GREASE_QUIC_BIT, &[]), (id::GREASE_QUIC_BIT, &[])]),
    );
    assert_tpe(
        CLIENT,
        &raw(&[
            (id::MAX_DATAGRAM_FRAME_SIZE, &vi(1)),
            (id::MAX_DATAGRAM_FRAME_SIZE, &vi(1)),
        ]),
    );
    assert_tpe(
        SERVER,
        &raw(&[
            (id::INITIAL_SOURCE_CONNECTION_ID, &[1]),
            (id::INITIAL_SOURCE_CONNECTION_ID, &[1]),
        ]),
    );
    assert_tpe(
        SERVER,
        &raw(&[
            (id::STATELESS_RESET_TOKEN, &[0; 16]),
            (id::STATELESS_RESET_TOKEN, &[0; 16]),
        ]),
    );
    // Every known id, duplicated with a valid value.
    let valid_values: [(u64, Vec<u8>); 19] = [
        (id::ORIGINAL_DESTINATION_CONNECTION_ID, vec![1]),
        (id::MAX_IDLE_TIMEOUT, vi(1)),
        (id::STATELESS_RESET_TOKEN, vec![0; 16]),
        (id::MAX_UDP_PAYLOAD_SIZE, vi(1500)),
        (id::INITIAL_MAX_DATA, vi(1)),
        (id::INITIAL_MAX_STREAM_DATA_BIDI_LOCAL, vi(1)),
        (id::INITIAL_MAX_STREAM_DATA_BIDI_REMOTE, vi(1)),
        (id::INITIAL_MAX_STREAM_DATA_UNI, vi(1)),
        (id::INITIAL_MAX_STREAMS_BIDI, vi(1)),
        (id::INITIAL_MAX_STREAMS_UNI, vi(1)),
        (id::ACK_DELAY_EXPONENT, vi(1)),
        (id::MAX_ACK_DELAY, vi(1)),
        (id::DISABLE_ACTIVE_MIGRATION, vec![]),
        (id::PREFERRED_ADDRESS, preferred_bytes(&preferred(4))),
        (id::ACTIVE_CONNECTION_ID_LIMIT, vi(4)),
        (id::INITIAL_SOURCE_CONNECTION_ID, vec![1]),
        (id::RETRY_SOURCE_CONNECTION_ID, vec![1]),
        (id::MAX_DATAGRAM_FRAME_SIZE, vi(1)),
        (id::GREASE_QUIC_BIT, vec![]),
    ];
    for (id, value) in &valid_values {
        decode_ok(SERVER, &raw(&[(*id, value)]));
        assert_tpe(SERVER, &raw(&[(*id, value), (*id, value)]));
    }
}

#[test]
fn max_udp_payload_size_below_1200_is_rejected() {
    // RFC 9000 §18.2.
    assert_tpe(CLIENT, &raw(&[(id::MAX_UDP_PAYLOAD_SIZE, &vi(1199))]));
    assert_tpe(CLIENT, &raw(&[(id::MAX_UDP_PAYLOAD_SIZE, &vi(0))]));
    let p = decode_ok(CLIENT, &raw(&[(id::MAX_UDP_PAYLOAD_SIZE, &vi(1200))]));
    assert_eq!(p.max_udp_payload_size.into_inner(), 1200);
    // Values above 65527 are not invalid, only unusual.
    decode_ok(
        CLIENT,
        &raw(&[(id::MAX_UDP_PAYLOAD_SIZE, &vi(VarInt::MAX.into_inner()))]),
    );
}

#[test]
fn ack_delay_exponent_above_20_is_rejected() {
    // RFC 9000 §18.2.
    assert_tpe(CLIENT, &raw(&[(id::ACK_DELAY_EXPONENT, &vi(21))]));
    assert_tpe(SERVER, &raw(&[(id::ACK_DELAY_EXPONENT, &vi(1 << 40))]));
    let p = decode_ok(CLIENT, &raw(&[(id::ACK_DELAY_EXPONENT, &vi(20))]));
    assert_eq!(p.ack_delay_exponent.into_inner(), 20);
}

#[test]
fn max_ack_delay_of_2_pow_14_is_rejected() {
    // RFC 9000 §18.2.
    assert_tpe(CLIENT, &raw(&[(id::MAX_ACK_DELAY, &vi(1 << 14))]));
    assert_tpe(CLIENT, &raw(&[(id::MAX_ACK_DELAY, &vi(u32::MAX.into()))]));
    let p = decode_ok(CLIENT, &raw(&[(id::MAX_ACK_DELAY, &vi((1 << 14) - 1))]));
    assert_eq!(p.max_ack_delay.into_inner(), (1 << 14) - 1);
}

#[test]
fn active_connection_id_limit_below_2_is_rejected() {
    // RFC 9000 §18.2.
    assert_tpe(CLIENT, &raw(&[(id::ACTIVE_CONNECTION_ID_LIMIT, &vi(0))]));
    assert_tpe(SERVER, &raw(&[(id::ACTIVE_CONNECTION_ID_LIMIT, &vi(1))]));
    let p = decode_ok(CLIENT, &raw(&[(id::ACTIVE_CONNECTION_ID_LIMIT, &vi(8))]));
    assert_eq!(p.active_connection_id_limit.into_inner(), 8);
}

#[test]
fn max_streams_above_2_pow_60_is_rejected() {
    // RFC 9000 §4.6.
    for param in [id::INITIAL_MAX_STREAMS_BIDI, id::INITIAL_MAX_STREAMS_UNI] {
        assert_tpe(CLIENT, &raw(&[(param, &vi((1 << 60) + 1))]));
        assert_tpe(SERVER, &raw(&[(param, &vi(VarInt::MAX.into_inner()))]));
        decode_ok(CLIENT, &raw(&[(param, &vi(1 << 60))]));
    }
}

#[test]
fn stateless_reset_token_must_be_16_bytes() {
    // RFC 9000 §18.2.
    for len in [0, 1, 15, 17, 32] {
        assert_tpe(
            SERVER,
            &raw(&[(id::STATELESS_RESET_TOKEN, &vec![0x11; len])]),
        );
    }
    let p = decode_ok(SERVER, &raw(&[(id::STATELESS_RESET_TOKEN, &[0x11; 16])]));
    assert_eq!(p.stateless_reset_token, Some([0x11; 16]));
}

#[test]
fn connection_id_parameters_longer_than_20_bytes_are_rejected() {
    // RFC 9000 §17.2: connection IDs are at most 20 bytes in QUIC v1.
    for param in [
        id::ORIGINAL_DESTINATION_CONNECTION_ID,
        id::INITIAL_SOURCE_CONNECTION_ID,
        id::RETRY_SOURCE_CONNECTION_ID,
    ] {
        assert_tpe(SERVER, &raw(&[(param, &[0x42; 21])]));
        assert_tpe(SERVER, &raw(&[(param, &[0x42; 255])]));
        decode_ok(SERVER, &raw(&[(param, &[0x42; 20])]));
    }
    assert_tpe(
        CLIENT,
        &raw(&[(id::INITIAL_SOURCE_CONNECTION_ID, &[0x42; 21])]),
    );
}

#[test]
fn integer_value_length_must_match_the_varint() {
    // RFC 9000 §18.2: integer parameters are one varint filling the whole value.
    for param in [
        id::MAX_IDLE_TIMEOUT,
        id::MAX_UDP_PAYLOAD_SIZE,
        id::INITIAL_MAX_DATA,
        id::INITIAL_MAX_STREAM_DATA_BIDI_LOCAL,
        id::INITIAL_MAX_STREAM_DATA_BIDI_REMOTE,
        id::INITIAL_MAX_STREAM_DATA_UNI,
        id::INITIAL_MAX_STREAMS_BIDI,
        id::INITIAL_MAX_STREAMS_UNI,
        id::ACK_DELAY_EXPONENT,
        id::MAX_ACK_DELAY,
        id::ACTIVE_CONNECTION_ID_LIMIT,
        id::MAX_DATAGRAM_FRAME_SIZE,
    ] {
        // Empty value.
        assert_tpe(CLIENT, &raw(&[(param, &[])]));
        // Value shorter than its varint says (2-byte varint in a 1-byte value).
        assert_tpe(CLIENT, &raw(&[(param, &[0x44])]));
        // 8-byte varint in a 4-byte value.
        assert_tpe(CLIENT, &raw(&[(param, &[0xc0, 0, 0, 0])]));
        // Trailing byte after a complete varint.
        assert_tpe(CLIENT, &raw(&[(param, &[0x05, 0x00])]));
        assert_tpe(CLIENT, &raw(&[(param, &[0x44, 0xb0, 0x00])]));
    }
}

#[test]
fn flag_parameters_must_be_empty() {
    // RFC 9000 §18.2 (disable_active_migration is a zero-length value), RFC 9287 §3.
    for param in [id::DISABLE_ACTIVE_MIGRATION, id::GREASE_QUIC_BIT] {
        assert_tpe(CLIENT, &raw(&[(param, &[0])]));
        assert_tpe(SERVER, &raw(&[(param, &[1, 2, 3])]));
    }
    let p = decode_ok(
        CLIENT,
        &raw(&[
            (id::DISABLE_ACTIVE_MIGRATION, &[]),
            (id::GREASE_QUIC_BIT, &[]),
        ]),
    );
    assert!(p.disable_active_migration && p.grease_quic_bit);
}

#[test]
fn server_only_parameters_from_a_client_are_rejected() {
    // RFC 9000 §18.2: a server MUST treat receipt of any of these as TRANSPORT_PARAMETER_ERROR.
    let pa = preferred_bytes(&preferred(8));
    let server_only: [(u64, &[u8]); 4] = [
        (id::ORIGINAL_DESTINATION_CONNECTION_ID, &[1, 2, 3, 4]),
        (id::STATELESS_RESET_TOKEN, &[9; 16]),
        (id::PREFERRED_ADDRESS, &pa),
        (id::RETRY_SOURCE_CONNECTION_ID, &[5, 6]),
    ];
    for (param, value) in server_only {
        assert_tpe(CLIENT, &raw(&[(param, value)]));
        decode_ok(SERVER, &raw(&[(param, value)]));
    }
    // A zero-length connection ID is still "present".
    assert_tpe(
        CLIENT,
        &raw(&[(id::ORIGINAL_DESTINATION_CONNECTION_ID, &[])]),
    );
    assert_tpe(CLIENT, &raw(&[(id::RETRY_SOURCE_CONNECTION_ID, &[])]));
    // validate() is the same check for locally built parameters.
    let p = TransportParameters {
        stateless_reset_token: Some([0; 16]),
        ..Default::default()
    };
    assert!(p.validate(SERVER).is_ok());
    assert_eq!(
        p.validate(CLIENT).unwrap_err().code,
        TransportErrorCode::TRANSPORT_PARAMETER_ERROR
    );
}

#[test]
fn preferred_address_layout_is_checked() {
    // RFC 9000 §18.2, Figure 22: 4 + 2 + 16 + 2 + 1 + CID + 16 bytes exactly.
    let good = preferred_bytes(&preferred(8));
    assert_eq!(good.len(), 41 + 8);
    assert_eq!(
        decode_ok(SERVER, &raw(&[(id::PREFERRED_ADDRESS, &good)])).preferred_address,
        Some(preferred(8))
    );
    // One byte too many or too few.
    let mut long = good.clone();
    long.push(0);
    assert_tpe(SERVER, &raw(&[(id::PREFERRED_ADDRESS, &long)]));
    assert_tpe(
        SERVER,
        &raw(&[(id::PREFERRED_ADDRESS, &good[..good.len() - 1])]),
    );
    // Every shorter value is an error.
    for len in 0..good.len() {
        assert_tpe(SERVER, &raw(&[(id::PREFERRED_ADDRESS, &good[..len])]));
    }
    // Connection ID length 0 (§18.2: MUST be treated as TRANSPORT_PARAMETER_ERROR), with the
    // value otherwise consistent (41 bytes).
    let mut zero = good[..24].to_vec();
    zero.push(0);
    zero.extend_from_slice(&[0xab; 16]);
    assert_eq!(zero.len(), 41);
    assert_tpe(SERVER, &raw(&[(id::PREFERRED_ADDRESS, &zero)]));
    // Connection ID length 21, with a value long enough to hold it.
    let mut too_long = good[..24].to_vec();
    too_long.push(21);
    too_long.extend_from_slice(&[7; 21]);
    too_long.extend_from_slice(&[0xab; 16]);
    assert_tpe(SERVER, &raw(&[(id::PREFERRED_ADDRESS, &too_long)]));
    // Connection ID length byte larger than what follows.
    let mut lying = good.clone();
    lying[24] = 20;
    assert_tpe(SERVER, &raw(&[(id::PREFERRED_ADDRESS, &lying)]));
    // A locally built preferred address with an empty CID fails validate().
    let p = TransportParameters {
        preferred_address: Some(preferred(0)),
        ..Default::default()
    };
    assert!(p.validate(SERVER).is_err());
}

#[test]
fn preferred_address_with_zero_length_server_cid_is_rejected() {
    // RFC 9000 §18.2: a server that chooses a zero-length connection ID MUST NOT provide a
    // preferred address.
    let pa = preferred_bytes(&preferred(8));
    assert_tpe(
        SERVER,
        &raw(&[
            (id::PREFERRED_ADDRESS, &pa),
            (id::INITIAL_SOURCE_CONNECTION_ID, &[]),
        ]),
    );
    decode_ok(
        SERVER,
        &raw(&[
            (id::PREFERRED_ADDRESS, &pa),
            (id::INITIAL_SOURCE_CONNECTION_ID, &[1]),
        ]),
    );
}

#[test]
fn truncated_headers_are_rejected() {
    // An id with no length, a length with no value, a length running past the end.
    assert_tpe(CLIENT, &[0x04]);
    assert_tpe(CLIENT, &[0x40]);
    assert_tpe(CLIENT, &[0x04, 0x40]);
    assert_tpe(CLIENT, &[0x04, 0x02, 0x01]);
    assert_tpe(CLIENT, &[0x04, 0x08]);
    // An unknown parameter whose length runs past the end is an error too.
    assert_tpe(CLIENT, &[0x1b, 0x05, 0, 0]);
    // A huge length field must not overflow anything.
    assert_tpe(
        CLIENT,
        &[0x1b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
    );
}

// ---------------------------------------------------------------------------------------------
// Unknown and reserved identifiers

#[test]
fn unknown_and_reserved_ids_are_ignored() {
    // RFC 9000 §7.4.2, §18.1. Values that would be invalid for a known parameter, repeats,
    // large ids, and an empty value.
    let max_reserved = 31 * ReservedParameter::MAX_N + 27;
    let bytes = raw(&[
        (27, &[0xff; 3]),
        (id::INITIAL_MAX_DATA, &vi(1000)),
        (58, &[]),
        (27, &[1]),
        (0x11, &[0xde, 0xad]), // version_information (RFC 9368): not understood here
        (0x21, &[0; 40]),
        (0xff02de1a, &[1, 2, 3]),
        (31 * 1000 + 27, &[0; 100]),
        (max_reserved, &[7]),
        (VarInt::MAX.into_inner(), &[]),
        (0x2ab3, &[1]),
    ]);
    for side in [CLIENT, SERVER] {
        let p = decode_ok(side, &bytes);
        assert_eq!(
            p,
            TransportParameters {
                initial_max_data: VarInt::from_u32(1000),
                ..Default::default()
            }
        );
    }
    assert!(is_reserved_id(max_reserved));
    assert!(max_reserved <= VarInt::MAX.into_inner());
}

#[test]
fn reserved_parameter_builder() {
    for n in [
        0,
        1,
        2,
        1000,
        ReservedParameter::MAX_N,
        ReservedParameter::MAX_N + 1,
        u64::MAX,
    ] {
        let r = ReservedParameter::new(
            n,
            &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17],
        );
        assert!(is_reserved_id(r.id().into_inner()), "n = {n}");
        assert_eq!(r.value().len(), ReservedParameter::MAX_VALUE_LEN);
        let mut out = Vec::new();
        r.encode(&mut out);
        assert_eq!(out.len(), r.encoded_len());
    }
    assert_eq!(ReservedParameter::new(0, &[]).id().into_inner(), 27);
    assert_eq!(ReservedParameter::new(1, &[9]).value(), &[9]);

    // Appended to real parameters, it is skipped by the peer.
    let p = TransportParameters {
        initial_max_data: VarInt::from_u32(77),
        initial_source_connection_id: Some(cid(&[1, 2, 3])),
        ..Default::default()
    };
    let mut out = enc(&p);
    let grease = ReservedParameter::new(0x1234_5678_9abc, b"grease!");
    grease.encode(&mut out);
    assert_eq!(out.len(), p.encoded_len() + grease.encoded_len());
    assert_eq!(decode_ok(CLIENT, &out), p);
    // And prepended.
    let mut out = Vec::new();
    grease.encode(&mut out);
    p.encode(&mut out);
    assert_eq!(decode_ok(CLIENT, &out), p);
}

// ---------------------------------------------------------------------------------------------
// Connection-ID authentication (RFC 9000 §7.3)

#[test]
fn client_cid_authentication() {
    let c1 = cid(&[0xc1; 8]);
    let p = TransportParameters {
        initial_source_connection_id: Some(c1),
        ..Default::default()
    };
    assert!(p.authenticate_client_cids(&c1).is_ok());
    let err = p.authenticate_client_cids(&cid(&[0xc2; 8])).unwrap_err();
    assert_eq!(err.code, TransportErrorCode::TRANSPORT_PARAMETER_ERROR);
    // Absence is an error (§7.3), even when the peer used a zero-length CID.
    let err = TransportParameters::default().authenticate_client_cids(&ConnectionId::EMPTY);
    assert_eq!(
        err.unwrap_err().code,
        TransportErrorCode::TRANSPORT_PARAMETER_ERROR
    );
    let empty = TransportParameters {
        initial_source_connection_id: Some(ConnectionId::EMPTY),
        ..Default::default()
    };
    assert!(empty.authenticate_client_cids(&ConnectionId::EMPTY).is_ok());
}

#[test]
fn server_cid_authentication() {
    // RFC 9000 Figures 7 and 8.
    let (s1, s2, s3) = (cid(&[0x51; 8]), cid(&[0x52; 8]), cid(&[0x53; 8]));
    let tpe = |r: Result<(), TransportError>| {
        assert_eq!(
            r.unwrap_err().code,
            TransportErrorCode::TRANSPORT_PARAMETER_ERROR
        )
    };

    // Without Retry.
    let p = TransportParameters {
        original_destination_connection_id: Some(s1),
        initial_source_connection_id: Some(s3),
        ..Default::default()
    };
    assert!(p.authenticate_server_cids(&s3, &s1, None).is_ok());
    tpe(p.authenticate_server_cids(&s1, &s1, None)); // wrong initial SCID
    tpe(p.authenticate_server_cids(&s3, &s2, None)); // wrong original DCID
    tpe(p.authenticate_server_cids(&s3, &s1, Some(&s2))); // Retry seen, parameter absent
    let missing_odcid = TransportParameters {
        original_destination_connection_id: None,
        ..p
    };
    tpe(missing_odcid.authenticate_server_cids(&s3, &s1, None));
    let missing_iscid = TransportParameters {
        initial_source_connection_id: None,
        ..p
    };
    tpe(missing_iscid.authenticate_server_cids(&s3, &s1, None));

    // With Retry.
    let p = TransportParameters {
        retry_source_connection_id: Some(s2),
        ..p
    };
    assert!(p.authenticate_server_cids(&s3, &s1, Some(&s2)).is_ok());
    tpe(p.authenticate_server_cids(&s3, &s1, None)); // parameter present, no Retry
    tpe(p.authenticate_server_cids(&s3, &s1, Some(&s3))); // mismatch
}

// ---------------------------------------------------------------------------------------------
// 0-RTT (RFC 9000 §7.4.1, RFC 9221 §3)

fn full_server_params() -> TransportParameters {
    TransportParameters {
        original_destination_connection_id: Some(cid(&[1; 8])),
        max_idle_timeout: VarInt::from_u32(30_000),
        stateless_reset_token: Some([2; 16]),
        max_udp_payload_size: VarInt::from_u32(1452),
        initial_max_data: VarInt::from_u32(1 << 20),
        initial_max_stream_data_bidi_local: VarInt::from_u32(1 << 16),
        initial_max_stream_data_bidi_remote: VarInt::from_u32(1 << 17),
        initial_max_stream_data_uni: VarInt::from_u32(1 << 18),
        initial_max_streams_bidi: VarInt::from_u32(100),
        initial_max_streams_uni: VarInt::from_u32(3),
        ack_delay_exponent: VarInt::from_u32(10),
        max_ack_delay: VarInt::from_u32(40),
        disable_active_migration: true,
        preferred_address: Some(preferred(8)),
        active_connection_id_limit: VarInt::from_u32(8),
        initial_source_connection_id: Some(cid(&[3; 8])),
        retry_source_connection_id: Some(cid(&[4; 8])),
        max_datagram_frame_size: VarInt::from_u32(65535),
        grease_quic_bit: true,
    }
}

#[test]
fn remembered_parameters_drop_what_must_not_be_remembered() {
    let full = full_server_params();
    let r = full.remembered_for_0rtt();
    let d = TransportParameters::default();
    assert_eq!(r.ack_delay_exponent, d.ack_delay_exponent);
    assert_eq!(r.max_ack_delay, d.max_ack_delay);
    assert_eq!(r.initial_source_connection_id, None);
    assert_eq!(r.original_destination_connection_id, None);
    assert_eq!(r.preferred_address, None);
    assert_eq!(r.retry_source_connection_id, None);
    assert_eq!(r.stateless_reset_token, None);
    // Everything else is kept.
    let kept = TransportParameters {
        ack_delay_exponent: d.ack_delay_exponent,
        max_ack_delay: d.max_ack_delay,
        initial_source_connection_id: None,
        original_destination_connection_id: None,
        preferred_address: None,
        retry_source_connection_id: None,
        stateless_reset_token: None,
        ..full
    };
    assert_eq!(r, kept);
    assert!(full.check_0rtt_limits(&r).is_ok());
}

#[test]
fn reduced_0rtt_limits_are_a_protocol_violation() {
    let old = full_server_params().remembered_for_0rtt();
    assert!(old.check_0rtt_limits(&old).is_ok());
    let lowered: [fn(&mut TransportParameters); 8] = [
        |p| p.active_connection_id_limit = VarInt::from_u32(7),
        |p| p.initial_max_data = VarInt::from_u32(1),
        |p| p.initial_max_stream_data_bidi_local = VarInt::from_u32(1),
        |p| p.initial_max_stream_data_bidi_remote = VarInt::from_u32(1),
        |p| p.initial_max_stream_data_uni = VarInt::from_u32(1),
        |p| p.initial_max_streams_bidi = VarInt::from_u32(1),
        |p| p.initial_max_streams_uni = VarInt::from_u32(1),
        |p| p.max_datagram_frame_size = VarInt::ZERO,
    ];
    for lower in lowered {
        let mut new = full_server_params();
        lower(&mut new);
        let err = new.check_0rtt_limits(&old).unwrap_err();
        assert_eq!(err.code, TransportErrorCode::PROTOCOL_VIOLATION);
    }
    // Raising limits and changing unrestricted parameters is fine.
    let mut new = full_server_params();
    new.initial_max_data = VarInt::from_u32(1 << 30);
    new.max_idle_timeout = VarInt::from_u32(1);
    new.ack_delay_exponent = VarInt::ZERO;
    new.disable_active_migration = false;
    assert!(new.check_0rtt_limits(&old).is_ok());
}

// ---------------------------------------------------------------------------------------------
// Properties

fn varint() -> impl Strategy<Value = VarInt> {
    prop_oneof![
        0u64..64,
        64u64..16384,
        16384u64..1 << 30,
        (1u64 << 30)..=VarInt::MAX.into_inner(),
    ]
    .prop_map(VarInt::from_u64_unchecked)
}

fn varint_in(range: std::ops::RangeInclusive<u64>) -> impl Strategy<Value = VarInt> {
    range.prop_map(VarInt::from_u64_unchecked)
}

fn arb_cid(min_len: usize) -> impl Strategy<Value = ConnectionId> {
    vec(any::<u8>(), min_len..=MAX_CID_LEN).prop_map(|b| ConnectionId::new(&b).unwrap())
}

fn arb_preferred() -> impl Strategy<Value = PreferredAddress> {
    (
        option::of((any::<[u8; 4]>(), any::<u16>())),
        option::of((any::<[u8; 16]>(), any::<u16>())),
        arb_cid(1),
        any::<[u8; 16]>(),
    )
        .prop_map(|(v4, v6, connection_id, stateless_reset_token)| {
            // An all-zero address and port means "not offered" (§18.2).
            let v4 = v4
                .map(|(ip, port)| SocketAddrV4::new(ip.into(), port))
                .filter(|a| !(a.ip().is_unspecified() && a.port() == 0));
            let v6 = v6
                .map(|(ip, port)| SocketAddrV6::new(ip.into(), port, 0, 0))
                .filter(|a| !(a.ip().is_unspecified() && a.port() == 0));
            PreferredAddress {
                address_v4: v4,
                address_v6: v6,
                connection_id,
                stateless_reset_token,
            }
        })
}

fn server_only<T: std::fmt::Debug + Clone + 'static>(
    sender: Side,
    s: impl Strategy<Value = T> + 'static,
) -> BoxedStrategy<Option<T>> {
    if sender == SERVER {
        option::of(s).boxed()
    } else {
        Just(None).boxed()
    }
}

/// Arbitrary parameter sets that `validate(sender)` accepts.
fn arb_params(sender: Side) -> impl Strategy<Value = TransportParameters> {
    let udp = prop_oneof![
        Just(VarInt::from_u32(65527)),
        varint_in(1200..=VarInt::MAX.into_inner())
    ];
    (
        (
            server_only(sender, arb_cid(0)),
            varint(),
            server_only(sender, any::<[u8; 16]>()),
            udp,
            varint(),
            varint(),
            varint(),
            varint(),
            varint_in(0..=MAX_STREAMS_LIMIT),
            varint_in(0..=MAX_STREAMS_LIMIT),
        ),
        (
            varint_in(0..=20),
            varint_in(0..=(1 << 14) - 1),
            any::<bool>(),
            server_only(sender, arb_preferred()),
            varint_in(2..=VarInt::MAX.into_inner()),
            option::of(arb_cid(0)),
            server_only(sender, arb_cid(0)),
            varint(),
            any::<bool>(),
        ),
    )
        .prop_map(|(a, b)| {
            let mut p = TransportParameters {
                original_destination_connection_id: a.0,
                max_idle_timeout: a.1,
                stateless_reset_token: a.2,
                max_udp_payload_size: a.3,
                initial_max_data: a.4,
                initial_max_stream_data_bidi_local: a.5,
                initial_max_stream_data_bidi_remote: a.6,
                initial_max_stream_data_uni: a.7,
                initial_max_streams_bidi: a.8,
                initial_max_streams_uni: a.9,
                ack_delay_exponent: b.0,
                max_ack_delay: b.1,
                disable_active_migration: b.2,
                preferred_address: b.3,
                active_connection_id_limit: b.4,
                initial_source_connection_id: b.5,
                retry_source_connection_id: b.6,
                max_datagram_frame_size: b.7,
                grease_quic_bit: b.8,
            };
            // §18.2: no preferred address with a zero-length server connection ID.
            if p.initial_source_connection_id.is_some_and(|c| c.is_empty()) {
                p.preferred_address = None;
            }
            p
        })
}

fn arb_sided_params() -> impl Strategy<Value = (Side, TransportParameters)> {
    prop_oneof![Just(CLIENT), Just(SERVER)].prop_flat_map(|side| (Just(side), arb_params(side)))
}

/// Offsets where a parameter ends in a well-formed encoding (0 included).
fn boundaries(mut bytes: &[u8]) -> Vec<usize> {
    let total = bytes.len();
    let mut out = vec![0];
    while !bytes.is_empty() {
        get_varint(&mut bytes).unwrap();
        let len = get_varint(&mut bytes).unwrap() as usize;
        bytes = &bytes[len..];
        out.push(total - bytes.len());
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn round_trip((server, p) in arb_sided_params()) {
        prop_assert!(p.validate(server).is_ok());
        let bytes = enc(&p);
        prop_assert_eq!(bytes.len(), p.encoded_len());
        prop_assert_eq!(TransportParameters::decode(server, &bytes), Ok(p));
        // A server accepts anything a client may send.
        if server == CLIENT {
            prop_assert_eq!(TransportParameters::decode(SERVER, &bytes), Ok(p));
        }
    }

    #[test]
    fn round_trip_with_grease(
        (server, p) in arb_sided_params(),
        n in any::<u64>(),
        value in vec(any::<u8>(), 0..20),
        front in any::<bool>(),
    ) {
        let grease = ReservedParameter::new(n, &value);
        let mut bytes = Vec::new();
        if front {
            grease.encode(&mut bytes);
            p.encode(&mut bytes);
        } else {
            p.encode(&mut bytes);
            grease.encode(&mut bytes);
        }
        prop_assert_eq!(bytes.len(), p.encoded_len() + grease.encoded_len());
        prop_assert_eq!(TransportParameters::decode(server, &bytes), Ok(p));
    }

    /// A cut inside a parameter is an error. A cut between parameters cannot be detected (the
    /// TLS extension length delimits the list, not the parameters): it decodes to exactly the
    /// parameters before the cut, and that set re-encodes to the prefix.
    #[test]
    fn every_truncation((server, p) in arb_sided_params()) {
        let bytes = enc(&p);
        let bounds = boundaries(&bytes);
        for cut in 0..bytes.len() {
            let prefix = &bytes[..cut];
            let result = TransportParameters::decode(server, prefix);
            if bounds.contains(&cut) {
                let q = result.unwrap();
                prop_assert_eq!(enc(&q), prefix);
            } else {
                let err = result.unwrap_err();
                prop_assert_eq!(err.code, TransportErrorCode::TRANSPORT_PARAMETER_ERROR);
            }
        }
    }

    #[test]
    fn garbage_never_panics(bytes in vec(any::<u8>(), 0..256)) {
        for server in [CLIENT, SERVER] {
            if let Ok(p) = TransportParameters::decode(server, &bytes) {
                let out = enc(&p);
                prop_assert_eq!(out.len(), p.encoded_len());
                prop_assert_eq!(TransportParameters::decode(server, &out), Ok(p));
            }
        }
    }

    /// Well-formed tuples with known ids and arbitrary values reach every value parser.
    #[test]
    fn structured_garbage_never_panics(
        params in vec(
            (
                prop_oneof![0u64..=0x12, Just(0x20u64), Just(0x2ab2u64), Just(27u64)],
                vec(any::<u8>(), 0..64),
            ),
            0..12,
        ),
    ) {
        let tuples: Vec<(u64, &[u8])> = params.iter().map(|(id, v)| (*id, &v[..])).collect();
        let bytes = raw(&tuples);
        for server in [CLIENT, SERVER] {
            if let Ok(p) = TransportParameters::decode(server, &bytes) {
                let out = enc(&p);
                prop_assert_eq!(out.len(), p.encoded_len());
                prop_assert_eq!(TransportParameters::decode(server, &out), Ok(p));
            }
        }
    }
}

use super::*;
use proptest::prelude::*;

fn encode(s: &Settings) -> Vec<u8> {
    let mut v = Vec::new();
    s.encode(&mut v);
    assert_eq!(v.len(), s.encoded_len());
    v
}

fn raw(pairs: &[(u64, u64)]) -> Vec<u8> {
    let mut v = Vec::new();
    for &(id, val) in pairs {
        varint::encode(id, &mut v);
        varint::encode(val, &mut v);
    }
    v
}

#[test]
fn known_settings_round_trip() {
    let s = Settings {
        qpack_max_table_capacity: Some(4096),
        max_field_section_size: Some(16384),
        qpack_blocked_streams: Some(100),
        enable_connect_protocol: Some(true),
        h3_datagram: Some(false),
        unknown: vec![(0x21, 7), (0x1234, 0)],
    };
    assert_eq!(Settings::decode(&encode(&s)).unwrap(), s);
    assert_eq!(s.qpack_max_table_capacity(), 4096);
    assert!(s.enable_connect_protocol());
    assert!(!s.h3_datagram());
}

#[test]
fn defaults() {
    let s = Settings::decode(&[]).unwrap();
    assert_eq!(s, Settings::default());
    assert_eq!(s.max_field_section_size(), u64::MAX);
    assert_eq!(s.qpack_max_table_capacity(), 0);
    assert_eq!(s.qpack_blocked_streams(), 0);
}

#[test]
fn duplicates_are_settings_errors() {
    for pairs in [
        &[(0x01, 1), (0x01, 2)][..],
        &[(0x06, 1), (0x06, 1)],
        &[(0x07, 1), (0x21, 0), (0x07, 1)],
        &[(0x08, 1), (0x08, 0)],
        &[(0x33, 1), (0x33, 1)],
        &[(0x21, 1), (0x21, 2)],
        &[(0x9999, 1), (0x40, 1), (0x9999, 2)],
    ] {
        let e = Settings::decode(&raw(pairs)).unwrap_err();
        assert_eq!(e.code, Code::H3_SETTINGS_ERROR, "{pairs:?}");
    }
}

#[test]
fn http2_settings_are_errors() {
    // RFC 9114 §7.2.4.1 / §11.2.2.
    for id in [0x00, 0x02, 0x03, 0x04, 0x05] {
        let e = Settings::decode(&raw(&[(id, 1)])).unwrap_err();
        assert_eq!(e.code, Code::H3_SETTINGS_ERROR, "{id:#x}");
    }
}

#[test]
fn boolean_settings_must_be_0_or_1() {
    for id in [ENABLE_CONNECT_PROTOCOL, H3_DATAGRAM] {
        assert!(Settings::decode(&raw(&[(id, 1)])).is_ok());
        let e = Settings::decode(&raw(&[(id, 2)])).unwrap_err();
        assert_eq!(e.code, Code::H3_SETTINGS_ERROR);
    }
}

#[test]
fn truncated_is_frame_error() {
    let mut v = raw(&[(0x06, 100_000)]);
    v.pop();
    assert_eq!(Settings::decode(&v).unwrap_err().code, Code::H3_FRAME_ERROR);
    assert_eq!(
        Settings::decode(&[0x06]).unwrap_err().code,
        Code::H3_FRAME_ERROR
    );
}

#[test]
fn grease_is_ignored_and_added() {
    let mut s = Settings::default();
    s.add_grease(12345);
    assert_eq!(s.unknown.len(), 1);
    assert!(is_grease_setting(s.unknown[0].0));
    let d = Settings::decode(&encode(&s)).unwrap();
    assert_eq!(d.qpack_max_table_capacity, None);
    assert_eq!(d, s);
}

fn unknown_id() -> impl Strategy<Value = u64> {
    prop_oneof![
        (0u64..1000).prop_map(grease_value),
        (0x40u64..varint::MAX).prop_filter("known", |id| *id != H3_DATAGRAM),
    ]
}

pub(crate) fn arb_settings() -> impl Strategy<Value = Settings> {
    let v = || proptest::option::of(0..=varint::MAX);
    (
        v(),
        v(),
        v(),
        proptest::option::of(any::<bool>()),
        proptest::option::of(any::<bool>()),
        proptest::collection::btree_map(unknown_id(), 0..=varint::MAX, 0..6),
    )
        .prop_map(|(a, b, c, d, e, unknown)| Settings {
            qpack_max_table_capacity: a,
            max_field_section_size: b,
            qpack_blocked_streams: c,
            enable_connect_protocol: d,
            h3_datagram: e,
            unknown: unknown.into_iter().collect(),
        })
}

proptest! {
    #[test]
    fn round_trip(s in arb_settings()) {
        let bytes = encode(&s);
        prop_assert_eq!(Settings::decode(&bytes).unwrap(), s);
    }

    #[test]
    fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        let _ = Settings::decode(&bytes);
    }
}

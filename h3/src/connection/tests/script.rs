//! Arbitrary peer input and application calls never panic a server (the same driver as the
//! `h3_connection` fuzz target).

use crate::frame::Frame;
use crate::testing::{run_server_script, ScriptOp};
use proptest::prelude::*;

fn frame_bytes() -> impl Strategy<Value = Vec<u8>> {
    let headers = prop_oneof![
        Just(crate::message::tests::GET.to_vec()),
        Just(vec![(":status", "200")]),
        Just(vec![("x", "y")]),
    ]
    .prop_map(|pairs| {
        let f = crate::message::tests::fields(&pairs);
        Frame::Headers(super::static_block(&f)).to_bytes().to_vec()
    });
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..40),
        headers,
        (0u8..8, proptest::collection::vec(any::<u8>(), 0..20)).prop_map(|(ty, p)| {
            let mut v = vec![ty, p.len() as u8];
            v.extend(p);
            v
        }),
        Just(vec![0x02]),
        Just(vec![0x03]),
        Just(vec![0x00, 0x04, 0x00]),
    ]
}

fn op() -> impl Strategy<Value = ScriptOp> {
    let stream = 0u64..32;
    prop_oneof![
        6 => (stream.clone(), frame_bytes(), any::<bool>())
            .prop_map(|(stream, data, fin)| ScriptOp::Data { stream, data, fin }),
        1 => (stream.clone(), 0u64..0x300).prop_map(|(stream, code)| ScriptOp::Reset { stream, code }),
        1 => (stream.clone(), 0u64..0x300)
            .prop_map(|(stream, code)| ScriptOp::StopSending { stream, code }),
        1 => stream.clone().prop_map(|stream| ScriptOp::Writable { stream }),
        1 => (stream.clone(), any::<u16>(), any::<bool>())
            .prop_map(|(stream, status, end)| ScriptOp::Respond { stream, status, end }),
        1 => (stream.clone(), 0u16..3000).prop_map(|(stream, len)| ScriptOp::SendData { stream, len }),
        1 => stream.clone().prop_map(|stream| ScriptOp::Finish { stream }),
        1 => stream.prop_map(|stream| ScriptOp::ResetStream { stream }),
        1 => Just(ScriptOp::Goaway),
        1 => proptest::option::of(0u16..100).prop_map(ScriptOp::Window),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]
    #[test]
    fn arbitrary_sessions_never_panic(
        valid_start in any::<bool>(),
        ops in proptest::collection::vec(op(), 0..40),
    ) {
        run_server_script(valid_start, ops);
    }
}

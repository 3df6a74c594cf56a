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
        priority_update(),
    ]
}

/// PRIORITY_UPDATE frames (RFC 9218 §7.2) for either target, any stream or push ID below 40
/// and values valid, partly valid or broken.
fn priority_update() -> impl Strategy<Value = Vec<u8>> {
    let value = prop_oneof![
        Just("u=1"),
        Just("u=0, i"),
        Just("i"),
        Just("u=9"),
        Just("u=,"),
        Just("")
    ];
    (any::<bool>(), 0u64..40, value).prop_map(|(push, id, value)| {
        Frame::PriorityUpdate {
            target: if push {
                crate::frame::PriorityTarget::Push
            } else {
                crate::frame::PriorityTarget::Request
            },
            id,
            value: bytes::Bytes::from_static(value.as_bytes()),
        }
        .to_bytes()
        .to_vec()
    })
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
        1 => stream.clone().prop_map(|stream| ScriptOp::ResetStream { stream }),
        1 => Just(ScriptOp::Goaway),
        1 => proptest::option::of(0u16..100).prop_map(ScriptOp::Window),
        1 => (stream.clone(), any::<u8>(), any::<bool>()).prop_map(|(stream, urgency, incremental)| {
            ScriptOp::SetPriority { stream, urgency, incremental }
        }),
        1 => (stream, prop_oneof![
            Just(b"u=1".to_vec()),
            Just(b"i".to_vec()),
            Just(b"u=6, i=?0".to_vec()),
            proptest::collection::vec(any::<u8>(), 0..8),
        ])
            .prop_map(|(stream, value)| ScriptOp::RespondWithPriority { stream, value }),
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

#[test]
fn script_checks_scheduled_priorities() {
    // The driver's invariant: after every step the transport holds each live request
    // stream's current priority (here changed by a response header, then by a call).
    let get = crate::message::tests::fields(crate::message::tests::GET);
    let headers = Frame::Headers(super::static_block(&get))
        .to_bytes()
        .to_vec();
    run_server_script(
        true,
        [
            ScriptOp::Data {
                stream: 0,
                data: headers,
                fin: false,
            },
            ScriptOp::RespondWithPriority {
                stream: 0,
                value: b"u=1, i".to_vec(),
            },
            ScriptOp::SetPriority {
                stream: 0,
                urgency: 13,
                incremental: false,
            },
        ],
    );
}

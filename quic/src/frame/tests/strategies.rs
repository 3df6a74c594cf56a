//! Proptest strategies that generate valid frames of every type.

use super::super::*;
use crate::cid::ConnectionId;
use crate::TransportErrorCode;
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;
use std::ops::Range;

const VARINT_MAX: u64 = VarInt::MAX.into_inner();

/// Values covering all four varint sizes.
pub fn varint_u64() -> impl Strategy<Value = u64> {
    prop_oneof![
        0u64..64,
        64u64..16384,
        16384u64..(1 << 30),
        (1u64 << 30)..=VARINT_MAX
    ]
}

pub fn varint() -> impl Strategy<Value = VarInt> {
    varint_u64().prop_map(VarInt::from_u64_unchecked)
}

pub fn bytes(len: Range<usize>) -> impl Strategy<Value = Bytes> {
    vec(any::<u8>(), len).prop_map(Bytes::from)
}

/// A stream or crypto offset that leaves room for `max_len` bytes below 2^62.
fn offset(max_len: u64) -> impl Strategy<Value = u64> {
    prop_oneof![Just(0u64), 1u64..16384, 0u64..=VARINT_MAX - max_len]
}

/// Valid ack ranges, sorted ascending, non-empty, separated by at least one missing packet.
pub fn ack_ranges() -> impl Strategy<Value = Vec<Range<u64>>> {
    let size = || prop_oneof![1u64..4, 1u64..100, 1u64..20_000, 1u64..(1 << 40)];
    let base = prop_oneof![Just(0u64), 0u64..1000, 0u64..(1 << 61)];
    (base, vec((size(), size()), 1..24)).prop_map(|(base, pairs)| {
        let mut start = base;
        let mut ranges = Vec::with_capacity(pairs.len());
        for (len, gap) in pairs {
            ranges.push(start..start + len);
            start += len + gap;
        }
        ranges
    })
}

pub fn ecn() -> impl Strategy<Value = EcnCounts> {
    (varint_u64(), varint_u64(), varint_u64()).prop_map(|(ect0, ect1, ce)| EcnCounts {
        ect0,
        ect1,
        ce,
    })
}

pub fn ack() -> impl Strategy<Value = Ack> {
    (ack_ranges(), varint_u64(), option::of(ecn())).prop_map(|(ranges, delay, ecn)| {
        AckEncoder::ascending(&ranges, delay, ecn)
            .expect("valid ranges")
            .to_ack()
    })
}

pub fn stream() -> impl Strategy<Value = Stream> {
    (varint(), offset(300), any::<bool>(), bytes(0..300)).prop_map(|(id, offset, fin, data)| {
        Stream {
            id,
            offset,
            fin,
            data,
        }
    })
}

pub fn crypto() -> impl Strategy<Value = Crypto> {
    (offset(300), bytes(0..300)).prop_map(|(offset, data)| Crypto { offset, data })
}

fn dir() -> impl Strategy<Value = Dir> {
    prop_oneof![Just(Dir::Bi), Just(Dir::Uni)]
}

fn stream_count() -> impl Strategy<Value = u64> {
    prop_oneof![0u64..64, 0u64..=MAX_STREAMS_LIMIT, Just(MAX_STREAMS_LIMIT)]
}

pub fn new_connection_id() -> impl Strategy<Value = NewConnectionId> {
    (
        varint(),
        varint(),
        vec(any::<u8>(), 1..=20),
        any::<[u8; 16]>(),
    )
        .prop_map(|(a, b, cid, reset_token)| NewConnectionId {
            sequence: a.max(b),
            retire_prior_to: a.min(b),
            id: ConnectionId::new(&cid).expect("at most 20 bytes"),
            reset_token,
        })
}

/// Any valid frame.
pub fn frame() -> impl Strategy<Value = Frame> {
    prop_oneof![
        (1usize..1500).prop_map(Frame::Padding),
        Just(Frame::Ping),
        ack().prop_map(Frame::Ack),
        (varint(), varint(), varint()).prop_map(|(id, error_code, final_size)| {
            Frame::ResetStream(ResetStream {
                id,
                error_code,
                final_size,
            })
        }),
        (varint(), varint())
            .prop_map(|(id, error_code)| Frame::StopSending(StopSending { id, error_code })),
        crypto().prop_map(Frame::Crypto),
        bytes(1..200).prop_map(|token| Frame::NewToken(NewToken { token })),
        stream().prop_map(Frame::Stream),
        varint().prop_map(Frame::MaxData),
        (varint(), varint()).prop_map(|(id, max)| Frame::MaxStreamData(MaxStreamData { id, max })),
        (dir(), stream_count())
            .prop_map(|(dir, count)| Frame::MaxStreams(MaxStreams { dir, count })),
        varint().prop_map(Frame::DataBlocked),
        (varint(), varint())
            .prop_map(|(id, limit)| Frame::StreamDataBlocked(StreamDataBlocked { id, limit })),
        (dir(), stream_count())
            .prop_map(|(dir, limit)| Frame::StreamsBlocked(StreamsBlocked { dir, limit })),
        new_connection_id().prop_map(Frame::NewConnectionId),
        varint().prop_map(Frame::RetireConnectionId),
        any::<[u8; 8]>().prop_map(Frame::PathChallenge),
        any::<[u8; 8]>().prop_map(Frame::PathResponse),
        (varint_u64(), varint_u64(), bytes(0..100)).prop_map(|(code, ty, reason)| {
            Frame::ConnectionClose(ConnectionClose {
                error_code: TransportErrorCode(code),
                frame_type: FrameType(ty),
                reason,
            })
        }),
        (varint(), bytes(0..100)).prop_map(|(error_code, reason)| {
            Frame::ApplicationClose(ApplicationClose { error_code, reason })
        }),
        Just(Frame::HandshakeDone),
        bytes(0..300).prop_map(|data| Frame::Datagram(Datagram { data })),
    ]
}

/// Any valid frame except PADDING, whose runs merge when two are adjacent and whose prefixes
/// are shorter PADDING runs.
pub fn non_padding_frame() -> impl Strategy<Value = Frame> {
    frame().prop_filter("not PADDING", |f| !matches!(f, Frame::Padding(_)))
}

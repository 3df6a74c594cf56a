//! Frame tests: property round trips for every frame type (`roundtrip`), the send-path
//! encoders (`send`), and one targeted test per validation rule and packet-type permission
//! (`validation`). Strategies generating valid frames live in `strategies`.

// ACK tests build one-range sets on purpose (`[0..1]` is a set of one range, not a mistake).
#![allow(clippy::single_range_in_vec_init)]

mod roundtrip;
mod send;
mod strategies;
mod validation;

use super::*;
use crate::packet::PacketType;
use crate::{TransportError, TransportErrorCode};

/// Every packet type, for permission sweeps.
const ALL_PACKET_TYPES: [PacketType; 6] = [
    PacketType::Initial,
    PacketType::ZeroRtt,
    PacketType::Handshake,
    PacketType::Retry,
    PacketType::VersionNegotiation,
    PacketType::OneRtt,
];

/// Encodes `frame`, checking the length against `encoded_len`.
fn encode(frame: &Frame) -> Vec<u8> {
    let mut out = Vec::new();
    frame.encode(&mut out);
    assert_eq!(out.len(), frame.encoded_len(), "encoded_len of {frame:?}");
    out
}

/// Decodes every frame of `payload` in a packet of type `pt`.
fn decode_all(payload: &[u8], pt: PacketType) -> Vec<Result<Frame, TransportError>> {
    FrameIter::new(Bytes::copy_from_slice(payload), pt).collect()
}

/// Decodes `payload` as one 1-RTT frame that must fail, and returns the error.
fn decode_err(payload: &[u8]) -> TransportError {
    decode_err_in(payload, PacketType::OneRtt)
}

fn decode_err_in(payload: &[u8], pt: PacketType) -> TransportError {
    let mut buf = Bytes::copy_from_slice(payload);
    match Frame::decode(&mut buf, pt) {
        Ok(f) => panic!("{} decoded as {f:?}", hex::encode(payload)),
        Err(e) => e,
    }
}

/// Asserts `err` has this code and frame type.
#[track_caller]
fn assert_error(err: &TransportError, code: TransportErrorCode, frame_type: Option<u64>) {
    assert_eq!((err.code, err.frame_type), (code, frame_type), "{err}");
}

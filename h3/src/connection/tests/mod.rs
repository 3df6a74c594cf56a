//! Connection tests over the in-memory transport.

mod errors;
mod exchange;
mod features;
mod malformed;
mod priority;
mod script;

use crate::frame::Frame;
use crate::settings::Settings;
use crate::testing::{MemTransport, Op, Pair};
use crate::{varint, Code, Config, Connection, Event, Role, StreamId};
use bytes::Bytes;
use http::{Request, Response};

pub(super) fn get(path: &str) -> Request<()> {
    Request::get(format!("https://example.com{path}"))
        .body(())
        .unwrap()
}

pub(super) fn ok() -> Response<()> {
    Response::builder().status(200).body(()).unwrap()
}

/// The request events the server saw, by stream.
pub(super) fn requests(events: &[Event]) -> Vec<(StreamId, Request<()>)> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Request { stream, request } => Some((*stream, request.clone())),
            _ => None,
        })
        .collect()
}

/// All body bytes delivered for `stream`.
pub(super) fn body(events: &[Event], stream: StreamId) -> Vec<u8> {
    let mut out = Vec::new();
    for e in events {
        if let Event::Data { stream: s, data } = e {
            if *s == stream {
                out.extend_from_slice(data);
            }
        }
    }
    out
}

pub(super) fn finished(events: &[Event], stream: StreamId) -> bool {
    events
        .iter()
        .any(|e| matches!(e, Event::Finished { stream: s } if *s == stream))
}

pub(super) fn stream_errors(events: &[Event]) -> Vec<crate::StreamError> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::StreamError(e) => Some(*e),
            _ => None,
        })
        .collect()
}

/// Bytes of a peer unidirectional stream: type then frames.
pub(super) fn uni(ty: u64, frames: &[Frame]) -> Bytes {
    let mut v = Vec::new();
    varint::encode(ty, &mut v);
    for f in frames {
        f.encode(&mut v);
    }
    Bytes::from(v)
}

pub(super) fn frames(frames: &[Frame]) -> Bytes {
    let mut v = Vec::new();
    for f in frames {
        f.encode(&mut v);
    }
    Bytes::from(v)
}

/// A lone connection of `role` with its transport, started, whose peer's control stream
/// (with an empty SETTINGS) has been received.
pub(super) fn lone(role: Role) -> (Connection, MemTransport) {
    let mut c = Connection::new(role, Config::default());
    let mut t = MemTransport::new(role);
    c.start(&mut t).unwrap();
    let peer_control = peer_uni(role, 0);
    c.on_stream_data(
        &mut t,
        peer_control,
        uni(0x00, &[Frame::Settings(Settings::default())]),
        false,
    )
    .unwrap();
    t.take_ops();
    while c.poll_event().is_some() {}
    (c, t)
}

/// The `n`-th unidirectional stream the peer of `role` opens.
pub(super) fn peer_uni(role: Role, n: u64) -> StreamId {
    let base = if role == Role::Client { 3 } else { 2 };
    StreamId(base + 4 * n)
}

/// The code the connection closed with, if it did.
pub(super) fn close_code(t: &MemTransport) -> Option<Code> {
    t.closed.as_ref().map(|(c, _)| *c)
}

/// QPACK-encodes `fields` without the dynamic table.
pub(super) fn static_block(fields: &[qpack::HeaderField]) -> Bytes {
    let mut enc = qpack::Encoder::new(qpack::EncoderConfig::default());
    let mut instructions = Vec::new();
    let block = enc.encode(0, fields, &mut instructions);
    assert!(instructions.is_empty());
    Bytes::from(block)
}

pub(super) fn has_op(t: &[Op], want: &Op) -> bool {
    t.contains(want)
}

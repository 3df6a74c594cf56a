//! Tests of the stream layer. `Pair` glues two [`StreamsState`]s together the way a connection
//! would (frame values in, frame values out, acks and losses reported back), with a virtual
//! clock.

mod assembler;
mod flow;
mod limits;
mod props;
mod recv;
mod sched;
mod send;

use std::time::{Duration, Instant};

use super::*;
use crate::{TransportError, TransportErrorCode};

pub(super) fn code(e: TransportError) -> TransportErrorCode {
    e.code
}

pub(super) fn vi(v: u32) -> VarInt {
    VarInt::from_u32(v)
}

/// Delivers a control frame to the peer, as the connection would after decoding it.
pub(super) fn deliver_control(
    to: &mut StreamsState,
    f: StreamControl,
) -> Result<(), TransportError> {
    match f {
        StreamControl::ResetStream {
            id,
            error_code,
            final_size,
        } => to.on_reset_stream(id, error_code, final_size),
        StreamControl::StopSending { id, error_code } => to.on_stop_sending(id, error_code),
        StreamControl::MaxData(max) => {
            to.on_max_data(max);
            Ok(())
        }
        StreamControl::MaxStreamData { id, max } => to.on_max_stream_data(id, max),
        StreamControl::MaxStreams { dir, count } => to.on_max_streams(dir, count),
        StreamControl::DataBlocked(limit) => {
            to.on_data_blocked(limit);
            Ok(())
        }
        StreamControl::StreamDataBlocked { id, limit } => to.on_stream_data_blocked(id, limit),
        StreamControl::StreamsBlocked { dir, limit } => to.on_streams_blocked(dir, limit),
    }
}

/// Two endpoints and a lossless, instantaneous link by default.
pub(super) struct Pair {
    pub client: StreamsState,
    pub server: StreamsState,
    pub now: Instant,
    pub rtt: Duration,
}

impl Pair {
    pub fn new(config: StreamsConfig) -> Self {
        Self::with_configs(config.clone(), config)
    }

    pub fn with_configs(client: StreamsConfig, server: StreamsConfig) -> Self {
        let mut client = StreamsState::new(Side::Client, client);
        let mut server = StreamsState::new(Side::Server, server);
        client.set_peer_limits(server.local_limits()).unwrap();
        server.set_peer_limits(client.local_limits()).unwrap();
        Self::events(&mut client);
        Self::events(&mut server);
        Self {
            client,
            server,
            now: t0(),
            rtt: Duration::from_millis(100),
        }
    }

    pub fn side(&mut self, side: Side) -> (&mut StreamsState, &mut StreamsState) {
        match side {
            Side::Client => (&mut self.client, &mut self.server),
            Side::Server => (&mut self.server, &mut self.client),
        }
    }

    /// Moves everything `from` has to send to its peer, acknowledging it immediately.
    /// Returns the number of frames moved.
    pub fn flush(&mut self, from: Side) -> usize {
        let (now, rtt) = (self.now, self.rtt);
        let (a, b) = self.side(from);
        let mut frames = 0;
        while let Some(f) = a.poll_control(now, rtt, 1200) {
            deliver_control(b, f).unwrap();
            a.on_control_acked(&f);
            frames += 1;
        }
        while let Some(c) = a.poll_stream_data(1200) {
            b.on_stream_frame(c.id, c.offset, c.data.clone(), c.fin)
                .unwrap();
            a.on_stream_acked(c.id, c.offset, c.data.len(), c.fin);
            frames += 1;
        }
        frames
    }

    /// Flushes both ways until quiet.
    pub fn drive(&mut self) {
        for _ in 0..10_000 {
            if self.flush(Side::Client) + self.flush(Side::Server) == 0 {
                return;
            }
        }
        panic!("pair never went quiet");
    }

    pub fn events(s: &mut StreamsState) -> Vec<StreamEvent> {
        std::iter::from_fn(|| s.poll_event()).collect()
    }
}

/// The base of the virtual clock. `Instant` has no constructor, so tests read the clock once;
/// everything after advances virtually (the crate itself never reads it).
#[allow(clippy::disallowed_methods)]
pub(super) fn t0() -> Instant {
    Instant::now()
}

/// Reads everything currently readable on `id`.
pub(super) fn read_all(s: &mut StreamsState, id: StreamId) -> (Vec<u8>, bool) {
    let mut out = Vec::new();
    let Some(mut r) = s.recv(id) else {
        return (out, false);
    };
    loop {
        match r.read_chunk(usize::MAX) {
            Ok(Some(b)) => out.extend_from_slice(&b),
            Ok(None) => return (out, true),
            Err(_) => return (out, false),
        }
    }
}

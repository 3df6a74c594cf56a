//! HTTP/3 over our QUIC transport: [`QuicTransport`] implements [`Transport`] on a
//! `quic::connection::Connection`, and [`pump`] feeds the QUIC connection's events into the
//! HTTP/3 state machine. Both are synchronous; the async API builds on them.

use std::time::Instant;

use bytes::Bytes;
use quic::connection::{
    Connection as QuicConnection, ConnectionError as QuicError, Event as QuicEvent,
};
use quic::stream::{Dir, ReadError, StreamEvent};
use quic::VarInt;

use crate::{Code, Connection, ConnectionError, StreamId, Transport, WriteError};

/// A QUIC connection seen through the [`Transport`] trait for one call.
pub struct QuicTransport<'a> {
    conn: &'a mut QuicConnection,
    now: Instant,
}

impl<'a> QuicTransport<'a> {
    /// Wraps `conn`; `now` is used if HTTP/3 closes the connection.
    pub fn new(conn: &'a mut QuicConnection, now: Instant) -> Self {
        Self { conn, now }
    }
}

fn quic_id(id: StreamId) -> Option<quic::stream::StreamId> {
    quic::stream::StreamId::from_u64(id.0)
}

fn code(c: Code) -> VarInt {
    VarInt::from_u64(c.0).unwrap_or(VarInt::MAX)
}

impl Transport for QuicTransport<'_> {
    fn open_uni(&mut self) -> Option<StreamId> {
        self.conn
            .open_stream(Dir::Uni)
            .map(|id| StreamId(id.into_inner()))
    }

    fn open_bidi(&mut self) -> Option<StreamId> {
        self.conn
            .open_stream(Dir::Bi)
            .map(|id| StreamId(id.into_inner()))
    }

    fn write(&mut self, id: StreamId, data: Bytes) -> Result<usize, WriteError> {
        let Some(mut stream) = quic_id(id).and_then(|id| self.conn.send_stream(id)) else {
            return Err(WriteError::Closed);
        };
        match stream.write_chunk(data) {
            Ok(n) => Ok(n),
            Err(quic::stream::WriteError::Blocked) => Ok(0),
            Err(quic::stream::WriteError::Stopped(c)) => {
                Err(WriteError::Stopped(Code(c.into_inner())))
            }
            Err(quic::stream::WriteError::ClosedStream) => Err(WriteError::Closed),
        }
    }

    fn finish(&mut self, id: StreamId) {
        if let Some(mut s) = quic_id(id).and_then(|id| self.conn.send_stream(id)) {
            let _ = s.finish();
        }
    }

    fn reset(&mut self, id: StreamId, c: Code) {
        if let Some(mut s) = quic_id(id).and_then(|id| self.conn.send_stream(id)) {
            let _ = s.reset(code(c));
        }
    }

    fn stop_sending(&mut self, id: StreamId, c: Code) {
        if let Some(mut s) = quic_id(id).and_then(|id| self.conn.recv_stream(id)) {
            let _ = s.stop(code(c));
        }
    }

    fn close(&mut self, c: Code, reason: &[u8]) {
        self.conn.close(self.now, code(c), reason);
    }

    fn peer_bidi_limit(&self) -> Option<u64> {
        Some(self.conn.peer_stream_limit(Dir::Bi))
    }

    fn set_priority(&mut self, id: StreamId, urgency: u8, incremental: bool) {
        // quic's scheduler implements the same model (strict urgency, sequential then
        // round-robin), so the values map one to one.
        if let Some(mut s) = quic_id(id).and_then(|id| self.conn.send_stream(id)) {
            s.set_priority(quic::stream::Priority {
                urgency,
                incremental,
            });
        }
    }
}

/// What [`pump`] saw that is not HTTP/3's business.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Pumped {
    /// The QUIC handshake completed during this call.
    pub connected: bool,
    /// The QUIC connection ended.
    pub closed: Option<QuicError>,
}

/// Moves every pending QUIC event into `h3`: starts HTTP/3 once the handshake completes, and
/// hands it stream data, resets, STOP_SENDING and writability. HTTP/3 errors close the QUIC
/// connection with their code (done inside `h3` through the transport).
pub fn pump(
    h3: &mut Connection,
    conn: &mut QuicConnection,
    now: Instant,
) -> Result<Pumped, ConnectionError> {
    let mut out = Pumped::default();
    while let Some(event) = conn.poll_event() {
        match event {
            QuicEvent::Connected => {
                out.connected = true;
                h3.start(&mut QuicTransport::new(conn, now))?;
            }
            QuicEvent::Closed(e) => {
                let (c, reason) = match &e {
                    QuicError::ApplicationClosed { code, reason, .. } => {
                        (Code(code.into_inner()), Bytes::from(reason.clone()))
                    }
                    _ => (Code::H3_NO_ERROR, Bytes::new()),
                };
                h3.on_connection_closed(c, reason);
                out.closed = Some(e);
            }
            QuicEvent::Datagram(_) => {}
            QuicEvent::Stream(ev) => stream_event(h3, conn, now, ev)?,
        }
    }
    Ok(out)
}

fn stream_event(
    h3: &mut Connection,
    conn: &mut QuicConnection,
    now: Instant,
    ev: StreamEvent,
) -> Result<(), ConnectionError> {
    match ev {
        StreamEvent::Readable { id } => loop {
            let Some(mut stream) = conn.recv_stream(id) else {
                return Ok(());
            };
            let h3_id = StreamId(id.into_inner());
            match stream.read_chunk(usize::MAX) {
                Ok(Some(data)) => {
                    h3.on_stream_data(&mut QuicTransport::new(conn, now), h3_id, data, false)?
                }
                Ok(None) => {
                    return h3.on_stream_data(
                        &mut QuicTransport::new(conn, now),
                        h3_id,
                        Bytes::new(),
                        true,
                    )
                }
                Err(ReadError::Blocked) | Err(ReadError::ClosedStream) => return Ok(()),
                Err(ReadError::Reset(c)) => {
                    return h3.on_stream_reset(
                        &mut QuicTransport::new(conn, now),
                        h3_id,
                        Code(c.into_inner()),
                    )
                }
            }
        },
        StreamEvent::Reset { id, error_code } => h3.on_stream_reset(
            &mut QuicTransport::new(conn, now),
            StreamId(id.into_inner()),
            Code(error_code.into_inner()),
        ),
        StreamEvent::Stopped { id, error_code } => h3.on_stop_sending(
            &mut QuicTransport::new(conn, now),
            StreamId(id.into_inner()),
            Code(error_code.into_inner()),
        ),
        StreamEvent::Writable { id } => h3.on_stream_writable(
            &mut QuicTransport::new(conn, now),
            StreamId(id.into_inner()),
        ),
        StreamEvent::Opened { .. }
        | StreamEvent::Finished { .. }
        | StreamEvent::Available { .. } => Ok(()),
    }
}

//! The async HTTP/3 client and server on our QUIC runtime (`quic::runtime`), with the
//! `http` crate's types.
//!
//! ```no_run
//! # async fn demo(quic: quic::runtime::Connection) -> Result<(), h3::asynch::Error> {
//! use h3::asynch::Client;
//!
//! let client = Client::new(quic, h3::Config::default());
//! let req = http::Request::get("https://example.com/").body(()).unwrap();
//! let mut stream = client.send_request(req).await?;
//! stream.finish()?;
//! let resp = stream.recv_response().await?;
//! while let Some(chunk) = stream.recv_data().await? {
//!     # let _ = (&resp, chunk);
//! }
//! client.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! A server wraps each accepted QUIC connection in a [`Server`] and takes requests as
//! `(http::Request<()>, RequestStream)` from [`Server::accept`].
//!
//! # Why the HTTP/3 state lives inside the QUIC runtime
//!
//! The sync [`crate::Connection`] must see every QUIC stream event of its connection —
//! the peer's control and QPACK streams, header sections blocked on the encoder stream,
//! resets, STOP_SENDING, writability — and writes synchronously through
//! [`QuicTransport`](crate::quic::QuicTransport) on the core connection. Two designs were
//! possible:
//!
//! * running HTTP/3 over the runtime's async stream handles (`accept_uni`, `open_bi`, ...):
//!   a task per stream would read and feed the state machine behind a second lock, and the
//!   synchronous `Transport` calls (`open_bidi`, `write` returning 0 when blocked) would
//!   have to be emulated on top of async handles with their own wakers and queues — two
//!   copies of stream bookkeeping, and ordering between streams (a header block waiting for
//!   an encoder-stream instruction) lost between tasks;
//! * installing the state machine beside the core connection (chosen): the runtime's small
//!   [`quic::runtime::AppProtocol`] hook hands it every QUIC event under the runtime's lock,
//!   exactly like the in-memory tests' `h3::quic::pump`, and handles reach it through
//!   `Connection::with_protocol`. One lock, no extra tasks, no copies.
//!
//! Flow control works end to end: [`RequestStream::send_data`] waits while QUIC cannot take
//! more (the sync core keeps at most one frame queued per stream), and a stream's received
//! body is buffered up to 1 MiB before we stop reading its QUIC stream, so QUIC flow control
//! pushes back on the peer.
//!
//! Errors ([`Error`]) carry HTTP/3 codes ([`Error::code`]): a stream reset or stopped by
//! either side, a connection closed by either side, or an operation refused locally.

mod client;
mod server;
mod state;
mod stream;

use std::future::poll_fn;
use std::task::Poll;
use std::time::Instant;

pub use client::Client;
pub use server::Server;
pub use stream::RequestStream;

use crate::{Code, ConnectionError, SendError, StreamError};
use quic::connection::Connection as QuicConnection;
use state::H3State;

/// Why an HTTP/3 operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The request stream was reset or stopped (by the peer, or by us for a malformed
    /// message), or rejected by the peer's GOAWAY (H3_REQUEST_REJECTED: safe to retry).
    #[error(transparent)]
    Stream(StreamError),
    /// The HTTP/3 connection was closed with an HTTP/3 code.
    #[error(transparent)]
    Connection(ConnectionError),
    /// The QUIC connection ended below HTTP/3 (idle timeout, transport error, reset).
    #[error("QUIC connection lost: {0}")]
    Transport(quic::connection::ConnectionError),
    /// The operation was refused locally; nothing was sent.
    #[error(transparent)]
    Send(SendError),
    /// The connection is gone.
    #[error("connection closed")]
    Closed,
}

impl Error {
    /// The HTTP/3 error code this error carries, if any.
    pub fn code(&self) -> Option<Code> {
        match self {
            Error::Stream(e) => Some(e.code),
            Error::Connection(e) => Some(e.code()),
            Error::Send(SendError::Stopped(c)) => Some(*c),
            Error::Send(SendError::GoingAway) => Some(Code::H3_REQUEST_REJECTED),
            _ => None,
        }
    }

    /// Whether the request was not processed by the server (GOAWAY or H3_REQUEST_REJECTED)
    /// and may be retried on another connection (RFC 9114 §4.1.1, §5.2).
    pub fn is_retryable(&self) -> bool {
        self.code() == Some(Code::H3_REQUEST_REJECTED)
    }
}

/// How much one connection used the QPACK dynamic table (RFC 9204 §3.2), both ways: proof
/// in interop logs that header compression went beyond the static table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QpackStats {
    /// Entries our encoder inserted into the peer's table (encoder-stream instructions sent).
    pub encoder_inserts: u64,
    /// Entries the peer's encoder inserted into our table (instructions received).
    pub decoder_inserts: u64,
    /// The table capacity the peer allows us (its SETTINGS_QPACK_MAX_TABLE_CAPACITY; 0, the
    /// default, forbids dynamic-table use by our encoder). `None` before its SETTINGS.
    pub peer_table_capacity: Option<u64>,
}

impl std::fmt::Display for QpackStats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "encoder_inserts={} decoder_inserts={} peer_table_capacity=",
            self.encoder_inserts, self.decoder_inserts
        )?;
        match self.peer_table_capacity {
            Some(c) => write!(f, "{c}"),
            None => f.write_str("unknown"),
        }
    }
}

/// QPACK dynamic-table use of an HTTP/3 connection run by [`Client`] or [`Server`] (`None`
/// if `conn` carries no HTTP/3). Still available after the connection closed.
pub fn qpack_stats(conn: &quic::runtime::Connection) -> Option<QpackStats> {
    conn.with_protocol::<H3State, _>(|st, _, _| {
        let (encoder_inserts, decoder_inserts) = st.h3.qpack_insert_counts();
        QpackStats {
            encoder_inserts,
            decoder_inserts,
            peer_table_capacity: st.h3.peer_settings().map(|s| s.qpack_max_table_capacity()),
        }
    })
}

/// Runs `f` on the HTTP/3 state of `conn` (installed by [`Client::new`] / [`Server::new`]).
pub(crate) fn with_conn<T>(
    conn: &quic::runtime::Connection,
    f: impl FnOnce(&mut H3State, Option<&mut QuicConnection>, Instant) -> T,
) -> T {
    conn.with_protocol::<H3State, T>(f)
        .expect("HTTP/3 state installed by Client::new / Server::new")
}

/// Installs the HTTP/3 state machine on `conn`.
fn install(conn: &quic::runtime::Connection, h3: crate::Connection) {
    conn.set_protocol(Box::new(H3State::new(h3)));
}

/// Sends GOAWAY (once), waits until every request is complete and acknowledged, then closes
/// with H3_NO_ERROR (RFC 9114 §5.2).
async fn shutdown(conn: &quic::runtime::Connection) {
    with_conn(conn, |st, qc, now| {
        if let Some(qc) = qc {
            for w in st.accept_wakers.drain(..) {
                w.wake();
            }
            if st.h3.goaway_sent().is_none() {
                let _ = st
                    .h3
                    .send_goaway(&mut crate::quic::QuicTransport::new(qc, now));
            }
            st.dispatch(qc, now);
        }
    });
    poll_fn(|cx| {
        with_conn(conn, |st, qc, _| {
            if qc.is_none() || st.closed_error().is_some() || st.is_drained() {
                return Poll::Ready(());
            }
            st.drain_wakers.push(cx.waker().clone());
            Poll::Pending
        })
    })
    .await;
    close(conn, Code::H3_NO_ERROR, "");
}

/// Closes the connection at once with `code`.
fn close(conn: &quic::runtime::Connection, code: Code, reason: &'static str) {
    with_conn(conn, |st, qc, now| {
        if let Some(qc) = qc {
            st.h3
                .close(&mut crate::quic::QuicTransport::new(qc, now), code, reason);
            st.dispatch(qc, now);
        }
    });
}

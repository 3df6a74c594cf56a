//! The async HTTP/3 client: many concurrent requests on one QUIC connection.

use std::future::poll_fn;
use std::task::Poll;

use http::Request;

use super::state::Slot;
use super::{with_conn, Error, RequestStream};
use crate::quic::QuicTransport;
use crate::{Code, Config, Connection, Role, SendError};

/// The client side of an HTTP/3 connection. Cheap to clone; clones share the connection.
#[derive(Debug, Clone)]
pub struct Client {
    conn: quic::runtime::Connection,
}

impl Client {
    /// Runs HTTP/3 on an established QUIC connection (ALPN `h3`): opens the control and
    /// QPACK streams and sends SETTINGS.
    pub fn new(conn: quic::runtime::Connection, config: Config) -> Self {
        super::install(&conn, Connection::client(config));
        Self { conn }
    }

    /// The QUIC connection.
    pub fn connection(&self) -> &quic::runtime::Connection {
        &self.conn
    }

    /// Sends a request's header section on a new request stream, waiting while the
    /// server's stream limit allows none. The URI needs a scheme and an authority. Send a
    /// body with [`RequestStream::send_data`], then end the request with
    /// [`RequestStream::finish`] (also without a body) or
    /// [`RequestStream::send_trailers`].
    pub async fn send_request(&self, request: Request<()>) -> Result<RequestStream, Error> {
        let id = poll_fn(|cx| {
            with_conn(&self.conn, |st, qc, now| {
                let Some(qc) = qc else {
                    return Poll::Ready(Err(st.closed_error().unwrap_or(Error::Closed)));
                };
                if let Some(e) = st.closed_error() {
                    return Poll::Ready(Err(e));
                }
                let r = st
                    .h3
                    .send_request(&mut QuicTransport::new(qc, now), &request, false);
                match r {
                    Ok(id) => {
                        st.slots.insert(id, Slot::default());
                        st.dispatch(qc, now);
                        Poll::Ready(Ok(id))
                    }
                    Err(SendError::StreamLimit) => {
                        st.open_wakers.push(cx.waker().clone());
                        Poll::Pending
                    }
                    Err(SendError::ConnectionClosed) => {
                        Poll::Ready(Err(st.closed_error().unwrap_or(Error::Closed)))
                    }
                    Err(e) => Poll::Ready(Err(Error::Send(e))),
                }
            })
        })
        .await?;
        Ok(RequestStream::new(self.conn.clone(), id, Role::Client))
    }

    /// The GOAWAY identifier the server sent, if any: no new requests are possible, and
    /// requests on streams at or above it were rejected (retryable).
    pub fn goaway_received(&self) -> Option<u64> {
        with_conn(&self.conn, |st, _, _| st.h3.goaway_received())
    }

    /// The server's SETTINGS, once received.
    pub fn peer_settings(&self) -> Option<crate::settings::Settings> {
        with_conn(&self.conn, |st, _, _| st.h3.peer_settings().cloned())
    }

    /// Waits for the server's SETTINGS. Requests sent before they arrive are encoded with
    /// the static QPACK table only (the peer's dynamic table capacity is 0 until then, RFC
    /// 9204 §3.2.3), so a client that repeats many fields may wait for them first.
    pub async fn settings(&self) -> Result<crate::settings::Settings, Error> {
        poll_fn(|cx| {
            with_conn(&self.conn, |st, _, _| {
                if let Some(s) = st.h3.peer_settings() {
                    return Poll::Ready(Ok(s.clone()));
                }
                if let Some(e) = st.closed_error() {
                    return Poll::Ready(Err(e));
                }
                st.settings_wakers.push(cx.waker().clone());
                Poll::Pending
            })
        })
        .await
    }

    /// How much this connection used the QPACK dynamic table, both ways.
    pub fn qpack_stats(&self) -> super::QpackStats {
        super::qpack_stats(&self.conn).unwrap_or_default()
    }

    /// Graceful shutdown: sends GOAWAY, waits for every request to complete and its data to
    /// be acknowledged, then closes with H3_NO_ERROR. Bound it with a timeout if the server
    /// may never answer.
    pub async fn shutdown(&self) {
        super::shutdown(&self.conn).await
    }

    /// Closes the connection at once with `code` (H3_NO_ERROR when done).
    pub fn close(&self, code: Code) {
        super::close(&self.conn, code, "")
    }

    /// Resolves with why the connection ended, once it has.
    pub async fn closed(&self) -> Error {
        let e = self.conn.closed().await;
        with_conn(&self.conn, |st, _, _| st.closed_error()).unwrap_or(Error::Transport(e))
    }
}

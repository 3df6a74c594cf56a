//! The async HTTP/3 server side of one connection.

use std::future::poll_fn;
use std::task::Poll;

use http::Request;

use super::{with_conn, Error, RequestStream};
use crate::{Code, Config, Connection, ConnectionError, Role};

/// The server side of one HTTP/3 connection. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Server {
    conn: quic::runtime::Connection,
}

impl Server {
    /// Runs HTTP/3 on an accepted QUIC connection (ALPN `h3`): opens the control and QPACK
    /// streams and sends SETTINGS.
    pub fn new(conn: quic::runtime::Connection, config: Config) -> Self {
        super::install(&conn, Connection::server(config));
        Self { conn }
    }

    /// The QUIC connection.
    pub fn connection(&self) -> &quic::runtime::Connection {
        &self.conn
    }

    /// The next request, with the stream to read its body from and answer on. `Ok(None)`
    /// once the connection closed without an error (H3_NO_ERROR), or after
    /// [`shutdown`](Self::shutdown) started and no request is left to accept.
    pub async fn accept(&self) -> Result<Option<(Request<()>, RequestStream)>, Error> {
        let next = poll_fn(|cx| {
            with_conn(&self.conn, |st, _, _| {
                if let Some(next) = st.incoming.pop_front() {
                    return Poll::Ready(Ok(Some(next)));
                }
                if let Some(e) = st.closed_error() {
                    let graceful = match &e {
                        Error::Connection(c) => graceful_code(c),
                        Error::Transport(quic::connection::ConnectionError::TimedOut) => true,
                        _ => false,
                    };
                    return Poll::Ready(if graceful { Ok(None) } else { Err(e) });
                }
                // After our GOAWAY, every request below its ID has been seen; once all of
                // them were handed out there is nothing more to accept.
                if st.h3.goaway_sent().is_some() && st.h3.active_requests() <= st.slots.len() {
                    return Poll::Ready(Ok(None));
                }
                st.accept_wakers.push(cx.waker().clone());
                Poll::Pending
            })
        })
        .await?;
        Ok(next.map(|(id, req)| (req, RequestStream::new(self.conn.clone(), id, Role::Server))))
    }

    /// Graceful shutdown (RFC 9114 §5.2): sends GOAWAY so that the client sends no new
    /// requests (later ones are rejected with H3_REQUEST_REJECTED), waits until every
    /// accepted request is answered and acknowledged, then closes with H3_NO_ERROR. Bound it
    /// with a timeout for clients that never finish.
    pub async fn shutdown(&self) {
        super::shutdown(&self.conn).await
    }

    /// Closes the connection at once with `code`.
    pub fn close(&self, code: Code) {
        super::close(&self.conn, code, "")
    }
}

fn graceful_code(e: &ConnectionError) -> bool {
    let c = e.code();
    c == Code::H3_NO_ERROR || c == Code(0) || c.is_reserved()
}

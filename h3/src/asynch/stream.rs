//! [`RequestStream`]: one request and its response, from either end.

use std::future::poll_fn;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::task::Poll;

use bytes::Bytes;
use http::{HeaderMap, Response};

use super::state::H3State;
use super::{with_conn, Error};
use crate::quic::QuicTransport;
use crate::{Code, Role, StreamId};

/// One request stream. A client gets it from
/// [`Client::send_request`](super::Client::send_request): send the body with
/// [`send_data`](Self::send_data), end it with [`finish`](Self::finish) or
/// [`send_trailers`](Self::send_trailers), then [`recv_response`](Self::recv_response) and
/// [`recv_data`](Self::recv_data). A server gets it with the request from
/// [`Server::accept`](super::Server::accept): read the body with `recv_data`, answer with
/// [`send_response`](Self::send_response), `send_data` and `finish` / `send_trailers`.
///
/// Methods take `&self`, so one task can send and receive at once (e.g. with
/// `tokio::join!`), which a streaming echo needs.
///
/// Dropping it before the message we send is complete resets the stream
/// (H3_REQUEST_CANCELLED from a client, H3_INTERNAL_ERROR from a server); dropping it before
/// the peer's message is read stops reading (a server with its response sent uses
/// H3_NO_ERROR, RFC 9114 §4.1).
#[derive(Debug)]
pub struct RequestStream {
    conn: quic::runtime::Connection,
    id: StreamId,
    role: Role,
    send_done: AtomicBool,
    recv_done: AtomicBool,
}

impl RequestStream {
    pub(crate) fn new(conn: quic::runtime::Connection, id: StreamId, role: Role) -> Self {
        Self {
            conn,
            id,
            role,
            send_done: AtomicBool::new(false),
            recv_done: AtomicBool::new(false),
        }
    }

    /// The QUIC stream ID.
    pub fn id(&self) -> StreamId {
        self.id
    }

    /// The QUIC connection this stream belongs to.
    pub fn connection(&self) -> &quic::runtime::Connection {
        &self.conn
    }

    /// Client: waits for the final response. Interim (1xx) responses not read with
    /// [`recv_informational`](Self::recv_informational) before it are discarded, so a
    /// client that does not care about them never sees them.
    pub async fn recv_response(&self) -> Result<Response<()>, Error> {
        let id = self.id;
        poll_fn(|cx| {
            with_conn(&self.conn, |st, _, _| {
                let Some(slot) = st.slots.get_mut(&id) else {
                    return Poll::Ready(Err(Error::Send(crate::SendError::UnknownStream)));
                };
                if let Some(r) = slot.response.take() {
                    slot.interim.clear();
                    return Poll::Ready(Ok(r));
                }
                if let Some(e) = slot.error {
                    return Poll::Ready(Err(Error::Stream(e)));
                }
                if slot.finished {
                    return Poll::Ready(Err(incomplete(id)));
                }
                slot.recv_waker = Some(cx.waker().clone());
                Poll::Pending
            })
        })
        .await
    }

    /// Client: the next interim (1xx) response, e.g. 103 Early Hints (RFC 9114 §4.1 allows
    /// any number before the final response), or `None` once the final response has
    /// arrived: then call [`recv_response`](Self::recv_response). Read interim responses
    /// before the final one; at most the last 32 unread ones are kept.
    pub async fn recv_informational(&self) -> Result<Option<Response<()>>, Error> {
        let id = self.id;
        poll_fn(|cx| {
            with_conn(&self.conn, |st, _, _| {
                let Some(slot) = st.slots.get_mut(&id) else {
                    return Poll::Ready(Err(Error::Send(crate::SendError::UnknownStream)));
                };
                if let Some(r) = slot.interim.pop_front() {
                    return Poll::Ready(Ok(Some(r)));
                }
                if slot.final_seen {
                    return Poll::Ready(Ok(None));
                }
                if let Some(e) = slot.error {
                    return Poll::Ready(Err(Error::Stream(e)));
                }
                if slot.finished {
                    return Poll::Ready(Err(incomplete(id)));
                }
                slot.recv_waker = Some(cx.waker().clone());
                Poll::Pending
            })
        })
        .await
    }

    /// The next piece of the peer's body; `None` once the body is complete (trailers, if
    /// any, are then available from [`recv_trailers`](Self::recv_trailers)).
    pub async fn recv_data(&self) -> Result<Option<Bytes>, Error> {
        let id = self.id;
        let r = poll_fn(|cx| {
            with_conn(&self.conn, |st, qc, now| {
                let closed = st.closed_error();
                let Some(slot) = st.slots.get_mut(&id) else {
                    return Poll::Ready(Ok(None));
                };
                if let Some(data) = slot.data.pop_front() {
                    slot.buffered -= data.len();
                    if let Some(qc) = qc {
                        st.resume(qc, now, id);
                    }
                    return Poll::Ready(Ok(Some(data)));
                }
                if slot.finished {
                    return Poll::Ready(Ok(None));
                }
                if let Some(e) = slot.error {
                    return Poll::Ready(Err(Error::Stream(e)));
                }
                if let Some(e) = closed {
                    return Poll::Ready(Err(e));
                }
                slot.recv_waker = Some(cx.waker().clone());
                Poll::Pending
            })
        })
        .await;
        if matches!(r, Ok(None) | Err(_)) {
            self.recv_done.store(true, Relaxed);
        }
        r
    }

    /// The peer's trailers, once its message is complete (`None` if it sent none). Body
    /// data not read yet is discarded.
    pub async fn recv_trailers(&self) -> Result<Option<HeaderMap>, Error> {
        let id = self.id;
        let r = poll_fn(|cx| {
            with_conn(&self.conn, |st, qc, now| {
                let closed = st.closed_error();
                let Some(slot) = st.slots.get_mut(&id) else {
                    return Poll::Ready(Ok(None));
                };
                if slot.finished {
                    return Poll::Ready(Ok(slot.trailers.take()));
                }
                if let Some(e) = slot.error {
                    return Poll::Ready(Err(Error::Stream(e)));
                }
                if let Some(e) = closed {
                    return Poll::Ready(Err(e));
                }
                // Drop unread data so the peer is not held back by our buffer.
                slot.data.clear();
                slot.buffered = 0;
                if let Some(qc) = qc {
                    st.resume(qc, now, id);
                }
                if let Some(slot) = st.slots.get_mut(&id) {
                    slot.recv_waker = Some(cx.waker().clone());
                }
                Poll::Pending
            })
        })
        .await;
        self.recv_done.store(true, Relaxed);
        r
    }

    /// Server: sends a response head: any number of interim (1xx) responses first, e.g.
    /// 103 Early Hints, then the final response. The client reads interim ones with
    /// [`recv_informational`](Self::recv_informational).
    pub fn send_response(&self, response: Response<()>) -> Result<(), Error> {
        let id = self.id;
        self.sync_op(|st, t| st.h3.send_response(t, id, &response, false))
    }

    /// Sends a piece of the body as one DATA frame, waiting while QUIC flow control and the
    /// stream's send buffer are full (backpressure).
    pub async fn send_data(&self, data: Bytes) -> Result<(), Error> {
        if data.is_empty() {
            return Ok(());
        }
        let id = self.id;
        poll_fn(|cx| {
            with_conn(&self.conn, |st, qc, now| {
                if let Some(e) = st.slots.get(&id).and_then(|s| s.error) {
                    return Poll::Ready(Err(Error::Stream(e)));
                }
                let Some(qc) = qc else {
                    return Poll::Ready(Err(st.closed_error().unwrap_or(Error::Closed)));
                };
                let r = st
                    .h3
                    .send_data(&mut QuicTransport::new(qc, now), id, data.clone());
                st.dispatch(qc, now);
                match r {
                    Ok(0) => match st.slots.get_mut(&id) {
                        Some(slot) => {
                            slot.send_waker = Some(cx.waker().clone());
                            Poll::Pending
                        }
                        None => Poll::Ready(Err(Error::Send(crate::SendError::UnknownStream))),
                    },
                    Ok(_) => Poll::Ready(Ok(())),
                    Err(e) => Poll::Ready(Err(st.send_error(id, e))),
                }
            })
        })
        .await
    }

    /// Sends trailers and ends the message.
    pub fn send_trailers(&self, trailers: HeaderMap) -> Result<(), Error> {
        let id = self.id;
        self.sync_op(|st, t| {
            st.h3.send_trailers(t, id, &trailers)?;
            st.unacked.insert(id);
            Ok(())
        })?;
        self.send_done.store(true, Relaxed);
        Ok(())
    }

    /// Ends the message (FIN). If the peer already stopped our side (STOP_SENDING, e.g. a
    /// server that answered without reading the whole request, RFC 9114 §4.1), there is
    /// nothing left to end and this succeeds: the response can still be read.
    pub fn finish(&self) -> Result<(), Error> {
        let id = self.id;
        let r = self.sync_op(|st, t| {
            st.h3.finish(t, id)?;
            st.unacked.insert(id);
            Ok(())
        });
        match r {
            Ok(()) => {}
            Err(Error::Stream(e)) if e.kind == crate::StreamErrorKind::StoppedByPeer => {}
            Err(e) => return Err(e),
        }
        self.send_done.store(true, Relaxed);
        Ok(())
    }

    /// Changes the priority of this request's response (RFC 9218). A client sends a
    /// PRIORITY_UPDATE on its control stream and sends the rest of its request body at the
    /// new priority; a server reschedules the rest of its response (§8). The request's own
    /// `priority` header sets the initial value.
    pub fn set_priority(&self, priority: crate::Priority) -> Result<(), Error> {
        let id = self.id;
        self.sync_op(|st, t| st.h3.set_priority(t, id, priority))
    }

    /// The priority the stream is sent at now: the request's `priority` header, then the
    /// client's PRIORITY_UPDATEs, a server's response `priority` header and `set_priority`
    /// calls, latest last. `None` once the stream is complete.
    pub fn priority(&self) -> Option<crate::Priority> {
        let id = self.id;
        with_conn(&self.conn, |st, _, _| st.h3.priority(id))
    }

    /// Abandons the stream both ways with `code` (RFC 9114 §4.1.1).
    pub fn reset(&self, code: Code) {
        let id = self.id;
        let _ = self.sync_op(|st, t| st.h3.reset_stream(t, id, code));
        self.send_done.store(true, Relaxed);
        self.recv_done.store(true, Relaxed);
    }

    /// Stops reading the peer's message (STOP_SENDING with `code`).
    pub fn stop_sending(&self, code: Code) {
        let id = self.id;
        let _ = self.sync_op(|st, t| st.h3.stop_reading(t, id, code));
        self.recv_done.store(true, Relaxed);
    }

    fn sync_op(
        &self,
        f: impl FnOnce(&mut H3State, &mut QuicTransport<'_>) -> Result<(), crate::SendError>,
    ) -> Result<(), Error> {
        let id = self.id;
        with_conn(&self.conn, |st, qc, now| {
            let Some(qc) = qc else {
                return Err(st.closed_error().unwrap_or(Error::Closed));
            };
            let r = f(st, &mut QuicTransport::new(qc, now));
            st.dispatch(qc, now);
            r.map_err(|e| st.send_error(id, e))
        })
    }
}

impl H3State {
    /// Turns a refused operation into the most telling error: the stream's reset, the
    /// connection's close, or the refusal itself.
    pub(crate) fn send_error(&self, id: StreamId, e: crate::SendError) -> Error {
        if let Some(se) = self.slots.get(&id).and_then(|s| s.error) {
            return Error::Stream(se);
        }
        if let crate::SendError::Stopped(code) = e {
            return Error::Stream(crate::StreamError {
                stream: id,
                kind: crate::StreamErrorKind::StoppedByPeer,
                code,
            });
        }
        match (e, self.closed_error()) {
            (crate::SendError::ConnectionClosed, Some(c)) => c,
            (e, _) => Error::Send(e),
        }
    }
}

/// The peer ended its message without a final response.
fn incomplete(id: StreamId) -> Error {
    Error::Stream(crate::StreamError {
        stream: id,
        kind: crate::StreamErrorKind::Local,
        code: Code::H3_REQUEST_INCOMPLETE,
    })
}

impl Drop for RequestStream {
    fn drop(&mut self) {
        let id = self.id;
        let (role, send_done, recv_done) = (
            self.role,
            *self.send_done.get_mut(),
            *self.recv_done.get_mut(),
        );
        with_conn(&self.conn, |st, qc, now| {
            let slot = st.slots.remove(&id);
            let Some(qc) = qc else { return };
            let mut t = QuicTransport::new(qc, now);
            let peer_done = slot.is_some_and(|s| s.finished || s.error.is_some());
            if !send_done {
                let code = match role {
                    Role::Client => Code::H3_REQUEST_CANCELLED,
                    Role::Server => Code::H3_INTERNAL_ERROR,
                };
                let _ = st.h3.reset_stream(&mut t, id, code);
            } else if !recv_done && !peer_done {
                let code = match role {
                    Role::Client => Code::H3_REQUEST_CANCELLED,
                    Role::Server => Code::H3_NO_ERROR,
                };
                let _ = st.h3.stop_reading(&mut t, id, code);
            }
            st.dispatch(qc, now);
        });
    }
}

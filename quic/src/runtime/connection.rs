//! The application's connection handle.

use std::future::poll_fn;
use std::net::SocketAddr;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use super::driver::{dir_index, register, ConnState, HandleRef};
use super::protocol::AppProtocol;
use super::streams::{RecvStream, SendStream};
use crate::connection::{Connection as CoreConnection, ConnectionError, ConnectionStats, Event};
use crate::stream::{Dir, StreamEvent};
use crate::VarInt;

/// A QUIC connection. Cheap to clone; when the last clone (and the last of its streams) is
/// dropped, the connection is closed with code 0.
#[derive(Debug, Clone)]
pub struct Connection(pub(super) Arc<ConnInner>);

#[derive(Debug)]
pub(super) struct ConnInner {
    pub shared: HandleRef,
    pub id: u64,
}

impl Drop for ConnInner {
    fn drop(&mut self) {
        let mut state = self.shared.lock();
        let Some(cs) = state.conns.get_mut(&self.id) else {
            return;
        };
        cs.has_app = false;
        match cs.conn.as_mut() {
            Some(conn) => {
                if !conn.is_closed() {
                    conn.close(Instant::now(), VarInt::from_u32(0), b"");
                }
                cs.sync_error();
            }
            None => {
                state.conns.remove(&self.id);
            }
        }
        // HandleRef's drop wakes the driver to send the close.
    }
}

impl Connection {
    pub(super) fn new(shared: HandleRef, id: u64) -> Self {
        Self(Arc::new(ConnInner { shared, id }))
    }

    /// Runs `f` on the runtime's state of this connection, then wakes the driver if asked.
    pub(super) fn with<T>(&self, notify: bool, f: impl FnOnce(&mut ConnState) -> T) -> T {
        let out = {
            let mut state = self.0.shared.lock();
            let cs = state
                .conns
                .get_mut(&self.0.id)
                .expect("a connection's state lives while a handle does");
            f(cs)
        };
        if notify {
            self.0.shared.notify.notify_one();
        }
        out
    }

    fn poll_open(
        &self,
        cx: &mut Context<'_>,
        dir: Dir,
    ) -> Poll<Result<SendStream, ConnectionError>> {
        self.with(true, |cs| {
            if let Some(e) = &cs.error {
                return Poll::Ready(Err(e.clone()));
            }
            let conn = cs
                .conn
                .as_mut()
                .expect("no error, so the core connection lives");
            if let Some(id) = conn.open_stream(dir) {
                return Poll::Ready(Ok(SendStream::new(self.clone(), id)));
            }
            register(&mut cs.wakers.open[dir_index(dir)], cx.waker());
            Poll::Pending
        })
    }

    /// Opens a bidirectional stream, waiting while the peer's stream limit is reached.
    pub async fn open_bi(&self) -> Result<(SendStream, RecvStream), ConnectionError> {
        let send = poll_fn(|cx| self.poll_open(cx, Dir::Bi)).await?;
        let recv = RecvStream::new(self.clone(), send.id());
        Ok((send, recv))
    }

    /// Opens a unidirectional stream, waiting while the peer's stream limit is reached.
    pub async fn open_uni(&self) -> Result<SendStream, ConnectionError> {
        poll_fn(|cx| self.poll_open(cx, Dir::Uni)).await
    }

    fn poll_accept(
        &self,
        cx: &mut Context<'_>,
        dir: Dir,
    ) -> Poll<Result<crate::stream::StreamId, ConnectionError>> {
        self.with(false, |cs| {
            if let Some(id) = cs.incoming[dir_index(dir)].pop_front() {
                return Poll::Ready(Ok(id));
            }
            if let Some(e) = &cs.error {
                return Poll::Ready(Err(e.clone()));
            }
            register(&mut cs.wakers.accept[dir_index(dir)], cx.waker());
            Poll::Pending
        })
    }

    /// The next bidirectional stream the peer opened.
    pub async fn accept_bi(&self) -> Result<(SendStream, RecvStream), ConnectionError> {
        let id = poll_fn(|cx| self.poll_accept(cx, Dir::Bi)).await?;
        Ok((
            SendStream::new(self.clone(), id),
            RecvStream::new(self.clone(), id),
        ))
    }

    /// The next unidirectional stream the peer opened.
    pub async fn accept_uni(&self) -> Result<RecvStream, ConnectionError> {
        let id = poll_fn(|cx| self.poll_accept(cx, Dir::Uni)).await?;
        Ok(RecvStream::new(self.clone(), id))
    }

    /// Closes the connection with an application error code and reason (RFC 9000 §10.2).
    /// Every pending operation ends with [`ConnectionError::ApplicationClosed`].
    pub fn close(&self, code: VarInt, reason: &[u8]) {
        self.with(true, |cs| {
            if let Some(conn) = cs.conn.as_mut() {
                conn.close(Instant::now(), code, reason);
            }
            cs.sync_error();
        });
    }

    /// Resolves with why the connection ended, once it has.
    pub async fn closed(&self) -> ConnectionError {
        poll_fn(|cx| {
            self.with(false, |cs| match &cs.error {
                Some(e) => Poll::Ready(e.clone()),
                None => {
                    register(&mut cs.wakers.closed, cx.waker());
                    Poll::Pending
                }
            })
        })
        .await
    }

    /// Why the connection ended, if it has.
    pub fn close_reason(&self) -> Option<ConnectionError> {
        self.with(false, |cs| cs.error.clone())
    }

    /// The peer's address.
    pub fn remote_address(&self) -> SocketAddr {
        self.with(false, |cs| {
            cs.conn
                .as_ref()
                .map_or(cs.remote, CoreConnection::remote_address)
        })
    }

    /// The negotiated ALPN protocol.
    pub fn alpn(&self) -> Option<Vec<u8>> {
        self.with(false, |cs| cs.alpn.clone())
    }

    /// The TLS server name (SNI) the client asked for, on the server side; `None` without SNI
    /// or once the core connection is gone (read it after `accept`).
    pub fn server_name(&self) -> Option<String> {
        self.with(false, |cs| {
            cs.conn
                .as_ref()
                .and_then(|c| c.server_name().map(str::to_owned))
        })
    }

    /// Counters (final ones once the connection is gone).
    pub fn stats(&self) -> ConnectionStats {
        self.with(false, |cs| {
            cs.conn.as_ref().map_or(cs.stats, CoreConnection::stats)
        })
    }

    /// Loss-recovery counters: packets lost, spurious losses, PTOs, congestion events (final
    /// ones once the connection is gone).
    pub fn recovery_stats(&self) -> crate::recovery::RecoveryStats {
        self.with(false, |cs| {
            cs.conn
                .as_ref()
                .map_or(cs.recovery_stats, CoreConnection::recovery_stats)
        })
    }

    /// Path counters: peer address changes and validations (RFC 9000 §8.2, §9.3); zero once
    /// the connection is gone.
    pub fn path_stats(&self) -> crate::connection::PathStats {
        self.with(false, |cs| {
            cs.conn
                .as_ref()
                .map_or_else(Default::default, CoreConnection::path_stats)
        })
    }

    /// The smoothed round-trip time estimate.
    pub fn rtt(&self) -> Duration {
        self.with(false, |cs| {
            cs.conn.as_ref().map_or(Duration::ZERO, CoreConnection::rtt)
        })
    }

    /// Installs an application protocol ([`super::protocol`]) that from now on receives
    /// every core event of this connection. What happened before is replayed to it:
    /// `Connected` if the handshake is done, then `Opened` + `Readable` for each stream the
    /// peer opened that was not accepted, and `Reset` for those the peer already reset; then
    /// `on_closed` if the connection already ended. Streams already accepted through the
    /// stream API are not replayed: install the protocol before using streams.
    pub fn set_protocol(&self, mut protocol: Box<dyn AppProtocol>) {
        let now = Instant::now();
        self.with(true, |cs| {
            if let Some(conn) = cs.conn.as_mut() {
                if cs.connected {
                    protocol.on_event(conn, now, &Event::Connected);
                }
                for queue in cs.incoming.iter_mut() {
                    for id in queue.drain(..) {
                        for se in [StreamEvent::Opened { id }, StreamEvent::Readable { id }] {
                            protocol.on_event(conn, now, &Event::Stream(se));
                        }
                    }
                }
                for (id, error_code) in cs.codes.reset.drain() {
                    let se = StreamEvent::Reset { id, error_code };
                    protocol.on_event(conn, now, &Event::Stream(se));
                }
            }
            cs.protocol = Some(protocol);
            cs.protocol_closed = false;
            cs.notify_protocol_closed();
        })
    }

    /// Runs `f` on the installed protocol of type `P` and the core connection (`None` once it
    /// is gone), under the runtime's lock, then wakes the driver to send what `f` wrote.
    /// Returns `None` if no protocol of type `P` is installed.
    pub fn with_protocol<P: AppProtocol + 'static, T>(
        &self,
        f: impl FnOnce(&mut P, Option<&mut CoreConnection>, Instant) -> T,
    ) -> Option<T> {
        self.with(true, |cs| {
            let p = cs.protocol.as_mut()?.as_any_mut().downcast_mut::<P>()?;
            Some(f(p, cs.conn.as_mut(), Instant::now()))
        })
    }

    /// Whether two handles refer to the same connection.
    pub fn same(&self, other: &Connection) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

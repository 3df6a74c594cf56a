//! The application's endpoint handle: bind, connect, accept, close.

use std::future::poll_fn;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::task::Poll;
use std::time::Instant;

use super::connection::Connection;
use super::driver::{self, register, EndpointStats, HandleRef, Shared, State};
use super::udp::UdpSocket;
use super::{keylog, ConnectError};
use crate::connection::{ClientConfig, ServerConfig};
use crate::endpoint::{Endpoint as CoreEndpoint, EndpointConfig};
use crate::VarInt;

/// A QUIC endpoint on one UDP socket, driven by a background tokio task. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Endpoint {
    shared: HandleRef,
}

impl Endpoint {
    /// A client endpoint bound to `bind_addr` (`0.0.0.0:0`, `[::]:0`, ...). Must be called
    /// within a tokio runtime.
    pub fn client(bind_addr: SocketAddr) -> io::Result<Self> {
        Self::new(bind_addr, EndpointConfig::default(), None)
    }

    /// A server endpoint bound to `bind_addr`, accepting connections with `config` (it can
    /// connect out too). Must be called within a tokio runtime.
    pub fn server(bind_addr: SocketAddr, config: ServerConfig) -> io::Result<Self> {
        Self::new(bind_addr, EndpointConfig::default(), Some(config))
    }

    /// An endpoint with explicit settings. The random seed and the stateless-reset key of
    /// `config` are replaced with fresh OS randomness when left at their defaults.
    pub fn new(
        bind_addr: SocketAddr,
        mut config: EndpointConfig,
        server: Option<ServerConfig>,
    ) -> io::Result<Self> {
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|e| io::Error::other(format!("quic::runtime needs a tokio runtime: {e}")))?;
        let defaults = EndpointConfig::default();
        if config.rng_seed == defaults.rng_seed {
            config.rng_seed = u64::from_le_bytes(os_random()?);
        }
        if config.reset_key == defaults.reset_key {
            let mut key = [0u8; 32];
            for chunk in key.chunks_mut(8) {
                chunk.copy_from_slice(&os_random::<8>()?);
            }
            config.reset_key = key;
        }
        let server = server.map(|mut s| {
            s.tls = keylog::server(s.tls);
            s
        });
        let socket = {
            let _guard = runtime.enter();
            UdpSocket::bind(bind_addr)?
        };
        let local_addr = socket.local_addr()?;
        let is_server = server.is_some();
        let state = State::new(CoreEndpoint::new(config, is_server), server);
        let shared = Arc::new(Shared::new(state, local_addr));
        // Counted before the driver starts, which stops when no handle is left.
        let handle = HandleRef::new(shared.clone());
        runtime.spawn(driver::run(shared, socket));
        Ok(Self { shared: handle })
    }

    /// The local address of the socket.
    pub fn local_addr(&self) -> SocketAddr {
        *self
            .shared
            .local_addr
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// Moves the endpoint to a new UDP socket bound to `bind_addr`, closing the old one; the
    /// connections carry on from the new address. For a client this is what a NAT rebinding
    /// or a change of local port looks like to the server, which validates the new address
    /// and follows (RFC 9000 §9.3). A server should not rebind: its clients do not follow a
    /// server's address (RFC 9000 §9).
    pub fn rebind(&self, bind_addr: SocketAddr) -> io::Result<()> {
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|e| io::Error::other(format!("quic::runtime needs a tokio runtime: {e}")))?;
        let socket = {
            let _guard = runtime.enter();
            UdpSocket::bind(bind_addr)?
        };
        let addr = socket.local_addr()?;
        *self.shared.rebind.lock().unwrap_or_else(|e| e.into_inner()) = Some(socket);
        *self
            .shared
            .local_addr
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = addr;
        self.shared.notify.notify_one();
        Ok(())
    }

    /// Connects to `addr`, authenticating the server as `server_name`; resolves once the
    /// handshake completes, or with why it failed: at the latest after the idle timeout, which
    /// RFC 9000 §10.1 floors at three probe timeouts (about 3 s with the default initial RTT).
    /// Dropping the future abandons the attempt.
    pub async fn connect(
        &self,
        addr: SocketAddr,
        server_name: &str,
        config: &ClientConfig,
    ) -> Result<Connection, ConnectError> {
        let mut config = config.clone();
        config.tls = keylog::client(config.tls);
        let id = {
            let mut state = self.shared.lock();
            if state.closed {
                return Err(ConnectError::EndpointClosed);
            }
            let (handle, conn) = state
                .endpoint
                .connect(Instant::now(), &config, addr, server_name)
                .map_err(ConnectError::Config)?;
            state.insert(handle, conn, true)
        };
        self.shared.notify.notify_one();
        let conn = Connection::new(self.shared.clone(), id);
        poll_fn(|cx| {
            let mut state = self.shared.lock();
            let cs = state.conns.get_mut(&id).expect("held by a handle");
            if let Some(e) = &cs.error {
                return Poll::Ready(Err(ConnectError::Connection(e.clone())));
            }
            if cs.connected {
                return Poll::Ready(Ok(()));
            }
            register(&mut cs.wakers.connect, cx.waker());
            Poll::Pending
        })
        .await?;
        Ok(conn)
    }

    /// The next incoming connection whose handshake completed; `None` once the endpoint is
    /// closed (or it is not a server).
    pub async fn accept(&self) -> Option<Connection> {
        let id = poll_fn(|cx| {
            let mut state = self.shared.lock();
            if let Some(id) = state.incoming.pop_front() {
                return Poll::Ready(Some(id));
            }
            if state.closed || state.server_config.is_none() {
                return Poll::Ready(None);
            }
            register(&mut state.accept_waiters, cx.waker());
            Poll::Pending
        })
        .await?;
        Some(Connection::new(self.shared.clone(), id))
    }

    /// Closes every connection with `code` and `reason` and stops accepting; pending and later
    /// `accept` calls return `None`, `connect` fails.
    pub fn close(&self, code: VarInt, reason: &[u8]) {
        let now = Instant::now();
        let mut state = self.shared.lock();
        state.closed = true;
        for cs in state.conns.values_mut() {
            if let Some(conn) = cs.conn.as_mut() {
                conn.close(now, code, reason);
            }
            cs.sync_error();
        }
        // Queued connections nobody accepted: no application handle will come for them.
        while let Some(id) = state.incoming.pop_front() {
            let forget = state.conns.get_mut(&id).is_some_and(|cs| {
                cs.has_app = false;
                cs.conn.is_none()
            });
            if forget {
                state.conns.remove(&id);
            }
        }
        driver::wake(&mut state.accept_waiters);
        drop(state);
        self.shared.notify.notify_one();
    }

    /// Waits until every connection has drained (after [`close`](Self::close), so that the
    /// peers learn of it before the process exits).
    pub async fn wait_idle(&self) {
        poll_fn(|cx| {
            let mut state = self.shared.lock();
            if state.is_idle() {
                return Poll::Ready(());
            }
            register(&mut state.idle_waiters, cx.waker());
            Poll::Pending
        })
        .await
    }

    /// I/O counters (batching, GSO, GRO).
    pub fn stats(&self) -> EndpointStats {
        self.shared.lock().io
    }

    /// Connections with core state (handshaking, open, closing or draining).
    pub fn open_connections(&self) -> usize {
        self.shared.lock().by_handle.len()
    }
}

/// Randomness from the OS, through `ring`.
fn os_random<const N: usize>() -> io::Result<[u8; N]> {
    use ring::rand::SecureRandom;
    let mut out = [0u8; N];
    ring::rand::SystemRandom::new()
        .fill(&mut out)
        .map_err(|_| io::Error::other("no OS randomness"))?;
    Ok(out)
}

//! The tokio runtime: UDP sockets, timers and a quinn-like async API over the sans-IO core.
//!
//! This is the I/O layer, kept apart from the core (which never reads the clock nor touches a
//! socket). An [`Endpoint`] owns one UDP socket ([`udp`]) and a background task that drives
//! the core endpoint and all its connections ([`driver`](self)); [`Connection`],
//! [`SendStream`] and [`RecvStream`] are handles the application awaits on.
//!
//! ```no_run
//! # async fn demo(server: quic::connection::ServerConfig, client: quic::connection::ClientConfig) {
//! use quic::runtime::Endpoint;
//! use tokio::io::AsyncWriteExt;
//!
//! let server = Endpoint::server("[::]:4433".parse().unwrap(), server).unwrap();
//! let endpoint = Endpoint::client("[::]:0".parse().unwrap()).unwrap();
//! let conn = endpoint.connect("127.0.0.1:4433".parse().unwrap(), "localhost", &client).await.unwrap();
//! let (mut send, mut recv) = conn.open_bi().await.unwrap();
//! send.write_all(b"hello").await.unwrap();
//! send.finish().unwrap();
//! let reply = recv.read_to_end(1 << 20).await.unwrap();
//! # let _ = (server, reply);
//! # }
//! ```
//!
//! If `SSLKEYLOGFILE` is set, the TLS secrets of every connection are appended to that file
//! (NSS key log format), for Wireshark.
// The runtime is the I/O layer, not the core: it is the one place that reads the clock, and
// hands `now` to the core.
#![allow(clippy::disallowed_methods)]

mod connection;
mod driver;
mod endpoint;
mod keylog;
pub mod protocol;
mod streams;
pub mod udp;

pub use connection::Connection;
pub use driver::EndpointStats;
pub use endpoint::Endpoint;
pub use protocol::AppProtocol;
pub use streams::{RecvStream, SendStream};

pub use crate::connection::{ConnectionError, ConnectionStats};
pub use crate::stream::{ClosedStream, StreamId};

use crate::{TransportError, VarInt};

/// Why a connection attempt failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConnectError {
    /// The endpoint was closed.
    #[error("endpoint closed")]
    EndpointClosed,
    /// The attempt could not start (e.g. an invalid server name).
    #[error("cannot connect: {0}")]
    Config(TransportError),
    /// The handshake failed or timed out.
    #[error(transparent)]
    Connection(#[from] ConnectionError),
}

/// Why a write failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WriteError {
    /// The peer asked us to stop (STOP_SENDING) with this code.
    #[error("stopped by peer, code {0}")]
    Stopped(VarInt),
    /// The connection ended.
    #[error("connection lost: {0}")]
    ConnectionLost(ConnectionError),
    /// The stream was already finished or reset.
    #[error("stream closed")]
    ClosedStream,
}

/// Why a read failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReadError {
    /// The peer reset the stream with this code.
    #[error("reset by peer, code {0}")]
    Reset(VarInt),
    /// The connection ended.
    #[error("connection lost: {0}")]
    ConnectionLost(ConnectionError),
    /// The stream was already read to the end or stopped.
    #[error("stream closed")]
    ClosedStream,
}

/// Why [`RecvStream::read_to_end`] failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReadToEndError {
    /// Reading failed.
    #[error(transparent)]
    Read(#[from] ReadError),
    /// The stream is longer than the limit (it was stopped).
    #[error("stream longer than the limit")]
    TooLong,
}

impl From<WriteError> for std::io::Error {
    fn from(e: WriteError) -> Self {
        let kind = match e {
            WriteError::Stopped(_) | WriteError::ConnectionLost(_) => {
                std::io::ErrorKind::ConnectionReset
            }
            WriteError::ClosedStream => std::io::ErrorKind::NotConnected,
        };
        std::io::Error::new(kind, e)
    }
}

impl From<ReadError> for std::io::Error {
    fn from(e: ReadError) -> Self {
        let kind = match e {
            ReadError::Reset(_) | ReadError::ConnectionLost(_) => {
                std::io::ErrorKind::ConnectionReset
            }
            ReadError::ClosedStream => std::io::ErrorKind::NotConnected,
        };
        std::io::Error::new(kind, e)
    }
}

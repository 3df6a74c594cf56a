//! HTTP/3 (RFC 9114) as a synchronous state machine.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod connection;
pub mod error;
pub mod frame;
pub mod message;
pub mod priority;
pub mod settings;
pub mod testing;
pub mod transport;
pub mod varint;

pub use connection::{BadRequest, Config, Connection, Event, Role};
pub use error::{Code, ConnectionError, H3Error, SendError, StreamError, StreamErrorKind};
pub use message::Protocol;
pub use priority::Priority;
pub use transport::{Transport, WriteError};

/// A QUIC stream ID.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StreamId(pub u64);

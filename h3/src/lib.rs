//! HTTP/3 (RFC 9114) as a synchronous, sans-IO state machine over a small transport trait.
//!
//! [`Connection`] (client or server role) owns everything HTTP/3 keeps per connection: the
//! control streams and SETTINGS, QPACK with a real dynamic table (the `qpack` crate; encoder
//! and decoder streams, blocked header sections), request streams, message validation,
//! GOAWAY, and RFC 9218 priorities. It never does I/O and never reads a clock:
//!
//! * the caller pushes what the QUIC connection received: [`Connection::on_stream_data`],
//!   [`Connection::on_stream_reset`], [`Connection::on_stop_sending`],
//!   [`Connection::on_stream_writable`], [`Connection::on_connection_closed`];
//! * everything sent goes through a [`Transport`] passed to each call (see [`transport`] for
//!   why this shape);
//! * what the application must see comes out of [`Connection::poll_event`] as [`Event`]s.
//!
//! Lower layers are usable on their own: [`frame`] (frames with exact encoded lengths and an
//! incremental decoder), [`settings`], [`message`] (field sections to and from `http`
//! types), [`priority`], and [`error`] (codes and error types). [`testing`] has an in-memory
//! transport and a client/server [`testing::Pair`]. [`asynch`] is the async client and
//! server on our QUIC runtime, with `http` types.
//!
//! ```
//! use h3::testing::Pair;
//! use h3::Event;
//!
//! let mut p = Pair::connected();
//! let req = http::Request::get("https://example.com/").body(()).unwrap();
//! let id = p.client.send_request(&mut p.ct, &req, true).unwrap();
//! p.drive();
//! assert!(matches!(p.server_events[0], Event::Request { .. }));
//! let resp = http::Response::builder().status(200).body(()).unwrap();
//! p.server.send_response(&mut p.st, id, &resp, false).unwrap();
//! p.server.send_data(&mut p.st, id, "hello".into()).unwrap();
//! p.server.finish(&mut p.st, id).unwrap();
//! p.drive();
//! assert!(matches!(p.client_events.last(), Some(Event::Finished { .. })));
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod asynch;
mod connection;
pub mod error;
pub mod frame;
pub mod message;
pub mod priority;
pub mod quic;
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

//! `quic`: a sans-IO QUIC transport core (RFC 9000, 9001, 9002, 9221, 9369).
//!
//! This crate never touches sockets or reads the clock: callers pass time and datagrams in and
//! take datagrams and timer deadlines out. The wire layer lives here:
//!
//! - [`coding`]: variable-length integers and panic-free reading helpers;
//! - [`cid`]: connection IDs;
//! - [`packet`]: long and short headers for QUIC v1 and v2, packet numbers, coalesced packets;
//! - [`frame`]: every frame of RFC 9000 §19 plus DATAGRAM (RFC 9221);
//! - [`transport_params`]: transport parameters (RFC 9000 §18);
//! - [`crypto`]: packet protection (RFC 9001 §5, RFC 9369 §3) on `ring`.
#![warn(missing_docs)]
#![deny(unsafe_code)]

pub mod cid;
pub mod coding;
pub mod congestion;
pub mod connection;
pub mod crypto;
pub mod endpoint;
pub mod frame;
pub mod packet;
pub mod recovery;
#[cfg(feature = "runtime")]
pub mod runtime;
pub mod stream;
pub mod testing;
pub mod tls;
pub mod transport_error;
pub mod transport_params;
pub mod version;

pub use cid::ConnectionId;
pub use coding::VarInt;
pub use transport_error::{TransportError, TransportErrorCode};
pub use version::Version;

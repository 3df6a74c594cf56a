//! A hook for application protocols that must run next to the core connection (HTTP/3).
//!
//! The stream API ([`Connection::open_bi`](super::Connection::open_bi), `accept_uni`, ...)
//! suits protocols whose streams are independent. HTTP/3 is not one: its state machine must
//! see every stream event of the connection (control and QPACK streams, blocked header
//! sections, resets) and write through the core's stream views synchronously. An
//! [`AppProtocol`] installed with [`Connection::set_protocol`](super::Connection::set_protocol)
//! lives in the runtime's state beside the core connection:
//!
//! * the driver hands it every core event, under the state lock, right after the runtime
//!   applied its own bookkeeping; stream events then go to the protocol only (the stream API
//!   is not used on such a connection);
//! * application tasks reach it with
//!   [`Connection::with_protocol`](super::Connection::with_protocol), which runs a closure on
//!   it and on the core connection under the same lock and then wakes the driver to send
//!   what the closure wrote;
//! * the protocol keeps its own wakers and wakes its tasks from `on_event` / `on_closed`.
//!
//! The driver processes events before collecting datagrams, so what a protocol writes in
//! answer to an event leaves in the same round.

use std::any::Any;
use std::time::Instant;

use crate::connection::{Connection as CoreConnection, ConnectionError, Event};

/// Lets [`Connection::with_protocol`](super::Connection::with_protocol) find the concrete
/// protocol type; implemented for every type.
pub trait AsAny {
    /// `self` as `Any`.
    fn as_any_mut(&mut self) -> &mut dyn Any;
}

impl<T: Any> AsAny for T {
    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}

/// An application protocol driven under the runtime's lock, beside one core connection.
pub trait AppProtocol: AsAny + Send {
    /// A core event of the connection (`Connected`, stream events, datagrams, `Closed`).
    /// `conn` may be written to (streams opened, data queued): the driver sends it.
    fn on_event(&mut self, conn: &mut CoreConnection, now: Instant, event: &Event);

    /// The connection ended (called once, also when the endpoint driver stopped and no
    /// `Closed` event could be delivered).
    fn on_closed(&mut self, error: &ConnectionError);
}

impl std::fmt::Debug for dyn AppProtocol {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AppProtocol")
    }
}

//! The tokio runtime: UDP sockets, timers and an async API over the sans-IO core.
//!
//! This is the I/O layer, kept apart from the core: the core never reads the clock nor touches
//! a socket; this module does both for it.
// The runtime is the one place that reads the clock: it hands `now` to the core.
#![allow(clippy::disallowed_methods)]

pub mod udp;

//! Deterministic test infrastructure: everything here runs on virtual time and seeded randomness,
//! so a test or benchmark that uses it replays identically from its seed.
//!
//! - [`network`]: a virtual-time network of addressed nodes joined by per-direction links with
//!   delay, jitter, rate limiting and drop-tail queues, loss (independent or bursty), reordering,
//!   duplication, corruption, MTU limits, blackholes and custom drop filters. It carries opaque
//!   datagrams and knows nothing about QUIC.
//! - [`pair`]: a client and a server endpoint on such a network, driven step by step.

pub mod network;
pub mod pair;

pub use network::{
    Clock, Deliver, Delivered, DropReason, Filter, GilbertElliott, LinkConfig, LinkStats, Meta,
    Network, SendOutcome,
};
pub use pair::{Node, Pair};

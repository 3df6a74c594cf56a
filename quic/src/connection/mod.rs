//! The connection state machine (RFC 9000). Built up piece by piece: connection-ID bookkeeping
//! is here; packet spaces, the send and receive paths and timers follow.

pub mod cids;

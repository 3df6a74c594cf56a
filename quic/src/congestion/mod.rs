//! Congestion control (RFC 9002 §7): the [`Controller`] seam, NewReno, CUBIC with HyStart++,
//! and a pacer.
//!
//! [`crate::recovery::Recovery`] owns one boxed [`Controller`] per path and calls it on every
//! sent, acknowledged, lost and discarded packet. Bytes in flight are counted by the recovery
//! module, not by controllers: it is the one that knows which packets are in flight and when
//! they leave (acknowledged, lost, or discarded with their keys). A controller only decides the
//! window. The connection picks the algorithm through [`CongestionConfig`]: NewReno (RFC 9002
//! Appendix B) or CUBIC (RFC 9438, with HyStart++ of RFC 9406 for the initial slow start).
//!
//! [`Pacer`] is separate: the connection asks it when the next in-flight packet may leave.

pub mod cubic;
pub mod hystart;
pub mod new_reno;
pub mod pacer;

#[cfg(test)]
mod cubic_tests;
#[cfg(test)]
mod tests;

pub use cubic::Cubic;
pub use hystart::HyStart;
pub use new_reno::NewReno;
pub use pacer::Pacer;

use crate::recovery::RttEstimator;
use std::fmt;
use std::time::Instant;

/// kInitialWindow (RFC 9002 §7.2): "Endpoints SHOULD use an initial congestion window of ten
/// times the maximum datagram size (max_datagram_size), while limiting the window to the larger
/// of 14,720 bytes or twice the maximum datagram size."
pub fn initial_window(max_datagram_size: u64) -> u64 {
    max_datagram_size
        .saturating_mul(10)
        .min(max_datagram_size.saturating_mul(2).max(14_720))
}

/// kMinimumWindow (RFC 9002 §7.2: "The RECOMMENDED value is 2 * max_datagram_size").
pub fn minimum_window(max_datagram_size: u64) -> u64 {
    max_datagram_size.saturating_mul(2)
}

/// A congestion control algorithm, as seen by loss recovery.
///
/// Every method takes the time as an argument (sans-IO). Byte counts are QUIC packet sizes
/// without UDP/IP overhead (RFC 9002 Appendix B.2).
pub trait Controller: fmt::Debug + Send {
    /// An in-flight packet of `bytes` was sent; `bytes_in_flight` already includes it
    /// (RFC 9002 Appendix B.4).
    fn on_packet_sent(&mut self, now: Instant, bytes: u64, bytes_in_flight: u64) {
        let _ = (now, bytes, bytes_in_flight);
    }

    /// An in-flight packet sent at `sent_time` was newly acknowledged (RFC 9002 Appendix B.5).
    /// `app_limited` says the sender was not using the whole window (RFC 9002 §7.8); `rtt`
    /// already includes any sample this acknowledgment produced.
    fn on_ack(
        &mut self,
        now: Instant,
        sent_time: Instant,
        bytes: u64,
        app_limited: bool,
        rtt: &RttEstimator,
    );

    /// A congestion event: in-flight packets were lost (`lost_bytes` of them, the newest sent
    /// at `sent_time`), or the peer's ECN-CE count grew (`lost_bytes` is 0 and `sent_time` is
    /// that of the acknowledged packet that reported it). RFC 9002 Appendix B.6, B.8.
    /// `persistent_congestion` is set when the losses established persistent congestion
    /// (RFC 9002 §7.6).
    fn on_congestion_event(
        &mut self,
        now: Instant,
        sent_time: Instant,
        persistent_congestion: bool,
        lost_bytes: u64,
    );

    /// In-flight packets of `bytes` were removed without being acknowledged or lost, because
    /// their keys were discarded (RFC 9002 §6.4, Appendix B.9).
    fn on_packet_discarded(&mut self, bytes: u64) {
        let _ = bytes;
    }

    /// The path's maximum datagram size changed (RFC 9002 §7.2).
    fn on_max_datagram_size_changed(&mut self, max_datagram_size: u64);

    /// The congestion window in bytes.
    fn window(&self) -> u64;

    /// The window the controller started with.
    fn initial_window(&self) -> u64;

    /// A short name for logs ("new_reno", "cubic").
    fn name(&self) -> &'static str;
}

/// Which congestion controller a connection uses, and its parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CongestionConfig {
    /// NewReno as specified by RFC 9002 §7 and Appendix B.
    NewReno {
        /// The initial window in bytes; `None` uses RFC 9002 §7.2's formula and follows
        /// changes of the maximum datagram size.
        initial_window: Option<u64>,
    },
    /// CUBIC as specified by RFC 9438, within RFC 9002's recovery periods and persistent
    /// congestion.
    Cubic {
        /// The initial window in bytes; `None` uses RFC 9002 §7.2's formula and follows
        /// changes of the maximum datagram size.
        initial_window: Option<u64>,
        /// Whether the initial slow start uses HyStart++ (RFC 9406).
        hystart: bool,
    },
}

impl Default for CongestionConfig {
    /// CUBIC (RFC 9438) with HyStart++ (RFC 9406) and RFC 9002's initial window.
    fn default() -> Self {
        Self::cubic()
    }
}

impl CongestionConfig {
    /// CUBIC with HyStart++ and RFC 9002's initial window.
    pub fn cubic() -> Self {
        Self::Cubic {
            initial_window: None,
            hystart: true,
        }
    }

    /// Builds the controller for a path whose maximum datagram size is `max_datagram_size`.
    pub fn build(&self, max_datagram_size: u64) -> Box<dyn Controller> {
        match *self {
            Self::NewReno { initial_window } => {
                Box::new(NewReno::new(max_datagram_size, initial_window))
            }
            Self::Cubic {
                initial_window,
                hystart,
            } => Box::new(Cubic::new(max_datagram_size, initial_window, hystart)),
        }
    }
}

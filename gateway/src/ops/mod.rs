//! Operations: the status port, Prometheus metrics, the access log.

pub mod access_log;
pub mod metrics;
pub mod status;

pub use metrics::Metrics;

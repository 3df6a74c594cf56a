//! The QUIC interop-runner endpoint (`quic-interop`) and the pieces it is made of: the runner's
//! endpoint contract and HTTP/0.9 over QUIC.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod contract;
pub mod endpoint;
pub mod h3_matrix;
pub mod hq;
pub mod impair;

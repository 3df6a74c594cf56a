//! An Istio-style ingress gateway (work in progress: configuration first).
#![forbid(unsafe_code)]
pub mod body;
pub mod config;
pub mod routing;

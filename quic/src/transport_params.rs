//! Transport parameters (RFC 9000 §18).

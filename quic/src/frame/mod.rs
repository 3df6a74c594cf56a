//! Frames (RFC 9000 §19, RFC 9221 §4).

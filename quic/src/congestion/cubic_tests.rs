//! Tests for CUBIC (RFC 9438) and HyStart++ (RFC 9406).

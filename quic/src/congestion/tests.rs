//! Tests for congestion control.

//! Tests for the recovery module.

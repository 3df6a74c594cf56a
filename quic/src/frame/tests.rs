//! Frame tests.

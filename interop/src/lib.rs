//! Interop-runner endpoint and peers (to come, see the issues).

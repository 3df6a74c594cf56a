//! HTTP/3 (RFC 9114). Not yet implemented: see the project issues; this crate only reserves its place in the workspace.

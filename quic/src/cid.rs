//! Connection IDs (RFC 9000 §5.1): opaque byte strings of 0 to 20 bytes in QUIC v1 and v2.

use crate::coding::{BufExt, UnexpectedEnd};
use bytes::{Buf, BufMut};
use std::fmt;

/// The longest connection ID QUIC v1 and v2 allow (RFC 9000 §17.2).
pub const MAX_CID_LEN: usize = 20;

/// A connection ID stored inline (no allocation): up to [`MAX_CID_LEN`] bytes.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnectionId {
    len: u8,
    bytes: [u8; MAX_CID_LEN],
}

/// A connection ID longer than 20 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("connection ID of {0} bytes exceeds the 20-byte maximum")]
pub struct CidTooLong(pub usize);

impl ConnectionId {
    /// The zero-length connection ID.
    pub const EMPTY: ConnectionId = ConnectionId {
        len: 0,
        bytes: [0; MAX_CID_LEN],
    };

    /// Copies `bytes` into a connection ID; fails if longer than 20 bytes.
    pub fn new(bytes: &[u8]) -> Result<Self, CidTooLong> {
        if bytes.len() > MAX_CID_LEN {
            return Err(CidTooLong(bytes.len()));
        }
        let mut cid = Self::EMPTY;
        cid.len = bytes.len() as u8;
        cid.bytes[..bytes.len()].copy_from_slice(bytes);
        Ok(cid)
    }

    /// Reads a connection ID of `len` bytes (the length having been read separately).
    pub(crate) fn decode_with_len<B: Buf>(buf: &mut B, len: usize) -> Result<Self, UnexpectedEnd> {
        debug_assert!(len <= MAX_CID_LEN);
        let mut cid = Self::EMPTY;
        cid.len = len as u8;
        buf.try_copy(&mut cid.bytes[..len])?;
        Ok(cid)
    }

    /// Writes the ID bytes (without a length prefix).
    pub fn encode<B: BufMut>(&self, buf: &mut B) {
        buf.put_slice(self);
    }

    /// Length in bytes.
    #[allow(clippy::len_without_is_empty)] // Deref to [u8] already provides is_empty
    pub fn len(&self) -> usize {
        self.len as usize
    }
}

impl std::ops::Deref for ConnectionId {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.bytes[..self.len as usize]
    }
}

impl fmt::Debug for ConnectionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.iter() {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Display for ConnectionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_and_equality() {
        assert!(ConnectionId::new(&[0; 21]).is_err());
        let a = ConnectionId::new(&[1, 2, 3]).unwrap();
        assert_eq!(&a[..], &[1, 2, 3]);
        assert_eq!(a.len(), 3);
        assert_ne!(a, ConnectionId::new(&[1, 2, 3, 0]).unwrap());
        assert_eq!(format!("{a:?}"), "010203");
        assert!(ConnectionId::EMPTY.is_empty());
    }
}

//! The field line type shared by the encoder and decoder.

use bytes::Bytes;

/// One field line: name and value as raw bytes, plus the never-index flag.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HeaderField {
    /// Field name (lowercase for HTTP/3; QPACK itself does not check).
    pub name: Bytes,
    /// Field value.
    pub value: Bytes,
    /// Sensitive / never-indexed (RFC 9204 §7.1.3): the encoder never puts it in the dynamic
    /// table and writes it as a literal with the 'N' bit, and a decoder reports the 'N' bit here
    /// so an intermediary re-encodes it the same way.
    pub sensitive: bool,
}

impl HeaderField {
    /// A field that may be indexed.
    pub fn new(name: impl Into<Bytes>, value: impl Into<Bytes>) -> Self {
        HeaderField {
            name: name.into(),
            value: value.into(),
            sensitive: false,
        }
    }

    /// A field that must never be indexed.
    pub fn sensitive(name: impl Into<Bytes>, value: impl Into<Bytes>) -> Self {
        HeaderField {
            name: name.into(),
            value: value.into(),
            sensitive: true,
        }
    }

    /// Size as RFC 9204 §3.2.1 and RFC 9114 §4.2.2 count it: name + value + 32.
    pub fn size(&self) -> u64 {
        entry_size(&self.name, &self.value)
    }
}

/// RFC 9204 §3.2.1: an entry's size is its name and value length plus 32 bytes of overhead.
pub(crate) fn entry_size(name: &[u8], value: &[u8]) -> u64 {
    name.len() as u64 + value.len() as u64 + 32
}

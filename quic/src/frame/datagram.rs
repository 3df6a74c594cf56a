//! DATAGRAM frames (RFC 9221 §4): unreliable application data, with (0x31) or without (0x30) a
//! Length field.

use super::stream::data_fit_with_len;
use super::{put_type, type_len, FrameType};
use crate::coding::{put_varint, take_len_prefixed, varint_len};
use bytes::{BufMut, Bytes};

/// A DATAGRAM frame (RFC 9221 §4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Datagram {
    /// The datagram, possibly empty ("empty (i.e., zero-length) datagrams are allowed"); a
    /// slice of the packet payload when decoded.
    pub data: Bytes,
}

impl Datagram {
    /// The header describing this frame.
    pub fn header(&self) -> DatagramHeader {
        DatagramHeader {
            len: self.data.len(),
        }
    }

    /// Bytes [`Datagram::encode`] writes.
    pub fn encoded_len(&self) -> usize {
        self.header().encoded_len(true) + self.data.len()
    }

    /// Writes the frame with a Length field (type 0x31).
    pub fn encode<B: BufMut>(&self, buf: &mut B) {
        self.header().encode(true, buf);
        buf.put_slice(&self.data);
    }

    /// Decodes the body; `with_len` is the LEN bit of the type.
    pub(super) fn decode(buf: &mut Bytes, with_len: bool) -> Result<Self, super::Invalid> {
        let data = if with_len {
            take_len_prefixed(buf)?
        } else {
            // RFC 9221 §4: without LEN "the Datagram Data field extends to the end of the
            // packet".
            std::mem::take(buf)
        };
        Ok(Self { data })
    }
}

/// The header of a DATAGRAM frame, for writing the data straight after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DatagramHeader {
    /// Number of data bytes that follow the header.
    pub len: usize,
}

impl DatagramHeader {
    /// DATAGRAM_LEN (0x31) if `with_len`, else DATAGRAM (0x30).
    pub fn frame_type(with_len: bool) -> FrameType {
        if with_len {
            FrameType::DATAGRAM_LEN
        } else {
            FrameType::DATAGRAM
        }
    }

    /// Bytes the header takes. Without a Length field the frame must be the last in its packet.
    #[inline]
    pub fn encoded_len(&self, with_len: bool) -> usize {
        type_len(FrameType::DATAGRAM)
            + if with_len {
                varint_len(self.len as u64)
            } else {
                0
            }
    }

    /// Writes the header; the caller then writes exactly `len` bytes.
    #[inline]
    pub fn encode<B: BufMut>(&self, with_len: bool, buf: &mut B) {
        put_type(buf, Self::frame_type(with_len));
        if with_len {
            put_varint(buf, self.len as u64);
        }
    }

    /// The largest datagram that fits in a frame of at most `space` bytes; `None` if not even an
    /// empty one fits. Datagrams cannot be split (RFC 9221 §5), so the caller compares this with
    /// the datagram's size. With a Length field the frame can end a byte or two short of `space`, as
    /// with [`StreamHeader::max_data_len`](super::StreamHeader::max_data_len).
    pub fn max_data_len(space: usize, with_len: bool) -> Option<usize> {
        let avail = space.checked_sub(type_len(FrameType::DATAGRAM))?;
        if with_len {
            data_fit_with_len(avail, u64::MAX)
        } else {
            Some(avail)
        }
    }
}

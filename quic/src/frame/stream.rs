//! STREAM (RFC 9000 §19.8), RESET_STREAM (§19.4) and STOP_SENDING (§19.5) frames, and the
//! header-only STREAM encoder the send path uses to fill packets.

use super::{get_var, put_type, type_len, FrameType, Invalid};
use crate::coding::{put_varint, take_len_prefixed, varint_len, BufExt, VarInt};
use bytes::{BufMut, Bytes};

/// The largest offset + length a stream can reach, 2^62 - 1 (RFC 9000 §19.8).
const MAX_STREAM_END: u64 = VarInt::MAX.into_inner();

/// A STREAM frame (RFC 9000 §19.8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stream {
    /// The stream ID.
    pub id: VarInt,
    /// Offset in the stream of the first data byte. `offset + data.len()` must not exceed
    /// 2^62 - 1; decoding enforces it.
    pub offset: u64,
    /// Whether this frame ends the stream (the final size is `offset + data.len()`).
    pub fin: bool,
    /// The stream data, a slice of the packet payload when decoded.
    pub data: Bytes,
}

impl Stream {
    /// The header describing this frame.
    pub fn header(&self) -> StreamHeader {
        StreamHeader {
            id: self.id,
            offset: self.offset,
            len: self.data.len(),
            fin: self.fin,
        }
    }

    /// Bytes [`Stream::encode`] writes.
    pub fn encoded_len(&self) -> usize {
        self.header().encoded_len(true) + self.data.len()
    }

    /// Writes the frame with a Length field.
    pub fn encode<B: BufMut>(&self, buf: &mut B) {
        self.header().encode(true, buf);
        buf.put_slice(&self.data);
    }

    /// Decodes the body of a STREAM frame of type `ty` (0x08..=0x0f).
    pub(super) fn decode(buf: &mut Bytes, ty: FrameType) -> Result<Self, Invalid> {
        let id = get_var(buf)?;
        let offset = if ty.0 & FrameType::STREAM_OFF != 0 {
            buf.get_var()?
        } else {
            0
        };
        let data = if ty.0 & FrameType::STREAM_LEN != 0 {
            take_len_prefixed(buf)?
        } else {
            // RFC 9000 §19.8: without LEN "the Stream Data field consumes all the remaining
            // bytes in the packet".
            std::mem::take(buf)
        };
        // RFC 9000 §19.8: "Receipt of a frame that exceeds this limit [offset + length
        // > 2^62-1] MUST be treated as a connection error of type FRAME_ENCODING_ERROR or
        // FLOW_CONTROL_ERROR."
        match offset.checked_add(data.len() as u64) {
            Some(end) if end <= MAX_STREAM_END => {}
            _ => return Err(Invalid("STREAM offset + length exceeds 2^62 - 1")),
        }
        Ok(Self {
            id,
            offset,
            fin: ty.0 & FrameType::STREAM_FIN != 0,
            data,
        })
    }
}

/// The header of a STREAM frame: everything but the data. The send path writes it, then copies
/// `len` bytes of stream data right after it in the packet buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamHeader {
    /// The stream ID.
    pub id: VarInt,
    /// Offset of the first data byte; the Offset field is written only when it is non-zero.
    pub offset: u64,
    /// Number of data bytes that follow the header.
    pub len: usize,
    /// Whether the frame ends the stream.
    pub fin: bool,
}

impl StreamHeader {
    /// The frame type: 0x08 with OFF for a non-zero offset, LEN if `with_len`, FIN if `fin`.
    pub fn frame_type(&self, with_len: bool) -> FrameType {
        let mut ty = FrameType::STREAM.0;
        if self.offset != 0 {
            ty |= FrameType::STREAM_OFF;
        }
        if with_len {
            ty |= FrameType::STREAM_LEN;
        }
        if self.fin {
            ty |= FrameType::STREAM_FIN;
        }
        FrameType(ty)
    }

    /// Bytes the header takes. Without a Length field the data must run to the end of the
    /// packet (RFC 9000 §19.8), so only the last frame of a packet can use `with_len = false`.
    #[inline]
    pub fn encoded_len(&self, with_len: bool) -> usize {
        fixed_len(self.id, self.offset)
            + if with_len {
                varint_len(self.len as u64)
            } else {
                0
            }
    }

    /// Writes the header. The caller then writes exactly `len` data bytes.
    #[inline]
    pub fn encode<B: BufMut>(&self, with_len: bool, buf: &mut B) {
        debug_assert!(self.offset.saturating_add(self.len as u64) <= MAX_STREAM_END);
        put_type(buf, self.frame_type(with_len));
        self.id.encode(buf);
        if self.offset != 0 {
            put_varint(buf, self.offset);
        }
        if with_len {
            put_varint(buf, self.len as u64);
        }
    }

    /// How many data bytes of stream `id` starting at `offset` fit in a STREAM frame of at most
    /// `space` bytes, header included; `None` if not even an empty frame (header only) fits.
    ///
    /// With `with_len = false` the frame is the last in the packet and fills `space` exactly.
    /// With a Length field the frame is as large as possible, but where the Length field would
    /// grow it can end short of `space`: by one byte below 16 KiB (for example 65 bytes left
    /// after the rest of the header: 64 data bytes would need a 2-byte length, so 63 fit with a
    /// 1-byte one), by at most two below 1 GiB. The caller can pad those bytes with PADDING. The
    /// result is also capped so the stream does not pass 2^62 - 1.
    pub fn max_data_len(id: VarInt, offset: u64, space: usize, with_len: bool) -> Option<usize> {
        let avail = space.checked_sub(fixed_len(id, offset))?;
        let cap = MAX_STREAM_END.saturating_sub(offset);
        if with_len {
            data_fit_with_len(avail, cap)
        } else {
            Some(clamp_to(avail, cap))
        }
    }
}

/// Header bytes before the Length field: type, stream ID and (for a non-zero offset) offset.
#[inline]
fn fixed_len(id: VarInt, offset: u64) -> usize {
    type_len(FrameType::STREAM) + id.size() + if offset != 0 { varint_len(offset) } else { 0 }
}

/// `avail` capped to `cap` (a byte count that may not fit in `usize`).
#[inline]
fn clamp_to(avail: usize, cap: u64) -> usize {
    if avail as u64 > cap {
        cap as usize
    } else {
        avail
    }
}

/// The largest `n <= cap` with `varint_len(n) + n <= avail`, or `None` if even `n = 0` does not
/// fit. Tries each size of the Length field: with an L-byte field at most `avail - L` bytes and
/// at most the largest L-byte value fit; the best over the four sizes is the answer.
pub(super) fn data_fit_with_len(avail: usize, cap: u64) -> Option<usize> {
    const SIZES: [(usize, u64); 4] = [
        (1, (1 << 6) - 1),
        (2, (1 << 14) - 1),
        (4, (1 << 30) - 1),
        (8, (1 << 62) - 1),
    ];
    SIZES
        .iter()
        .filter_map(|&(len_size, max_value)| {
            let room = avail.checked_sub(len_size)?;
            Some(clamp_to(room, max_value.min(cap)))
        })
        .max()
}

/// A RESET_STREAM frame (RFC 9000 §19.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResetStream {
    /// The stream being reset.
    pub id: VarInt,
    /// The application protocol error code.
    pub error_code: VarInt,
    /// The final size of the stream in bytes.
    pub final_size: VarInt,
}

impl ResetStream {
    /// Bytes [`ResetStream::encode`] writes.
    pub fn encoded_len(&self) -> usize {
        type_len(FrameType::RESET_STREAM)
            + self.id.size()
            + self.error_code.size()
            + self.final_size.size()
    }

    /// Writes the frame.
    pub fn encode<B: BufMut>(&self, buf: &mut B) {
        put_type(buf, FrameType::RESET_STREAM);
        self.id.encode(buf);
        self.error_code.encode(buf);
        self.final_size.encode(buf);
    }

    pub(super) fn decode(buf: &mut Bytes) -> Result<Self, Invalid> {
        Ok(Self {
            id: get_var(buf)?,
            error_code: get_var(buf)?,
            final_size: get_var(buf)?,
        })
    }
}

/// A STOP_SENDING frame (RFC 9000 §19.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StopSending {
    /// The stream whose data the receiver is discarding.
    pub id: VarInt,
    /// The application protocol error code.
    pub error_code: VarInt,
}

impl StopSending {
    /// Bytes [`StopSending::encode`] writes.
    pub fn encoded_len(&self) -> usize {
        type_len(FrameType::STOP_SENDING) + self.id.size() + self.error_code.size()
    }

    /// Writes the frame.
    pub fn encode<B: BufMut>(&self, buf: &mut B) {
        put_type(buf, FrameType::STOP_SENDING);
        self.id.encode(buf);
        self.error_code.encode(buf);
    }

    pub(super) fn decode(buf: &mut Bytes) -> Result<Self, Invalid> {
        Ok(Self {
            id: get_var(buf)?,
            error_code: get_var(buf)?,
        })
    }
}

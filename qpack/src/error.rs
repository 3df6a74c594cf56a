//! QPACK errors and the RFC 9204 error codes they map to.

/// RFC 9204 §6: the decoder could not interpret an encoded field section.
pub const QPACK_DECOMPRESSION_FAILED: u64 = 0x200;
/// RFC 9204 §6: the decoder could not interpret an encoder instruction.
pub const QPACK_ENCODER_STREAM_ERROR: u64 = 0x201;
/// RFC 9204 §6: the encoder could not interpret a decoder instruction.
pub const QPACK_DECODER_STREAM_ERROR: u64 = 0x202;

/// An error from the encoder or decoder.
///
/// The first three variants are connection errors carrying an RFC 9204 error code (see
/// [`QpackError::code`]). `FieldSectionTooLarge` is local policy (RFC 9114 §4.2.2): the HTTP/3
/// layer decides what to do with the stream; the decoder has already told the encoder that the
/// section is abandoned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QpackError {
    /// QPACK_DECOMPRESSION_FAILED: a bad encoded field section.
    #[error("QPACK decompression failed: {0}")]
    DecompressionFailed(&'static str),
    /// QPACK_ENCODER_STREAM_ERROR: a bad instruction on the peer's encoder stream.
    #[error("QPACK encoder stream error: {0}")]
    EncoderStream(&'static str),
    /// QPACK_DECODER_STREAM_ERROR: a bad instruction on the peer's decoder stream.
    #[error("QPACK decoder stream error: {0}")]
    DecoderStream(&'static str),
    /// The decoded field section would exceed the configured maximum field section size.
    #[error("field section exceeds the limit of {limit} bytes")]
    FieldSectionTooLarge {
        /// The limit in force (RFC 9114 §4.2.2 size: name + value + 32 per field line).
        limit: u64,
    },
}

impl QpackError {
    /// The RFC 9204 error code for a connection error; `None` for `FieldSectionTooLarge`,
    /// which is a per-stream condition for the HTTP/3 layer to map.
    pub fn code(&self) -> Option<u64> {
        match self {
            QpackError::DecompressionFailed(_) => Some(QPACK_DECOMPRESSION_FAILED),
            QpackError::EncoderStream(_) => Some(QPACK_ENCODER_STREAM_ERROR),
            QpackError::DecoderStream(_) => Some(QPACK_DECODER_STREAM_ERROR),
            QpackError::FieldSectionTooLarge { .. } => None,
        }
    }
}

//! QPACK (RFC 9204) field compression for HTTP/3, over plain bytes.
//!
//! The crate knows nothing of streams or connections: the [`Encoder`] turns a header list
//! into a header block plus encoder-stream bytes and reads the peer's decoder stream; the
//! [`Decoder`] reads the peer's encoder stream, decodes header blocks (parking those that
//! need entries not yet received) and produces decoder-stream bytes. Both use the dynamic
//! table for real.
//!
//! Layout: primitives ([`prefix_int`], [`huffman`], [`string`], [`static_table`]), wire
//! forms ([`instructions`], [`field_lines`]), the two state machines, and [`qif`] for the
//! offline interop formats.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod decoder;
mod encoder;
mod error;
mod field;
pub mod field_lines;
pub mod huffman;
pub mod instructions;
pub mod prefix_int;
pub mod qif;
pub mod static_table;
pub mod string;
mod table;

pub use decoder::{Decoded, Decoder, DecoderConfig, Unblocked};
pub use encoder::{Encoder, EncoderConfig};
pub use error::{
    QpackError, QPACK_DECODER_STREAM_ERROR, QPACK_DECOMPRESSION_FAILED, QPACK_ENCODER_STREAM_ERROR,
};
pub use field::HeaderField;

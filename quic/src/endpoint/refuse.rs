//! Refusing a connection statelessly: an Initial packet carrying CONNECTION_CLOSE with
//! CONNECTION_REFUSED (RFC 9000 §5.2.2), protected with the Initial keys derived from the
//! client's Destination Connection ID.

use super::{Endpoint, Incoming, Transmit};
use crate::crypto::{initial_keys, Side};
use crate::frame::{ConnectionClose, FrameType};
use crate::packet::{Header, PacketNumber};
use crate::TransportErrorCode;

pub(super) fn connection_refused(incoming: &Incoming, endpoint: &mut Endpoint) -> Transmit {
    let keys = initial_keys(incoming.version, &incoming.original_dst_cid, Side::Server);
    let header = Header::Initial {
        version: incoming.version,
        dst_cid: incoming.src_cid,
        src_cid: endpoint.new_cid(),
        token: Default::default(),
        number: PacketNumber::encode(0, None),
    };
    let mut buf = Vec::with_capacity(128);
    let partial = header.encode(&mut buf);
    let close = ConnectionClose {
        error_code: TransportErrorCode::CONNECTION_REFUSED,
        frame_type: FrameType::PADDING,
        reason: bytes::Bytes::from_static(b"server is at its connection limit"),
    };
    close.encode(&mut buf);
    // RFC 9001 §5.4.2: leave room for the header-protection sample (4 + 16 bytes after the
    // packet number start), padding with PADDING frames (zero bytes).
    let pn_offset = partial.pn.map_or(partial.header_len, |(off, _)| off);
    let tag_len = keys.local.packet.tag_len();
    let min_len = pn_offset + 4 + crate::crypto::SAMPLE_LEN;
    if buf.len() + tag_len < min_len {
        buf.resize(min_len - tag_len, 0);
    }
    buf.resize(buf.len() + tag_len, 0);
    let len = buf.len();
    partial.set_length(&mut buf, len);
    keys.local
        .protect(0, pn_offset, &mut buf)
        .expect("buffer sized for the sample and tag");
    Transmit {
        destination: incoming.remote,
        contents: buf,
    }
}

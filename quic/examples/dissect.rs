//! A QUIC datagram dissector: removes Initial packet protection the way a server does (keys
//! from the client's Destination Connection ID, RFC 9001 §5.2), then prints each packet's header
//! and frames.
//!
//! With no argument it builds a real client Initial first: a rustls ClientHello (SNI
//! `example.test`, ALPN `h3`) carrying our transport parameters, in a CRYPTO frame, padded to
//! 1200 bytes and protected with our packet protection. With an argument it dissects that
//! hex-encoded datagram instead (only Initial payloads can be decrypted without the TLS secrets;
//! other packets get their headers printed).
//!
//! ```sh
//! cargo run --release -p quic --example dissect [-- <hex datagram> [short-header DCID length]]
//! ```

use bytes::BytesMut;
use quic::crypto::{initial_keys, Side};
use quic::frame::{Frame, FrameIter};
use quic::packet::{Header, LongType, PacketNumber, PartialDecode, ProtectedHeader};
use quic::tls::{client_config, CipherSuites, ServerVerification, TlsSession};
use quic::transport_params::TransportParameters;
use quic::{ConnectionId, VarInt, Version};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let datagram = match args.first() {
        Some(hex_text) => match hex::decode(hex_text.trim()) {
            Ok(bytes) => bytes,
            Err(e) => {
                eprintln!("dissect: the argument is not hex: {e}");
                std::process::exit(1);
            }
        },
        None => {
            println!("(no datagram given: building a client Initial with rustls and our packet protection)\n");
            build_client_initial()
        }
    };
    let short_cid_len = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(8);
    if let Err(e) = dissect(&datagram, short_cid_len) {
        eprintln!("dissect: {e}");
        std::process::exit(1);
    }
}

fn build_client_initial() -> Vec<u8> {
    let dcid = ConnectionId::new(&[0x83, 0x94, 0xc8, 0xf0, 0x3e, 0x51, 0x57, 0x08]).unwrap();
    let scid = ConnectionId::new(&[0xc1, 0x1e, 0x47, 0x00]).unwrap();
    let params = TransportParameters {
        initial_source_connection_id: Some(scid),
        max_idle_timeout: VarInt::from_u32(30_000),
        initial_max_data: VarInt::from_u32(1 << 20),
        initial_max_stream_data_bidi_local: VarInt::from_u32(1 << 18),
        initial_max_stream_data_bidi_remote: VarInt::from_u32(1 << 18),
        initial_max_stream_data_uni: VarInt::from_u32(1 << 18),
        initial_max_streams_bidi: VarInt::from_u32(100),
        initial_max_streams_uni: VarInt::from_u32(100),
        ..TransportParameters::default()
    };
    let mut encoded_params = Vec::new();
    params.encode(&mut encoded_params);
    let config = client_config(
        &ServerVerification::InsecureSkipVerify,
        &[b"h3"],
        CipherSuites::All,
    )
    .expect("client config");
    let mut tls = TlsSession::client(config, "example.test", Version::V1, encoded_params)
        .expect("TLS client");
    let mut client_hello = Vec::new();
    tls.write_handshake(&mut client_hello);

    let header = Header::Initial {
        version: Version::V1,
        dst_cid: dcid,
        src_cid: scid,
        token: Default::default(),
        number: PacketNumber::encode(0, None),
    };
    let mut buf = Vec::with_capacity(1200);
    let partial = header.encode(&mut buf);
    quic::frame::CryptoHeader {
        offset: 0,
        len: client_hello.len(),
    }
    .encode(&mut buf);
    buf.extend_from_slice(&client_hello);
    // RFC 9000 §14.1: a client pads datagrams carrying Initial packets to at least 1200 bytes.
    let keys = initial_keys(Version::V1, &dcid, Side::Client);
    let tag_len = keys.local.packet.tag_len();
    buf.resize(1200 - tag_len, 0); // PADDING frames are zero bytes
    buf.resize(1200, 0); // room for the AEAD tag
    partial.set_length(&mut buf, 1200);
    let pn_offset = partial.pn.expect("Initial has a packet number").0;
    keys.local.protect(0, pn_offset, &mut buf).expect("protect");
    buf
}

fn dissect(datagram: &[u8], short_cid_len: usize) -> Result<(), String> {
    println!("datagram: {} bytes", datagram.len());
    let mut next = Some(BytesMut::from(datagram));
    let mut initial_dcid = None;
    let mut index = 0;
    while let Some(buf) = next.take() {
        let (partial, rest) =
            PartialDecode::new(buf, short_cid_len, false).map_err(|e| e.to_string())?;
        next = rest;
        index += 1;
        let header = partial.header().clone();
        println!(
            "\npacket {index}: {:?}, {} bytes",
            header.packet_type(),
            partial.len()
        );
        match &header {
            ProtectedHeader::Initial {
                version,
                dst_cid,
                src_cid,
            } => {
                println!(
                    "  version {version:?}, dcid {dst_cid}, scid {src_cid}, token {} bytes",
                    partial.token().len()
                );
                let dcid = *initial_dcid.get_or_insert(*dst_cid);
                let keys = initial_keys(*version, &dcid, Side::Server);
                let mut packet = partial
                    .finish(|sample| keys.remote.header.mask(sample), 0)
                    .map_err(|e| e.to_string())?;
                let (number, header_len) = (packet.number, packet.header_len());
                let len = keys
                    .remote
                    .packet
                    .decrypt_in_place(number, header_len, packet.data_mut())
                    .map_err(|e| format!("Initial payload does not decrypt: {e}"))?;
                println!("  packet number {number}, header {header_len} bytes, payload {len} bytes (decrypted)");
                print_frames(FrameIter::new(
                    packet.into_payload(len),
                    header.packet_type(),
                ));
            }
            ProtectedHeader::Long {
                ty,
                version,
                dst_cid,
                src_cid,
            } => {
                let ty = if *ty == LongType::ZeroRtt {
                    "0-RTT"
                } else {
                    "Handshake"
                };
                println!("  {ty}, version {version:?}, dcid {dst_cid}, scid {src_cid} (payload needs TLS secrets)");
            }
            ProtectedHeader::Retry {
                version,
                dst_cid,
                src_cid,
            } => {
                println!(
                    "  version {version:?}, dcid {dst_cid}, scid {src_cid}, token {} bytes",
                    partial.token().len()
                );
            }
            ProtectedHeader::Short { spin, dst_cid } => {
                println!("  1-RTT, spin {spin}, dcid {dst_cid} (payload needs TLS secrets)");
            }
            ProtectedHeader::VersionNegotiation { dst_cid, src_cid } => {
                let versions: Vec<String> = partial
                    .supported_versions()
                    .map(|v| v.map(|v| format!("{v:#010x}")).collect())
                    .unwrap_or_default();
                println!(
                    "  dcid {dst_cid}, scid {src_cid}, versions [{}]",
                    versions.join(", ")
                );
            }
        }
    }
    Ok(())
}

fn print_frames(frames: FrameIter) {
    for frame in frames {
        match frame {
            Ok(Frame::Padding(n)) => println!("  PADDING x{n}"),
            Ok(Frame::Crypto(c)) => {
                let kind = match c.data.first() {
                    Some(1) => "ClientHello",
                    Some(2) => "ServerHello",
                    _ => "handshake data",
                };
                println!("  CRYPTO offset {} len {} ({kind})", c.offset, c.data.len());
            }
            Ok(Frame::Ack(ack)) => {
                let ranges: Vec<String> = ack
                    .ranges()
                    .map(|r| format!("{}..={}", r.start, r.end - 1))
                    .collect();
                println!(
                    "  ACK largest {} delay {} ranges [{}]",
                    ack.largest(),
                    ack.delay(),
                    ranges.join(", ")
                );
            }
            Ok(other) => println!("  {other:?}"),
            Err(e) => {
                println!("  frame error: {e}");
                break;
            }
        }
    }
}

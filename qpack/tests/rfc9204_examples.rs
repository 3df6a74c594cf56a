//! RFC 9204 Appendix B, replayed through our decoder byte for byte, and through our encoder's
//! decoder-stream handling.

use qpack::{Decoded, Decoder, DecoderConfig, Encoder, EncoderConfig, HeaderField};

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect();
    hex::decode(s).unwrap()
}

fn fields(d: Decoded) -> Vec<(String, String)> {
    match d {
        Decoded::Done(f) => f
            .into_iter()
            .map(|f| {
                (
                    String::from_utf8(f.name.to_vec()).unwrap(),
                    String::from_utf8(f.value.to_vec()).unwrap(),
                )
            })
            .collect(),
        Decoded::Blocked => panic!("blocked"),
    }
}

fn pair(n: &str, v: &str) -> (String, String) {
    (n.to_string(), v.to_string())
}

#[test]
fn appendix_b_decoder() {
    let mut d = Decoder::new(DecoderConfig {
        max_table_capacity: 220,
        max_blocked_streams: 1,
        ..DecoderConfig::default()
    });
    // B.1: literal with static name reference.
    let got = fields(
        d.decode(0, &hex("0000 510b 2f69 6e64 6578 2e68 746d 6c"))
            .unwrap(),
    );
    assert_eq!(got, [pair(":path", "/index.html")]);
    assert!(d.take_decoder_stream_bytes().is_empty());

    // B.2: capacity, two inserts, a section with post-base references, its acknowledgment.
    let enc =
        hex("3fbd01 c00f 7777 772e 6578 616d 706c 652e 636f 6d c10c 2f73 616d 706c 652f 7061 7468");
    // Fed one byte at a time: instructions may be split anywhere.
    for b in &enc {
        assert!(d
            .on_encoder_stream(std::slice::from_ref(b))
            .unwrap()
            .is_empty());
    }
    assert_eq!(d.table_size(), 106);
    let got = fields(d.decode(4, &hex("0381 10 11")).unwrap());
    assert_eq!(
        got,
        [
            pair(":authority", "www.example.com"),
            pair(":path", "/sample/path")
        ]
    );
    assert_eq!(d.take_decoder_stream_bytes(), hex("84"));

    // B.3: speculative insert, acknowledged with an Insert Count Increment.
    let enc = hex("4a63 7573 746f 6d2d 6b65 790c 6375 7374 6f6d 2d76 616c 7565");
    d.on_encoder_stream(&enc).unwrap();
    assert_eq!(d.take_decoder_stream_bytes(), hex("01"));
    assert_eq!(d.table_size(), 160);

    // B.4: the section arrives before the Duplicate it needs, so it blocks; the stream is
    // then cancelled.
    assert_eq!(
        d.decode(8, &hex("0500 80 c1 81")).unwrap(),
        Decoded::Blocked
    );
    assert_eq!(d.blocked_streams(), 1);
    d.cancel_stream(8);
    assert_eq!(d.blocked_streams(), 0);
    assert!(d.on_encoder_stream(&hex("02")).unwrap().is_empty());
    assert_eq!(d.table_size(), 217);
    // Cancellation, then the increment for the duplicate.
    assert_eq!(d.take_decoder_stream_bytes(), hex("48 01"));

    // B.5: insert with dynamic name reference, evicting entry 0.
    d.on_encoder_stream(&hex("810d 6375 7374 6f6d 2d76 616c 7565 32"))
        .unwrap();
    assert_eq!(d.table_size(), 215);
    assert_eq!(d.insert_count(), 5);
}

#[test]
fn appendix_b_blocked_section_is_released_by_its_insert() {
    let mut d = Decoder::new(DecoderConfig {
        max_table_capacity: 220,
        max_blocked_streams: 1,
        ..DecoderConfig::default()
    });
    d.on_encoder_stream(&hex(
        "3fbd01 c00f 7777 772e 6578 616d 706c 652e 636f 6d c10c 2f73 616d 706c 652f 7061 7468",
    ))
    .unwrap();
    d.on_encoder_stream(&hex(
        "4a63 7573 746f 6d2d 6b65 790c 6375 7374 6f6d 2d76 616c 7565",
    ))
    .unwrap();
    assert_eq!(
        d.decode(8, &hex("0500 80 c1 81")).unwrap(),
        Decoded::Blocked
    );
    // A second blocked stream is over the advertised limit of 1.
    assert!(d.decode(12, &hex("0500 80")).is_err());
    let unblocked = d.on_encoder_stream(&hex("02")).unwrap();
    assert_eq!(unblocked.len(), 1);
    assert_eq!(unblocked[0].stream_id, 8);
    let names: Vec<_> = unblocked[0]
        .fields
        .as_ref()
        .unwrap()
        .iter()
        .map(|f| f.value.clone())
        .collect();
    assert_eq!(names, ["www.example.com", "/", "custom-value"]);
    assert_eq!(d.take_decoder_stream_bytes(), hex("88"));
}

#[test]
fn appendix_b_encoder_side() {
    // Our encoder, told the decoder allows 220 bytes, encodes the B.4 section and accepts the
    // decoder's instructions of B.2-B.4.
    let mut e = Encoder::new(EncoderConfig::default());
    e.set_peer_settings(220, 1);
    let list = [
        HeaderField::new(":authority", "www.example.com"),
        HeaderField::new(":path", "/sample/path"),
    ];
    let mut enc_stream = Vec::new();
    let block = e.encode(4, &list, &mut enc_stream);
    let mut d = Decoder::new(DecoderConfig {
        max_table_capacity: 220,
        max_blocked_streams: 1,
        ..DecoderConfig::default()
    });
    d.on_encoder_stream(&enc_stream).unwrap();
    let got = fields(d.decode(4, &block).unwrap());
    assert_eq!(
        got,
        [
            pair(":authority", "www.example.com"),
            pair(":path", "/sample/path")
        ]
    );
    let acks = d.take_decoder_stream_bytes();
    e.on_decoder_stream(&acks).unwrap();
    // Acknowledging stream 4 again is a decoder stream error (RFC 9204 §4.4.1).
    assert_eq!(
        e.on_decoder_stream(&hex("84")).unwrap_err().code(),
        Some(0x202)
    );
    // An Insert Count Increment past what was sent is too (§4.4.3).
    let mut e2 = Encoder::new(EncoderConfig::default());
    e2.set_peer_settings(220, 1);
    assert_eq!(
        e2.on_decoder_stream(&hex("01")).unwrap_err().code(),
        Some(0x202)
    );
    // Cancelling an unknown stream is harmless.
    e2.on_decoder_stream(&hex("48")).unwrap();
}

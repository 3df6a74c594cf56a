//! Helpers shared by the integration tests: locating the qifs corpus and replaying encoded
//! files through our decoder.
#![allow(dead_code)]

use qpack::qif::{parse_qif, parse_records};
use qpack::{Decoded, Decoder, DecoderConfig, HeaderField};
use std::path::PathBuf;

/// The qifs corpus: `$QIFS_DIR`, else `../../shared/qifs` next to the repository. `None`
/// (after printing why) when it is absent, so a plain clone can still run the tests.
pub fn qifs_dir(test: &str) -> Option<PathBuf> {
    let dir = match std::env::var_os("QIFS_DIR") {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/qifs"),
    };
    if dir.join("qifs").is_dir() {
        Some(dir)
    } else {
        println!(
            "{test}: skipped: qifs corpus not found at {} (set QIFS_DIR to a copy of \
             github.com/qpackers/qifs to run it)",
            dir.display()
        );
        None
    }
}

/// Header lists of a QIF file, comparing names and values only.
pub fn load_qif(path: &std::path::Path) -> Vec<Vec<(Vec<u8>, Vec<u8>)>> {
    let text = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    parse_qif(&text).into_iter().map(plain).collect()
}

/// Drop the sensitive flag for comparisons.
pub fn plain(fields: Vec<HeaderField>) -> Vec<(Vec<u8>, Vec<u8>)> {
    fields.into_iter().map(|f| (f.name.to_vec(), f.value.to_vec())).collect()
}

/// Decode an encoded file as the qifs README prescribes: records in file order, encoder
/// stream bytes to one parser, blocked sections retried as entries arrive. Returns the
/// header lists in stream-ID order.
pub fn decode_file(
    data: &[u8],
    table_size: u64,
    max_blocked: u64,
) -> Result<Vec<(u64, Vec<(Vec<u8>, Vec<u8>)>)>, String> {
    let records = parse_records(data).ok_or("bad record framing")?;
    let mut decoder = Decoder::new(DecoderConfig {
        max_table_capacity: table_size,
        max_blocked_streams: max_blocked,
        max_field_section_size: 1 << 24,
        start_at_max_capacity: true,
    });
    let mut lists = Vec::new();
    for r in records {
        if r.stream_id == 0 {
            for u in decoder.on_encoder_stream(&r.payload).map_err(|e| e.to_string())? {
                lists.push((u.stream_id, plain(u.fields.map_err(|e| e.to_string())?)));
            }
        } else {
            match decoder.decode(r.stream_id, &r.payload).map_err(|e| e.to_string())? {
                Decoded::Done(fields) => lists.push((r.stream_id, plain(fields))),
                Decoded::Blocked => {}
            }
        }
        // Acknowledgements go nowhere offline, but producing them must not fail.
        decoder.take_decoder_stream_bytes();
    }
    if decoder.blocked_streams() != 0 {
        return Err(format!("{} streams still blocked at end of file", decoder.blocked_streams()));
    }
    lists.sort_by_key(|(id, _)| *id);
    Ok(lists)
}

/// `(qif stem, table, blocked, ack)` from a name like `fb-req-hq.out.512.100.1`.
pub fn parse_name(name: &str) -> Option<(String, u64, u64, bool)> {
    let (stem, params) = name.split_once(".out.")?;
    let mut it = params.split('.');
    let table = it.next()?.parse().ok()?;
    let blocked = it.next()?.parse().ok()?;
    let ack = it.next()? == "1";
    Some((stem.to_string(), table, blocked, ack))
}

//! Helpers shared by the integration tests: locating the qifs corpus and replaying encoded
//! files through our decoder.
#![allow(dead_code)]

use qpack::qif::parse_qif;
use qpack::HeaderField;
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

/// A header list as (name, value) byte pairs.
pub type PlainList = Vec<(Vec<u8>, Vec<u8>)>;

/// Header lists of a QIF file, comparing names and values only.
pub fn load_qif(path: &std::path::Path) -> Vec<PlainList> {
    let text = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    parse_qif(&text).into_iter().map(plain).collect()
}

/// Drop the sensitive flag for comparisons.
pub fn plain(fields: Vec<HeaderField>) -> PlainList {
    fields
        .into_iter()
        .map(|f| (f.name.to_vec(), f.value.to_vec()))
        .collect()
}

/// Decode an encoded file the qifs way (see `qpack::qif::decode_file`), lists in stream-ID
/// order without the sensitive flag.
pub fn decode_file(
    data: &[u8],
    table_size: u64,
    max_blocked: u64,
) -> Result<Vec<PlainList>, String> {
    let lists = qpack::qif::decode_file(data, table_size, max_blocked)?;
    Ok(lists.into_iter().map(|(_, l)| plain(l)).collect())
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

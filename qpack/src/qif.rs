//! The qifs interop formats (github qpackers/qifs): QIF text header lists, and the encoded
//! file format (records of 8-byte stream ID, 4-byte length, payload; stream 0 carries
//! encoder-stream bytes). Used by the `qpack-qif` tool, the tests and the benches.

use crate::field::HeaderField;
use bytes::Bytes;

/// Parse QIF text: one `name<TAB>value` per line, an empty line ends a header list, lines
/// starting with `#` are comments. A final list without a trailing empty line still counts.
pub fn parse_qif(text: &[u8]) -> Vec<Vec<HeaderField>> {
    let mut lists = Vec::new();
    let mut current = Vec::new();
    for line in text.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.first() == Some(&b'#') {
            continue;
        }
        if line.is_empty() {
            if !current.is_empty() {
                lists.push(std::mem::take(&mut current));
            }
            continue;
        }
        let (name, value) = match line.iter().position(|&b| b == b'\t') {
            Some(tab) => (&line[..tab], &line[tab + 1..]),
            None => (line, &b""[..]),
        };
        current.push(HeaderField::new(Bytes::copy_from_slice(name), Bytes::copy_from_slice(value)));
    }
    if !current.is_empty() {
        lists.push(current);
    }
    lists
}

/// Write header lists as QIF text (a `# stream N` comment before each, as decoders do).
pub fn write_qif(lists: &[(u64, Vec<HeaderField>)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (stream_id, fields) in lists {
        out.extend_from_slice(format!("# stream {stream_id}\n").as_bytes());
        for f in fields {
            out.extend_from_slice(&f.name);
            out.push(b'\t');
            out.extend_from_slice(&f.value);
            out.push(b'\n');
        }
        out.push(b'\n');
    }
    out
}

/// One record of an encoded file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// 0 = encoder stream; otherwise the stream carrying this field section.
    pub stream_id: u64,
    /// Payload bytes.
    pub payload: Vec<u8>,
}

/// Split an encoded file into records; `None` if a record runs past the end.
pub fn parse_records(mut data: &[u8]) -> Option<Vec<Record>> {
    let mut records = Vec::new();
    while !data.is_empty() {
        let header = data.get(..12)?;
        let stream_id = u64::from_be_bytes(header[..8].try_into().ok()?);
        let len = u32::from_be_bytes(header[8..12].try_into().ok()?) as usize;
        let payload = data.get(12..12 + len)?.to_vec();
        records.push(Record { stream_id, payload });
        data = &data[12 + len..];
    }
    Some(records)
}

/// Append one record.
pub fn write_record(out: &mut Vec<u8>, stream_id: u64, payload: &[u8]) {
    out.extend_from_slice(&stream_id.to_be_bytes());
    let len = u32::try_from(payload.len()).expect("record payload under 4 GiB");
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(payload);
}

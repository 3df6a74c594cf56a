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
        current.push(HeaderField::new(
            Bytes::copy_from_slice(name),
            Bytes::copy_from_slice(value),
        ));
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

/// Encoder settings of the qifs convention (the numbers in an encoded file's name).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QifSettings {
    /// Dynamic table size (the decoder's SETTINGS_QPACK_MAX_TABLE_CAPACITY).
    pub table_size: u64,
    /// Max risked streams (the decoder's SETTINGS_QPACK_BLOCKED_STREAMS).
    pub max_blocked: u64,
    /// Pretend every field section is acknowledged as soon as it is written.
    pub immediate_ack: bool,
}

/// Encode header lists into the encoded file format: list *k* goes on stream *k*, each
/// preceded by a stream-0 record with the encoder instructions it needs. With
/// `immediate_ack`, a decoder of our own processes each section at once and its
/// decoder-stream output is fed back to the encoder.
pub fn encode_lists(lists: &[Vec<HeaderField>], settings: QifSettings) -> Vec<u8> {
    let mut encoder = crate::Encoder::new(crate::EncoderConfig {
        max_table_capacity: settings.table_size,
        ..crate::EncoderConfig::default()
    });
    encoder.set_peer_settings(settings.table_size, settings.max_blocked);
    let mut decoder = crate::Decoder::new(crate::DecoderConfig {
        max_table_capacity: settings.table_size,
        max_blocked_streams: settings.max_blocked,
        max_field_section_size: u64::MAX,
        start_at_max_capacity: false,
    });
    let mut out = Vec::new();
    let mut instructions = Vec::new();
    for (i, list) in lists.iter().enumerate() {
        let stream_id = i as u64 + 1;
        instructions.clear();
        let block = encoder.encode(stream_id, list, &mut instructions);
        if !instructions.is_empty() {
            write_record(&mut out, 0, &instructions);
        }
        write_record(&mut out, stream_id, &block);
        if settings.immediate_ack {
            // Our own output always decodes; a failure here is a bug worth a loud stop.
            decoder
                .on_encoder_stream(&instructions)
                .expect("own encoder stream decodes");
            match decoder
                .decode(stream_id, &block)
                .expect("own field section decodes")
            {
                crate::Decoded::Done(_) => {}
                crate::Decoded::Blocked => unreachable!("instructions were delivered first"),
            }
            encoder
                .on_decoder_stream(&decoder.take_decoder_stream_bytes())
                .expect("own decoder stream is valid");
        }
    }
    out
}

/// Decode an encoded file as the qifs convention prescribes: records in file order,
/// stream-0 payloads to one encoder-stream parser, blocked sections resumed as their
/// entries arrive, the decoder's capacity starting at the table size. Returns the header
/// lists in stream-ID order.
pub fn decode_file(
    data: &[u8],
    table_size: u64,
    max_blocked: u64,
) -> Result<Vec<(u64, Vec<HeaderField>)>, String> {
    let records = parse_records(data).ok_or("bad record framing")?;
    let mut decoder = crate::Decoder::new(crate::DecoderConfig {
        max_table_capacity: table_size,
        max_blocked_streams: max_blocked,
        max_field_section_size: u64::MAX,
        start_at_max_capacity: true,
    });
    let mut lists = Vec::new();
    for r in records {
        if r.stream_id == 0 {
            for u in decoder
                .on_encoder_stream(&r.payload)
                .map_err(|e| e.to_string())?
            {
                lists.push((u.stream_id, u.fields.map_err(|e| e.to_string())?));
            }
        } else {
            match decoder.decode(r.stream_id, &r.payload) {
                Ok(crate::Decoded::Done(fields)) => lists.push((r.stream_id, fields)),
                Ok(crate::Decoded::Blocked) => {}
                Err(e) => return Err(format!("stream {}: {e}", r.stream_id)),
            }
        }
        // Offline there is no way back to the encoder; drain to keep memory flat.
        decoder.take_decoder_stream_bytes();
    }
    if decoder.blocked_streams() != 0 {
        return Err(format!(
            "{} streams still blocked at end of file",
            decoder.blocked_streams()
        ));
    }
    lists.sort_by_key(|(id, _)| *id);
    Ok(lists)
}

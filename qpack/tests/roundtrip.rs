//! Our encoder on every QIF input, at table sizes 0, 256, 512 and 4096, blocked 0 and 100,
//! with and without immediate acks, decoded by our decoder: once in file order with the
//! capacity starting at 0 as RFC 9204 §3.2.2 says (our encoder announces it), and once with
//! every field section moved ahead of the encoder instructions it needs, so blocking and
//! unblocking are exercised.

mod common;

use common::*;
use qpack::qif::{encode_lists, parse_qif, parse_records, QifSettings};
use qpack::{Decoded, Decoder, DecoderConfig};

type List = Vec<(Vec<u8>, Vec<u8>)>;

fn strict_decode(data: &[u8], s: QifSettings, reorder: bool) -> Result<Vec<List>, String> {
    let mut records = parse_records(data).ok_or("framing")?;
    if reorder {
        // The encoder writes [instructions, block]; deliver [block, instructions].
        for i in 1..records.len() {
            if records[i].stream_id != 0 && records[i - 1].stream_id == 0 {
                records.swap(i - 1, i);
            }
        }
    }
    let mut d = Decoder::new(DecoderConfig {
        max_table_capacity: s.table_size,
        max_blocked_streams: s.max_blocked,
        max_field_section_size: u64::MAX,
        start_at_max_capacity: false,
    });
    let mut out = Vec::new();
    for r in records {
        if r.stream_id == 0 {
            for u in d.on_encoder_stream(&r.payload).map_err(|e| e.to_string())? {
                out.push((u.stream_id, plain(u.fields.map_err(|e| e.to_string())?)));
            }
        } else if let Decoded::Done(f) = d
            .decode(r.stream_id, &r.payload)
            .map_err(|e| e.to_string())?
        {
            out.push((r.stream_id, plain(f)));
        }
        d.take_decoder_stream_bytes();
    }
    if d.blocked_streams() > 0 {
        return Err("blocked at end".into());
    }
    out.sort_by_key(|(id, _)| *id);
    Ok(out.into_iter().map(|(_, l)| l).collect())
}

#[test]
fn encoder_decoder_round_trip_on_all_qif_inputs() {
    let Some(dir) = qifs_dir("encoder_decoder_round_trip_on_all_qif_inputs") else {
        return;
    };
    let mut inputs: Vec<_> = std::fs::read_dir(dir.join("qifs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    inputs.sort();
    let mut runs = 0;
    for path in inputs {
        let lists = parse_qif(&std::fs::read(&path).unwrap());
        let expected: Vec<List> = lists.iter().cloned().map(plain).collect();
        for table_size in [0, 256, 512, 4096] {
            for max_blocked in [0, 100] {
                for immediate_ack in [false, true] {
                    let s = QifSettings {
                        table_size,
                        max_blocked,
                        immediate_ack,
                    };
                    let data = encode_lists(&lists, s);
                    let what = format!("{} {s:?}", path.display());
                    assert_eq!(
                        strict_decode(&data, s, false).expect(&what),
                        expected,
                        "{what}"
                    );
                    if max_blocked > 0 {
                        let got = strict_decode(&data, s, true).expect(&what);
                        assert_eq!(got, expected, "{what} reordered");
                    } else {
                        // With no blocking allowed, a section never needs a later insert:
                        // reordering would only be legal if nothing referenced new entries.
                    }
                    runs += 1;
                }
            }
        }
    }
    println!("round trip: {runs} encodings decoded exactly");
    assert_eq!(runs, 7 * 16);
}

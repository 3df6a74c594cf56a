use std::net::SocketAddr;

use super::OutBatch;
use crate::recovery::EcnCodepoint;

const NOT_ECT: EcnCodepoint = EcnCodepoint::NotEct;

fn addr(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

/// (destination port, total length, segment size) of each send unit.
fn shape(b: &OutBatch) -> Vec<(u16, usize, Option<usize>)> {
    b.transmits()
        .iter()
        .map(|t| (t.destination.port(), t.contents.len(), t.segment_size))
        .collect()
}

#[test]
fn equal_sizes_to_one_destination_share_a_gso_batch() {
    let mut b = OutBatch::default();
    for _ in 0..5 {
        b.push(addr(1), NOT_ECT, &[1; 1200], 64);
    }
    b.push(addr(1), NOT_ECT, &[2; 300], 64); // a short last one ends the batch
    b.push(addr(1), NOT_ECT, &[3; 1200], 64);
    b.push(addr(2), NOT_ECT, &[4; 1200], 64); // another destination
    b.push(addr(2), NOT_ECT, &[5; 1300], 64); // larger than the segment: new unit
    assert_eq!(
        shape(&b),
        vec![
            (1, 6300, Some(1200)),
            (1, 1200, None),
            (2, 1200, None),
            (2, 1300, None)
        ]
    );
    assert_eq!(&b.transmits()[0].contents[6000..], &[2; 300][..]);
}

#[test]
fn batches_respect_segment_and_size_limits() {
    let mut b = OutBatch::default();
    for _ in 0..10 {
        b.push(addr(1), NOT_ECT, &[0; 1000], 4);
    }
    assert_eq!(
        shape(&b),
        vec![
            (1, 4000, Some(1000)),
            (1, 4000, Some(1000)),
            (1, 2000, Some(1000))
        ]
    );
    let mut b = OutBatch::default();
    for _ in 0..100 {
        b.push(addr(1), NOT_ECT, &[0; 1400], 64);
    }
    assert!(b.entries.iter().all(|e| e.len <= super::MAX_GSO_PAYLOAD));
    assert_eq!(b.entries.iter().map(|e| e.len).sum::<usize>(), 140_000);
}

#[test]
fn without_gso_every_datagram_stands_alone() {
    let mut b = OutBatch::default();
    for _ in 0..3 {
        b.push(addr(1), NOT_ECT, &[0; 1200], 1);
    }
    assert_eq!(shape(&b), vec![(1, 1200, None); 3]);
}

#[test]
fn a_gso_batch_never_mixes_ecn_codepoints() {
    // One GSO send has one IP header template, so one codepoint.
    let mut b = OutBatch::default();
    b.push(addr(1), EcnCodepoint::Ect0, &[0; 1200], 64);
    b.push(addr(1), EcnCodepoint::Ect0, &[0; 1200], 64);
    b.push(addr(1), NOT_ECT, &[0; 1200], 64);
    b.push(addr(1), NOT_ECT, &[0; 1200], 64);
    b.push(addr(1), EcnCodepoint::Ect0, &[0; 1200], 64);
    assert_eq!(
        shape(&b),
        vec![
            (1, 2400, Some(1200)),
            (1, 2400, Some(1200)),
            (1, 1200, None)
        ]
    );
    let ecn: Vec<_> = b.transmits().iter().map(|t| t.ecn).collect();
    assert_eq!(ecn, [EcnCodepoint::Ect0, NOT_ECT, EcnCodepoint::Ect0]);
}

use std::net::SocketAddr;

use super::OutBatch;

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
        b.push(addr(1), &[1; 1200], 64);
    }
    b.push(addr(1), &[2; 300], 64); // a short last one ends the batch
    b.push(addr(1), &[3; 1200], 64);
    b.push(addr(2), &[4; 1200], 64); // another destination
    b.push(addr(2), &[5; 1300], 64); // larger than the segment: new unit
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
        b.push(addr(1), &[0; 1000], 4);
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
        b.push(addr(1), &[0; 1400], 64);
    }
    assert!(b.entries.iter().all(|e| e.len <= super::MAX_GSO_PAYLOAD));
    assert_eq!(b.entries.iter().map(|e| e.len).sum::<usize>(), 140_000);
}

#[test]
fn without_gso_every_datagram_stands_alone() {
    let mut b = OutBatch::default();
    for _ in 0..3 {
        b.push(addr(1), &[0; 1200], 1);
    }
    assert_eq!(shape(&b), vec![(1, 1200, None); 3]);
}

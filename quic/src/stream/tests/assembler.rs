use bytes::Bytes;

use crate::stream::assembler::Assembler;
use crate::stream::range_set::RangeSet;

fn drain(a: &mut Assembler) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(b) = a.read(usize::MAX) {
        out.extend_from_slice(&b);
    }
    out
}

#[test]
fn in_order_and_out_of_order() {
    let mut a = Assembler::default();
    assert!(!a.insert(3, Bytes::from_static(b"def")));
    assert_eq!(a.read(10), None, "gap at 0");
    assert!(a.insert(0, Bytes::from_static(b"abc")));
    assert_eq!(drain(&mut a), b"abcdef");
    assert_eq!(a.read_offset(), 6);
    a.check_invariants();
}

#[test]
fn overlaps_are_trimmed_and_duplicates_dropped() {
    let mut a = Assembler::default();
    a.insert(2, Bytes::from_static(b"cdef"));
    a.insert(0, Bytes::from_static(b"abcdefgh")); // covers and extends both sides
    a.insert(4, Bytes::from_static(b"ef")); // pure duplicate
    a.check_invariants();
    assert_eq!(a.buffered(), 8);
    assert_eq!(drain(&mut a), b"abcdefgh");
    // Retransmission of data already read is ignored.
    assert!(!a.insert(0, Bytes::from_static(b"abc")));
    assert_eq!(a.buffered(), 0);
    // Partially read overlap keeps only the new tail.
    a.insert(6, Bytes::from_static(b"ghij"));
    assert_eq!(drain(&mut a), b"ij");
}

#[test]
fn zero_copy_slices_share_the_frame() {
    let mut a = Assembler::default();
    let frame = Bytes::from(vec![7u8; 100]);
    let ptr = frame.as_ptr();
    a.insert(0, frame);
    let out = a.read(40).unwrap();
    assert_eq!(
        out.as_ptr(),
        ptr,
        "read must return a slice of the frame, not a copy"
    );
    assert_eq!(a.read(usize::MAX).unwrap().len(), 60);
}

#[test]
fn tiny_chunks_are_defragmented() {
    let mut a = Assembler::default();
    // Every other byte, 1 byte per frame: 500 chunks that cannot merge...
    for i in (1..1000).step_by(2) {
        a.insert(i, Bytes::copy_from_slice(&[i as u8]));
    }
    a.check_invariants();
    // ...then the gaps arrive: runs get merged when the count doubles.
    for i in (0..1000).step_by(2) {
        a.insert(i, Bytes::copy_from_slice(&[i as u8]));
    }
    a.check_invariants();
    let out = drain(&mut a);
    assert_eq!(out.len(), 1000);
    assert!(out.iter().enumerate().all(|(i, &b)| b == i as u8));
}

#[test]
fn range_set_merges_and_splits() {
    let mut s = RangeSet::new();
    assert!(s.insert(10..20));
    assert!(s.insert(20..30)); // adjacent: merged
    assert_eq!(s.len(), 1);
    assert!(!s.insert(12..18));
    s.remove(14..16);
    assert_eq!(s.iter().collect::<Vec<_>>(), vec![10..14, 16..30]);
    assert_eq!(
        s.overlapping(12..17).collect::<Vec<_>>(),
        vec![12..14, 16..17]
    );
    assert!(s.insert(0..100));
    assert_eq!(s.len(), 1);
    assert_eq!(s.total(), 100);
    s.remove(0..50);
    assert_eq!(s.first(), Some(50..100));
    assert!(s.contains(50) && !s.contains(49) && !s.contains(100));
}

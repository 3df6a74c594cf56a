//! Compressed size against ls-qpack's files in the qifs corpus, at the same settings, in
//! the same file format (records with 12-byte framing; header blocks + encoder stream).
//! Prints the table; fails if our total grows past ls-qpack's (a regression guard; a few
//! settings are still larger, see the printed table). fb-req/fb-resp (non-hq) have no
//! ls-qpack files in the corpus, so only netbsd, netbsd-hq, fb-req-hq and fb-resp-hq count.

mod common;

use qpack::qif::{encode_lists, parse_qif, QifSettings};

#[test]
fn size_versus_ls_qpack() {
    let Some(dir) = common::qifs_dir("size_versus_ls_qpack") else {
        return;
    };
    let (mut ours_total, mut theirs_total, mut larger) = (0u64, 0u64, 0);
    println!("input        table blocked ack      ours  ls-qpack   diff");
    for stem in ["netbsd", "netbsd-hq", "fb-req-hq", "fb-resp-hq"] {
        let lists = parse_qif(&std::fs::read(dir.join(format!("qifs/{stem}.qif"))).unwrap());
        for table_size in [0, 256, 512, 4096] {
            for max_blocked in [0, 100] {
                for ack in [false, true] {
                    let s = QifSettings {
                        table_size,
                        max_blocked,
                        immediate_ack: ack,
                    };
                    let ours = encode_lists(&lists, s).len() as u64;
                    let name = format!(
                        "encoded/qpack-05/ls-qpack/{stem}.out.{table_size}.{max_blocked}.{}",
                        u8::from(ack)
                    );
                    let theirs = std::fs::metadata(dir.join(name)).unwrap().len();
                    ours_total += ours;
                    theirs_total += theirs;
                    larger += usize::from(ours > theirs);
                    let diff = (ours as f64 - theirs as f64) * 100.0 / theirs as f64;
                    println!("{stem:<12} {table_size:>5} {max_blocked:>7} {:>3} {ours:>9} {theirs:>9} {diff:>+6.1}%", u8::from(ack));
                }
            }
        }
    }
    println!("total: ours {ours_total}, ls-qpack {theirs_total}; {larger} of 64 settings larger");
    assert!(
        ours_total <= theirs_total,
        "compression regressed: {ours_total} > {theirs_total}"
    );
}

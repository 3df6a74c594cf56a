//! Cross-check with an implementation nobody here wrote: ls-qpack, through its Python
//! binding pylsqpack (PyPI). pylsqpack decodes what `qpack-qif encode` writes, and
//! `qpack-qif decode` decodes what pylsqpack's encoder writes, on every QIF input at every
//! setting; see `pylsqpack_cross.py`.
//!
//! Skipped (with the reason printed) when python3 or pylsqpack is missing, unless
//! `QPACK_REQUIRE_PYLSQPACK=1`, as CI sets it, which makes that a failure.

mod common;

use std::process::Command;

fn unavailable(reason: &str) {
    if std::env::var("QPACK_REQUIRE_PYLSQPACK").as_deref() == Ok("1") {
        panic!("pylsqpack cross-check required (QPACK_REQUIRE_PYLSQPACK=1) but {reason}");
    }
    println!("pylsqpack_cross: skipped: {reason} (pip install pylsqpack to run it)");
}

#[test]
fn pylsqpack_decodes_ours_and_we_decode_pylsqpack() {
    let Some(qifs) = common::qifs_dir("pylsqpack_cross") else {
        return;
    };
    match Command::new("python3")
        .args(["-c", "import pylsqpack"])
        .output()
    {
        Err(e) => return unavailable(&format!("python3 cannot run: {e}")),
        Ok(o) if !o.status.success() => return unavailable("python3 cannot import pylsqpack"),
        Ok(_) => {}
    }
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/pylsqpack_cross.py");
    let work = std::env::temp_dir().join(format!("qpack-pylsqpack-{}", std::process::id()));
    let out = Command::new("python3")
        .arg(script)
        .arg(env!("CARGO_BIN_EXE_qpack-qif"))
        .arg(&qifs)
        .arg(&work)
        .output()
        .expect("run pylsqpack_cross.py");
    let _ = std::fs::remove_dir_all(&work);
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("{stdout}");
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

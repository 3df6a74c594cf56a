//! Every RFC 9204 encoding in the qifs corpus (`encoded/qpack-05`: six implementations, all
//! table sizes, blocking limits and ack modes) decodes to exactly its QIF input.

mod common;

use common::*;

#[test]
fn qpack05_corpus_decodes_exactly() {
    let Some(dir) = qifs_dir("qpack05_corpus_decodes_exactly") else {
        return;
    };
    let root = dir.join("encoded/qpack-05");
    let mut checked = 0;
    let mut failures = Vec::new();
    let mut impls: Vec<_> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    impls.sort();
    for imp in impls.iter().filter(|p| p.is_dir()) {
        let mut files: Vec<_> = std::fs::read_dir(imp)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        for file in files {
            let name = file.file_name().unwrap().to_str().unwrap().to_string();
            let (stem, table, blocked, _) = parse_name(&name).expect("qpack-05 file name");
            let qif = if stem == "examples" {
                dir.join("derived/examples.qif")
            } else {
                dir.join("qifs").join(format!("{stem}.qif"))
            };
            let expected = load_qif(&qif);
            let data = std::fs::read(&file).unwrap();
            match decode_file(&data, table, blocked) {
                Ok(got) => {
                    if got != expected {
                        failures.push(format!(
                            "{}: {}",
                            file.display(),
                            first_difference(&got, &expected)
                        ));
                    }
                }
                Err(e) => failures.push(format!("{}: {e}", file.display())),
            }
            checked += 1;
        }
    }
    // draft-examples.out: an older draft's examples, decodable with a 220-byte maximum.
    let data = std::fs::read(root.join("draft-examples.out")).unwrap();
    let expected = load_qif(&dir.join("qifs/draft-examples.qif"));
    match decode_file(&data, 220, 100) {
        Ok(got) => assert_eq!(got, expected),
        Err(e) => failures.push(format!("draft-examples.out: {e}")),
    }
    checked += 1;
    println!(
        "qpack-05 corpus: {checked} files checked, {} failed",
        failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(checked, 354);
}

type Lists = [Vec<(Vec<u8>, Vec<u8>)>];

fn first_difference(got: &Lists, expected: &Lists) -> String {
    if got.len() != expected.len() {
        return format!("{} lists decoded, {} expected", got.len(), expected.len());
    }
    for (i, (g, e)) in got.iter().zip(expected).enumerate() {
        if g != e {
            let j = g
                .iter()
                .zip(e)
                .position(|(a, b)| a != b)
                .unwrap_or(g.len().min(e.len()));
            let show = |l: &[(Vec<u8>, Vec<u8>)]| {
                l.get(j).map(|(n, v)| {
                    format!(
                        "{}: {}",
                        String::from_utf8_lossy(n),
                        String::from_utf8_lossy(v)
                    )
                })
            };
            return format!(
                "list {} field {j}: got {:?}, expected {:?}",
                i + 1,
                show(g),
                show(e)
            );
        }
    }
    String::new()
}

//! `quic-interop` as a process: the runner contract's exit codes, and bad input giving a clear
//! one-line error and exit 1, never a panic or a hang.

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_quic-interop");

fn data(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../quic/tests/data")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

fn run(args: &[&str], env: &[(&str, &str)]) -> (Output, Duration) {
    let start = Instant::now();
    let out = Command::new(BIN)
        .args(args)
        .env_clear()
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .expect("runs");
    (out, start.elapsed())
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn one_line_error(out: &Output) {
    assert_eq!(out.status.code(), Some(1), "stderr: {}", stderr(out));
    let err = stderr(out);
    assert_eq!(err.trim_end().lines().count(), 1, "not one line: {err:?}");
    assert!(!err.contains("panicked"), "{err}");
}

struct Server(std::process::Child, u16);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn server(www: &str) -> Server {
    let port = std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(BIN)
        .args(["server", "--listen", &format!("127.0.0.1:{port}")])
        .args([
            "--cert",
            &data("ec.crt"),
            "--key",
            &data("ec_sec1_with_params.key"),
            "--www",
            www,
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    Server(child, port)
}

#[test]
fn unsupported_test_case_exits_127_at_once() {
    for role in ["client", "server"] {
        let (out, took) = run(&[], &[("ROLE", role), ("TESTCASE", "zerortt")]);
        assert_eq!(out.status.code(), Some(127));
        assert!(took < Duration::from_secs(5));
    }
}

#[test]
fn malformed_request_url() {
    let env = [
        ("ROLE", "client"),
        ("TESTCASE", "handshake"),
        ("REQUESTS", "https://"),
    ];
    let (out, _) = run(&["--downloads", "/tmp"], &env);
    one_line_error(&out);
    assert!(stderr(&out).contains("malformed URL"));
}

#[test]
fn unreachable_server_fails_within_the_bound() {
    let port = std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("https://127.0.0.1:{port}/x");
    let dl = std::env::temp_dir().join("qi-unreachable");
    let (out, took) = run(
        &[
            "client",
            "--insecure",
            "--timeout",
            "3",
            "--downloads",
            dl.to_str().unwrap(),
            &url,
        ],
        &[],
    );
    one_line_error(&out);
    assert!(took < Duration::from_secs(10), "took {took:?}");
}

#[test]
fn missing_file_and_untrusted_certificate() {
    let www = std::env::temp_dir().join(format!("qi-www-{}", std::process::id()));
    std::fs::create_dir_all(&www).unwrap();
    std::fs::write(www.join("present"), b"here").unwrap();
    let s = server(www.to_str().unwrap());
    let dl = std::env::temp_dir().join(format!("qi-dl-{}", std::process::id()));
    let base = format!("https://127.0.0.1:{}", s.1);

    // A file that exists downloads; a missing one is a clear error.
    let (out, _) = run(
        &[
            "client",
            "--ca",
            &data("ca.crt"),
            "--timeout",
            "10",
            "--downloads",
            dl.to_str().unwrap(),
            &format!("{base}/present"),
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(std::fs::read(dl.join("present")).unwrap(), b"here");
    let (out, _) = run(
        &[
            "client",
            "--ca",
            &data("ca.crt"),
            "--timeout",
            "10",
            "--downloads",
            dl.to_str().unwrap(),
            &format!("{base}/missing"),
        ],
        &[],
    );
    one_line_error(&out);
    assert!(stderr(&out).contains("/missing"), "{}", stderr(&out));

    // A CA that did not sign the server's certificate.
    let other_ca = www.join("other-ca.pem");
    let ca = rcgen::generate_simple_self_signed(vec!["x".into()]).unwrap();
    std::fs::write(&other_ca, ca.cert.pem()).unwrap();
    let (out, _) = run(
        &[
            "client",
            "--ca",
            other_ca.to_str().unwrap(),
            "--timeout",
            "10",
            "--downloads",
            dl.to_str().unwrap(),
            &format!("{base}/present"),
        ],
        &[],
    );
    one_line_error(&out);
    std::fs::remove_dir_all(&www).ok();
    std::fs::remove_dir_all(&dl).ok();
}

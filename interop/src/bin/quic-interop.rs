//! `quic-interop`: our QUIC interop-runner endpoint (../shared/interop/RUNNER.md).
//!
//! Runner mode (no subcommand): ROLE, TESTCASE, REQUESTS, SSLKEYLOGFILE and QLOGDIR come from
//! the environment; `--www`, `--downloads`, `--certs` and `--listen` override the container
//! paths. Unsupported test cases exit 127 at once.
//!
//! Peer mode, the command line of the local interop matrix (interop/peers/selftest.sh):
//! `quic-interop server --listen ADDR --cert FILE --key FILE --www DIR [--chacha20] [--http3]`
//! and `quic-interop client (--insecure | --ca FILE) --downloads DIR [--chacha20] [--http3]
//! [--timeout S] [--multiconnect] URL...`. `--http3` speaks HTTP/3 (ALPN h3) instead of
//! hq-interop; `--multiconnect` fetches each URL on its own connection, one after the other.

use std::path::PathBuf;
use std::time::Duration;

use interop::contract::{self, Request, Role, TestCase};
use interop::endpoint::{fetch, serve, ClientPlan, ServerPlan};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("quic-interop: cannot start the runtime: {e}");
            std::process::exit(1);
        }
    };
    let code = runtime.block_on(run(args));
    std::process::exit(code);
}

async fn run(args: Vec<String>) -> i32 {
    let outcome = match args.first().map(String::as_str) {
        Some("server") => match peer_server(&args[1..]) {
            Ok(plan) => serve(plan).await,
            Err(e) => return usage(&e),
        },
        Some("client") => match peer_client(&args[1..]) {
            Ok(plan) => fetch(plan).await,
            Err(e) => return usage(&e),
        },
        _ => return runner(&args).await,
    };
    report(outcome)
}

fn report(outcome: Result<(), String>) -> i32 {
    match outcome {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("quic-interop: {e}");
            1
        }
    }
}

fn usage(e: &str) -> i32 {
    eprintln!("quic-interop: {e}");
    2
}

async fn runner(args: &[String]) -> i32 {
    // RUNNER.md §1.5: check TESTCASE before anything else; unsupported exits 127.
    let testcase = std::env::var("TESTCASE").unwrap_or_default();
    let Some(test) = TestCase::parse(&testcase) else {
        eprintln!("quic-interop: test case {testcase:?} is not supported");
        return 127;
    };
    let settings = match contract::settings(|k| std::env::var(k).ok(), args) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("quic-interop: {e}");
            return 1;
        }
    };
    let chacha20 = test == TestCase::ChaCha20;
    let http3 = test == TestCase::Http3;
    match settings.role {
        Role::Server => report(
            serve(ServerPlan {
                listen: settings.listen,
                cert: settings.certs.join("cert.pem"),
                key: settings.certs.join("priv.key"),
                www: settings.www,
                chacha20,
                http3,
            })
            .await,
        ),
        Role::Client => {
            report(
                fetch(ClientPlan {
                    requests: settings.requests,
                    downloads: settings.downloads,
                    // RUNNER.md §1.3: runner clients skip verification. The
                    // amplificationlimit chain (leaf + 8 intermediates, seen as `transfer`)
                    // is deeper than webpki accepts (6 intermediates), so verifying with
                    // ca.pem would fail that test for a reason the runner does not test.
                    ca: None,
                    chacha20,
                    // longrtt needs more than the usual minute of a runner test; the
                    // multiconnect tests get the runner's 300 s (RUNNER.md §1.5).
                    timeout: Duration::from_secs(match test {
                        TestCase::LongRtt => 180,
                        TestCase::Multiconnect => 300,
                        _ => 60,
                    }),
                    http3,
                    multiconnect: test == TestCase::Multiconnect,
                })
                .await,
            )
        }
    }
}

fn value(it: &mut std::slice::Iter<'_, String>, flag: &str) -> Result<String, String> {
    it.next()
        .cloned()
        .ok_or_else(|| format!("{flag} needs a value"))
}

fn peer_server(args: &[String]) -> Result<ServerPlan, String> {
    let (mut listen, mut cert, mut key, mut www, mut chacha20) = (None, None, None, None, false);
    let mut http3 = false;
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        match flag.as_str() {
            "--listen" => {
                let v = value(&mut it, flag)?;
                listen = Some(
                    v.parse()
                        .map_err(|_| format!("--listen {v:?} is not ADDR:PORT"))?,
                );
            }
            "--cert" => cert = Some(PathBuf::from(value(&mut it, flag)?)),
            "--key" => key = Some(PathBuf::from(value(&mut it, flag)?)),
            "--www" => www = Some(PathBuf::from(value(&mut it, flag)?)),
            "--chacha20" => chacha20 = true,
            "--http3" => http3 = true,
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(ServerPlan {
        listen: listen.ok_or("--listen is required")?,
        cert: cert.ok_or("--cert is required")?,
        key: key.ok_or("--key is required")?,
        www: www.ok_or("--www is required")?,
        chacha20,
        http3,
    })
}

fn peer_client(args: &[String]) -> Result<ClientPlan, String> {
    let (mut ca, mut insecure, mut downloads, mut chacha20) = (None, false, None, false);
    let mut timeout = Duration::from_secs(60);
    let (mut http3, mut multiconnect) = (false, false);
    let mut requests = Vec::new();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--ca" => ca = Some(PathBuf::from(value(&mut it, arg)?)),
            "--insecure" => insecure = true,
            "--downloads" => downloads = Some(PathBuf::from(value(&mut it, arg)?)),
            "--chacha20" => chacha20 = true,
            "--http3" => http3 = true,
            "--multiconnect" => multiconnect = true,
            "--timeout" => {
                let v = value(&mut it, arg)?;
                timeout = Duration::from_secs(
                    v.parse()
                        .map_err(|_| format!("--timeout {v:?} is not seconds"))?,
                );
            }
            url if !url.starts_with("--") => requests.push(Request::parse(url)?),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    if ca.is_none() && !insecure {
        return Err("one of --ca FILE or --insecure is required".into());
    }
    if requests.is_empty() {
        return Err("no URLs given".into());
    }
    Ok(ClientPlan {
        requests,
        downloads: downloads.ok_or("--downloads is required")?,
        ca,
        chacha20,
        timeout,
        http3,
        multiconnect,
    })
}

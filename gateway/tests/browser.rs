//! A real browser through the gateway over HTTP/3: headless Chromium (Debian's `chromium`)
//! loads a page from the `gateway` binary, once with QUIC forced for the origin and once
//! upgraded from TCP by the gateway's `alt-svc`. The page (served by the built-in httpbin's
//! /base64/VALUE) writes `performance.getEntriesByType('navigation')[0].nextHopProtocol` into
//! the DOM, which `--dump-dom` prints; the gateway's access log must show the same loads with
//! the same protocols.
//!
//! Skipped with `skipped: chromium not installed` when there is no `chromium` on PATH (or at
//! `GATEWAY_CHROMIUM`), failed instead when `GATEWAY_REQUIRE_CHROMIUM=1` (CI sets it).
//!
//! Chromium must never leave loopback: every run has the host-resolver rule that maps the test
//! host to 127.0.0.1 and every other name to NOTFOUND, background networking off, and a private
//! profile and HOME. Each run is bounded by a timeout and its whole process group is killed on
//! every path.

mod common;

use common::process::{GatewayProcess, Spawn};
use common::*;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

/// One Chromium at a time: the machine may have two cores, and a browser per test would make
/// each run slower than its timeout allows for no gain.
static ONE_BROWSER: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Upper bound for one Chromium run (it takes 2-5 s on an idle machine).
const RUN_TIMEOUT: Duration = Duration::from_secs(90);

/// How many loads the page makes, at most, waiting for the alt-svc upgrade.
const MAX_LOADS: usize = 20;

/// The page: records this load's protocol after those of the previous loads (carried in
/// `?seen=`); stops at the first h3 load or after MAX_LOADS, otherwise reloads. The result is
/// `<pre id="result">h2,h3</pre>`; "pending" means the script never finished.
fn page() -> String {
    format!(
        r#"<!doctype html>
<html><head><title>nextHopProtocol</title></head><body><pre id="result">pending</pre><script>
var nav = performance.getEntriesByType('navigation')[0];
var proto = (nav && nav.nextHopProtocol) || 'none';
var prev = new URLSearchParams(location.search).get('seen');
var seen = prev ? prev + ',' + proto : proto;
if (proto === 'h3' || seen.split(',').length >= {MAX_LOADS}) {{
  document.getElementById('result').textContent = seen;
}} else {{
  setTimeout(function () {{ location.replace(location.pathname + '?seen=' + seen); }}, 200);
}}
</script></body></html>
"#
    )
}

fn chromium() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("GATEWAY_CHROMIUM") {
        return Some(PathBuf::from(p)).filter(|p| p.is_file());
    }
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join("chromium"))
        .find(|p| p.is_file())
}

/// The browser, or `None` (skip) when it is missing and not required.
fn chromium_or_skip() -> Option<PathBuf> {
    let found = chromium();
    if found.is_none() {
        if std::env::var("GATEWAY_REQUIRE_CHROMIUM").as_deref() == Ok("1") {
            panic!("chromium is required (GATEWAY_REQUIRE_CHROMIUM=1) but not on PATH (apt-get install chromium)");
        }
        eprintln!("skipped: chromium not installed");
    }
    found
}

/// The seed's Gateway with the HTTPS server on `port`: bound as is, so the `alt-svc` the
/// gateway sends names the port the browser can reach (Chromium ignores an alt-svc from a
/// port under 1024 to one above, so 443 -> 8443 could not be tested on loopback).
fn gateway_on(port: u16) -> String {
    gateway_yaml()
        .replace("number: 443", &format!("number: {port}"))
        .replace(
            "  - port: {number: 80, name: http, protocol: HTTP}\n    hosts: ['*']\n",
            "",
        )
}

/// `--ignore-certificate-errors-spki-list` value: base64 of the SHA-256 of the leaf's
/// SubjectPublicKeyInfo. (Chromium's `--ignore-certificate-errors` does not apply to QUIC.)
fn spki_pin(leaf_key_pem: &str) -> String {
    use base64::Engine;
    let key = rcgen::KeyPair::from_pem(leaf_key_pem).unwrap();
    let digest = ring::digest::digest(&ring::digest::SHA256, &key.public_key_der());
    base64::engine::general_purpose::STANDARD.encode(digest.as_ref())
}

/// Kills the browser's whole process group (renderer, GPU, network service...) when dropped.
struct GroupKill(u32);

impl Drop for GroupKill {
    fn drop(&mut self) {
        let _ = std::process::Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.0)])
            .stderr(Stdio::null())
            .status();
    }
}

/// Runs `chromium --dump-dom URL` and returns the DOM after the page's scripts ran.
/// `quic_origin` goes to `--origin-to-force-quic-on`.
async fn dump_dom(browser: &Path, dir: &Path, url: &str, quic_origin: &str, pin: &str) -> String {
    let _one = ONE_BROWSER.lock().await;
    let profile = tempfile::tempdir_in(dir).unwrap();
    let home = profile.path();
    let stderr = std::fs::File::create(home.join("chromium.log")).unwrap();
    let child = tokio::process::Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-features=NetworkTimeServiceQuerying",
            "--disable-breakpad",
        ])
        .arg(format!("--user-data-dir={}", home.join("profile").display()))
        // Nothing but loopback: the test host is mapped, every other name fails.
        .arg(format!(
            "--host-resolver-rules=MAP {HOST} 127.0.0.1, MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1, EXCLUDE ::1"
        ))
        .arg(format!("--origin-to-force-quic-on={quic_origin}"))
        .arg(format!("--ignore-certificate-errors-spki-list={pin}"))
        // Virtual time: the budget is spent only while no fetch is pending, so it bounds the
        // page's own timers (20 reloads x 200 ms), not the network.
        .args(["--virtual-time-budget=10000", "--dump-dom", url])
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home)
        .env("XDG_CACHE_HOME", home)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(stderr)
        .process_group(0)
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let _kill = GroupKill(child.id().expect("running"));
    let out = tokio::time::timeout(RUN_TIMEOUT, child.wait_with_output()).await;
    let log = || std::fs::read_to_string(home.join("chromium.log")).unwrap_or_default();
    let out = match out {
        Ok(out) => out.unwrap(),
        Err(_) => panic!(
            "chromium did not finish within {RUN_TIMEOUT:?}; its log:\n{}",
            log()
        ),
    };
    assert!(
        out.status.success(),
        "chromium failed: {}; its log:\n{}",
        out.status,
        log()
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The protocols the page recorded, one per load.
fn protocols(dom: &str) -> Vec<String> {
    let start = dom
        .find(r#"<pre id="result">"#)
        .unwrap_or_else(|| panic!("no result element in the DOM:\n{dom}"));
    let rest = &dom[start + r#"<pre id="result">"#.len()..];
    let text = &rest[..rest.find("</pre>").expect("</pre>")];
    assert_ne!(text, "pending", "the page's script did not finish:\n{dom}");
    text.split(',').map(str::to_owned).collect()
}

struct Setup {
    browser: PathBuf,
    gw: GatewayProcess,
    pin: String,
    /// The page's path: /base64/<page>.
    path: String,
}

async fn setup() -> Option<Setup> {
    let browser = chromium_or_skip()?;
    let hb = builtin_httpbin().await;
    let port = free_port();
    let routes = vs_yaml(
        "httpbin",
        "  - name: all\n    route: [{destination: {host: httpbin, port: {number: 8000}}}]\n",
    );
    let mut spawn = Spawn::new(&routes, hb);
    spawn.gateway = gateway_on(port);
    spawn.map_ports = false;
    // The access log is at info level.
    spawn.log = "warn,access_log=info";
    let gw = GatewayProcess::spawn(spawn).await;
    assert_eq!(gw.https, port);
    let pin = spki_pin(&gw.pki.certs.leaf_key);
    use base64::Engine;
    let path = format!(
        "/base64/{}",
        base64::engine::general_purpose::URL_SAFE.encode(page())
    );
    Some(Setup {
        browser,
        gw,
        pin,
        path,
    })
}

impl Setup {
    fn url(&self) -> String {
        format!("https://{HOST}:{}{}", self.gw.https, self.path)
    }

    /// The access-log line of `GET <path> <protocol>` answered 200 by the upstream, by
    /// headless Chromium; it names the TLS server name and the route.
    async fn logged(&self, path: &str, protocol: &str) -> String {
        let request = format!("\"GET {path} {protocol}\" 200 - via_upstream");
        let line = self
            .gw
            .wait_for_log(&[&request, "HeadlessChrome"], Duration::from_secs(5))
            .await
            .unwrap_or_else(|| {
                panic!("no access-log line with {request}; log:\n{}", self.gw.log())
            });
        assert!(line.ends_with(&format!(" {HOST} all")), "{line}");
        line
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_loads_a_page_over_forced_http3() {
    let Some(s) = setup().await else { return };
    let origin = format!("{HOST}:{}", s.gw.https);
    let dom = dump_dom(&s.browser, s.gw.dir.path(), &s.url(), &origin, &s.pin).await;
    // QUIC from the first request: one load, and it was HTTP/3.
    assert_eq!(protocols(&dom), ["h3"], "{dom}");
    let line = s.logged(&s.path, "HTTP/3").await;
    eprintln!("access log: {}", &line[..line.len().min(160)]);
    assert!(
        !s.gw.log().contains(&format!("\"GET {} HTTP/2\"", s.path)),
        "forced QUIC still went over TCP"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_upgrades_to_http3_through_alt_svc() {
    let Some(s) = setup().await else { return };
    // Chromium takes QUIC to a certificate of a private CA only for forced hosts; forcing a
    // port where nothing listens makes the host eligible while this origin starts on TCP.
    let dummy = format!("{HOST}:1");
    let dom = dump_dom(&s.browser, s.gw.dir.path(), &s.url(), &dummy, &s.pin).await;
    let seen = protocols(&dom);
    eprintln!("loads: {seen:?}");
    assert!(
        seen[0] == "h2" || seen[0] == "http/1.1",
        "the first load must use TCP (it has no alt-svc yet): {seen:?}"
    );
    assert_eq!(
        seen.last().map(String::as_str),
        Some("h3"),
        "no load switched to HTTP/3 after the alt-svc in {MAX_LOADS} loads: {seen:?}"
    );
    // The gateway saw the first load over TCP and the last over HTTP/3.
    let tcp = if seen[0] == "h2" {
        "HTTP/2"
    } else {
        "HTTP/1.1"
    };
    s.logged(&s.path, tcp).await;
    let previous = seen[..seen.len() - 1].join(",");
    s.logged(&format!("{}?seen={previous}", s.path), "HTTP/3")
        .await;
}

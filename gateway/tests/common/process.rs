//! The `gateway` binary as a child process: its own configuration directory, free ports, the
//! log in a file (printed when a test fails), killed on drop.

use super::{free_port, gateway_yaml, Pki};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct GatewayProcess {
    pub child: Child,
    /// The bound HTTPS port (TCP and UDP).
    pub https: u16,
    pub status: u16,
    pub pki: Pki,
    pub dir: tempfile::TempDir,
    gateway: String,
}

/// How to run it.
pub struct Spawn<'a> {
    /// The Gateway manifest (default: the seed's, port 443).
    pub gateway: String,
    pub routes: &'a str,
    /// Address of `httpbin:8000`.
    pub upstream: SocketAddr,
    /// Bind manifest port 443 (and 80) on free ports; `false` binds the manifests' port
    /// numbers as they are (then alt-svc advertises the bound port).
    pub map_ports: bool,
    /// `--log` filter.
    pub log: &'a str,
}

impl<'a> Spawn<'a> {
    pub fn new(routes: &'a str, upstream: SocketAddr) -> Self {
        Spawn {
            gateway: gateway_yaml(),
            routes,
            upstream,
            map_ports: true,
            log: "warn",
        }
    }
}

impl Drop for GatewayProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            let log = self.log();
            let tail: Vec<&str> = log.lines().rev().take(40).collect();
            eprintln!("--- gateway log (last {} lines) ---", tail.len());
            for l in tail.iter().rev() {
                eprintln!("{l}");
            }
        }
    }
}

impl GatewayProcess {
    /// Starts the binary and waits until /healthz/ready answers 200.
    pub async fn spawn(opts: Spawn<'_>) -> GatewayProcess {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("manifests")).unwrap();
        let pki = Pki::new();
        let status = free_port();
        let mut settings =
            format!("bindAddress: 127.0.0.1\nstatusPort: {status}\ndrainTimeout: 10s\n");
        let https = if opts.map_ports {
            let (https, http) = (free_port(), free_port());
            settings.push_str(&format!("ports:\n  443: {https}\n  80: {http}\n"));
            https
        } else {
            first_port_number(&opts.gateway)
        };
        settings.push_str(&format!("upstreams:\n  httpbin:8000: {}\n", opts.upstream));
        std::fs::write(dir.path().join("settings.yaml"), settings).unwrap();
        // The manifests exist before the binary starts: it reads the directory once and
        // refuses to start on an empty one.
        write_config(dir.path(), &opts.gateway, &pki, opts.routes);
        let log = std::fs::File::create(dir.path().join("gateway.log")).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_gateway"))
            .arg("run")
            .arg("--config")
            .arg(dir.path().join("manifests"))
            .arg("--settings")
            .arg(dir.path().join("settings.yaml"))
            .args(["--log", opts.log])
            // Colour codes would split the access-log fields tests look for.
            .env("NO_COLOR", "1")
            .env_remove("RUST_LOG")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        let mut gw = GatewayProcess {
            child,
            https,
            status,
            pki,
            dir,
            gateway: opts.gateway,
        };

        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(Some(exit)) = gw.child.try_wait() {
                panic!("gateway exited before it was ready ({exit})");
            }
            if let Ok(r) = reqwest::get(format!("http://127.0.0.1:{status}/healthz/ready")).await {
                if r.status() == 200 {
                    return gw;
                }
            }
            assert!(Instant::now() < deadline, "gateway did not become ready");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.https))
    }

    /// Rewrites the manifests (the Gateway, `routes`, the Secret); SIGHUP applies them.
    pub fn write_routes(&self, routes: &str) {
        write_config(self.dir.path(), &self.gateway, &self.pki, routes);
    }

    /// Rewrites the manifests with another certificate (a new CA and leaf) in the Secret.
    pub fn write_certificate(&mut self, pki: Pki, routes: &str) {
        self.pki = pki;
        self.write_routes(routes);
    }

    /// What the gateway logged so far (stderr).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("gateway.log")).unwrap_or_default()
    }

    /// Sends a signal (`-HUP`, `-TERM`, ...).
    pub fn signal(&self, sig: &str) {
        signal(&self.child, sig);
    }

    /// Waits up to `timeout` for a log line containing every one of `needles`; returns it.
    pub async fn wait_for_log(&self, needles: &[&str], timeout: Duration) -> Option<String> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(line) = self
                .log()
                .lines()
                .find(|l| needles.iter().all(|n| l.contains(n)))
            {
                return Some(line.to_owned());
            }
            if Instant::now() > deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// The first `number:` of a Gateway manifest (the port bound when ports are not mapped).
fn first_port_number(gateway: &str) -> u16 {
    gateway
        .split("number:")
        .nth(1)
        .and_then(|rest| {
            let digits: String = rest
                .trim_start()
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            digits.parse().ok()
        })
        .expect("the Gateway manifest has a port number")
}

pub fn write_config(dir: &Path, gateway: &str, pki: &Pki, routes: &str) {
    let text = format!("{gateway}{routes}{}", pki.secret());
    // Written whole then renamed, so a reload never reads half a file.
    let tmp: PathBuf = dir.join("gateway.yaml.tmp");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, dir.join("manifests").join("gateway.yaml")).unwrap();
}

pub fn signal(child: &Child, sig: &str) {
    let ok = Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill {sig}");
}

/// Peak resident set size of a process, in bytes (VmHWM).
pub fn peak_rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .unwrap()
        * 1024
}

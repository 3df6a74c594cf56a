//! The interop runner's endpoint contract (../shared/interop/RUNNER.md §1): roles, test cases,
//! environment variables and directories, with command-line overrides so the endpoint also
//! runs outside a container.

use std::net::SocketAddr;
use std::path::PathBuf;

/// Which side the endpoint plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Downloads the REQUESTS.
    Client,
    /// Serves the www directory.
    Server,
}

/// The test cases this endpoint supports; every other TESTCASE exits 127 (RUNNER.md §1.5).
///
/// These are the values the containers see, not the runner's `-t` names: transferloss,
/// transfercorruption, blackhole, ipv6, amplificationlimit, goodput and crosstraffic arrive
/// as `transfer`, handshakeloss and handshakecorruption as `multiconnect`, longrtt as
/// `handshake` (RUNNER.md §2.1). retry, resumption, zerortt, keyupdate, v2 and
/// connectionmigration are not supported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestCase {
    /// One small file.
    Handshake,
    /// Files of several sizes, flow control exercised.
    Transfer,
    /// Many files on one connection.
    Multiplexing,
    /// Only TLS_CHACHA20_POLY1305_SHA256 offered and accepted.
    ChaCha20,
    /// The transfer over a long RTT.
    LongRtt,
    /// The files over HTTP/3 (ALPN h3), requests in parallel on one connection.
    Http3,
    /// One connection per file, one after the other (handshakeloss, handshakecorruption).
    Multiconnect,
    /// A handshake-sized transfer with ECN (RFC 9000 §13.4): the transport marks ECT(0) and
    /// sends ACK_ECN by default, so this is the handshake case with ECN left on.
    Ecn,
}

impl TestCase {
    /// The test case for a TESTCASE value, if supported.
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "handshake" => TestCase::Handshake,
            "transfer" => TestCase::Transfer,
            "multiplexing" => TestCase::Multiplexing,
            "chacha20" => TestCase::ChaCha20,
            "longrtt" => TestCase::LongRtt,
            "http3" => TestCase::Http3,
            "multiconnect" => TestCase::Multiconnect,
            "ecn" => TestCase::Ecn,
            _ => return None,
        })
    }
}

/// One URL of REQUESTS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// Host name (for SNI and resolution).
    pub host: String,
    /// Port (443 by default).
    pub port: u16,
    /// Path, starting with '/'.
    pub path: String,
}

impl Request {
    /// Parses `https://host[:port]/path`.
    pub fn parse(url: &str) -> Result<Self, String> {
        let uri: http::Uri = url
            .parse()
            .map_err(|e| format!("malformed URL {url:?}: {e}"))?;
        if uri.scheme_str() != Some("https") {
            return Err(format!("malformed URL {url:?}: the scheme must be https"));
        }
        let host = uri
            .host()
            .ok_or_else(|| format!("malformed URL {url:?}: no host"))?;
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let path = uri.path().to_owned();
        if path.is_empty() || path == "/" {
            return Err(format!("malformed URL {url:?}: no file path"));
        }
        Ok(Self {
            host,
            port: uri.port_u16().unwrap_or(443),
            path,
        })
    }

    /// Where the download goes under `downloads` (the URL path without its leading '/').
    pub fn target(&self, downloads: &std::path::Path) -> PathBuf {
        downloads.join(self.path.trim_start_matches('/'))
    }
}

/// Everything the endpoint was told.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Role.
    pub role: Role,
    /// The raw TESTCASE value.
    pub testcase: String,
    /// The URLs to fetch (client).
    pub requests: Vec<Request>,
    /// Served files.
    pub www: PathBuf,
    /// Where downloads go.
    pub downloads: PathBuf,
    /// ca.pem, cert.pem, priv.key.
    pub certs: PathBuf,
    /// Server listen address.
    pub listen: SocketAddr,
    /// SSLKEYLOGFILE, if set.
    pub keylog: Option<PathBuf>,
    /// QLOGDIR, if set.
    pub qlogdir: Option<PathBuf>,
}

/// Reads ROLE, TESTCASE, REQUESTS, SSLKEYLOGFILE and QLOGDIR from `env`, overridden by
/// `--www DIR`, `--downloads DIR`, `--certs DIR`, `--listen ADDR:PORT` in `args`.
pub fn settings(env: impl Fn(&str) -> Option<String>, args: &[String]) -> Result<Settings, String> {
    let role = match env("ROLE").as_deref() {
        Some("client") => Role::Client,
        Some("server") => Role::Server,
        other => return Err(format!("ROLE must be client or server, not {other:?}")),
    };
    let mut settings = Settings {
        role,
        testcase: env("TESTCASE").unwrap_or_default(),
        requests: Vec::new(),
        www: "/www".into(),
        downloads: "/downloads".into(),
        certs: "/certs".into(),
        listen: "[::]:443".parse().expect("literal"),
        keylog: env("SSLKEYLOGFILE")
            .filter(|s| !s.is_empty())
            .map(Into::into),
        qlogdir: env("QLOGDIR").filter(|s| !s.is_empty()).map(Into::into),
    };
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let mut value = || {
            it.next()
                .cloned()
                .ok_or_else(|| format!("{flag} needs a value"))
        };
        match flag.as_str() {
            "--www" => settings.www = value()?.into(),
            "--downloads" => settings.downloads = value()?.into(),
            "--certs" => settings.certs = value()?.into(),
            "--listen" => {
                let v = value()?;
                settings.listen = v
                    .parse()
                    .map_err(|_| format!("--listen {v:?} is not ADDR:PORT"))?;
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    if role == Role::Client {
        settings.requests = env("REQUESTS")
            .unwrap_or_default()
            .split_whitespace()
            .map(Request::parse)
            .collect::<Result<_, _>>()?;
    }
    Ok(settings)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn client_settings_from_env_and_flags() {
        let vars = [
            ("ROLE", "client"),
            ("TESTCASE", "transfer"),
            ("REQUESTS", "https://server4:443/a https://[::1]:4433/dir/b"),
            ("SSLKEYLOGFILE", "/logs/keys.log"),
        ];
        let args = vec!["--downloads".to_string(), "/tmp/dl".to_string()];
        let s = settings(env(&vars), &args).unwrap();
        assert_eq!(s.role, Role::Client);
        assert_eq!(TestCase::parse(&s.testcase), Some(TestCase::Transfer));
        assert_eq!(
            s.requests[1],
            Request {
                host: "::1".into(),
                port: 4433,
                path: "/dir/b".into()
            }
        );
        assert_eq!(
            s.requests[0].target(std::path::Path::new("/tmp/dl")),
            PathBuf::from("/tmp/dl/a")
        );
        assert_eq!(s.keylog, Some(PathBuf::from("/logs/keys.log")));
    }

    #[test]
    fn bad_input_is_a_clear_error() {
        let vars = [("ROLE", "client"), ("REQUESTS", "ftp://x/y")];
        assert!(settings(env(&vars), &[]).unwrap_err().contains("scheme"));
        let vars = [("ROLE", "client"), ("REQUESTS", "https://server4:443/")];
        assert!(settings(env(&vars), &[])
            .unwrap_err()
            .contains("no file path"));
        assert!(settings(env(&[("ROLE", "x")]), &[]).is_err());
        let vars = [("ROLE", "server")];
        assert!(settings(env(&vars), &["--listen".into(), "nope".into()]).is_err());
        assert_eq!(TestCase::parse("zerortt"), None);
        assert_eq!(TestCase::parse("http3"), Some(TestCase::Http3));
        assert_eq!(
            TestCase::parse("multiconnect"),
            Some(TestCase::Multiconnect)
        );
        assert_eq!(
            TestCase::parse("handshakeloss"),
            None,
            "a -t name, never a TESTCASE"
        );
    }
}

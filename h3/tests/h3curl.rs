//! h3curl as a process against our async server on loopback: exit codes and options.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use h3::asynch::{RequestStream, Server};
use http::{Request, Response};
use quic::connection::{ServerConfig, TransportConfig};
use quic::runtime::Endpoint;
use quic::tls::{self, CipherSuites};

const LIMIT: Duration = Duration::from_secs(60);

struct Fixture {
    dir: PathBuf,
    port: u16,
    _server: Endpoint,
}

impl Fixture {
    /// A temporary directory with a CA-signed... here self-signed certificate for
    /// `localhost` (its own CA) and a server answering on loopback.
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("h3curl-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
        std::fs::write(dir.join("ca.pem"), cert.cert.pem()).unwrap();
        let tls = tls::server_config(
            vec![cert.cert.der().clone()],
            rustls::pki_types::PrivateKeyDer::Pkcs8(cert.key_pair.serialize_der().into()),
            &[b"h3"],
            CipherSuites::All,
        )
        .unwrap();
        let config = ServerConfig {
            tls,
            transport: Arc::new(TransportConfig::default()),
        };
        let server = Endpoint::server((Ipv4Addr::LOCALHOST, 0).into(), config).unwrap();
        let port = server.local_addr().port();
        let ep = server.clone();
        tokio::spawn(async move {
            while let Some(conn) = ep.accept().await {
                let server = Server::new(conn, h3::Config::default());
                tokio::spawn(async move {
                    while let Ok(Some((req, stream))) = server.accept().await {
                        tokio::spawn(handle(req, stream));
                    }
                });
            }
        });
        Fixture {
            dir,
            port,
            _server: server,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("https://localhost:{}{path}", self.port)
    }

    fn cacert(&self) -> String {
        self.dir.join("ca.pem").display().to_string()
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

async fn handle(req: Request<()>, stream: RequestStream) {
    if req.uri().path() == "/hints" {
        let hint = Response::builder()
            .status(103)
            .header("link", "</style.css>; rel=preload")
            .body(())
            .unwrap();
        stream.send_response(hint).unwrap();
    }
    let mut body = Vec::new();
    while let Ok(Some(chunk)) = stream.recv_data().await {
        body.extend_from_slice(&chunk);
    }
    let (status, out): (u16, Vec<u8>) = match req.uri().path() {
        "/" | "/hints" => (200, b"hello\n".to_vec()),
        "/files/data.bin" => (200, (0..100_000u32).map(|i| (i % 253) as u8).collect()),
        "/echo" => {
            let mut out = format!("{} {}\n", req.method(), req.uri().path());
            for name in ["x-test", "content-type", "user-agent"] {
                if let Some(v) = req.headers().get(name) {
                    out.push_str(&format!("{name}={}\n", v.to_str().unwrap()));
                }
            }
            let mut out = out.into_bytes();
            out.extend_from_slice(&body);
            (200, out)
        }
        _ => (404, b"not found\n".to_vec()),
    };
    let resp = Response::builder()
        .status(status)
        .header("content-length", out.len())
        .header("x-server", "h3-test")
        .body(())
        .unwrap();
    let head = req.method() == http::Method::HEAD;
    stream.send_response(resp).unwrap();
    if !head && !out.is_empty() {
        let _ = stream.send_data(Bytes::from(out)).await;
    }
    let _ = stream.finish();
}

async fn h3curl(args: &[&str], cwd: &Path) -> Output {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let cwd = cwd.to_owned();
    tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_h3curl"))
            .args(&args)
            .current_dir(cwd)
            .env_remove("SSLKEYLOGFILE")
            .output()
            .expect("h3curl runs")
    })
    .await
    .unwrap()
}

fn code(o: &Output) -> i32 {
    o.status.code().expect("exited")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[tokio::test]
async fn get_with_cacert_and_verbose() {
    tokio::time::timeout(LIMIT, async {
        let f = Fixture::new("get");
        let o = h3curl(&["-v", "--cacert", &f.cacert(), &f.url("/")], &f.dir).await;
        assert_eq!(code(&o), 0, "{}", stderr(&o));
        assert_eq!(o.stdout, b"hello\n");
        let err = stderr(&o);
        for want in [
            "* Connected to localhost (127.0.0.1) port",
            "* ALPN: server accepted h3",
            "> GET / HTTP/3",
            &format!("> Host: localhost:{}", f.port),
            "< HTTP/3 200",
            "< x-server: h3-test",
        ] {
            assert!(err.contains(want), "missing {want:?} in:\n{err}");
        }
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn interim_responses_like_curl() {
    tokio::time::timeout(LIMIT, async {
        let f = Fixture::new("hints");
        // -i writes the 103 header block before the final one.
        let o = h3curl(&["-s", "-k", "-i", &f.url("/hints")], &f.dir).await;
        assert_eq!(code(&o), 0, "{}", stderr(&o));
        let out = String::from_utf8_lossy(&o.stdout);
        assert!(
            out.starts_with(
                "HTTP/3 103 \r\nlink: </style.css>; rel=preload\r\n\r\nHTTP/3 200 \r\n"
            ),
            "{out}"
        );
        assert!(out.ends_with("\r\n\r\nhello\n"), "{out}");
        // -v traces it, in order; without -i the output is the body alone.
        let o = h3curl(&["-v", "-k", &f.url("/hints")], &f.dir).await;
        assert_eq!(code(&o), 0, "{}", stderr(&o));
        assert_eq!(o.stdout, b"hello\n");
        let err = stderr(&o);
        let hint = err.find("< HTTP/3 103").expect(&err);
        let link = err.find("< link: </style.css>; rel=preload").expect(&err);
        let fin = err.find("< HTTP/3 200").expect(&err);
        assert!(hint < link && link < fin, "{err}");
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn output_options() {
    tokio::time::timeout(LIMIT, async {
        let f = Fixture::new("out");
        let ca = f.cacert();
        let want: Vec<u8> = (0..100_000u32).map(|i| (i % 253) as u8).collect();
        // -o FILE, and several URLs on one connection.
        let o = h3curl(
            &[
                "-s",
                "--cacert",
                &ca,
                "-o",
                "a.out",
                &f.url("/files/data.bin"),
                "-v",
                &f.url("/"),
            ],
            &f.dir,
        )
        .await;
        assert_eq!(code(&o), 0, "{}", stderr(&o));
        assert_eq!(std::fs::read(f.dir.join("a.out")).unwrap(), want);
        assert_eq!(o.stdout, b"hello\n");
        assert!(
            stderr(&o).contains("Re-using existing connection"),
            "{}",
            stderr(&o)
        );
        // -O names the file after the URL.
        let o = h3curl(
            &["-s", "--cacert", &ca, "-O", &f.url("/files/data.bin")],
            &f.dir,
        )
        .await;
        assert_eq!(code(&o), 0, "{}", stderr(&o));
        assert_eq!(std::fs::read(f.dir.join("data.bin")).unwrap(), want);
        // -i includes the head.
        let o = h3curl(&["-s", "-k", "-i", &f.url("/")], &f.dir).await;
        let out = String::from_utf8_lossy(&o.stdout);
        assert!(out.starts_with("HTTP/3 200 \r\n"), "{out}");
        assert!(out.contains("x-server: h3-test\r\n"), "{out}");
        assert!(out.ends_with("\r\n\r\nhello\n"), "{out}");
        // -I sends HEAD and prints the head only.
        let o = h3curl(&["-s", "-k", "-I", &f.url("/files/data.bin")], &f.dir).await;
        let out = String::from_utf8_lossy(&o.stdout);
        assert_eq!(code(&o), 0, "{}", stderr(&o));
        assert!(out.starts_with("HTTP/3 200 \r\n"), "{out}");
        assert!(out.contains("content-length: 100000\r\n"), "{out}");
        assert!(out.ends_with("\r\n\r\n"), "{out}");
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn request_options() {
    tokio::time::timeout(LIMIT, async {
        let f = Fixture::new("req");
        // -H and -X.
        let o = h3curl(
            &["-s", "-k", "-X", "DELETE", "-H", "X-Test: yes", "-A", "agent/1", &f.url("/echo")],
            &f.dir,
        )
        .await;
        assert_eq!(code(&o), 0, "{}", stderr(&o));
        assert_eq!(
            String::from_utf8_lossy(&o.stdout),
            "DELETE /echo\nx-test=yes\nuser-agent=agent/1\n"
        );
        // -d makes a form POST; several -d join with '&'.
        let o = h3curl(&["-s", "-k", "-d", "a=1", "-d", "b=2", &f.url("/echo")], &f.dir).await;
        assert_eq!(
            String::from_utf8_lossy(&o.stdout),
            "POST /echo\ncontent-type=application/x-www-form-urlencoded\nuser-agent=h3curl/0.1.0\na=1&b=2"
        );
        // --data-binary @file sends the file as is.
        std::fs::write(f.dir.join("body.bin"), b"line1\nline2\n\x00\xff").unwrap();
        let o = h3curl(
            &["-s", "-k", "-H", "content-type: application/octet-stream", "--data-binary", "@body.bin", &f.url("/echo")],
            &f.dir,
        )
        .await;
        let mut want = b"POST /echo\ncontent-type=application/octet-stream\nuser-agent=h3curl/0.1.0\n".to_vec();
        want.extend_from_slice(b"line1\nline2\n\x00\xff");
        assert_eq!(o.stdout, want);
        // -v says when the whole body was sent, like curl, and how QPACK was used.
        let o = h3curl(
            &["-v", "-k", "--data-binary", "@body.bin", &f.url("/echo")],
            &f.dir,
        )
        .await;
        let err = stderr(&o);
        assert!(
            err.contains("* upload completely sent off: 14 bytes"),
            "{err}"
        );
        assert!(err.contains("* QPACK dynamic table: encoder_inserts="), "{err}");
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn exit_codes() {
    tokio::time::timeout(LIMIT, async {
        let f = Fixture::new("codes");
        // 6: the name does not resolve.
        let o = h3curl(&["-s", "-k", "https://no-such-host.invalid/"], &f.dir).await;
        assert_eq!(code(&o), 6, "{}", stderr(&o));
        // 7: nothing listens on the port.
        let closed = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = closed.local_addr().unwrap().port();
        drop(closed);
        let o = h3curl(&["-k", &format!("https://127.0.0.1:{port}/")], &f.dir).await;
        assert_eq!(code(&o), 7, "{}", stderr(&o));
        assert!(stderr(&o).contains("Failed to connect"), "{}", stderr(&o));
        // 28: a server that never answers, with --connect-timeout.
        let silent = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let addr: SocketAddr = silent.local_addr().unwrap();
        let o = h3curl(
            &["-k", "--connect-timeout", "1", &format!("https://{addr}/")],
            &f.dir,
        )
        .await;
        assert_eq!(code(&o), 28, "{}", stderr(&o));
        // 28 with --max-time as well.
        let o = h3curl(
            &["-k", "--max-time", "1", &format!("https://{addr}/")],
            &f.dir,
        )
        .await;
        assert_eq!(code(&o), 28, "{}", stderr(&o));
        drop(silent);
        // 60: the certificate is not trusted (no --cacert, no -k).
        let o = h3curl(&[&f.url("/")], &f.dir).await;
        assert_eq!(code(&o), 60, "{}", stderr(&o));
        // 22: -f on an HTTP error, without the body.
        let o = h3curl(&["-k", "-f", &f.url("/missing")], &f.dir).await;
        assert_eq!(code(&o), 22, "{}", stderr(&o));
        assert!(o.stdout.is_empty());
        assert!(stderr(&o).contains("The requested URL returned error: 404"));
        // Without -f the error page is output and the exit code is 0.
        let o = h3curl(&["-s", "-k", &f.url("/missing")], &f.dir).await;
        assert_eq!(code(&o), 0);
        assert_eq!(o.stdout, b"not found\n");
        // --resolve maps a name to our server.
        let url = format!("https://example.test:{}/", f.port);
        let o = h3curl(
            &[
                "-s",
                "-k",
                "--resolve",
                &format!("example.test:{}:127.0.0.1", f.port),
                &url,
            ],
            &f.dir,
        )
        .await;
        assert_eq!(code(&o), 0, "{}", stderr(&o));
        assert_eq!(o.stdout, b"hello\n");
    })
    .await
    .unwrap();
}

//! The tokio runtime over real UDP sockets on loopback.
#![cfg(feature = "runtime")]

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use quic::connection::{ClientConfig, ConnectionError, ServerConfig, TransportConfig};
use quic::runtime::{ConnectError, Connection, Endpoint, ReadError, WriteError};
use quic::testing::pair::{client_config, server_config};
use quic::VarInt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::timeout;

const ALPN: &[&[u8]] = &[b"test"];
const LIMIT: Duration = Duration::from_secs(30);

fn v4(port: u16) -> SocketAddr {
    (Ipv4Addr::LOCALHOST, port).into()
}

fn server_cfg() -> ServerConfig {
    server_config(ALPN, TransportConfig::default())
}

fn client_cfg() -> ClientConfig {
    client_config(ALPN, TransportConfig::default())
}

/// A server on `bind` and a connected client endpoint (bound to `client_bind`); returns the
/// server endpoint, the client endpoint and both ends of the connection.
async fn connected(
    bind: SocketAddr,
    client_bind: SocketAddr,
    target: impl Fn(u16) -> SocketAddr,
) -> (Endpoint, Endpoint, Connection, Connection) {
    let server = Endpoint::server(bind, server_cfg()).expect("server binds");
    let client = Endpoint::client(client_bind).expect("client binds");
    let to = target(server.local_addr().port());
    let accept = {
        let server = server.clone();
        tokio::spawn(async move { server.accept().await.expect("a connection") })
    };
    let conn = client
        .connect(to, "localhost", &client_cfg())
        .await
        .expect("handshake");
    let accepted = accept.await.unwrap();
    (server, client, conn, accepted)
}

/// Echoes every bidirectional stream of `conn` until it closes.
fn echo(conn: Connection) {
    tokio::spawn(async move {
        while let Ok((mut send, mut recv)) = conn.accept_bi().await {
            tokio::spawn(async move {
                let data = recv.read_to_end(64 << 20).await.expect("read");
                send.write_all(&data).await.expect("write");
                send.finish().expect("finish");
            });
        }
    });
}

async fn roundtrip(conn: &Connection, data: &[u8]) -> Vec<u8> {
    let (mut send, mut recv) = conn.open_bi().await.expect("open");
    let write = async {
        send.write_all(data).await.expect("write");
        send.finish().expect("finish");
    };
    let (_, back) = tokio::join!(write, recv.read_to_end(64 << 20));
    back.expect("read back")
}

#[tokio::test]
async fn connect_and_echo() {
    timeout(LIMIT, async {
        let (_server, _client, conn, accepted) = connected(v4(0), v4(0), v4).await;
        assert_eq!(conn.alpn().as_deref(), Some(&b"test"[..]));
        assert_eq!(accepted.alpn().as_deref(), Some(&b"test"[..]));
        assert_eq!(accepted.remote_address(), _client.local_addr());
        echo(accepted);
        for msg in [&b"hello"[..], b"", &[7u8; 5000]] {
            assert_eq!(roundtrip(&conn, msg).await, msg);
        }
        let stats = conn.stats();
        assert!(stats.datagrams_sent > 0 && stats.datagrams_received > 0);
    })
    .await
    .expect("within the limit");
}

#[tokio::test]
async fn ten_mebibytes_byte_exact() {
    timeout(Duration::from_secs(120), async {
        let (_server, _client, conn, accepted) = connected(v4(0), v4(0), v4).await;
        let data: Vec<u8> = (0..10u32 << 20)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        let reader = tokio::spawn(async move {
            let mut recv = accepted.accept_uni().await.expect("stream");
            let mut got = Vec::new();
            // Through AsyncRead, in small reads.
            let mut buf = vec![0u8; 7000];
            loop {
                let n = recv.read(&mut buf).await.expect("read");
                if n == 0 {
                    break;
                }
                got.extend_from_slice(&buf[..n]);
            }
            got
        });
        let mut send = conn.open_uni().await.expect("open");
        // Through AsyncWrite, in odd-sized writes.
        for chunk in data.chunks(100_003) {
            send.write_all(chunk).await.expect("write");
        }
        send.shutdown().await.expect("finish");
        let got = reader.await.unwrap();
        assert_eq!(got.len(), data.len());
        assert!(got == data, "byte-exact");
        let (cs, ss) = (_client.stats(), _server.stats());
        eprintln!("client {cs:?}\nserver {ss:?}");
        assert!(cs.datagrams_sent > 7000 && ss.datagrams_received > 7000);
        if cfg!(target_os = "linux") && cs.gso_segments > 1 {
            // The sender packs datagrams into GSO batches; the receiver reads in batches.
            assert!(cs.gso_transmits > 0, "GSO used");
            assert!(cs.transmits < cs.datagrams_sent);
            assert!(ss.recv_calls < ss.datagrams_received, "batched receives");
        }
    })
    .await
    .expect("within the limit");
}

#[tokio::test]
async fn hundred_concurrent_streams() {
    timeout(LIMIT, async {
        let (_server, _client, conn, accepted) = connected(v4(0), v4(0), v4).await;
        echo(accepted);
        let tasks: Vec<_> = (0..100u32)
            .map(|i| {
                let conn = conn.clone();
                tokio::spawn(async move {
                    let msg: Vec<u8> = (0..1000 + i * 37).map(|j| (i + j) as u8).collect();
                    assert_eq!(roundtrip(&conn, &msg).await, msg);
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
    })
    .await
    .expect("within the limit");
}

/// open_uni waits while the peer's stream limit is reached and resumes when it is raised.
#[tokio::test]
async fn open_waits_for_stream_credit() {
    timeout(LIMIT, async {
        let mut transport = TransportConfig::default();
        transport.streams.max_concurrent_uni_streams = 1;
        let server = Endpoint::server(v4(0), server_config(ALPN, transport)).unwrap();
        let client = Endpoint::client(v4(0)).unwrap();
        let to = server.local_addr();
        let accept = tokio::spawn(async move { server.accept().await.unwrap() });
        let conn = client
            .connect(to, "localhost", &client_cfg())
            .await
            .unwrap();
        let accepted = accept.await.unwrap();
        let mut first = conn.open_uni().await.unwrap();
        first.write_all(b"one").await.unwrap();
        first.finish().unwrap();
        let conn2 = conn.clone();
        let second = tokio::spawn(async move { conn2.open_uni().await.map(|s| s.id()) });
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(!second.is_finished(), "blocked by the peer's limit");
        let mut recv = accepted.accept_uni().await.unwrap();
        assert_eq!(recv.read_to_end(100).await.unwrap(), b"one");
        second.await.unwrap().expect("opened once credit came");
    })
    .await
    .expect("within the limit");
}

#[tokio::test]
async fn ipv6_loopback() {
    timeout(LIMIT, async {
        let any6 = |port| SocketAddr::from((Ipv6Addr::LOCALHOST, port));
        let (_server, client, conn, accepted) = connected(any6(0), any6(0), any6).await;
        assert!(conn.remote_address().is_ipv6());
        assert_eq!(accepted.remote_address(), client.local_addr());
        echo(accepted);
        assert_eq!(roundtrip(&conn, b"six").await, b"six");
    })
    .await
    .expect("within the limit");
}

/// A server on `[::]` (dual-stack) is reached over IPv4 and sees the client's IPv4 address.
#[tokio::test]
async fn dual_stack_server_reached_over_ipv4() {
    timeout(LIMIT, async {
        let any6 = SocketAddr::from((Ipv6Addr::UNSPECIFIED, 0));
        let (_server, client, conn, accepted) = connected(any6, v4(0), v4).await;
        assert_eq!(accepted.remote_address(), client.local_addr());
        echo(accepted);
        assert_eq!(roundtrip(&conn, b"four").await, b"four");
    })
    .await
    .expect("within the limit");
}

#[tokio::test]
async fn close_code_reaches_peer_and_closed_resolves() {
    timeout(LIMIT, async {
        let (_server, _client, conn, accepted) = connected(v4(0), v4(0), v4).await;
        let (mut send, mut recv) = conn.open_bi().await.unwrap();
        let pending_read = tokio::spawn(async move { recv.read_chunk(10).await });
        conn.close(VarInt::from_u32(42), b"bye");
        let local = conn.closed().await;
        assert!(matches!(
            local,
            ConnectionError::ApplicationClosed { local: true, code, .. } if code == VarInt::from_u32(42)
        ));
        let remote = accepted.closed().await;
        assert_eq!(
            remote,
            ConnectionError::ApplicationClosed {
                local: false,
                code: VarInt::from_u32(42),
                reason: "bye".into()
            }
        );
        // Waiting operations end, and new ones fail.
        assert!(matches!(
            pending_read.await.unwrap(),
            Err(ReadError::ConnectionLost(_))
        ));
        assert!(matches!(
            send.write(b"x").await,
            Err(WriteError::ConnectionLost(_))
        ));
        assert!(conn.open_bi().await.is_err());
        assert!(accepted.accept_bi().await.is_err());
    })
    .await
    .expect("within the limit");
}

#[tokio::test]
async fn stop_and_reset_codes() {
    timeout(LIMIT, async {
        let (_server, _client, conn, accepted) = connected(v4(0), v4(0), v4).await;
        // The client resets: the server's read fails with the code.
        let mut s = conn.open_uni().await.unwrap();
        s.write_all(b"partial").await.unwrap();
        s.reset(VarInt::from_u32(9)).unwrap();
        let mut r = accepted.accept_uni().await.unwrap();
        let err = loop {
            match r.read_chunk(1024).await {
                Ok(Some(_)) => continue,
                other => break other,
            }
        };
        assert_eq!(err, Err(ReadError::Reset(VarInt::from_u32(9))));
        // The server stops: the client's writes fail with the code.
        let mut s = conn.open_uni().await.unwrap();
        s.write_all(b"first").await.unwrap();
        let mut r = accepted.accept_uni().await.unwrap();
        r.stop(VarInt::from_u32(7)).unwrap();
        let err = loop {
            match s.write(&[0; 1000]).await {
                Ok(_) => tokio::time::sleep(Duration::from_millis(5)).await,
                Err(e) => break e,
            }
        };
        assert_eq!(err, WriteError::Stopped(VarInt::from_u32(7)));
    })
    .await
    .expect("within the limit");
}

/// With nobody listening, connect fails within the idle timeout instead of hanging.
#[tokio::test]
async fn connect_to_nothing_times_out() {
    timeout(LIMIT, async {
        // A port that was just free.
        let port = std::net::UdpSocket::bind(v4(0))
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let client = Endpoint::client(v4(0)).unwrap();
        // RFC 9000 §10.1 floors the idle timeout at three PTOs; a small initial RTT keeps
        // those below the configured timeout.
        let transport = TransportConfig {
            max_idle_timeout: Duration::from_secs(1),
            initial_rtt: Duration::from_millis(50),
            ..TransportConfig::default()
        };
        let start = tokio::time::Instant::now();
        let r = client
            .connect(v4(port), "localhost", &client_config(ALPN, transport))
            .await;
        assert_eq!(
            r.err(),
            Some(ConnectError::Connection(ConnectionError::TimedOut))
        );
        let took = start.elapsed();
        assert!(
            took >= Duration::from_millis(950) && took < Duration::from_secs(2),
            "{took:?}"
        );
        assert_eq!(client.open_connections(), 0, "the attempt was forgotten");
    })
    .await
    .expect("within the limit");
}

#[tokio::test]
async fn accept_returns_none_after_close() {
    timeout(LIMIT, async {
        let server = Endpoint::server(v4(0), server_cfg()).unwrap();
        let waiting = {
            let server = server.clone();
            tokio::spawn(async move { server.accept().await.is_none() })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        server.close(VarInt::from_u32(0), b"");
        assert!(waiting.await.unwrap(), "pending accept ends with None");
        assert!(server.accept().await.is_none());
        let client = Endpoint::client(v4(0)).unwrap();
        client.close(VarInt::from_u32(0), b"");
        assert_eq!(
            client
                .connect(server.local_addr(), "localhost", &client_cfg())
                .await
                .err(),
            Some(ConnectError::EndpointClosed)
        );
    })
    .await
    .expect("within the limit");
}

/// Closing an endpoint closes its connections; the peer sees the code, and wait_idle returns
/// once everything drained.
#[tokio::test]
async fn endpoint_close_closes_connections() {
    timeout(LIMIT, async {
        let (server, _client, conn, accepted) = connected(v4(0), v4(0), v4).await;
        server.close(VarInt::from_u32(3), b"shutdown");
        assert!(matches!(
            conn.closed().await,
            ConnectionError::ApplicationClosed { local: false, code, .. } if code == VarInt::from_u32(3)
        ));
        assert!(accepted.close_reason().is_some());
        server.wait_idle().await;
        assert_eq!(server.open_connections(), 0);
    })
    .await
    .expect("within the limit");
}

/// Handle dropping: the last handle of a connection closes it (code 0) for the peer.
#[tokio::test]
async fn dropping_the_last_handle_closes() {
    timeout(LIMIT, async {
        let (_server, _client, conn, accepted) = connected(v4(0), v4(0), v4).await;
        drop(conn);
        assert!(matches!(
            accepted.closed().await,
            ConnectionError::ApplicationClosed { local: false, code, .. } if code == VarInt::from_u32(0)
        ));
    })
    .await
    .expect("within the limit");
}

const KEYLOG_CHILD: &str = "QUIC_RUNTIME_KEYLOG_CHILD";

/// Runs [`keylog_child`] in a child process with `SSLKEYLOGFILE` set (the variable is
/// process-wide, so it is not set in this multi-threaded test process), then checks that both
/// of its connections were logged.
#[test]
fn sslkeylogfile_logs_every_connection() {
    let dir = std::env::temp_dir().join(format!("quic-keylog-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("keys.log");
    let _ = std::fs::remove_file(&path);
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "keylog_child", "--nocapture", "--test-threads=1"])
        .env("SSLKEYLOGFILE", &path)
        .env(KEYLOG_CHILD, "1")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "child failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let log = std::fs::read_to_string(&path).expect("key log written");
    let randoms: std::collections::BTreeSet<&str> = log
        .lines()
        .filter_map(|l| l.strip_prefix("CLIENT_HANDSHAKE_TRAFFIC_SECRET "))
        .filter_map(|l| l.split(' ').next())
        .collect();
    // Client and server both log each connection under the same client random.
    assert_eq!(randoms.len(), 2, "two connections logged:\n{log}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The child half of [`sslkeylogfile_logs_every_connection`]; does nothing on its own.
#[test]
fn keylog_child() {
    if std::env::var_os(KEYLOG_CHILD).is_none() {
        return;
    }
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        timeout(LIMIT, async {
            let (server, client, conn, accepted) = connected(v4(0), v4(0), v4).await;
            echo(accepted);
            assert_eq!(roundtrip(&conn, b"1").await, b"1");
            let accept = tokio::spawn(async move { server.accept().await.unwrap() });
            let to = conn.remote_address();
            let conn2 = client
                .connect(to, "localhost", &client_cfg())
                .await
                .unwrap();
            echo(accept.await.unwrap());
            assert_eq!(roundtrip(&conn2, b"2").await, b"2");
        })
        .await
        .expect("within the limit");
    });
}

/// An idle connection times out on both sides; pending waits end with the error.
#[tokio::test]
async fn idle_timeout_ends_waits() {
    timeout(LIMIT, async {
        let transport = || TransportConfig {
            max_idle_timeout: Duration::from_millis(600),
            initial_rtt: Duration::from_millis(50),
            ..TransportConfig::default()
        };
        let server = Endpoint::server(v4(0), server_config(ALPN, transport())).unwrap();
        let client = Endpoint::client(v4(0)).unwrap();
        let to = server.local_addr();
        let accept = tokio::spawn(async move { server.accept().await.unwrap() });
        let conn = client
            .connect(to, "localhost", &client_config(ALPN, transport()))
            .await
            .unwrap();
        let accepted = accept.await.unwrap();
        let start = tokio::time::Instant::now();
        let pending_accept = tokio::spawn(async move { accepted.accept_bi().await.err() });
        assert_eq!(conn.closed().await, ConnectionError::TimedOut);
        assert_eq!(
            pending_accept.await.unwrap(),
            Some(ConnectionError::TimedOut)
        );
        assert!(start.elapsed() < Duration::from_secs(3));
        client.wait_idle().await;
    })
    .await
    .expect("within the limit");
}

/// ECN end to end over loopback (RFC 9000 §13.4): both sides mark, read the marks back through
/// the socket, report them in ACK_ECN, and validate the path, so marking goes on past the ten
/// packets of the testing period. Over IPv4 and a dual-stack server reached over IPv4 (IP_TOS
/// on an IPv6 socket).
#[tokio::test]
async fn ecn_is_validated_over_loopback() {
    timeout(LIMIT, async {
        let any6 = SocketAddr::from((Ipv6Addr::UNSPECIFIED, 0));
        for server_bind in [v4(0), any6] {
            let (_server, _client, conn, accepted) = connected(server_bind, v4(0), v4).await;
            let server_side = accepted.clone();
            echo(accepted);
            let data = vec![5u8; 200_000];
            assert_eq!(roundtrip(&conn, &data).await, data);
            let (c, s) = (conn.stats(), server_side.stats());
            eprintln!("{server_bind}: client {c:?}\nserver {s:?}");
            if !cfg!(target_os = "linux") {
                continue;
            }
            for (side, st) in [("client", c), ("server", s)] {
                assert!(st.datagrams_sent_ect0 > 10, "{side} still marks: {st:?}");
                assert!(st.datagrams_received_ect > 10, "{side} reads marks: {st:?}");
                assert_eq!(st.datagrams_received_ce, 0, "loopback does not CE-mark");
            }
        }
    })
    .await
    .expect("within the limit");
}

/// The client moves to a new UDP port in the middle of a transfer, as behind a NAT that
/// rebinds: the transfer completes byte-exact and the server follows to the new address after
/// validating it (RFC 9000 §9.3, §8.2).
#[tokio::test]
async fn client_rebinding_to_a_new_port_is_followed() {
    timeout(LIMIT, async {
        let (_server, client, conn, accepted) = connected(v4(0), v4(0), v4).await;
        let server_side = accepted.clone();
        echo(accepted);
        let old = client.local_addr();
        assert_eq!(server_side.remote_address(), old);
        let data: Vec<u8> = (0..2_000_000u32).map(|i| (i % 251) as u8).collect();
        let transfer = {
            let conn = conn.clone();
            let data = data.clone();
            tokio::spawn(async move { roundtrip(&conn, &data).await })
        };
        tokio::time::sleep(Duration::from_millis(5)).await;
        client.rebind(v4(0)).expect("rebind");
        let new = client.local_addr();
        assert_ne!(new, old);
        assert!(
            transfer.await.unwrap() == data,
            "byte-exact across the rebinding"
        );
        // Something sent after the move reaches the server from the new port.
        assert_eq!(roundtrip(&conn, b"after").await, b"after");
        assert_eq!(server_side.remote_address(), new, "the server follows");
        let paths = server_side.path_stats();
        assert_eq!(paths.migrations, 1, "{paths:?}");
        assert!(paths.validated >= 1, "{paths:?}");
        assert_eq!(paths.reverted, 0, "{paths:?}");
    })
    .await
    .expect("within the limit");
}

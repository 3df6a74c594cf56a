//! The async client and server over real UDP sockets on loopback.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use h3::asynch::{Client, Error, RequestStream, Server};
use h3::{Code, Config};
use http::{HeaderMap, Request, Response};
use quic::connection::TransportConfig;
use quic::runtime::Endpoint;
use quic::testing::pair::{client_config, server_config};
use tokio::sync::Notify;
use tokio::time::timeout;

const ALPN: &[&[u8]] = &[b"h3"];
const LIMIT: Duration = Duration::from_secs(60);

fn v4(port: u16) -> SocketAddr {
    (Ipv4Addr::LOCALHOST, port).into()
}

/// What the test server does besides answering.
#[derive(Default)]
struct Hooks {
    /// Notified when a `/slow` request arrives.
    slow_arrived: Notify,
    /// `/slow` answers once this is notified.
    slow_release: Notify,
}

/// A server endpoint whose connections run [`handle`] on every request; each connection's
/// `Server` is sent on the returned channel.
fn serve(hooks: Arc<Hooks>) -> (Endpoint, tokio::sync::mpsc::UnboundedReceiver<Server>) {
    let endpoint =
        Endpoint::server(v4(0), server_config(ALPN, TransportConfig::default())).unwrap();
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let ep = endpoint.clone();
    tokio::spawn(async move {
        while let Some(conn) = ep.accept().await {
            let server = Server::new(conn, Config::default());
            let _ = tx.send(server.clone());
            let hooks = hooks.clone();
            tokio::spawn(async move {
                while let Ok(Some((req, stream))) = server.accept().await {
                    tokio::spawn(handle(req, stream, hooks.clone()));
                }
            });
        }
    });
    (endpoint, rx)
}

async fn handle(req: Request<()>, stream: RequestStream, hooks: Arc<Hooks>) {
    let ok = || Response::builder().status(200).body(()).unwrap();
    match req.uri().path() {
        "/hello" => {
            stream.send_response(ok()).unwrap();
            stream
                .send_data(Bytes::from_static(b"hello world"))
                .await
                .unwrap();
            stream.finish().unwrap();
        }
        "/echo" => {
            // Streams the body back as it arrives.
            stream.send_response(ok()).unwrap();
            while let Some(chunk) = stream.recv_data().await.unwrap() {
                stream.send_data(chunk).await.unwrap();
            }
            stream.finish().unwrap();
        }
        "/trailers" => {
            let mut body = Vec::new();
            while let Some(chunk) = stream.recv_data().await.unwrap() {
                body.extend_from_slice(&chunk);
            }
            let got = stream.recv_trailers().await.unwrap().unwrap_or_default();
            stream.send_response(ok()).unwrap();
            stream.send_data(Bytes::from(body)).await.unwrap();
            let mut t = HeaderMap::new();
            t.insert("x-request-trailer", got["x-checksum"].clone());
            t.insert("x-done", "yes".parse().unwrap());
            stream.send_trailers(t).unwrap();
        }
        "/hints" => {
            // Two interim responses (RFC 8297 Early Hints, RFC 9114 §4.1), then the final one.
            for link in ["</a.css>; rel=preload", "</b.js>; rel=preload"] {
                let hint = Response::builder()
                    .status(103)
                    .header("link", link)
                    .body(())
                    .unwrap();
                stream.send_response(hint).unwrap();
            }
            stream.send_response(ok()).unwrap();
            stream
                .send_data(Bytes::from_static(b"hinted"))
                .await
                .unwrap();
            stream.finish().unwrap();
        }
        "/many-hints" => {
            // More interim responses than a client keeps unread (32): the oldest go.
            for i in 0..40 {
                let hint = Response::builder()
                    .status(103)
                    .header("x-hint", i)
                    .body(())
                    .unwrap();
                stream.send_response(hint).unwrap();
            }
            stream.send_response(ok()).unwrap();
            stream.finish().unwrap();
        }
        "/slow" => {
            hooks.slow_arrived.notify_one();
            hooks.slow_release.notified().await;
            stream.send_response(ok()).unwrap();
            stream.send_data(Bytes::from_static(b"slow")).await.unwrap();
            stream.finish().unwrap();
        }
        path => {
            let resp = Response::builder().status(404).body(()).unwrap();
            stream.send_response(resp).unwrap();
            stream
                .send_data(Bytes::from(format!("no {path}")))
                .await
                .unwrap();
            stream.finish().unwrap();
        }
    }
}

async fn client(server: &Endpoint) -> (Endpoint, Client) {
    let endpoint = Endpoint::client(v4(0)).unwrap();
    let conn = endpoint
        .connect(
            v4(server.local_addr().port()),
            "localhost",
            &client_config(ALPN, TransportConfig::default()),
        )
        .await
        .unwrap();
    (endpoint, Client::new(conn, Config::default()))
}

fn get(path: &str) -> Request<()> {
    Request::get(format!("https://localhost{path}"))
        .body(())
        .unwrap()
}

async fn body(stream: &RequestStream) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(chunk) = stream.recv_data().await.unwrap() {
        out.extend_from_slice(&chunk);
    }
    out
}

#[tokio::test]
async fn get_request() {
    timeout(LIMIT, async {
        let (server, _) = serve(Arc::default());
        let (_ep, client) = client(&server).await;
        let settings = client.settings().await.unwrap();
        assert_eq!(settings.qpack_max_table_capacity(), 4096);
        let s = client.send_request(get("/hello")).await.unwrap();
        s.finish().unwrap();
        let resp = s.recv_response().await.unwrap();
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.version(), http::Version::HTTP_3);
        assert_eq!(body(&s).await, b"hello world");
        assert_eq!(s.recv_trailers().await.unwrap(), None);

        let s = client.send_request(get("/missing")).await.unwrap();
        s.finish().unwrap();
        assert_eq!(s.recv_response().await.unwrap().status(), 404);
        assert_eq!(body(&s).await, b"no /missing");
        client.shutdown().await;
    })
    .await
    .expect("in time");
}

#[tokio::test]
async fn interim_responses() {
    timeout(LIMIT, async {
        let (server, _) = serve(Arc::default());
        let (_ep, client) = client(&server).await;

        // Read one by one, then the final response.
        let s = client.send_request(get("/hints")).await.unwrap();
        s.finish().unwrap();
        let mut links = Vec::new();
        while let Some(hint) = s.recv_informational().await.unwrap() {
            assert_eq!(hint.status(), 103);
            links.push(hint.headers()["link"].to_str().unwrap().to_owned());
        }
        assert_eq!(links, ["</a.css>; rel=preload", "</b.js>; rel=preload"]);
        assert_eq!(s.recv_response().await.unwrap().status(), 200);
        assert!(s.recv_informational().await.unwrap().is_none());
        assert_eq!(body(&s).await, b"hinted");

        // The simple path never sees them, and they are gone once the final one is read.
        let s = client.send_request(get("/hints")).await.unwrap();
        s.finish().unwrap();
        assert_eq!(s.recv_response().await.unwrap().status(), 200);
        assert!(s.recv_informational().await.unwrap().is_none());
        assert_eq!(body(&s).await, b"hinted");

        // Unread interim responses are bounded: the last 32 are kept.
        let s = client.send_request(get("/many-hints")).await.unwrap();
        s.finish().unwrap();
        assert_eq!(s.recv_response().await.unwrap().status(), 200);
        let s2 = client.send_request(get("/many-hints")).await.unwrap();
        s2.finish().unwrap();
        // Wait for the final response without taking it, so that nothing is read early.
        while s2.recv_data().await.unwrap().is_some() {}
        let mut seen = Vec::new();
        while let Some(hint) = s2.recv_informational().await.unwrap() {
            seen.push(
                hint.headers()["x-hint"]
                    .to_str()
                    .unwrap()
                    .parse::<u32>()
                    .unwrap(),
            );
        }
        assert_eq!(seen, (8..40).collect::<Vec<_>>());
        assert_eq!(s2.recv_response().await.unwrap().status(), 200);

        // A response without interim ones.
        let s = client.send_request(get("/hello")).await.unwrap();
        s.finish().unwrap();
        assert!(s.recv_informational().await.unwrap().is_none());
        assert_eq!(s.recv_response().await.unwrap().status(), 200);
        client.shutdown().await;
    })
    .await
    .expect("in time");
}

#[tokio::test]
async fn qpack_stats_show_dynamic_table_use() {
    timeout(LIMIT, async {
        let (server, mut servers) = serve(Arc::default());
        let (_ep, client) = client(&server).await;
        // Our SETTINGS allow a table; wait for the server's so the first request may use it.
        client.settings().await.unwrap();
        for _ in 0..3 {
            let req = Request::get("https://localhost/hello")
                .header(
                    "x-long-field",
                    "a value long enough to be worth indexing-".repeat(3),
                )
                .body(())
                .unwrap();
            let s = client.send_request(req).await.unwrap();
            s.finish().unwrap();
            assert_eq!(s.recv_response().await.unwrap().status(), 200);
            assert_eq!(body(&s).await, b"hello world");
        }
        let ours = client.qpack_stats();
        assert!(ours.encoder_inserts > 0, "{ours}");
        assert_eq!(ours.peer_table_capacity, Some(4096));
        // The server decoded requests that referenced those entries, so it received them.
        let theirs = h3::asynch::qpack_stats(servers.recv().await.unwrap().connection()).unwrap();
        assert!(theirs.decoder_inserts > 0, "{theirs}");
        assert!(
            theirs.decoder_inserts <= ours.encoder_inserts,
            "{ours} / {theirs}"
        );
        client.shutdown().await;
    })
    .await
    .expect("in time");
}

#[tokio::test]
async fn post_echo_streams_10_mib() {
    timeout(LIMIT, async {
        let (server, _) = serve(Arc::default());
        let (_ep, client) = client(&server).await;
        let req = Request::post("https://localhost/echo").body(()).unwrap();
        let s = client.send_request(req).await.unwrap();
        let total = 10 << 20;
        let data: Vec<u8> = (0..total).map(|i| (i % 251) as u8).collect();
        let data = Bytes::from(data);
        // The echo answers while we send: both directions flow at once, with backpressure
        // on both sides.
        let writer = async {
            for chunk in data.chunks(100_000) {
                s.send_data(data.slice_ref(chunk)).await.expect("send");
            }
            s.finish().unwrap();
        };
        let reader = async {
            assert_eq!(s.recv_response().await.unwrap().status(), 200);
            body(&s).await
        };
        let ((), back) = tokio::join!(writer, reader);
        assert_eq!(back.len(), total);
        assert!(back == data, "echoed body differs");
        client.shutdown().await;
    })
    .await
    .expect("in time");
}

#[tokio::test]
async fn trailers_both_ways() {
    timeout(LIMIT, async {
        let (server, _) = serve(Arc::default());
        let (_ep, client) = client(&server).await;
        let req = Request::post("https://localhost/trailers")
            .body(())
            .unwrap();
        let s = client.send_request(req).await.unwrap();
        s.send_data(Bytes::from_static(b"payload")).await.unwrap();
        let mut t = HeaderMap::new();
        t.insert("x-checksum", "abc123".parse().unwrap());
        s.send_trailers(t).unwrap();
        assert_eq!(s.recv_response().await.unwrap().status(), 200);
        assert_eq!(body(&s).await, b"payload");
        let trailers = s.recv_trailers().await.unwrap().expect("trailers");
        assert_eq!(trailers["x-request-trailer"], "abc123");
        assert_eq!(trailers["x-done"], "yes");
        client.shutdown().await;
    })
    .await
    .expect("in time");
}

#[tokio::test]
async fn hundred_concurrent_requests() {
    timeout(LIMIT, async {
        let (server, _) = serve(Arc::default());
        let (_ep, client) = client(&server).await;
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..100 {
            let client = client.clone();
            tasks.spawn(async move {
                let req = Request::post("https://localhost/echo").body(()).unwrap();
                let s = client.send_request(req).await.unwrap();
                let data = Bytes::from(vec![i as u8; 20_000 + i * 100]);
                s.send_data(data.clone()).await.unwrap();
                s.finish().unwrap();
                assert_eq!(s.recv_response().await.unwrap().status(), 200);
                assert!(body(&s).await == data);
            });
        }
        let mut done = 0;
        while let Some(r) = tasks.join_next().await {
            r.expect("request task");
            done += 1;
        }
        assert_eq!(done, 100);
        client.shutdown().await;
    })
    .await
    .expect("in time");
}

#[tokio::test]
async fn goaway_graceful_shutdown() {
    timeout(LIMIT, async {
        let hooks: Arc<Hooks> = Arc::default();
        let (server, mut servers) = serve(hooks.clone());
        let (_ep, client) = client(&server).await;
        let slow = client.send_request(get("/slow")).await.unwrap();
        slow.finish().unwrap();
        hooks.slow_arrived.notified().await;
        let server_conn = servers.recv().await.unwrap();
        // Shutdown waits for the request in flight.
        let shutdown = tokio::spawn({
            let s = server_conn.clone();
            async move { s.shutdown().await }
        });
        // The client learns of the GOAWAY and sends no new requests.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while client.goaway_received().is_none() {
            assert!(tokio::time::Instant::now() < deadline, "no GOAWAY");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert_eq!(client.goaway_received(), Some(4));
        match client.send_request(get("/hello")).await {
            Err(e) => assert!(e.is_retryable(), "{e:?}"),
            Ok(_) => panic!("a request after GOAWAY"),
        }
        assert!(!shutdown.is_finished());
        hooks.slow_release.notify_one();
        assert_eq!(slow.recv_response().await.unwrap().status(), 200);
        assert_eq!(body(&slow).await, b"slow");
        drop(slow);
        shutdown.await.unwrap();
        assert!(server_conn.accept().await.unwrap().is_none());
        match client.closed().await {
            Error::Connection(e) => assert_eq!(e.code(), Code::H3_NO_ERROR),
            e => panic!("closed with {e:?}"),
        }
    })
    .await
    .expect("in time");
}

//! RFC 9218 priorities through the async API, over UDP on loopback: the request's header,
//! the client's PRIORITY_UPDATE (`RequestStream::set_priority`), the server's response
//! header and its own `set_priority`, as the server's stream sees them.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use bytes::Bytes;
use h3::asynch::{Client, Server};
use h3::{Config, Priority};
use http::{Request, Response};
use quic::connection::TransportConfig;
use quic::runtime::Endpoint;
use quic::testing::pair::{client_config, server_config};
use tokio::time::{sleep, timeout};

const ALPN: &[&[u8]] = &[b"h3"];

fn v4(port: u16) -> SocketAddr {
    (Ipv4Addr::LOCALHOST, port).into()
}

fn prio(urgency: u8, incremental: bool) -> Priority {
    Priority {
        urgency,
        incremental,
    }
}

#[tokio::test]
async fn priorities_through_the_async_api() {
    timeout(Duration::from_secs(60), async {
        let endpoint =
            Endpoint::server(v4(0), server_config(ALPN, TransportConfig::default())).unwrap();
        let port = endpoint.local_addr().port();
        // What the server's stream reported, in order.
        let (seen_tx, mut seen_rx) = tokio::sync::mpsc::unbounded_channel();
        let ep = endpoint.clone();
        tokio::spawn(async move {
            let conn = ep.accept().await.unwrap();
            let server = Server::new(conn, Config::default());
            let (_req, stream) = server.accept().await.unwrap().unwrap();
            // RFC 9218 §5: from the request header.
            seen_tx.send(stream.priority()).unwrap();
            // The client's PRIORITY_UPDATE arrives on the control stream, some time later.
            while stream.priority() == Some(prio(6, false)) {
                sleep(Duration::from_millis(5)).await;
            }
            seen_tx.send(stream.priority()).unwrap();
            // §8: the response's `i=?0` changes only the incremental parameter.
            let resp = Response::builder()
                .status(200)
                .header("priority", "i=?0")
                .body(())
                .unwrap();
            stream.send_response(resp).unwrap();
            seen_tx.send(stream.priority()).unwrap();
            stream.set_priority(prio(7, true)).unwrap();
            seen_tx.send(stream.priority()).unwrap();
            stream.send_data(Bytes::from_static(b"done")).await.unwrap();
            stream.finish().unwrap();
            server.shutdown().await;
        });

        let client_ep = Endpoint::client(v4(0)).unwrap();
        let conn = client_ep
            .connect(
                v4(port),
                "localhost",
                &client_config(ALPN, TransportConfig::default()),
            )
            .await
            .unwrap();
        let client = Client::new(conn, Config::default());
        let req = Request::get("https://localhost/")
            .header("priority", "u=6")
            .body(())
            .unwrap();
        let s = client.send_request(req).await.unwrap();
        assert_eq!(s.priority(), Some(prio(6, false)));
        s.finish().unwrap();
        assert_eq!(seen_rx.recv().await.unwrap(), Some(prio(6, false)));
        s.set_priority(prio(1, true)).unwrap();
        assert_eq!(s.priority(), Some(prio(1, true)));
        let resp = s.recv_response().await.unwrap();
        assert_eq!(resp.headers()["priority"], "i=?0");
        let mut body = Vec::new();
        while let Some(chunk) = s.recv_data().await.unwrap() {
            body.extend_from_slice(&chunk);
        }
        assert_eq!(body, b"done");
        let seen: Vec<Option<Priority>> = [
            seen_rx.recv().await.unwrap(),
            seen_rx.recv().await.unwrap(),
            seen_rx.recv().await.unwrap(),
        ]
        .into();
        assert_eq!(
            seen,
            [
                Some(prio(1, true)),
                Some(prio(1, false)),
                Some(prio(7, true))
            ]
        );
        client.shutdown().await;
    })
    .await
    .expect("in time");
}

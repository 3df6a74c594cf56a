//! quinn's sans-IO core (quinn-proto) on our simulated network, for benches that compare its
//! congestion control and loss recovery with ours on exactly the same link and loss pattern.
//! Included by bench targets with `#[path]`; not a bench itself.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use quic::testing::network::Network;
use quinn_proto as qp;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

const SERVER_NAME: &str = "localhost";

fn test_data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../quic/tests/data")
        .join(name)
}

/// ring with AES-128-GCM first, as ours orders its suites.
fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    use rustls::crypto::ring::{cipher_suite, default_provider};
    Arc::new(rustls::crypto::CryptoProvider {
        cipher_suites: vec![cipher_suite::TLS13_AES_128_GCM_SHA256],
        ..default_provider()
    })
}

fn server_config(alpn: &[u8]) -> qp::ServerConfig {
    let certs = CertificateDer::pem_file_iter(test_data("ec.crt"))
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .expect("test certificate");
    let key = PrivateKeyDer::from_pem_file(test_data("ec_sec1_with_params.key")).expect("key");
    let mut tls = rustls::ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .expect("TLS 1.3")
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .expect("certificate and key");
    tls.alpn_protocols = vec![alpn.to_vec()];
    tls.max_early_data_size = 0;
    let crypto = qp::crypto::rustls::QuicServerConfig::try_from(tls).expect("QUIC TLS");
    qp::ServerConfig::with_crypto(Arc::new(crypto))
}

fn client_config(alpn: &[u8]) -> qp::ClientConfig {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(test_data("ca.crt")).expect("CA") {
        roots.add(cert.expect("CA certificate")).expect("CA added");
    }
    let mut tls = rustls::ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .expect("TLS 1.3")
        .with_root_certificates(roots)
        .with_no_client_auth();
    tls.alpn_protocols = vec![alpn.to_vec()];
    let crypto = qp::crypto::rustls::QuicClientConfig::try_from(tls).expect("QUIC TLS");
    qp::ClientConfig::new(Arc::new(crypto))
}

/// One quinn endpoint with at most one connection.
struct Side {
    addr: SocketAddr,
    endpoint: qp::Endpoint,
    conn: Option<(qp::ConnectionHandle, qp::Connection)>,
}

impl Side {
    fn flush(&mut self, now: Instant, network: &mut Network, peer: SocketAddr) {
        let Some((handle, conn)) = self.conn.as_mut() else {
            return;
        };
        while let Some(event) = conn.poll_endpoint_events() {
            if let Some(back) = self.endpoint.handle_event(*handle, event) {
                conn.handle_event(back);
            }
        }
        let mut buf = Vec::new();
        while let Some(t) = conn.poll_transmit(now, 1, &mut buf) {
            network.send(now, self.addr, peer, BytesMut::from(&buf[..t.size]));
            buf.clear();
        }
    }

    fn receive(&mut self, now: Instant, from: SocketAddr, data: BytesMut, network: &mut Network) {
        let mut buf = Vec::new();
        match self.endpoint.handle(now, from, None, None, data, &mut buf) {
            Some(qp::DatagramEvent::NewConnection(incoming)) => {
                if self.conn.is_none() {
                    if let Ok(c) = self.endpoint.accept(incoming, now, &mut buf, None) {
                        self.conn = Some(c);
                    }
                } else {
                    self.endpoint.ignore(incoming);
                }
            }
            Some(qp::DatagramEvent::ConnectionEvent(_, event)) => {
                if let Some((_, conn)) = self.conn.as_mut() {
                    conn.handle_event(event);
                }
            }
            Some(qp::DatagramEvent::Response(t)) => {
                network.send(now, self.addr, from, BytesMut::from(&buf[..t.size]));
            }
            None => {}
        }
    }

    fn timeout(&mut self) -> Option<Instant> {
        self.conn.as_mut().and_then(|(_, c)| c.poll_timeout())
    }
}

/// What a quinn transfer measured.
pub struct QuinnTransfer {
    /// The sender's path statistics at the end.
    pub path: qp::PathStats,
    /// Time-weighted mean congestion window in bytes.
    pub mean_cwnd: f64,
    /// Time-weighted mean RTT estimate.
    pub mean_rtt: Duration,
}

/// quinn's client sends `len` bytes on one unidirectional stream to quinn's server over
/// `network` (links already configured between `client` and `server`), quinn's default
/// transport (CUBIC, MTU discovery up to 1452). Returns once the server has read everything,
/// or `None` if that takes longer than `limit`.
pub fn transfer(
    network: &mut Network,
    now: &mut Instant,
    client: SocketAddr,
    server: SocketAddr,
    len: usize,
    limit: Duration,
) -> Option<QuinnTransfer> {
    let alpn = b"hq-interop";
    let seed = network.seed();
    let mut rng_seed = [0u8; 32];
    rng_seed[..8].copy_from_slice(&seed.to_le_bytes());
    let mut c = Side {
        addr: client,
        endpoint: qp::Endpoint::new(Arc::default(), None, true, Some(rng_seed)),
        conn: None,
    };
    rng_seed[8] = 1;
    let mut s = Side {
        addr: server,
        endpoint: qp::Endpoint::new(
            Arc::default(),
            Some(Arc::new(server_config(alpn))),
            true,
            Some(rng_seed),
        ),
        conn: None,
    };
    c.conn = Some(
        c.endpoint
            .connect(*now, client_config(alpn), server, SERVER_NAME)
            .expect("connect"),
    );
    let deadline = *now + limit;
    let chunk = Bytes::from(vec![0x5a; 64 * 1024]);
    let (mut stream, mut written, mut finished, mut received) = (None, 0usize, false, 0usize);
    let (mut last, mut cwnd_integral, mut rtt_integral) = (*now, 0.0f64, 0.0f64);
    let mut sending_since = None;
    loop {
        // The sender's application: open the stream once connected, keep it full.
        if let Some((_, conn)) = c.conn.as_mut() {
            while let Some(event) = conn.poll() {
                if let qp::Event::ConnectionLost { reason } = event {
                    panic!("quinn client lost the connection: {reason}");
                }
            }
            if stream.is_none() && !conn.is_handshaking() {
                stream = conn.streams().open(qp::Dir::Uni);
                sending_since = Some(*now);
            }
            if let Some(id) = stream {
                while written < len {
                    let n = chunk.len().min(len - written);
                    match conn.send_stream(id).write(&chunk[..n]) {
                        Ok(w) if w > 0 => written += w,
                        _ => break,
                    }
                }
                if written == len && !finished {
                    conn.send_stream(id).finish().expect("finish");
                    finished = true;
                }
            }
            if sending_since.is_some() {
                let dt = (*now - last).as_secs_f64();
                let stats = conn.stats();
                cwnd_integral += dt * stats.path.cwnd as f64;
                rtt_integral += dt * stats.path.rtt.as_secs_f64();
                last = *now;
            }
        }
        // The receiver's application: read whatever arrived.
        if let Some((_, conn)) = s.conn.as_mut() {
            while conn.poll().is_some() {}
            while let Some(id) = conn.streams().accept(qp::Dir::Uni) {
                debug_assert!(Some(id) == stream || stream.is_none());
            }
            if let Some(id) = stream {
                let mut recv = conn.recv_stream(id);
                if let Ok(mut chunks) = recv.read(true) {
                    while let Ok(Some(chunk)) = chunks.next(usize::MAX) {
                        received += chunk.bytes.len();
                    }
                    let _ = chunks.finalize();
                };
            }
        }
        if received == len {
            let (_, conn) = c.conn.as_ref().expect("client connection");
            let elapsed = (*now - sending_since.expect("sending started")).as_secs_f64();
            return Some(QuinnTransfer {
                path: conn.stats().path,
                mean_cwnd: cwnd_integral / elapsed,
                mean_rtt: Duration::from_secs_f64(rtt_integral / elapsed),
            });
        }
        c.flush(*now, network, server);
        s.flush(*now, network, client);
        // Advance to the next thing that happens.
        let next = [network.next_delivery(), c.timeout(), s.timeout()]
            .into_iter()
            .flatten()
            .min()?;
        if next > deadline {
            return None;
        }
        *now = next.max(*now);
        while let Some(d) = network.pop_due(*now) {
            if d.to == server {
                s.receive(*now, d.from, d.datagram, network);
            } else if d.to == client {
                c.receive(*now, d.from, d.datagram, network);
            }
        }
        for side in [&mut c, &mut s] {
            if let Some((_, conn)) = side.conn.as_mut() {
                if conn.poll_timeout().is_some_and(|t| t <= *now) {
                    conn.handle_timeout(*now);
                }
            }
        }
    }
}

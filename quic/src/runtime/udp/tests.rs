use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use super::{RecvBuffers, Transmit, UdpSocket, MAX_GSO_SEGMENTS};
use crate::recovery::EcnCodepoint;

fn v4() -> SocketAddr {
    (Ipv4Addr::LOCALHOST, 0).into()
}

/// Receives until `count` datagrams arrived (or a timeout); returns them with the number of
/// receive calls and whether any buffer held a GRO batch.
async fn recv_n(socket: &UdpSocket, count: usize) -> (Vec<(SocketAddr, Vec<u8>)>, usize, bool) {
    let mut bufs = RecvBuffers::new(socket);
    let mut got = Vec::new();
    let mut calls = 0;
    let mut coalesced = false;
    while got.len() < count {
        tokio::time::timeout(Duration::from_secs(5), socket.recv(&mut bufs))
            .await
            .expect("datagrams arrive")
            .expect("recv");
        calls += 1;
        coalesced |= bufs.meta().iter().any(|m| m.stride < m.len);
        got.extend(bufs.datagrams().map(|(a, _, d)| (a, d.to_vec())));
    }
    (got, calls, coalesced)
}

fn payload(i: usize, len: usize) -> Vec<u8> {
    (0..len).map(|j| (i * 31 + j) as u8).collect()
}

#[tokio::test]
async fn batch_of_datagrams_arrives_whole() {
    let rx = UdpSocket::bind(v4()).unwrap();
    let tx = UdpSocket::bind(v4()).unwrap();
    let to = rx.local_addr().unwrap();
    let data: Vec<Vec<u8>> = (0..50).map(|i| payload(i, 100 + i)).collect();
    let transmits: Vec<Transmit<'_>> = data
        .iter()
        .map(|d| Transmit {
            destination: to,
            contents: d,
            segment_size: None,
            ecn: EcnCodepoint::NotEct,
        })
        .collect();
    tx.send(&transmits).await.unwrap();
    let (got, _, _) = recv_n(&rx, data.len()).await;
    let from = tx.local_addr().unwrap();
    assert!(got.iter().all(|(a, _)| *a == from));
    let got: Vec<Vec<u8>> = got.into_iter().map(|(_, d)| d).collect();
    assert_eq!(got, data);
    if cfg!(target_os = "linux") {
        assert!(rx.mmsg_enabled() && tx.mmsg_enabled());
    }
}

#[tokio::test]
async fn buffers_are_enlarged() {
    let s = UdpSocket::bind(v4()).unwrap();
    let (snd, rcv) = s.buffer_sizes();
    eprintln!(
        "buffers {snd}/{rcv}, GSO segments {}, GRO {}, mmsg {}",
        s.max_gso_segments(),
        s.gro_enabled(),
        s.mmsg_enabled()
    );
    // The kernel grants at least its defaults; with privileges or a raised limit, megabytes.
    assert!(snd >= 64 * 1024 && rcv >= 64 * 1024, "{snd} {rcv}");
}

/// Sends equal-size segments and a short last one in one GSO transmit; without GRO on the
/// receiver, the kernel splits them into separate datagrams.
#[tokio::test]
async fn gso_segments_arrive_as_datagrams() {
    let rx = UdpSocket::bind(v4()).unwrap();
    let tx = UdpSocket::bind(v4()).unwrap();
    let to = rx.local_addr().unwrap();
    let segment = 1200;
    let mut contents = Vec::new();
    let mut expected = Vec::new();
    for i in 0..10 {
        let len = if i == 9 { 345 } else { segment };
        let d = payload(i, len);
        contents.extend_from_slice(&d);
        expected.push(d);
    }
    let t = Transmit {
        destination: to,
        contents: &contents,
        segment_size: Some(segment),
        ecn: EcnCodepoint::NotEct,
    };
    tx.send(&[t]).await.unwrap();
    let (got, _, _) = recv_n(&rx, expected.len()).await;
    let got: Vec<Vec<u8>> = got.into_iter().map(|(_, d)| d).collect();
    assert_eq!(got, expected);
    if super::sys::max_gso_segments() > 1 {
        // The kernel took UDP_SEGMENT at the probe; the send must not have turned GSO off.
        assert_eq!(tx.max_gso_segments(), MAX_GSO_SEGMENTS, "GSO still on");
    }
}

/// The same batch with GSO turned off goes through sendmmsg one message per segment.
#[tokio::test]
async fn segmented_transmit_without_gso() {
    let rx = UdpSocket::bind(v4()).unwrap();
    let tx = UdpSocket::bind(v4()).unwrap();
    tx.set_max_gso_segments(1);
    let to = rx.local_addr().unwrap();
    let contents: Vec<u8> = payload(7, 1000 * 40 + 10);
    let t = Transmit {
        destination: to,
        contents: &contents,
        segment_size: Some(1000),
        ecn: EcnCodepoint::NotEct,
    };
    tx.send(&[t]).await.unwrap();
    let (got, _, _) = recv_n(&rx, 41).await;
    let joined: Vec<u8> = got.iter().flat_map(|(_, d)| d.clone()).collect();
    assert_eq!(joined, contents);
    assert!(got[..40].iter().all(|(_, d)| d.len() == 1000));
}

/// The portable path: one send_to / recv_from per datagram.
#[tokio::test]
async fn plain_fallback() {
    let rx = UdpSocket::bind(v4()).unwrap();
    let tx = UdpSocket::bind(v4()).unwrap();
    rx.disable_mmsg();
    tx.disable_mmsg();
    let to = rx.local_addr().unwrap();
    let contents = payload(3, 500 * 3 + 1);
    let t = Transmit {
        destination: to,
        contents: &contents,
        segment_size: Some(500),
        ecn: EcnCodepoint::NotEct,
    };
    tx.send(&[t, t]).await.unwrap();
    let (got, calls, _) = recv_n(&rx, 8).await;
    assert_eq!(calls, 8);
    let joined: Vec<u8> = got.iter().flat_map(|(_, d)| d.clone()).collect();
    assert_eq!(joined, [contents.clone(), contents].concat());
}

/// With UDP_GRO on the receiver, a GSO send over loopback may be delivered as one coalesced
/// buffer; [`RecvBuffers::datagrams`] splits it by the segment size the kernel reports.
#[tokio::test]
async fn gro_batches_are_split() {
    let rx = UdpSocket::bind(v4()).unwrap();
    let tx = UdpSocket::bind(v4()).unwrap();
    let to = rx.local_addr().unwrap();
    let segment = 1300;
    let expected: Vec<Vec<u8>> = (0..20)
        .map(|i| payload(i, if i == 19 { 99 } else { segment }))
        .collect();
    let contents = expected.concat();
    tx.send(&[Transmit {
        destination: to,
        contents: &contents,
        segment_size: Some(segment),
        ecn: EcnCodepoint::NotEct,
    }])
    .await
    .unwrap();
    let (got, calls, coalesced) = recv_n(&rx, expected.len()).await;
    let got: Vec<Vec<u8>> = got.into_iter().map(|(_, d)| d).collect();
    assert_eq!(got, expected);
    if cfg!(target_os = "linux") && rx.gro_enabled() && tx.max_gso_segments() > 1 {
        // Loopback hands a GSO packet to a GRO socket whole.
        assert!(
            coalesced,
            "GRO coalesced the GSO batch ({calls} receive calls)"
        );
    }
}

#[tokio::test]
async fn ipv6_loopback() {
    let any6: SocketAddr = (Ipv6Addr::LOCALHOST, 0).into();
    let Ok(rx) = UdpSocket::bind(any6) else {
        eprintln!("no IPv6 here; skipped");
        return;
    };
    let tx = UdpSocket::bind(any6).unwrap();
    let to = rx.local_addr().unwrap();
    let data: Vec<Vec<u8>> = (0..5).map(|i| payload(i, 1200)).collect();
    let ts: Vec<Transmit<'_>> = data
        .iter()
        .map(|d| Transmit {
            destination: to,
            contents: d,
            segment_size: None,
            ecn: EcnCodepoint::NotEct,
        })
        .collect();
    tx.send(&ts).await.unwrap();
    let (got, _, _) = recv_n(&rx, 5).await;
    assert!(got.iter().all(|(a, _)| *a == tx.local_addr().unwrap()));
    assert_eq!(got.into_iter().map(|(_, d)| d).collect::<Vec<_>>(), data);
}

/// A socket on `[::]` receives from an IPv4 socket, reports the sender as IPv4, and answers
/// it at that address.
#[tokio::test]
async fn dual_stack_receives_ipv4() {
    let Ok(server) = UdpSocket::bind(super::unspecified_v6(0)) else {
        eprintln!("no IPv6 here; skipped");
        return;
    };
    let port = server.local_addr().unwrap().port();
    let client = UdpSocket::bind(v4()).unwrap();
    let to: SocketAddr = (Ipv4Addr::LOCALHOST, port).into();
    client
        .send(&[Transmit {
            destination: to,
            contents: b"ping",
            segment_size: None,
            ecn: EcnCodepoint::NotEct,
        }])
        .await
        .unwrap();
    let (got, _, _) = recv_n(&server, 1).await;
    let (from, data) = &got[0];
    assert_eq!(data, b"ping");
    assert_eq!(
        *from,
        client.local_addr().unwrap(),
        "IPv4 sender, not mapped"
    );
    server
        .send(&[Transmit {
            destination: *from,
            contents: b"pong",
            segment_size: None,
            ecn: EcnCodepoint::NotEct,
        }])
        .await
        .unwrap();
    let (got, _, _) = recv_n(&client, 1).await;
    assert_eq!(got[0].1, b"pong");
    assert_eq!(got[0].0, to);
}

/// Receives until `count` datagrams arrived; returns their payloads' first byte and codepoints.
async fn recv_ecn(socket: &UdpSocket, count: usize) -> Vec<(u8, EcnCodepoint)> {
    let mut bufs = RecvBuffers::new(socket);
    let mut got = Vec::new();
    while got.len() < count {
        tokio::time::timeout(Duration::from_secs(5), socket.recv(&mut bufs))
            .await
            .expect("datagrams arrive")
            .expect("recv");
        got.extend(bufs.datagrams().map(|(_, ecn, d)| (d[0], ecn)));
    }
    got
}

/// Sends one datagram per codepoint from `tx` to `to`, tagged by its first byte, and checks
/// that `rx` reads each codepoint back (Linux loopback keeps the TOS / Traffic Class byte).
async fn codepoints_round_trip(tx: &UdpSocket, rx: &UdpSocket, to: SocketAddr) {
    use EcnCodepoint::*;
    let cases = [NotEct, Ect0, Ect1, Ce];
    let data: Vec<[u8; 100]> = (0..cases.len()).map(|i| [i as u8; 100]).collect();
    let ts: Vec<Transmit<'_>> = cases
        .iter()
        .zip(&data)
        .map(|(&ecn, d)| Transmit {
            destination: to,
            contents: d,
            segment_size: None,
            ecn,
        })
        .collect();
    tx.send(&ts).await.unwrap();
    let mut got = recv_ecn(rx, cases.len()).await;
    got.sort_by_key(|&(tag, _)| tag);
    let got: Vec<EcnCodepoint> = got.into_iter().map(|(_, e)| e).collect();
    if !cfg!(target_os = "linux") {
        eprintln!("ECN not implemented on this platform: {got:?}");
        return;
    }
    assert!(tx.ecn_send_enabled(), "the kernel took the ECN cmsg");
    assert!(
        rx.ecn_recv_enabled(),
        "the kernel reports received codepoints"
    );
    assert_eq!(got, cases, "codepoints as sent");
}

#[tokio::test]
async fn ecn_codepoints_survive_ipv4_loopback() {
    let rx = UdpSocket::bind(v4()).unwrap();
    let tx = UdpSocket::bind(v4()).unwrap();
    codepoints_round_trip(&tx, &rx, rx.local_addr().unwrap()).await;
}

#[tokio::test]
async fn ecn_codepoints_survive_ipv6_loopback() {
    let any6: SocketAddr = (Ipv6Addr::LOCALHOST, 0).into();
    let Ok(rx) = UdpSocket::bind(any6) else {
        eprintln!("no IPv6 here; skipped");
        return;
    };
    let tx = UdpSocket::bind(any6).unwrap();
    codepoints_round_trip(&tx, &rx, rx.local_addr().unwrap()).await;
}

/// A dual-stack socket reads IPv4 codepoints (IP_RECVTOS on an IPv6 socket) and sets them on
/// datagrams to mapped IPv4 addresses (IP_TOS on an IPv6 socket).
#[tokio::test]
async fn ecn_codepoints_on_a_dual_stack_socket() {
    let Ok(server) = UdpSocket::bind(super::unspecified_v6(0)) else {
        eprintln!("no IPv6 here; skipped");
        return;
    };
    let port = server.local_addr().unwrap().port();
    let client = UdpSocket::bind(v4()).unwrap();
    let to: SocketAddr = (Ipv4Addr::LOCALHOST, port).into();
    codepoints_round_trip(&client, &server, to).await;
    codepoints_round_trip(&server, &client, client.local_addr().unwrap()).await;
}

/// Every segment of a GSO transmit carries the transmit's codepoint.
#[tokio::test]
async fn ecn_codepoint_applies_to_every_gso_segment() {
    let rx = UdpSocket::bind(v4()).unwrap();
    let tx = UdpSocket::bind(v4()).unwrap();
    let contents: Vec<u8> = (0..4u8).flat_map(|i| [i; 1000]).collect();
    tx.send(&[Transmit {
        destination: rx.local_addr().unwrap(),
        contents: &contents,
        segment_size: Some(1000),
        ecn: EcnCodepoint::Ect0,
    }])
    .await
    .unwrap();
    let got = recv_ecn(&rx, 4).await;
    if cfg!(target_os = "linux") {
        assert!(got.iter().all(|&(_, e)| e == EcnCodepoint::Ect0), "{got:?}");
    }
}

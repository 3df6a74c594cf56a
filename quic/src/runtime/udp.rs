//! A UDP socket for QUIC on tokio, with Linux fast paths and portable fallbacks.
//!
//! - Large kernel buffers: 8 MiB are asked for (`SO_SNDBUFFORCE`/`SO_RCVBUFFORCE` when
//!   privileged, else `SO_SNDBUF`/`SO_RCVBUF`) and whatever the kernel grants is accepted.
//! - IPv4 and IPv6; a socket bound to `[::]` is dual-stack (`IPV6_V6ONLY` off) and reports
//!   IPv4 peers as plain IPv4 addresses.
//! - Sends: a batch of [`Transmit`]s goes out in one `sendmmsg`; a transmit holding several
//!   equal-size datagrams (the last may be shorter) is one UDP GSO message (`UDP_SEGMENT`
//!   cmsg). GSO support is probed once per process; if the kernel or the device refuses a GSO
//!   send (`EIO`/`EINVAL`), GSO is switched off for the socket and that datagram counts as lost
//!   (QUIC's loss recovery resends it).
//! - Receives: a batch in one `recvmmsg`; with `UDP_GRO` on, the kernel may coalesce datagrams
//!   of one flow into one buffer and report the segment size in a cmsg, and
//!   [`RecvBuffers::datagrams`] splits them again.
//! - ECN (RFC 9000 §13.4): each transmit's codepoint goes in an `IP_TOS` (IPv4 destinations,
//!   mapped ones on a dual-stack socket included) or `IPV6_TCLASS` cmsg, so the datagrams of one
//!   GSO transmit share it; received codepoints come from the `IP_TOS` / `IPV6_TCLASS` cmsgs
//!   that `IP_RECVTOS` / `IPV6_RECVTCLASS` ask for (both on a dual-stack socket). If the kernel
//!   refuses either, the socket sends Not-ECT / reports Not-ECT, which the connection's ECN
//!   validation then notices.
//! - Elsewhere (or if `sendmmsg`/`recvmmsg` are unavailable) it falls back to one
//!   `send_to`/`recv_from` per datagram through tokio, without ECN.
//!
//! Readiness comes from [`tokio::net::UdpSocket`]; the system calls run inside its `try_io` on
//! the raw descriptor. This is the only module of the crate with `unsafe` code: the `libc`
//! calls and the control-message buffers they fill.
#![allow(unsafe_code)]

use std::io;
use std::net::{IpAddr, Ipv6Addr, SocketAddr, SocketAddrV6};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use tokio::io::Interest;

use crate::recovery::EcnCodepoint;

/// Messages per `sendmmsg`/`recvmmsg` call.
pub const BATCH_SIZE: usize = 32;
/// The kernel's limit on segments in one GSO send (`UDP_MAX_SEGMENTS`).
pub const MAX_GSO_SEGMENTS: usize = 64;
/// The most payload one GSO send (or one GRO receive) carries; a UDP length is 16 bits.
pub const MAX_GSO_PAYLOAD: usize = 65_000;
/// The socket buffer size asked for.
const SOCKET_BUFFER: usize = 8 * 1024 * 1024;
/// Receive slot size without GRO: any datagram up to a 1500-byte MTU, with room to spare.
const PLAIN_SLOT: usize = 2048;
/// Receive slot size with GRO: a whole coalesced batch.
const GRO_SLOT: usize = 65_536;

/// One datagram, or with `segment_size` a run of datagrams of that size (the last may be
/// shorter), to one destination.
#[derive(Debug, Clone, Copy)]
pub struct Transmit<'a> {
    /// Where to.
    pub destination: SocketAddr,
    /// The bytes: one datagram, or the datagrams back to back.
    pub contents: &'a [u8],
    /// The size of each datagram when `contents` holds several.
    pub segment_size: Option<usize>,
    /// The ECN codepoint for the IP header of every datagram of the transmit.
    pub ecn: EcnCodepoint,
}

impl Transmit<'_> {
    fn segment(&self) -> usize {
        match self.segment_size {
            Some(s) if s > 0 && s < self.contents.len() => s,
            _ => self.contents.len().max(1),
        }
    }
}

/// What one received message held.
#[derive(Debug, Clone, Copy)]
pub struct RecvMeta {
    /// The sender.
    pub source: SocketAddr,
    /// Bytes received.
    pub len: usize,
    /// Size of each datagram in the buffer (smaller than `len` when GRO coalesced several).
    pub stride: usize,
    /// The ECN codepoint of the IP header (GRO only coalesces datagrams with the same one);
    /// Not-ECT when the platform does not report it.
    pub ecn: EcnCodepoint,
}

/// Buffers for one batch of received messages.
#[derive(Debug)]
pub struct RecvBuffers {
    storage: Vec<u8>,
    slot: usize,
    meta: Vec<RecvMeta>,
}

impl RecvBuffers {
    /// Buffers sized for `socket` (large slots when it has GRO).
    pub fn new(socket: &UdpSocket) -> Self {
        let slot = if socket.gro_enabled() {
            GRO_SLOT
        } else {
            PLAIN_SLOT
        };
        Self {
            storage: vec![0; slot * BATCH_SIZE],
            slot,
            meta: Vec::with_capacity(BATCH_SIZE),
        }
    }

    /// The messages of the last receive.
    pub fn meta(&self) -> &[RecvMeta] {
        &self.meta
    }

    /// Every datagram of the last receive, GRO batches split by their segment size, with its
    /// sender and ECN codepoint.
    pub fn datagrams(&self) -> impl Iterator<Item = (SocketAddr, EcnCodepoint, &[u8])> + '_ {
        self.meta.iter().enumerate().flat_map(move |(i, m)| {
            let start = i * self.slot;
            let data = &self.storage[start..start + m.len];
            data.chunks(m.stride.max(1))
                .map(move |d| (m.source, m.ecn, d))
        })
    }
}

/// A UDP socket registered with tokio.
#[derive(Debug)]
pub struct UdpSocket {
    io: tokio::net::UdpSocket,
    /// Whether the socket is IPv6 (IPv4 destinations are then sent as mapped addresses).
    ipv6: bool,
    /// Segments per GSO send; 1 means no GSO.
    gso_segments: AtomicUsize,
    gro: bool,
    /// Whether `sendmmsg`/`recvmmsg` work here.
    mmsg: AtomicBool,
    /// Whether outgoing datagrams get their ECN codepoint (cleared if the kernel refuses the
    /// cmsg).
    ecn_send: AtomicBool,
    /// Whether the kernel reports received codepoints.
    ecn_recv: bool,
    send_buffer: usize,
    recv_buffer: usize,
}

impl UdpSocket {
    /// Binds a socket to `addr`; must be called within a tokio runtime.
    pub fn bind(addr: SocketAddr) -> io::Result<Self> {
        use socket2::{Domain, Protocol, Socket, Type};
        let domain = if addr.is_ipv6() {
            Domain::IPV6
        } else {
            Domain::IPV4
        };
        let socket = Socket::new(domain, Type::DGRAM, Some(Protocol::UDP))?;
        if addr.is_ipv6() {
            // Dual-stack: `[::]` also receives IPv4 (as mapped addresses).
            if let Err(e) = socket.set_only_v6(false) {
                tracing::debug!(%e, "IPV6_V6ONLY cannot be turned off");
            }
        }
        let (send_buffer, recv_buffer) = set_buffers(&socket);
        socket.set_nonblocking(true)?;
        socket.bind(&addr.into())?;
        let gro = sys::enable_gro(&socket);
        let ecn_recv = sys::enable_ecn_recv(&socket, addr.is_ipv6());
        let std_socket: std::net::UdpSocket = socket.into();
        let io = tokio::net::UdpSocket::from_std(std_socket)?;
        Ok(Self {
            io,
            ipv6: addr.is_ipv6(),
            gso_segments: AtomicUsize::new(sys::max_gso_segments()),
            gro,
            mmsg: AtomicBool::new(cfg!(target_os = "linux")),
            ecn_send: AtomicBool::new(cfg!(target_os = "linux")),
            ecn_recv,
            send_buffer,
            recv_buffer,
        })
    }

    /// The address the socket is bound to.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.local_addr()
    }

    /// Datagrams one [`Transmit`] may hold (1 without GSO).
    pub fn max_gso_segments(&self) -> usize {
        self.gso_segments.load(Ordering::Relaxed)
    }

    /// Limits GSO to `n` segments per send (1 turns it off); it cannot be raised above what the
    /// kernel supports.
    pub fn set_max_gso_segments(&self, n: usize) {
        let n = n.clamp(1, sys::max_gso_segments());
        self.gso_segments.store(n, Ordering::Relaxed);
    }

    /// Whether the kernel may coalesce received datagrams (UDP GRO).
    pub fn gro_enabled(&self) -> bool {
        self.gro
    }

    /// Whether batched system calls are in use.
    pub fn mmsg_enabled(&self) -> bool {
        self.mmsg.load(Ordering::Relaxed)
    }

    /// Turns batched system calls off (tests of the fallback path).
    pub fn disable_mmsg(&self) {
        self.mmsg.store(false, Ordering::Relaxed);
    }

    /// Whether transmits' ECN codepoints are set in the IP header. The fallback path (no
    /// batched system calls) sends Not-ECT.
    pub fn ecn_send_enabled(&self) -> bool {
        self.ecn_send.load(Ordering::Relaxed) && self.mmsg_enabled()
    }

    /// Whether received datagrams report their ECN codepoint.
    pub fn ecn_recv_enabled(&self) -> bool {
        self.ecn_recv && self.mmsg_enabled()
    }

    /// The kernel's send and receive buffer sizes after setup.
    pub fn buffer_sizes(&self) -> (usize, usize) {
        (self.send_buffer, self.recv_buffer)
    }

    fn destination(&self, addr: SocketAddr) -> SocketAddr {
        match addr {
            SocketAddr::V4(v4) if self.ipv6 => {
                SocketAddr::V6(SocketAddrV6::new(v4.ip().to_ipv6_mapped(), v4.port(), 0, 0))
            }
            a => a,
        }
    }

    /// Sends as many of `transmits` as the socket takes now; returns how many were sent (or
    /// dropped for an error that concerns only them). `WouldBlock` if none could go.
    pub fn try_send(&self, transmits: &[Transmit<'_>]) -> io::Result<usize> {
        if transmits.is_empty() {
            return Ok(0);
        }
        let gso = self.max_gso_segments() > 1;
        let first = &transmits[0];
        let first_is_gso = first.segment() < first.contents.len();
        if first_is_gso && !gso && first.contents.len() / first.segment() >= BATCH_SIZE {
            // Too many segments for one sendmmsg once GSO is off.
            return self.try_send_plain(&transmits[..1]);
        }
        if self.mmsg_enabled() {
            let ecn = self.ecn_send.load(Ordering::Relaxed);
            let marked = ecn && transmits.iter().any(|t| t.ecn != EcnCodepoint::NotEct);
            match self.io.try_io(Interest::WRITABLE, || {
                sys::send_mmsg(self, transmits, gso, ecn)
            }) {
                Err(e) if e.raw_os_error() == Some(sys::ENOSYS) => self.disable_mmsg(),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Err(e),
                Err(e) if sys::is_cmsg_error(&e) && marked => {
                    // Some kernels refuse IP_TOS on IPv6 sockets or the cmsg altogether: send
                    // Not-ECT from now on; the connection's ECN validation sees the marks
                    // missing and stops marking. Nothing was sent, so retry at once.
                    tracing::debug!(%e, "ECN codepoint refused by the kernel; sending Not-ECT");
                    self.ecn_send.store(false, Ordering::Relaxed);
                    return self.try_send(transmits);
                }
                Err(e) if sys::is_gso_error(&e) && gso && first_is_gso => {
                    tracing::debug!(%e, "UDP GSO refused; falling back to one datagram per send");
                    self.set_max_gso_segments(1);
                    return Ok(1);
                }
                Err(e) => {
                    tracing::debug!(%e, to = %transmits[0].destination, "UDP send failed");
                    return Ok(1);
                }
                Ok(n) => return Ok(n),
            }
        }
        self.try_send_plain(transmits)
    }

    /// One `send_to` per datagram.
    fn try_send_plain(&self, transmits: &[Transmit<'_>]) -> io::Result<usize> {
        let mut sent = 0;
        for t in transmits {
            let to = self.destination(t.destination);
            for d in t.contents.chunks(t.segment()) {
                match self.io.try_send_to(d, to) {
                    Ok(_) => {}
                    // Partly sent transmits are retried whole: duplicates are harmless to QUIC.
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock && sent == 0 => return Err(e),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(sent),
                    Err(e) => {
                        tracing::debug!(%e, %to, "UDP send failed");
                        break;
                    }
                }
            }
            sent += 1;
        }
        Ok(sent)
    }

    /// Sends all of `transmits`, waiting for the socket as needed.
    pub async fn send(&self, transmits: &[Transmit<'_>]) -> io::Result<()> {
        let mut done = 0;
        while done < transmits.len() {
            match self.try_send(&transmits[done..]) {
                Ok(n) => done += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.io.writable().await?,
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Receives a batch of messages if any are waiting; returns how many. `WouldBlock` if none.
    pub fn try_recv(&self, bufs: &mut RecvBuffers) -> io::Result<usize> {
        bufs.meta.clear();
        if self.mmsg_enabled() {
            match self
                .io
                .try_io(Interest::READABLE, || sys::recv_mmsg(&self.io, bufs))
            {
                Err(e) if e.raw_os_error() == Some(sys::ENOSYS) => self.disable_mmsg(),
                r => return r,
            }
        }
        let slot = bufs.slot;
        let (len, source) = self.io.try_recv_from(&mut bufs.storage[..slot])?;
        bufs.meta.push(RecvMeta {
            source: canonical(source),
            len,
            stride: len,
            ecn: EcnCodepoint::NotEct,
        });
        Ok(1)
    }

    /// Receives a batch, waiting until something arrives.
    pub async fn recv(&self, bufs: &mut RecvBuffers) -> io::Result<usize> {
        loop {
            match self.try_recv(bufs) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.io.readable().await?,
                r => return r,
            }
        }
    }

    /// Waits until the socket may be readable.
    pub async fn readable(&self) -> io::Result<()> {
        self.io.readable().await
    }
}

/// IPv4-mapped IPv6 addresses (from a dual-stack socket) as plain IPv4.
fn canonical(addr: SocketAddr) -> SocketAddr {
    match addr {
        SocketAddr::V6(v6) => match v6.ip().to_ipv4_mapped() {
            Some(v4) => SocketAddr::new(IpAddr::V4(v4), v6.port()),
            None => addr,
        },
        a => a,
    }
}

/// Asks for large buffers, privileged first; returns what the kernel granted.
fn set_buffers(socket: &socket2::Socket) -> (usize, usize) {
    if !sys::force_buffers(socket, SOCKET_BUFFER) {
        if let Err(e) = socket.set_send_buffer_size(SOCKET_BUFFER) {
            tracing::debug!(%e, "SO_SNDBUF");
        }
        if let Err(e) = socket.set_recv_buffer_size(SOCKET_BUFFER) {
            tracing::debug!(%e, "SO_RCVBUF");
        }
    }
    (
        socket.send_buffer_size().unwrap_or(0),
        socket.recv_buffer_size().unwrap_or(0),
    )
}

#[allow(dead_code)] // the unspecified-address helper is used by tests and some platforms only
fn unspecified_v6(port: u16) -> SocketAddr {
    SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), port)
}

#[cfg(target_os = "linux")]
mod sys {
    use std::io;
    use std::mem;
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
    use std::os::fd::AsRawFd;
    use std::sync::OnceLock;

    use super::{canonical, EcnCodepoint, RecvBuffers, RecvMeta, Transmit, UdpSocket, BATCH_SIZE};
    use super::{MAX_GSO_PAYLOAD, MAX_GSO_SEGMENTS};

    pub const ENOSYS: i32 = libc::ENOSYS;
    /// `linux/udp.h`: the GSO segment size, as a socket option or a cmsg (u16).
    const UDP_SEGMENT: libc::c_int = 103;
    /// `linux/udp.h`: receive coalesced datagrams; the cmsg carries the segment size (int).
    const UDP_GRO: libc::c_int = 104;
    /// `asm-generic/socket.h`: buffer sizes beyond the sysctl limits (needs CAP_NET_ADMIN).
    const SO_SNDBUFFORCE: libc::c_int = 32;
    const SO_RCVBUFFORCE: libc::c_int = 33;

    /// A control-message buffer aligned for `cmsghdr`, large enough for a few int-sized cmsgs
    /// (`CMSG_SPACE(4)` is 24 on 64-bit targets: a GSO or GRO size and a TOS / Traffic Class)
    /// plus room the kernel may add.
    #[derive(Clone, Copy)]
    #[repr(C, align(8))]
    struct Cmsg([u8; 128]);

    fn setsockopt_int(
        fd: libc::c_int,
        level: libc::c_int,
        name: libc::c_int,
        value: libc::c_int,
    ) -> io::Result<()> {
        // SAFETY: `value` is a live c_int and its size is passed; the kernel only reads it.
        let rc = unsafe {
            libc::setsockopt(
                fd,
                level,
                name,
                (&value as *const libc::c_int).cast(),
                mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        if rc == 0 {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    }

    pub fn force_buffers(socket: &socket2::Socket, size: usize) -> bool {
        let fd = socket.as_raw_fd();
        let size = libc::c_int::try_from(size).unwrap_or(libc::c_int::MAX);
        setsockopt_int(fd, libc::SOL_SOCKET, SO_SNDBUFFORCE, size).is_ok()
            && setsockopt_int(fd, libc::SOL_SOCKET, SO_RCVBUFFORCE, size).is_ok()
    }

    pub fn enable_gro(socket: &socket2::Socket) -> bool {
        setsockopt_int(socket.as_raw_fd(), libc::SOL_UDP, UDP_GRO, 1).is_ok()
    }

    /// Asks for the TOS / Traffic Class byte of received datagrams: `IP_RECVTOS` for IPv4 and,
    /// on an IPv6 socket, `IPV6_RECVTCLASS` plus `IP_RECVTOS` for the IPv4 datagrams a
    /// dual-stack socket receives as mapped addresses. Returns whether any was accepted.
    pub fn enable_ecn_recv(socket: &socket2::Socket, ipv6: bool) -> bool {
        let fd = socket.as_raw_fd();
        let mut any = false;
        let mut ask = |level, name, what: &str| match setsockopt_int(fd, level, name, 1) {
            Ok(()) => any = true,
            Err(e) => tracing::debug!(%e, what, "received ECN codepoints unavailable"),
        };
        ask(libc::IPPROTO_IP, libc::IP_RECVTOS, "IP_RECVTOS");
        if ipv6 {
            ask(libc::IPPROTO_IPV6, libc::IPV6_RECVTCLASS, "IPV6_RECVTCLASS");
        }
        any
    }

    /// Errors by which the kernel refuses a control message (an ECN cmsg it does not take).
    pub fn is_cmsg_error(e: &io::Error) -> bool {
        matches!(e.raw_os_error(), Some(libc::EINVAL))
    }

    /// Appends one int-valued cmsg after those already in `hdr`'s control buffer of `cap`
    /// bytes; `hdr.msg_controllen` grows by its space.
    ///
    /// # Safety
    /// `hdr.msg_control` must point to an 8-aligned buffer of `cap` bytes, and
    /// `hdr.msg_controllen` must be the length of the well-formed cmsgs at its start.
    unsafe fn push_cmsg<T: Copy>(
        hdr: &mut libc::msghdr,
        cap: usize,
        level: libc::c_int,
        ty: libc::c_int,
        value: T,
    ) {
        // size_t on glibc, socklen_t on musl.
        let used: usize = hdr.msg_controllen as _;
        // SAFETY: pure size computation.
        let space = unsafe { libc::CMSG_SPACE(mem::size_of::<T>() as u32) } as usize;
        debug_assert!(used + space <= cap);
        if used + space > cap {
            return;
        }
        // SAFETY: the buffer starts 8-aligned and `used` is a sum of CMSG_SPACE values, so the
        // cmsg header at `used` is aligned; header and payload lie within `cap` (checked).
        unsafe {
            let cmsg = hdr
                .msg_control
                .cast::<u8>()
                .add(used)
                .cast::<libc::cmsghdr>();
            (*cmsg).cmsg_level = level;
            (*cmsg).cmsg_type = ty;
            (*cmsg).cmsg_len = libc::CMSG_LEN(mem::size_of::<T>() as u32) as _;
            std::ptr::write_unaligned(libc::CMSG_DATA(cmsg).cast::<T>(), value);
        }
        hdr.msg_controllen = (used + space) as _;
    }

    /// Whether the kernel takes UDP_SEGMENT, probed once on a throwaway socket.
    pub fn max_gso_segments() -> usize {
        static GSO: OnceLock<usize> = OnceLock::new();
        *GSO.get_or_init(|| {
            let Ok(s) = std::net::UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)) else {
                return 1;
            };
            match setsockopt_int(s.as_raw_fd(), libc::SOL_UDP, UDP_SEGMENT, 1200) {
                Ok(()) => MAX_GSO_SEGMENTS,
                Err(e) => {
                    tracing::debug!(%e, "UDP GSO unavailable");
                    1
                }
            }
        })
    }

    /// Errors by which the kernel or the device refuses GSO.
    pub fn is_gso_error(e: &io::Error) -> bool {
        matches!(e.raw_os_error(), Some(libc::EIO) | Some(libc::EINVAL))
    }

    /// A socket address in the C layout.
    fn sockaddr(addr: SocketAddr) -> (libc::sockaddr_storage, libc::socklen_t) {
        // SAFETY: an all-zero sockaddr_storage is valid (family AF_UNSPEC).
        let mut storage: libc::sockaddr_storage = unsafe { mem::zeroed() };
        let len = match addr {
            SocketAddr::V4(a) => {
                let sin = libc::sockaddr_in {
                    sin_family: libc::AF_INET as libc::sa_family_t,
                    sin_port: a.port().to_be(),
                    sin_addr: libc::in_addr {
                        s_addr: u32::from_ne_bytes(a.ip().octets()),
                    },
                    sin_zero: [0; 8],
                };
                // SAFETY: sockaddr_storage is larger than and aligned for sockaddr_in.
                unsafe {
                    std::ptr::write((&mut storage as *mut libc::sockaddr_storage).cast(), sin)
                };
                mem::size_of::<libc::sockaddr_in>()
            }
            SocketAddr::V6(a) => {
                let sin6 = libc::sockaddr_in6 {
                    sin6_family: libc::AF_INET6 as libc::sa_family_t,
                    sin6_port: a.port().to_be(),
                    sin6_flowinfo: a.flowinfo(),
                    sin6_addr: libc::in6_addr {
                        s6_addr: a.ip().octets(),
                    },
                    sin6_scope_id: a.scope_id(),
                };
                // SAFETY: sockaddr_storage is larger than and aligned for sockaddr_in6.
                unsafe {
                    std::ptr::write((&mut storage as *mut libc::sockaddr_storage).cast(), sin6)
                };
                mem::size_of::<libc::sockaddr_in6>()
            }
        };
        (storage, len as libc::socklen_t)
    }

    fn socket_addr(storage: &libc::sockaddr_storage) -> Option<SocketAddr> {
        match libc::c_int::from(storage.ss_family) {
            libc::AF_INET => {
                // SAFETY: the family says the kernel wrote a sockaddr_in, which fits and is
                // aligned within sockaddr_storage.
                let sin: libc::sockaddr_in =
                    unsafe { std::ptr::read((storage as *const libc::sockaddr_storage).cast()) };
                let ip = Ipv4Addr::from(sin.sin_addr.s_addr.to_ne_bytes());
                Some(SocketAddr::new(IpAddr::V4(ip), u16::from_be(sin.sin_port)))
            }
            libc::AF_INET6 => {
                // SAFETY: as above, for sockaddr_in6.
                let sin6: libc::sockaddr_in6 =
                    unsafe { std::ptr::read((storage as *const libc::sockaddr_storage).cast()) };
                let ip = Ipv6Addr::from(sin6.sin6_addr.s6_addr);
                Some(canonical(SocketAddr::V6(std::net::SocketAddrV6::new(
                    ip,
                    u16::from_be(sin6.sin6_port),
                    sin6.sin6_flowinfo,
                    sin6.sin6_scope_id,
                ))))
            }
            _ => None,
        }
    }

    /// Sends up to [`BATCH_SIZE`] transmits with one `sendmmsg`: each a plain datagram, a GSO
    /// message (`gso`), or, without GSO, one message per segment. Returns the transmits
    /// completed; a transmit cut short by `WouldBlock` is retried whole.
    pub fn send_mmsg(
        socket: &UdpSocket,
        transmits: &[Transmit<'_>],
        gso: bool,
        ecn: bool,
    ) -> io::Result<usize> {
        let fd = socket.io.as_raw_fd();
        // SAFETY: all-zero mmsghdr (null pointers, zero lengths) and iovec are valid values.
        let mut msgs: [libc::mmsghdr; BATCH_SIZE] = unsafe { mem::zeroed() };
        // SAFETY: as above.
        let mut iovs: [libc::iovec; BATCH_SIZE] = unsafe { mem::zeroed() };
        // SAFETY: as above (AF_UNSPEC storage).
        let mut names: [libc::sockaddr_storage; BATCH_SIZE] = unsafe { mem::zeroed() };
        let mut cmsgs = [Cmsg([0; 128]); BATCH_SIZE];
        // For each message: the transmit it belongs to and whether it ends that transmit.
        let mut owner = [(0usize, false); BATCH_SIZE];
        let mut n = 0;
        'fill: for (ti, t) in transmits.iter().enumerate() {
            let segment = t.segment();
            let segments: Vec<&[u8]> = if gso || segment >= t.contents.len() {
                vec![t.contents]
            } else {
                t.contents.chunks(segment).collect()
            };
            if n + segments.len() > BATCH_SIZE && n > 0 {
                break 'fill;
            }
            let (name, name_len) = sockaddr(socket.destination(t.destination));
            // An IPv4 destination, mapped or not, goes out in an IPv4 header: its ECN field is
            // set through IP_TOS even on an IPv6 socket.
            let ipv4 = match t.destination {
                SocketAddr::V4(_) => true,
                SocketAddr::V6(a) => a.ip().to_ipv4_mapped().is_some(),
            };
            let count = segments.len();
            for (si, data) in segments.into_iter().enumerate() {
                if n == BATCH_SIZE {
                    break 'fill;
                }
                names[n] = name;
                iovs[n] = libc::iovec {
                    iov_base: data.as_ptr() as *mut libc::c_void,
                    iov_len: data.len(),
                };
                let hdr = &mut msgs[n].msg_hdr;
                hdr.msg_name = (&mut names[n] as *mut libc::sockaddr_storage).cast();
                hdr.msg_namelen = name_len;
                hdr.msg_iov = &mut iovs[n];
                hdr.msg_iovlen = 1;
                hdr.msg_control = cmsgs[n].0.as_mut_ptr().cast();
                hdr.msg_controllen = 0;
                let cap = mem::size_of::<Cmsg>();
                if gso && segment < data.len() {
                    debug_assert!(data.len() <= MAX_GSO_PAYLOAD);
                    // SAFETY: msg_control points to this message's own aligned Cmsg buffer of
                    // `cap` bytes, empty so far.
                    unsafe { push_cmsg(hdr, cap, libc::SOL_UDP, UDP_SEGMENT, segment as u16) };
                }
                if ecn && t.ecn != EcnCodepoint::NotEct {
                    // One cmsg per message: all segments of a GSO send share the codepoint.
                    let tos = libc::c_int::from(t.ecn.to_bits());
                    let (level, ty) = if ipv4 {
                        (libc::IPPROTO_IP, libc::IP_TOS)
                    } else {
                        (libc::IPPROTO_IPV6, libc::IPV6_TCLASS)
                    };
                    // SAFETY: as above; the buffer holds at most the GSO cmsg so far, and two
                    // int-sized cmsgs fit in it.
                    unsafe { push_cmsg(hdr, cap, level, ty, tos) };
                }
                if hdr.msg_controllen == 0 {
                    hdr.msg_control = std::ptr::null_mut();
                }
                owner[n] = (ti, si + 1 == count);
                n += 1;
            }
        }
        loop {
            // SAFETY: the first `n` headers point to names, iovecs, payloads and control
            // buffers that all outlive the call; the kernel reads them and writes msg_len.
            let rc = unsafe { libc::sendmmsg(fd, msgs.as_mut_ptr(), n as libc::c_uint, 0) };
            if rc >= 0 {
                let sent = rc as usize;
                if sent == 0 {
                    return Err(io::ErrorKind::WouldBlock.into());
                }
                // Count transmits whose last message went out.
                let (ti, last) = owner[sent - 1];
                // A transmit cut short loses its remaining datagrams unless it can be retried
                // whole (when it is not the first one).
                return Ok(if last { ti + 1 } else { ti.max(1) });
            }
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(e);
            }
        }
    }

    /// Receives up to [`BATCH_SIZE`] messages with one `recvmmsg`, reading GRO segment sizes.
    pub fn recv_mmsg(io: &tokio::net::UdpSocket, bufs: &mut RecvBuffers) -> io::Result<usize> {
        let fd = io.as_raw_fd();
        let slot = bufs.slot;
        // SAFETY: all-zero values of these C structs are valid.
        let mut msgs: [libc::mmsghdr; BATCH_SIZE] = unsafe { mem::zeroed() };
        // SAFETY: as above.
        let mut iovs: [libc::iovec; BATCH_SIZE] = unsafe { mem::zeroed() };
        // SAFETY: as above.
        let mut names: [libc::sockaddr_storage; BATCH_SIZE] = unsafe { mem::zeroed() };
        let mut cmsgs = [Cmsg([0; 128]); BATCH_SIZE];
        for (i, chunk) in bufs.storage.chunks_mut(slot).take(BATCH_SIZE).enumerate() {
            iovs[i] = libc::iovec {
                iov_base: chunk.as_mut_ptr().cast(),
                iov_len: chunk.len(),
            };
            let hdr = &mut msgs[i].msg_hdr;
            hdr.msg_name = (&mut names[i] as *mut libc::sockaddr_storage).cast();
            hdr.msg_namelen = mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
            hdr.msg_iov = &mut iovs[i];
            hdr.msg_iovlen = 1;
            hdr.msg_control = cmsgs[i].0.as_mut_ptr().cast();
            hdr.msg_controllen = mem::size_of::<Cmsg>() as _;
        }
        let rc = loop {
            // SAFETY: each header points to a distinct slot of `bufs.storage`, a name and a
            // control buffer, all alive for the call; the kernel writes within their lengths.
            let rc = unsafe {
                libc::recvmmsg(
                    fd,
                    msgs.as_mut_ptr(),
                    BATCH_SIZE as libc::c_uint,
                    0,
                    std::ptr::null_mut(),
                )
            };
            if rc >= 0 {
                break rc as usize;
            }
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(e);
            }
        };
        for i in 0..rc {
            let len = msgs[i].msg_len as usize;
            let Some(source) = socket_addr(&names[i]) else {
                continue;
            };
            let mut stride = len;
            let mut ecn = EcnCodepoint::NotEct;
            let hdr = &msgs[i].msg_hdr;
            // SAFETY: the kernel filled msg_control up to msg_controllen with well-formed
            // cmsgs; CMSG_FIRSTHDR/CMSG_NXTHDR stay within it and return null at its end.
            unsafe {
                let mut cmsg = libc::CMSG_FIRSTHDR(hdr);
                while !cmsg.is_null() {
                    if (*cmsg).cmsg_level == libc::SOL_UDP && (*cmsg).cmsg_type == UDP_GRO {
                        let size =
                            std::ptr::read_unaligned(libc::CMSG_DATA(cmsg).cast::<libc::c_int>());
                        if size > 0 {
                            stride = size as usize;
                        }
                    }
                    // IP_RECVTOS delivers IP_TOS as one byte; IPV6_RECVTCLASS delivers
                    // IPV6_TCLASS as an int. Some kernels have sent IP_TOS as an int: read
                    // the first byte only when the payload is one byte, else the int.
                    let level = (*cmsg).cmsg_level;
                    let ty = (*cmsg).cmsg_type;
                    if (level == libc::IPPROTO_IP && ty == libc::IP_TOS)
                        || (level == libc::IPPROTO_IPV6 && ty == libc::IPV6_TCLASS)
                    {
                        let payload = ((*cmsg).cmsg_len as usize)
                            .saturating_sub(libc::CMSG_DATA(cmsg) as usize - cmsg as usize);
                        let tos = if payload >= mem::size_of::<libc::c_int>() {
                            Some(std::ptr::read_unaligned(
                                libc::CMSG_DATA(cmsg).cast::<libc::c_int>(),
                            ) as u8)
                        } else {
                            (payload > 0).then(|| *libc::CMSG_DATA(cmsg))
                        };
                        ecn = tos.map_or(EcnCodepoint::NotEct, EcnCodepoint::from_bits);
                    }
                    cmsg = libc::CMSG_NXTHDR(hdr, cmsg);
                }
            }
            if hdr.msg_flags & libc::MSG_TRUNC != 0 {
                tracing::debug!(%source, "truncated datagram dropped");
                continue;
            }
            // Keep the slot index aligned with the meta index: move a later slot down if a
            // message was skipped.
            let at = bufs.meta.len();
            if at != i {
                bufs.storage
                    .copy_within(i * slot..i * slot + len, at * slot);
            }
            bufs.meta.push(RecvMeta {
                source,
                len,
                stride,
                ecn,
            });
        }
        Ok(bufs.meta.len())
    }
}

#[cfg(not(target_os = "linux"))]
mod sys {
    use std::io;

    use super::{RecvBuffers, Transmit, UdpSocket};

    pub const ENOSYS: i32 = -1;

    pub fn force_buffers(_: &socket2::Socket, _: usize) -> bool {
        false
    }
    pub fn enable_gro(_: &socket2::Socket) -> bool {
        false
    }
    pub fn enable_ecn_recv(_: &socket2::Socket, _: bool) -> bool {
        false
    }
    pub fn is_cmsg_error(_: &io::Error) -> bool {
        false
    }
    pub fn max_gso_segments() -> usize {
        1
    }
    pub fn is_gso_error(_: &io::Error) -> bool {
        false
    }
    pub fn send_mmsg(_: &UdpSocket, _: &[Transmit<'_>], _: bool, _: bool) -> io::Result<usize> {
        Err(io::Error::from_raw_os_error(ENOSYS))
    }
    pub fn recv_mmsg(_: &tokio::net::UdpSocket, _: &mut RecvBuffers) -> io::Result<usize> {
        Err(io::Error::from_raw_os_error(ENOSYS))
    }
}

#[cfg(test)]
mod tests;

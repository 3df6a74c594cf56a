//! The endpoint: routes incoming datagrams to connections by connection ID and answers what
//! needs no connection state (RFC 9000 §5.2): Version Negotiation for unknown versions,
//! CONNECTION_REFUSED when full, and stateless resets for unknown short-header packets.
//!
//! Like quinn-proto, the endpoint does not own connections: it returns a
//! [`ConnectionHandle`] with each routed datagram, and the caller drives the connection.

use std::collections::HashMap;
use std::net::SocketAddr;

use bytes::BytesMut;
use rand::rngs::StdRng;
use rand::{Rng, RngCore, SeedableRng};

use crate::cid::{ConnectionId, MAX_CID_LEN};
use crate::connection::cids::{reset_token_for, ResetToken};
use crate::connection::{ClientConfig, Connection, ConnectionParams, EndpointEvent, ServerConfig};
use crate::crypto::Side;
use crate::packet::{
    encode_version_negotiation, peek_invariant_header, LongType, PacketDecodeError, PartialDecode,
    ProtectedHeader, FIXED_BIT, LONG_HEADER_FORM,
};
use crate::tls::TlsSession;
use crate::transport_error::TransportError;
use crate::Version;

mod refuse;
#[cfg(test)]
mod tests;

/// RFC 9000 §14.1: the smallest datagram a client Initial may arrive in.
pub const MIN_INITIAL_SIZE: usize = 1200;
/// RFC 9000 §10.3: short-header packets below 21 bytes are never valid.
pub const MIN_SHORT_PACKET_SIZE: usize = 21;

/// Endpoint-wide settings.
#[derive(Debug, Clone)]
pub struct EndpointConfig {
    /// Length of the connection IDs we issue (4..=20; short headers carry no length).
    pub local_cid_len: usize,
    /// Key for stateless reset tokens (RFC 9000 §10.3.2). Keep it stable across restarts so
    /// that resets still work for connections of a previous process.
    pub reset_key: [u8; 32],
    /// Seed of the endpoint's random source (connection IDs, GREASE, reset padding). The core
    /// never reads ambient randomness; the runtime seeds this from the OS.
    pub rng_seed: u64,
    /// Versions we accept, in order of preference.
    pub supported_versions: Vec<Version>,
    /// Connections the endpoint holds at most; beyond this, new ones are refused
    /// (RFC 9000 §5.2.2: CONNECTION_REFUSED).
    pub max_connections: usize,
    /// Whether to send stateless resets for packets of unknown connections.
    pub stateless_reset: bool,
}

impl Default for EndpointConfig {
    fn default() -> Self {
        Self {
            local_cid_len: 8,
            reset_key: [0x5a; 32],
            rng_seed: 0,
            supported_versions: Version::SUPPORTED.to_vec(),
            max_connections: 100_000,
            stateless_reset: true,
        }
    }
}

/// Identifies a connection within its endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnectionHandle(pub usize);

/// A datagram to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// Where to.
    pub destination: SocketAddr,
    /// The datagram.
    pub contents: Vec<u8>,
}

/// A client Initial for a connection we do not have yet (server side). Accept or refuse it.
#[derive(Debug)]
pub struct Incoming {
    /// Peer address.
    pub remote: SocketAddr,
    /// The QUIC version the client chose.
    pub version: Version,
    /// The client's chosen Destination Connection ID (keys the Initial secrets).
    pub original_dst_cid: ConnectionId,
    /// The client's Source Connection ID.
    pub src_cid: ConnectionId,
    /// The whole datagram, for the new connection to process.
    pub datagram: BytesMut,
    /// The ECN codepoint it arrived with: Not-ECT from [`Endpoint::handle`]; a caller that read
    /// the IP header sets it before [`Endpoint::accept`], so that the client's first Initial
    /// counts in the ACK_ECN counts (RFC 9000 §13.4.1).
    pub ecn: crate::recovery::EcnCodepoint,
}

/// What the endpoint made of a datagram.
#[derive(Debug)]
pub enum DatagramEvent {
    /// It belongs to an existing connection.
    Known(ConnectionHandle, BytesMut),
    /// A client wants a new connection.
    NewConnection(Incoming),
    /// Answer it without a connection (Version Negotiation, stateless reset).
    Response(Transmit),
}

#[derive(Debug)]
struct ConnectionMeta {
    /// IDs routed here: ours, plus the client's original DCID until the handshake ends.
    cids: Vec<ConnectionId>,
    initial_key: Option<(SocketAddr, ConnectionId)>,
    reset_tokens: Vec<ResetToken>,
}

/// Routes datagrams among the connections of one UDP socket.
#[derive(Debug)]
pub struct Endpoint {
    config: EndpointConfig,
    is_server: bool,
    rng: StdRng,
    reset_key: ring::hmac::Key,
    by_cid: HashMap<ConnectionId, ConnectionHandle>,
    /// A client retransmits its first Initial to the DCID it chose until it hears from us, so
    /// those are routed by (address, DCID) too.
    by_initial: HashMap<(SocketAddr, ConnectionId), ConnectionHandle>,
    /// The peers' stateless-reset tokens, to recognise resets of our connections.
    by_reset_token: HashMap<ResetToken, ConnectionHandle>,
    connections: Vec<Option<ConnectionMeta>>,
    free: Vec<usize>,
    live: usize,
}

impl Endpoint {
    /// A new endpoint; `is_server` makes it accept connections.
    pub fn new(config: EndpointConfig, is_server: bool) -> Self {
        assert!(
            (4..=MAX_CID_LEN).contains(&config.local_cid_len),
            "local connection IDs must be 4..=20 bytes to route and to resist guessing"
        );
        let reset_key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &config.reset_key);
        Self {
            rng: StdRng::seed_from_u64(config.rng_seed),
            config,
            is_server,
            reset_key,
            by_cid: HashMap::new(),
            by_initial: HashMap::new(),
            by_reset_token: HashMap::new(),
            connections: Vec::new(),
            free: Vec::new(),
            live: 0,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &EndpointConfig {
        &self.config
    }

    /// Connections currently registered.
    pub fn connection_count(&self) -> usize {
        self.live
    }

    /// Generates a fresh local connection ID not yet in use.
    pub fn new_cid(&mut self) -> ConnectionId {
        loop {
            let mut bytes = [0u8; MAX_CID_LEN];
            self.rng.fill_bytes(&mut bytes[..self.config.local_cid_len]);
            let cid = ConnectionId::new(&bytes[..self.config.local_cid_len])
                .expect("local_cid_len is at most 20");
            if !self.by_cid.contains_key(&cid) {
                return cid;
            }
        }
    }

    /// The stateless reset token of one of our connection IDs.
    pub fn reset_token(&self, cid: &ConnectionId) -> ResetToken {
        reset_token_for(&self.reset_key, cid)
    }

    /// The endpoint's random source, for connections it creates.
    pub fn rng(&mut self) -> &mut StdRng {
        &mut self.rng
    }

    /// Registers a connection with its first local ID (and, on a server, the client's original
    /// DCID and address, for retransmitted Initials).
    pub fn register(
        &mut self,
        local_cid: ConnectionId,
        initial: Option<(SocketAddr, ConnectionId)>,
    ) -> ConnectionHandle {
        let meta = ConnectionMeta {
            cids: vec![local_cid],
            initial_key: initial,
            reset_tokens: Vec::new(),
        };
        let index = match self.free.pop() {
            Some(i) => {
                self.connections[i] = Some(meta);
                i
            }
            None => {
                self.connections.push(Some(meta));
                self.connections.len() - 1
            }
        };
        let handle = ConnectionHandle(index);
        self.by_cid.insert(local_cid, handle);
        if let Some(key) = initial {
            self.by_initial.insert(key, handle);
        }
        self.live += 1;
        handle
    }

    /// Routes another of our IDs to `handle` (after issuing NEW_CONNECTION_ID).
    pub fn add_cid(&mut self, handle: ConnectionHandle, cid: ConnectionId) {
        if let Some(Some(meta)) = self.connections.get_mut(handle.0) {
            meta.cids.push(cid);
            self.by_cid.insert(cid, handle);
        }
    }

    /// Stops routing a retired ID.
    pub fn retire_cid(&mut self, handle: ConnectionHandle, cid: &ConnectionId) {
        if let Some(Some(meta)) = self.connections.get_mut(handle.0) {
            meta.cids.retain(|c| c != cid);
            if self.by_cid.get(cid) == Some(&handle) {
                self.by_cid.remove(cid);
            }
        }
    }

    /// Stops routing by the client's original DCID (once the handshake is confirmed).
    pub fn forget_initial(&mut self, handle: ConnectionHandle) {
        if let Some(Some(meta)) = self.connections.get_mut(handle.0) {
            if let Some(key) = meta.initial_key.take() {
                self.by_initial.remove(&key);
            }
        }
    }

    /// Forgets a connection entirely.
    pub fn remove(&mut self, handle: ConnectionHandle) {
        let Some(slot) = self.connections.get_mut(handle.0) else {
            return;
        };
        let Some(meta) = slot.take() else { return };
        for cid in &meta.cids {
            if self.by_cid.get(cid) == Some(&handle) {
                self.by_cid.remove(cid);
            }
        }
        if let Some(key) = meta.initial_key {
            self.by_initial.remove(&key);
        }
        for token in &meta.reset_tokens {
            if self.by_reset_token.get(token) == Some(&handle) {
                self.by_reset_token.remove(token);
            }
        }
        self.free.push(handle.0);
        self.live -= 1;
    }

    /// Classifies one received datagram.
    pub fn handle(&mut self, remote: SocketAddr, datagram: BytesMut) -> Option<DatagramEvent> {
        let first = *datagram.first()?;
        if first & LONG_HEADER_FORM == 0 {
            return self.handle_short(remote, datagram);
        }
        let invariant = peek_invariant_header(&datagram)?;
        if invariant.version != 0 {
            let supported = Version::from_u32(invariant.version)
                .filter(|v| self.config.supported_versions.contains(v));
            if supported.is_none() {
                return self.version_negotiation(remote, &datagram);
            }
        }
        // Route by our connection ID first.
        if let Ok(dcid) = ConnectionId::new(invariant.dst_cid) {
            if let Some(&h) = self.by_cid.get(&dcid) {
                return Some(DatagramEvent::Known(h, datagram));
            }
            if let Some(&h) = self.by_initial.get(&(remote, dcid)) {
                return Some(DatagramEvent::Known(h, datagram));
            }
        }
        if !self.is_server {
            return None; // RFC 9000 §5.2.1: a client drops what it cannot route
        }
        self.new_connection(remote, datagram)
    }

    fn handle_short(&mut self, remote: SocketAddr, datagram: BytesMut) -> Option<DatagramEvent> {
        let cid_len = self.config.local_cid_len;
        let dcid = ConnectionId::new(datagram.get(1..1 + cid_len)?).ok()?;
        if let Some(&h) = self.by_cid.get(&dcid) {
            return Some(DatagramEvent::Known(h, datagram));
        }
        // RFC 9000 §10.3.1: an unroutable datagram ending in a peer's reset token is a
        // stateless reset for that connection; never answer it with a reset of our own.
        if datagram.len() >= MIN_SHORT_PACKET_SIZE {
            let tail: ResetToken = datagram[datagram.len() - 16..].try_into().ok()?;
            if let Some(&h) = self.by_reset_token.get(&tail) {
                return Some(DatagramEvent::Known(h, datagram));
            }
        }
        self.stateless_reset(remote, &dcid, datagram.len())
    }

    /// RFC 9000 §10.3: answer a short-header packet of an unknown connection with a stateless
    /// reset, so a peer whose state we lost (e.g. after a restart) learns it at once.
    fn stateless_reset(
        &mut self,
        remote: SocketAddr,
        dcid: &ConnectionId,
        received_len: usize,
    ) -> Option<DatagramEvent> {
        // RFC 9000 §10.3: packets below 21 bytes are invalid and dropped; the reset must be
        // smaller than the packet that triggered it (§10.3.3: so two endpoints cannot loop) and
        // at least 21 bytes to look like a short-header packet.
        if !self.config.stateless_reset || received_len <= MIN_SHORT_PACKET_SIZE {
            return None;
        }
        let max_len = (received_len - 1).min(MIN_SHORT_PACKET_SIZE + 20);
        let len = self.rng.random_range(MIN_SHORT_PACKET_SIZE..=max_len);
        let mut contents = vec![0u8; len];
        self.rng.fill_bytes(&mut contents[..len - 16]);
        // RFC 9000 §10.3: formatted as a short header: form bit 0, fixed bit 1.
        contents[0] = (contents[0] & !LONG_HEADER_FORM) | FIXED_BIT;
        contents[len - 16..].copy_from_slice(&self.reset_token(dcid));
        Some(DatagramEvent::Response(Transmit {
            destination: remote,
            contents,
        }))
    }

    fn version_negotiation(
        &mut self,
        remote: SocketAddr,
        datagram: &[u8],
    ) -> Option<DatagramEvent> {
        // RFC 9000 §5.2.2 / §6.1: only a server answers, only for datagrams large enough to
        // start a connection, and never a Version Negotiation packet (§6.1: MUST NOT).
        if !self.is_server || datagram.len() < MIN_INITIAL_SIZE {
            return None;
        }
        let invariant = peek_invariant_header(datagram)?;
        if invariant.version == 0 {
            return None;
        }
        let mut versions: Vec<u32> = self
            .config
            .supported_versions
            .iter()
            .map(|v| v.to_u32())
            .collect();
        // RFC 9000 §6.3: include a reserved version so clients keep tolerating unknown ones.
        versions.push(0x0a0a_0a0a | (self.rng.random::<u32>() & 0xf0f0_f0f0));
        let mut contents = Vec::with_capacity(64);
        encode_version_negotiation(&invariant, self.rng.random(), &versions, &mut contents);
        Some(DatagramEvent::Response(Transmit {
            destination: remote,
            contents,
        }))
    }

    fn new_connection(&mut self, remote: SocketAddr, datagram: BytesMut) -> Option<DatagramEvent> {
        // RFC 9000 §14.1: a server MUST discard an Initial in a datagram below 1200 bytes.
        if datagram.len() < MIN_INITIAL_SIZE {
            return None;
        }
        let (partial, _) =
            match PartialDecode::new(datagram.clone(), self.config.local_cid_len, false) {
                Ok(p) => p,
                Err(PacketDecodeError::UnsupportedVersion { .. }) | Err(_) => return None,
            };
        let ProtectedHeader::Initial {
            version,
            dst_cid,
            src_cid,
        } = *partial.header()
        else {
            // RFC 9000 §5.2.2: 0-RTT before its Initial and stray Handshake packets are dropped.
            return None;
        };
        // RFC 9000 §7.2: a client's first Destination Connection ID is at least 8 bytes.
        if dst_cid.len() < 8 {
            return None;
        }
        let incoming = Incoming {
            remote,
            version,
            original_dst_cid: dst_cid,
            src_cid,
            datagram,
            ecn: crate::recovery::EcnCodepoint::NotEct,
        };
        if self.live >= self.config.max_connections {
            // RFC 9000 §5.2.2: refuse with CONNECTION_REFUSED in an Initial packet.
            return Some(DatagramEvent::Response(refuse::connection_refused(
                &incoming, self,
            )));
        }
        Some(DatagramEvent::NewConnection(incoming))
    }
}

impl Endpoint {
    /// Starts a client connection to `remote`, authenticating the server as `server_name`.
    pub fn connect(
        &mut self,
        now: std::time::Instant,
        config: &ClientConfig,
        remote: SocketAddr,
        server_name: &str,
    ) -> Result<(ConnectionHandle, Connection), TransportError> {
        let local_cid = self.new_cid();
        // RFC 9000 §7.2: the client's first Destination Connection ID is unpredictable and at
        // least 8 bytes long.
        let mut dcid = [0u8; 16];
        self.rng.fill_bytes(&mut dcid);
        let dcid = ConnectionId::new(&dcid).expect("16 bytes");
        let params = Connection::local_params(
            &config.transport,
            &config.transport.streams,
            Side::Client,
            local_cid,
            None,
            None,
        );
        let mut encoded = Vec::new();
        params.encode(&mut encoded);
        let tls = TlsSession::client(config.tls.clone(), server_name, config.version, encoded)?;
        let conn = Connection::new(
            now,
            ConnectionParams {
                side: Side::Client,
                version: config.version,
                config: config.transport.clone(),
                tls,
                remote,
                local_cid,
                local_cid_len: self.config.local_cid_len,
                remote_cid: dcid,
                original_dst_cid: dcid,
                reset_key: self.reset_key.clone(),
                rng_seed: self.rng.random(),
            },
        );
        let handle = self.register(local_cid, None);
        Ok((handle, conn))
    }

    /// Accepts a client's connection attempt and processes its first datagram. Fails, keeping
    /// nothing, when TLS cannot start or no packet of that datagram authenticates.
    pub fn accept(
        &mut self,
        now: std::time::Instant,
        incoming: Incoming,
        config: &ServerConfig,
    ) -> Result<(ConnectionHandle, Connection), TransportError> {
        let local_cid = self.new_cid();
        let params = Connection::local_params(
            &config.transport,
            &config.transport.streams,
            Side::Server,
            local_cid,
            Some(incoming.original_dst_cid),
            Some(self.reset_token(&local_cid)),
        );
        let mut encoded = Vec::new();
        params.encode(&mut encoded);
        let tls = TlsSession::server(config.tls.clone(), incoming.version, encoded)?;
        let mut conn = Connection::new(
            now,
            ConnectionParams {
                side: Side::Server,
                version: incoming.version,
                config: config.transport.clone(),
                tls,
                remote: incoming.remote,
                local_cid,
                local_cid_len: self.config.local_cid_len,
                remote_cid: incoming.src_cid,
                original_dst_cid: incoming.original_dst_cid,
                reset_key: self.reset_key.clone(),
                rng_seed: self.rng.random(),
            },
        );
        let remote = incoming.remote;
        conn.handle_datagram_ecn(now, remote, incoming.ecn, incoming.datagram);
        // RFC 9000 §5.2: an Initial that fails authentication is discarded and any change
        // made while processing it reverted. Its header is unauthenticated: keeping a
        // connection for it would take a corrupted Source Connection ID as the peer's (the
        // replies go nowhere) and hold the (address, DCID) route, so the client's intact
        // retransmission would reach that dead connection; once it timed out, a second
        // connection (a second server SCID: the interop runner counts two handshakes) would
        // answer the same client.
        if !conn.processed_any_packet() {
            return Err(TransportError::protocol_violation(
                "the first datagram has no packet that authenticates",
            ));
        }
        let handle = self.register(local_cid, Some((remote, incoming.original_dst_cid)));
        Ok((handle, conn))
    }

    /// Applies something a connection asked of the endpoint.
    pub fn handle_event(&mut self, handle: ConnectionHandle, event: EndpointEvent) {
        match event {
            EndpointEvent::NewCid(cid) => self.add_cid(handle, cid),
            EndpointEvent::RetireCid(cid) => self.retire_cid(handle, &cid),
            EndpointEvent::HandshakeConfirmed => self.forget_initial(handle),
            EndpointEvent::ResetToken(token) => {
                if let Some(Some(meta)) = self.connections.get_mut(handle.0) {
                    // Bounded by the peer's connection IDs we accept (active_connection_id_limit
                    // plus retired ones); cap it anyway.
                    if meta.reset_tokens.len() < 64 {
                        meta.reset_tokens.push(token);
                        self.by_reset_token.insert(token, handle);
                    }
                }
            }
            EndpointEvent::Drained => self.remove(handle),
        }
    }
}

/// Whether a long-header packet type starts a connection.
pub fn is_initial(first_byte: u8, version: Version) -> bool {
    first_byte & LONG_HEADER_FORM != 0
        && LongType::from_bits(first_byte >> 4, version) == LongType::Initial
}

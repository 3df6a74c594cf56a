//! The connection state machine (RFC 9000, RFC 9001, RFC 9002), sans-IO.
//!
//! A [`Connection`] is driven by its owner: [`handle_datagram`](Connection::handle_datagram)
//! for what arrives, [`poll_transmit`](Connection::poll_transmit) for what to send,
//! [`poll_timeout`](Connection::poll_timeout) / [`handle_timeout`](Connection::handle_timeout)
//! for timers, and [`poll_event`](Connection::poll_event) for what the application should know.
//! Time only enters through `now` arguments.
//!
//! The work is spread by concern: `recv.rs` handles packets and frames, `send.rs` builds
//! packets, `timers.rs` runs the clock-driven parts and closing, `spaces.rs` holds the per
//! packet-number-space state, `cids.rs` the connection IDs, `ecn.rs` ECN marking and validation
//! on the path.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use rand::rngs::StdRng;
use rand::SeedableRng;

use crate::cid::ConnectionId;
use crate::crypto::Side;
use crate::recovery::{AckOutcome, EcnCodepoint, PacketSpace, Recovery, RecoveryConfig};
use crate::stream::{Dir, RecvStream, SendStream, StreamEvent, StreamId, StreamsState};
use crate::tls::TlsSession;
use crate::transport_error::{TransportError, TransportErrorCode};
use crate::transport_params::TransportParameters;
use crate::{VarInt, Version};

pub mod cids;
mod config;
mod ecn;
mod paths;
mod recv;
mod send;
mod sent;
mod spaces;
mod timers;

#[cfg(test)]
mod ecn_tests;
#[cfg(test)]
mod migration_tests;
#[cfg(test)]
mod tests;

pub use config::{ClientConfig, ServerConfig, TransportConfig};
pub use ecn::EcnState;
pub use paths::PathStats;
pub use send::Transmit;
pub use sent::{SentFrame, SentFrames};

use cids::{LocalCids, RemoteCids};
use spaces::Space;

/// Why a connection ended.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConnectionError {
    /// We closed it because the peer broke the protocol (we sent this CONNECTION_CLOSE).
    #[error("closed by us: {0}")]
    LocalTransport(TransportError),
    /// The peer closed it with a transport error.
    #[error("closed by peer: {0}")]
    PeerTransport(TransportError),
    /// An application closed it (CONNECTION_CLOSE of type 0x1d).
    #[error("application closed ({}): code {code}, reason {reason:?}", if *.local { "locally" } else { "by peer" })]
    ApplicationClosed {
        /// Whether we closed it.
        local: bool,
        /// The application's error code.
        code: VarInt,
        /// The reason phrase.
        reason: String,
    },
    /// Nothing was received for the idle timeout (RFC 9000 §10.1).
    #[error("idle timeout")]
    TimedOut,
    /// The peer sent a stateless reset (RFC 9000 §10.3).
    #[error("stateless reset by peer")]
    Reset,
    /// The server supports none of our versions (RFC 9000 §6.2).
    #[error("no common QUIC version")]
    VersionMismatch,
}

/// Something the application should know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The handshake completed: streams can be used.
    Connected,
    /// A stream event.
    Stream(StreamEvent),
    /// A DATAGRAM frame arrived (RFC 9221).
    Datagram(Bytes),
    /// The connection is closed (it may still be draining).
    Closed(ConnectionError),
}

/// Something the endpoint must do for this connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EndpointEvent {
    /// Route this new ID of ours to the connection.
    NewCid(ConnectionId),
    /// Stop routing this ID.
    RetireCid(ConnectionId),
    /// The handshake is confirmed: stop routing by the client's original DCID.
    HandshakeConfirmed,
    /// A stateless-reset token the peer gave us: datagrams ending in it that cannot be
    /// routed are stateless resets for this connection (RFC 9000 §10.3.1).
    ResetToken([u8; 16]),
    /// The connection is finished; forget it.
    Drained,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    Handshake,
    Established,
    /// We sent CONNECTION_CLOSE; resend it when packets arrive, until the deadline
    /// (RFC 9000 §10.2.1).
    Closing {
        until: Instant,
    },
    /// The peer closed; send nothing until the deadline (RFC 9000 §10.2.2).
    Draining {
        until: Instant,
    },
    Drained,
}

/// The CONNECTION_CLOSE to send while closing.
#[derive(Debug, Clone)]
enum CloseFrame {
    Transport(TransportError),
    Application { code: VarInt, reason: Bytes },
}

/// Counters for tests, logging and benchmarks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ConnectionStats {
    /// UDP datagrams sent.
    pub datagrams_sent: u64,
    /// UDP datagrams received.
    pub datagrams_received: u64,
    /// Bytes of UDP payload sent.
    pub bytes_sent: u64,
    /// Bytes of UDP payload received.
    pub bytes_received: u64,
    /// Packets that failed to decrypt or parse and were dropped.
    pub packets_dropped: u64,
    /// Packets declared lost.
    pub packets_lost: u64,
    /// Key updates performed (RFC 9001 §6).
    pub key_updates: u64,
    /// Datagrams sent with ECT(0) (RFC 9000 §13.4).
    pub datagrams_sent_ect0: u64,
    /// Datagrams received with ECT(0), ECT(1) or ECN-CE.
    pub datagrams_received_ect: u64,
    /// Datagrams received with ECN-CE.
    pub datagrams_received_ce: u64,
}

/// One QUIC connection.
pub struct Connection {
    side: Side,
    version: Version,
    state: State,
    config: Arc<TransportConfig>,
    tls: TlsSession,
    spaces: [Space; 3],
    /// Level TLS currently writes at.
    tls_write_space: PacketSpace,
    /// Secrets for the next 1-RTT key phase (RFC 9001 §6).
    next_secrets: Option<rustls::quic::Secrets>,
    /// Packet keys of the next phase, derived ahead so a peer's key update can be detected.
    next_keys: Option<rustls::quic::PacketKeySet>,
    key_phase: bool,
    /// Packets sent under the current 1-RTT key; a key update starts before the AEAD's
    /// confidentiality limit (RFC 9001 §6.6).
    packets_in_phase: u64,
    /// Whether a packet of the current key phase was received, which RFC 9001 §6.1 requires
    /// before we start another key update.
    phase_confirmed: bool,
    /// Packets that failed authentication, over the whole connection (RFC 9001 §6.6).
    auth_failures: u64,
    /// The previous phase's remote key, kept briefly for reordered packets (RFC 9001 §6.5).
    prev_remote_key: Option<Box<dyn rustls::quic::PacketKey>>,
    remote: SocketAddr,
    local_cid_len: usize,
    local_cids: LocalCids,
    remote_cids: RemoteCids,
    reset_key: ring::hmac::Key,
    /// Client: the DCID of its first Initial. Server: the client's original DCID.
    original_dst_cid: ConnectionId,
    /// Our Source Connection ID in the handshake.
    initial_src_cid: ConnectionId,
    /// Client: the server's SCID from a Retry.
    retry_src_cid: Option<ConnectionId>,
    /// Client: the token from a Retry, sent in every later Initial (RFC 9000 §8.1.2).
    retry_token: Bytes,
    /// Client: whether any packet from the server was processed (VN and Retry are only
    /// acceptable before that).
    received_from_server: bool,
    peer_params: Option<TransportParameters>,
    streams: StreamsState,
    recovery: Recovery<SentFrames>,
    /// Spreads sends over the RTT instead of bursting a whole window (RFC 9002 §7.7).
    pacer: crate::congestion::Pacer,
    /// When the pacer lets the next ack-eliciting packet go, if it is holding one back.
    pacing_deadline: Option<Instant>,
    ack_outcome: AckOutcome<SentFrames>,
    /// ECN marking and validation on the path (RFC 9000 §13.4).
    ecn: ecn::Ecn,
    /// The codepoint of the datagram being built; its packets are recorded as marked.
    datagram_ecn: EcnCodepoint,
    handshake_complete: bool,
    handshake_confirmed: bool,
    handshake_done_pending: bool,
    /// Server: the client's address is validated (RFC 9000 §8.1); until then we may send at
    /// most three times what we received.
    address_validated: bool,
    anti_amplification_received: u64,
    anti_amplification_sent: u64,
    idle_timeout: Option<Duration>,
    idle_deadline: Option<Instant>,
    /// Whether an ack-eliciting packet was sent since the last packet was received (the idle
    /// timer restarts on the first one, RFC 9000 §10.1).
    sent_eliciting_since_receive: bool,
    last_sent: Option<Instant>,
    close: Option<CloseFrame>,
    close_send_pending: bool,
    /// PATH_RESPONSE data owed on the current path (RFC 9000 §8.2.2).
    path_responses: VecDeque<[u8; 8]>,
    /// Validations and the previous path, when the peer's address changed (RFC 9000 §9.3).
    paths: paths::Paths,
    /// Where the datagram being processed came from, and its size.
    datagram_remote: SocketAddr,
    datagram_len: usize,
    /// The packet being finished goes to another path than the current one.
    sending_off_path: bool,
    new_cids_pending: VecDeque<(u64, ConnectionId)>,
    datagrams_in: VecDeque<Bytes>,
    datagrams_out: VecDeque<Bytes>,
    events: VecDeque<Event>,
    endpoint_events: VecDeque<EndpointEvent>,
    error: Option<ConnectionError>,
    rng: StdRng,
    stats: ConnectionStats,
    /// Frames a test asks to send as they are, to play a misbehaving peer.
    #[cfg(test)]
    injected: Vec<crate::frame::Frame>,
    /// Tests lower the key-update threshold to exercise it.
    #[cfg(test)]
    pub(crate) test_key_update_after: Option<u64>,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("side", &self.side)
            .field("state", &self.state)
            .field("remote", &self.remote)
            .finish_non_exhaustive()
    }
}

/// What the endpoint hands a new connection.
pub(crate) struct ConnectionParams {
    pub side: Side,
    pub version: Version,
    pub config: Arc<TransportConfig>,
    pub tls: TlsSession,
    pub remote: SocketAddr,
    pub local_cid: ConnectionId,
    pub local_cid_len: usize,
    pub remote_cid: ConnectionId,
    pub original_dst_cid: ConnectionId,
    pub reset_key: ring::hmac::Key,
    pub rng_seed: u64,
}

impl Connection {
    pub(crate) fn new(now: Instant, p: ConnectionParams) -> Self {
        let config = p.config;
        let space = |id| Space::new(id, config.max_ack_delay, config.max_ack_ranges);
        let mut spaces = [
            space(PacketSpace::Initial),
            space(PacketSpace::Handshake),
            space(PacketSpace::Data),
        ];
        spaces[0].keys = Some(crate::tls::initial_suite().keys(
            &p.original_dst_cid,
            match p.side {
                Side::Client => rustls::Side::Client,
                Side::Server => rustls::Side::Server,
            },
            match p.version {
                Version::V1 => rustls::quic::Version::V1,
                Version::V2 => rustls::quic::Version::V2,
            },
        ));
        let mut recovery_config = RecoveryConfig::new(p.side);
        recovery_config.initial_rtt = config.initial_rtt;
        recovery_config.congestion = config.congestion.clone();
        let idle_timeout = (!config.max_idle_timeout.is_zero()).then_some(config.max_idle_timeout);
        let mut conn = Self {
            side: p.side,
            version: p.version,
            state: State::Handshake,
            tls: p.tls,
            spaces,
            tls_write_space: PacketSpace::Initial,
            next_secrets: None,
            next_keys: None,
            key_phase: false,
            prev_remote_key: None,
            packets_in_phase: 0,
            phase_confirmed: false,
            auth_failures: 0,
            remote: p.remote,
            local_cid_len: p.local_cid_len,
            local_cids: LocalCids::new(p.local_cid),
            remote_cids: RemoteCids::new(p.remote_cid, config.active_connection_id_limit),
            reset_key: p.reset_key,
            original_dst_cid: p.original_dst_cid,
            initial_src_cid: p.local_cid,
            retry_src_cid: None,
            retry_token: Bytes::new(),
            received_from_server: false,
            peer_params: None,
            streams: StreamsState::new(p.side, config.streams.clone()),
            recovery: Recovery::new(recovery_config),
            pacer: crate::congestion::Pacer::new(
                now,
                crate::congestion::initial_window(1200),
                1200,
            ),
            pacing_deadline: None,
            ack_outcome: AckOutcome::new(),
            ecn: ecn::Ecn::new(config.ecn),
            datagram_ecn: EcnCodepoint::NotEct,
            handshake_complete: false,
            handshake_confirmed: false,
            handshake_done_pending: false,
            // RFC 9000 §8.1: a client's own address needs no validation.
            address_validated: p.side == Side::Client,
            anti_amplification_received: 0,
            anti_amplification_sent: 0,
            idle_timeout,
            idle_deadline: idle_timeout.map(|t| now + t),
            sent_eliciting_since_receive: false,
            last_sent: None,
            close: None,
            close_send_pending: false,
            path_responses: VecDeque::new(),
            paths: paths::Paths::default(),
            datagram_remote: p.remote,
            datagram_len: 0,
            sending_off_path: false,
            new_cids_pending: VecDeque::new(),
            datagrams_in: VecDeque::new(),
            datagrams_out: VecDeque::new(),
            events: VecDeque::new(),
            endpoint_events: VecDeque::new(),
            error: None,
            rng: StdRng::seed_from_u64(p.rng_seed),
            stats: ConnectionStats::default(),
            #[cfg(test)]
            injected: Vec::new(),
            #[cfg(test)]
            test_key_update_after: None,
            config,
        };
        if conn.side == Side::Client {
            conn.drive_tls(now);
        }
        conn
    }

    /// Our transport parameters, to hand to TLS at creation.
    pub(crate) fn local_params(
        config: &TransportConfig,
        streams: &crate::stream::StreamsConfig,
        side: Side,
        local_cid: ConnectionId,
        original_dst_cid: Option<ConnectionId>,
        reset_token: Option<[u8; 16]>,
    ) -> TransportParameters {
        let limits = StreamsState::new(side, streams.clone()).local_limits();
        let v = |x: u64| VarInt::from_u64(x).unwrap_or(VarInt::MAX);
        TransportParameters {
            original_destination_connection_id: original_dst_cid,
            max_idle_timeout: v(config.max_idle_timeout.as_millis() as u64),
            stateless_reset_token: reset_token,
            max_udp_payload_size: v(u64::from(config.max_udp_payload_size)),
            initial_max_data: v(limits.initial_max_data),
            initial_max_stream_data_bidi_local: v(limits.initial_max_stream_data_bidi_local),
            initial_max_stream_data_bidi_remote: v(limits.initial_max_stream_data_bidi_remote),
            initial_max_stream_data_uni: v(limits.initial_max_stream_data_uni),
            initial_max_streams_bidi: v(limits.initial_max_streams_bidi),
            initial_max_streams_uni: v(limits.initial_max_streams_uni),
            ack_delay_exponent: v(u64::from(config.ack_delay_exponent)),
            max_ack_delay: v(config.max_ack_delay.as_millis() as u64),
            active_connection_id_limit: v(config.active_connection_id_limit.max(2)),
            initial_source_connection_id: Some(local_cid),
            max_datagram_frame_size: v(config.max_datagram_frame_size),
            ..TransportParameters::default()
        }
    }

    // ----- public API -----

    /// Which end we are.
    pub fn side(&self) -> Side {
        self.side
    }

    /// The peer's address.
    pub fn remote_address(&self) -> SocketAddr {
        self.remote
    }

    /// The negotiated QUIC version.
    pub fn version(&self) -> Version {
        self.version
    }

    /// Whether the handshake is still going on.
    pub fn is_handshaking(&self) -> bool {
        !self.handshake_complete
    }

    /// Whether the connection has ended (closing, draining or drained).
    pub fn is_closed(&self) -> bool {
        matches!(
            self.state,
            State::Closing { .. } | State::Draining { .. } | State::Drained
        )
    }

    /// Whether nothing is left to do: the owner can drop the connection.
    pub fn is_drained(&self) -> bool {
        self.state == State::Drained
    }

    /// Why the connection ended, if it did.
    pub fn error(&self) -> Option<&ConnectionError> {
        self.error.as_ref()
    }

    /// The negotiated ALPN protocol.
    pub fn alpn(&self) -> Option<&[u8]> {
        self.tls.alpn()
    }

    /// The server name the client asked for (server side).
    pub fn server_name(&self) -> Option<&str> {
        self.tls.server_name()
    }

    /// The peer's transport parameters, once known.
    pub fn peer_params(&self) -> Option<&TransportParameters> {
        self.peer_params.as_ref()
    }

    /// Counters.
    pub fn stats(&self) -> ConnectionStats {
        let mut s = self.stats;
        s.packets_lost = self.recovery.stats().lost_packets;
        s
    }

    /// The smoothed RTT estimate.
    pub fn rtt(&self) -> Duration {
        self.recovery.rtt().smoothed()
    }

    /// The congestion window in bytes.
    pub fn congestion_window(&self) -> u64 {
        self.recovery.congestion_window()
    }

    /// Bytes of packets sent and not yet acknowledged or declared lost (RFC 9002 §2).
    pub fn bytes_in_flight(&self) -> u64 {
        self.recovery.bytes_in_flight()
    }

    /// Loss recovery's counters: losses, probe timeouts, congestion events (losses and ECN-CE).
    pub fn recovery_stats(&self) -> crate::recovery::RecoveryStats {
        self.recovery.stats()
    }

    /// Where ECN validation stands on the path (RFC 9000 §13.4.2).
    pub fn ecn_state(&self) -> EcnState {
        self.ecn.state()
    }

    /// The next event for the application.
    pub fn poll_event(&mut self) -> Option<Event> {
        if let Some(e) = self.events.pop_front() {
            return Some(e);
        }
        if let Some(d) = self.datagrams_in.pop_front() {
            return Some(Event::Datagram(d));
        }
        self.streams.poll_event().map(Event::Stream)
    }

    /// The next thing the endpoint must do for us.
    pub fn poll_endpoint_event(&mut self) -> Option<EndpointEvent> {
        self.endpoint_events.pop_front()
    }

    /// Opens a stream, if the peer's limit allows (and the handshake is done).
    pub fn open_stream(&mut self, dir: Dir) -> Option<StreamId> {
        if !self.handshake_complete || self.is_closed() {
            return None;
        }
        self.streams.open(dir)
    }

    /// A view for writing to a stream.
    pub fn send_stream(&mut self, id: StreamId) -> Option<SendStream<'_>> {
        self.streams.send(id)
    }

    /// A view for reading from a stream.
    pub fn recv_stream(&mut self, id: StreamId) -> Option<RecvStream<'_>> {
        self.streams.recv(id)
    }

    /// Streams of `dir` we may still open.
    pub fn available_streams(&self, dir: Dir) -> u64 {
        self.streams.available(dir)
    }

    /// How many streams of `dir` the peer may open in all (the MAX_STREAMS limit we sent);
    /// HTTP/3 uses it to reject PRIORITY_UPDATEs for streams beyond it (RFC 9218 §7.2).
    pub fn peer_stream_limit(&self, dir: Dir) -> u64 {
        self.streams.peer_stream_limit(dir)
    }

    /// Queues an unreliable DATAGRAM (RFC 9221). Fails if the peer does not accept them or it
    /// is too large for its limit; dropped if it cannot be sent soon.
    pub fn send_datagram(&mut self, data: Bytes) -> Result<(), &'static str> {
        let limit = self
            .peer_params
            .map_or(0, |p| p.max_datagram_frame_size.into_inner());
        if limit == 0 {
            return Err("the peer does not accept DATAGRAM frames");
        }
        if data.len() as u64 + 3 > limit {
            return Err("datagram larger than the peer's max_datagram_frame_size");
        }
        // Bounded: unreliable data is dropped rather than queued without limit.
        if self.datagrams_out.len() >= 64 {
            self.datagrams_out.pop_front();
        }
        self.datagrams_out.push_back(data);
        Ok(())
    }

    /// Closes the connection with an application error code (RFC 9000 §10.2).
    pub fn close(&mut self, now: Instant, code: VarInt, reason: &[u8]) {
        if self.is_closed() {
            return;
        }
        let reason = Bytes::copy_from_slice(reason);
        self.error = Some(ConnectionError::ApplicationClosed {
            local: true,
            code,
            reason: String::from_utf8_lossy(&reason).into_owned(),
        });
        self.enter_closing(now, CloseFrame::Application { code, reason });
    }

    // ----- internals shared by the submodules -----

    fn space(&self, id: PacketSpace) -> &Space {
        &self.spaces[id.index()]
    }

    fn space_mut(&mut self, id: PacketSpace) -> &mut Space {
        &mut self.spaces[id.index()]
    }

    /// Moves handshake bytes from TLS into CRYPTO streams and installs new keys.
    fn drive_tls(&mut self, now: Instant) {
        loop {
            let mut buf = Vec::new();
            let change = self.tls.write_handshake(&mut buf);
            if !buf.is_empty() {
                let space = self.tls_write_space;
                self.space_mut(space).crypto_send.write(&buf);
            }
            match change {
                Some(rustls::quic::KeyChange::Handshake { keys }) => {
                    self.space_mut(PacketSpace::Handshake).keys = Some(keys);
                    self.tls_write_space = PacketSpace::Handshake;
                    self.recovery.set_handshake_keys_available(now);
                }
                Some(rustls::quic::KeyChange::OneRtt { keys, mut next }) => {
                    self.space_mut(PacketSpace::Data).keys = Some(keys);
                    self.next_keys = Some(next.next_packet_keys());
                    self.next_secrets = Some(next);
                    self.tls_write_space = PacketSpace::Data;
                }
                None => break,
            }
        }
        if !self.handshake_complete && !self.tls.is_handshaking() {
            self.on_handshake_complete(now);
        }
    }

    fn on_handshake_complete(&mut self, now: Instant) {
        self.handshake_complete = true;
        if !self.is_closed() {
            self.state = State::Established;
        }
        self.events.push_back(Event::Connected);
        if self.side == Side::Server {
            // RFC 9001 §4.1.2: the server's handshake is confirmed when it completes; it sends
            // HANDSHAKE_DONE (RFC 9000 §19.20).
            self.handshake_done_pending = true;
            self.on_handshake_confirmed(now);
        }
    }

    fn on_handshake_confirmed(&mut self, now: Instant) {
        if self.handshake_confirmed {
            return;
        }
        self.handshake_confirmed = true;
        self.recovery.set_handshake_confirmed(now);
        // The datagram size grows from the handshake's 1200 bytes to the configured size
        // (send.rs), and the congestion controller counts in datagrams of that size: its
        // additive increase and CUBIC's curve are per maximum datagram (RFC 9002 §7.2,
        // RFC 9438 §4.1), so it must know.
        self.recovery
            .on_max_datagram_size_changed(self.max_datagram_size() as u64);
        // RFC 9001 §4.9.2: Handshake keys are discarded once the handshake is confirmed.
        self.discard_space(now, PacketSpace::Handshake);
        self.endpoint_events
            .push_back(EndpointEvent::HandshakeConfirmed);
        self.issue_cids();
    }

    /// Drops a space's keys and recovery state (RFC 9001 §4.9, RFC 9002 §6.4).
    fn discard_space(&mut self, now: Instant, id: PacketSpace) {
        let space = self.space_mut(id);
        if space.discarded {
            return;
        }
        space.discarded = true;
        space.keys = None;
        space.crypto_send = Default::default();
        let mut dropped = Vec::new();
        self.recovery.discard_space(now, id, &mut dropped);
        for packet in dropped {
            if packet.token.ect0 {
                self.ecn.on_marked_gone(false);
            }
        }
    }

    /// Issues connection IDs up to the peer's active_connection_id_limit (RFC 9000 §5.1.1).
    fn issue_cids(&mut self) {
        use rand::RngCore;
        let wanted = self.local_cids.wanted(self.local_cid_len == 0);
        for _ in 0..wanted {
            let mut bytes = [0u8; crate::cid::MAX_CID_LEN];
            self.rng.fill_bytes(&mut bytes[..self.local_cid_len]);
            let Ok(cid) = ConnectionId::new(&bytes[..self.local_cid_len]) else {
                return;
            };
            let seq = self.local_cids.issue(cid);
            self.new_cids_pending.push_back((seq, cid));
            self.endpoint_events.push_back(EndpointEvent::NewCid(cid));
        }
    }

    /// Applies the peer's transport parameters once TLS delivers them.
    fn process_peer_params(&mut self, now: Instant) -> Result<(), TransportError> {
        if self.peer_params.is_some() {
            return Ok(());
        }
        let Some(raw) = self.tls.peer_transport_params() else {
            return Ok(());
        };
        let params = TransportParameters::decode(self.side.peer(), raw)?;
        // RFC 9000 §7.3: authenticate the connection IDs used in the handshake.
        match self.side {
            Side::Server => params.authenticate_client_cids(&self.remote_cids.current().cid)?,
            Side::Client => params.authenticate_server_cids(
                &self.remote_cids.current().cid,
                &self.original_dst_cid,
                self.retry_src_cid.as_ref(),
            )?,
        }
        let limits = crate::stream::StreamLimits {
            initial_max_data: params.initial_max_data.into_inner(),
            initial_max_stream_data_bidi_local: params
                .initial_max_stream_data_bidi_local
                .into_inner(),
            initial_max_stream_data_bidi_remote: params
                .initial_max_stream_data_bidi_remote
                .into_inner(),
            initial_max_stream_data_uni: params.initial_max_stream_data_uni.into_inner(),
            initial_max_streams_bidi: params.initial_max_streams_bidi.into_inner(),
            initial_max_streams_uni: params.initial_max_streams_uni.into_inner(),
        };
        self.streams.set_peer_limits(limits)?;
        if let Some(token) = params.stateless_reset_token {
            self.remote_cids.set_initial_reset_token(token);
            self.endpoint_events
                .push_back(EndpointEvent::ResetToken(token));
        }
        self.local_cids
            .set_peer_limit(params.active_connection_id_limit.into_inner());
        self.recovery.set_peer_max_ack_delay(
            now,
            Duration::from_millis(params.max_ack_delay.into_inner()),
        );
        // RFC 9000 §10.1: the effective idle timeout is the minimum of both, where 0 means
        // "no timeout" on that side.
        let peer_idle = params.max_idle_timeout.into_inner();
        if peer_idle > 0 {
            let peer = Duration::from_millis(peer_idle);
            self.idle_timeout = Some(self.idle_timeout.map_or(peer, |ours| ours.min(peer)));
        }
        self.peer_params = Some(params);
        Ok(())
    }

    /// Closes the connection because of a transport error we detected.
    fn fail(&mut self, now: Instant, error: TransportError) {
        if self.is_closed() {
            return;
        }
        tracing::debug!(side = ?self.side, %error, "closing connection");
        self.error = Some(ConnectionError::LocalTransport(error.clone()));
        self.enter_closing(now, CloseFrame::Transport(error));
    }

    fn enter_closing(&mut self, now: Instant, frame: CloseFrame) {
        // RFC 9000 §10.2: the closing state lasts at least three times the PTO.
        let until = now + 3 * self.recovery.pto(PacketSpace::Data);
        self.state = State::Closing { until };
        self.close = Some(frame);
        self.close_send_pending = true;
        if let Some(e) = self.error.clone() {
            self.events.push_back(Event::Closed(e));
        }
    }

    fn enter_draining(&mut self, now: Instant, error: ConnectionError) {
        if matches!(self.state, State::Draining { .. } | State::Drained) {
            return;
        }
        let until = now + 3 * self.recovery.pto(PacketSpace::Data);
        let was_closed = self.is_closed();
        self.state = State::Draining { until };
        if !was_closed {
            self.error = Some(error.clone());
            self.events.push_back(Event::Closed(error));
        }
    }

    /// Queues frames to send verbatim in the next 1-RTT packet (tests playing a bad peer).
    #[cfg(test)]
    pub(crate) fn inject(&mut self, frames: Vec<crate::frame::Frame>) {
        self.injected.extend(frames);
    }

    /// The transport error code of a local close, if that is how the connection ended.
    pub fn local_error_code(&self) -> Option<TransportErrorCode> {
        match &self.error {
            Some(ConnectionError::LocalTransport(e)) => Some(e.code),
            _ => None,
        }
    }
}

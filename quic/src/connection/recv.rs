//! The receive path: datagrams to packets (one handler per packet type), packets to frames,
//! frames to the stream layer, recovery, TLS and connection-ID state.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::BytesMut;

use super::{Connection, ConnectionError, SentFrame, SentFrames, State};
use crate::crypto::Side;
use crate::frame::{self, Frame, FrameIter};
use crate::packet::{Packet, PacketDecodeError, PacketType, PartialDecode, ProtectedHeader};
use crate::recovery::{EcnCodepoint, PacketSpace};
use crate::stream::{Dir, StreamId};
use crate::transport_error::TransportError;
use crate::Version;

impl Connection {
    /// Processes one UDP datagram from `remote` whose IP header's ECN field is unknown (the
    /// platform cannot read it): like [`handle_datagram_ecn`](Self::handle_datagram_ecn) with
    /// Not-ECT.
    pub fn handle_datagram(&mut self, now: Instant, remote: SocketAddr, datagram: BytesMut) {
        self.handle_datagram_ecn(now, remote, EcnCodepoint::NotEct, datagram);
    }

    /// Processes one UDP datagram from `remote` that arrived with `ecn` in its IP header. The
    /// codepoint counts once for every QUIC packet of the datagram that is processed, in that
    /// packet's space (RFC 9000 §13.4.1), and goes back to the peer in ACK_ECN frames.
    pub fn handle_datagram_ecn(
        &mut self,
        now: Instant,
        remote: SocketAddr,
        ecn: EcnCodepoint,
        datagram: BytesMut,
    ) {
        if matches!(self.state, State::Drained) {
            return;
        }
        if remote != self.remote && self.handshake_complete && self.side == Side::Client {
            // RFC 9000 §9: "If a client receives packets from an unknown server address, the
            // client MUST discard these packets."
            self.stats.packets_dropped += 1;
            return;
        }
        // A server processes datagrams from other addresses too: the peer may have moved (a
        // NAT rebinding) or be probing a path; paths.rs decides once the packets are opened.
        self.datagram_remote = remote;
        self.datagram_len = datagram.len();
        self.stats.datagrams_received += 1;
        self.stats.bytes_received += datagram.len() as u64;
        match ecn {
            EcnCodepoint::NotEct => {}
            EcnCodepoint::Ce => {
                self.stats.datagrams_received_ect += 1;
                self.stats.datagrams_received_ce += 1;
            }
            EcnCodepoint::Ect0 | EcnCodepoint::Ect1 => self.stats.datagrams_received_ect += 1,
        }
        if remote == self.remote || !self.handshake_confirmed {
            self.anti_amplification_received += datagram.len() as u64;
            if !self.address_validated && self.handshake_confirmed {
                // A peer on an unvalidated new path sent more: we may send more there, so the
                // probe timer may run again (RFC 9002 §6.2.2.1, Appendix A.6).
                self.recovery.set_amplification_blocked(now, false);
            }
        }
        // RFC 9000 §10.3.1: a stateless reset is recognised by the datagram's last 16 bytes;
        // keep just those, rather than a copy of the datagram per coalesced packet.
        let reset_tail: Option<[u8; 16]> =
            (datagram.len() >= crate::endpoint::MIN_SHORT_PACKET_SIZE).then(|| {
                datagram[datagram.len() - 16..]
                    .try_into()
                    .expect("16 bytes")
            });
        let mut next = Some(datagram);
        let mut first = true;
        while let Some(buf) = next.take() {
            match PartialDecode::new(buf, self.local_cid_len, false) {
                Ok((partial, rest)) => {
                    // RFC 9000 §12.2: later packets with another DCID are ignored.
                    let dcid_ok = first || partial.header().dst_cid() == &self.expected_dcid();
                    first = false;
                    if dcid_ok {
                        self.handle_packet(now, partial, ecn, reset_tail.as_ref());
                    }
                    next = rest;
                }
                Err(PacketDecodeError::UnsupportedVersion { .. }) | Err(_) => {
                    self.stats.packets_dropped += 1;
                    self.check_stateless_reset(now, reset_tail.as_ref());
                }
            }
            if matches!(self.state, State::Draining { .. } | State::Drained) {
                return;
            }
        }
        if matches!(self.state, State::Closing { .. }) {
            // RFC 9000 §10.2.1: answer packets in the closing state with CONNECTION_CLOSE.
            self.close_send_pending = true;
        }
    }

    fn expected_dcid(&self) -> crate::ConnectionId {
        // Our own IDs are all `local_cid_len` long; routing already matched the first packet,
        // so comparing with any of ours is enough for coalesced followers.
        *self
            .local_cids
            .iter()
            .next()
            .unwrap_or(&self.initial_src_cid)
    }

    fn handle_packet(
        &mut self,
        now: Instant,
        partial: PartialDecode,
        ecn: EcnCodepoint,
        reset_tail: Option<&[u8; 16]>,
    ) {
        match partial.header().clone() {
            ProtectedHeader::VersionNegotiation { .. } => {
                self.handle_version_negotiation(now, &partial)
            }
            ProtectedHeader::Retry {
                version, src_cid, ..
            } => self.handle_retry(now, &partial, version, src_cid),
            ProtectedHeader::Initial { version, .. } | ProtectedHeader::Long { version, .. }
                if version != self.version =>
            {
                self.stats.packets_dropped += 1;
            }
            header => {
                let space = match header.packet_type() {
                    PacketType::Initial => PacketSpace::Initial,
                    PacketType::Handshake => PacketSpace::Handshake,
                    PacketType::OneRtt => PacketSpace::Data,
                    // 0-RTT is not offered, so such packets cannot be decrypted: drop them.
                    _ => {
                        self.stats.packets_dropped += 1;
                        return;
                    }
                };
                self.handle_protected(now, partial, space, ecn, reset_tail);
            }
        }
    }

    /// RFC 9000 §6.2: a client receiving Version Negotiation before any other packet, that
    /// does not list the version it used, abandons the attempt.
    fn handle_version_negotiation(&mut self, now: Instant, partial: &PartialDecode) {
        if self.side != Side::Client || self.received_from_server {
            return;
        }
        let Some(versions) = partial.supported_versions() else {
            return;
        };
        let offered: Vec<u32> = versions.collect();
        // RFC 9000 §6.2: a VN that lists our own version is ignored.
        if offered.contains(&self.version.to_u32()) {
            return;
        }
        let _ = now;
        self.error = Some(ConnectionError::VersionMismatch);
        self.events
            .push_back(super::Event::Closed(ConnectionError::VersionMismatch));
        self.state = State::Drained;
        self.endpoint_events
            .push_back(super::EndpointEvent::Drained);
    }

    /// RFC 9000 §17.2.5.2: a client accepts one Retry, before anything else from the server,
    /// if its integrity tag verifies; it restarts with the new DCID and the token.
    fn handle_retry(
        &mut self,
        now: Instant,
        partial: &PartialDecode,
        version: Version,
        src_cid: crate::ConnectionId,
    ) {
        if self.side != Side::Client || self.received_from_server || self.retry_src_cid.is_some() {
            return;
        }
        if !crate::crypto::verify_retry_integrity(version, &self.original_dst_cid, partial.data()) {
            self.stats.packets_dropped += 1;
            return;
        }
        // RFC 9000 §17.2.5.2: a Retry with an empty token MUST be discarded.
        if partial.token().is_empty() {
            return;
        }
        self.retry_token = bytes::Bytes::copy_from_slice(partial.token());
        self.retry_src_cid = Some(src_cid);
        self.remote_cids.replace_initial(src_cid);
        // RFC 9001 §5.2: Initial keys now come from the Retry's Source Connection ID.
        self.space_mut(PacketSpace::Initial).keys = Some(crate::tls::initial_suite().keys(
            &src_cid,
            rustls::Side::Client,
            match version {
                Version::V1 => rustls::quic::Version::V1,
                Version::V2 => rustls::quic::Version::V2,
            },
        ));
        let mut lost = Vec::new();
        self.recovery.on_retry(now, None, &mut lost);
        // Everything sent in Initial packets goes out again under the new keys.
        self.space_mut(PacketSpace::Initial)
            .crypto_send
            .resend_all();
    }

    fn handle_protected(
        &mut self,
        now: Instant,
        partial: PartialDecode,
        space_id: PacketSpace,
        ecn: EcnCodepoint,
        reset_tail: Option<&[u8; 16]>,
    ) {
        let space = self.space(space_id);
        if space.discarded || space.keys.is_none() {
            self.stats.packets_dropped += 1;
            return;
        }
        if space_id == PacketSpace::Data && self.side == Side::Server && !self.handshake_complete {
            // RFC 9001 §5.7: a server MUST NOT process 1-RTT packets before the handshake
            // completes; the client retransmits.
            self.stats.packets_dropped += 1;
            return;
        }
        let expected = space.expected_pn();
        let keys = self.space(space_id).keys.as_ref().expect("checked above");
        let header_key = &keys.remote.header;
        let unprotected = partial.finish_with(
            |sample, first, pn| header_key.decrypt_in_place(sample, first, pn).is_ok(),
            expected,
        );
        let mut packet = match unprotected {
            Ok(p) => p,
            Err(_) => {
                self.stats.packets_dropped += 1;
                return;
            }
        };
        let Some(plain_len) = self.decrypt(space_id, &mut packet) else {
            self.stats.packets_dropped += 1;
            self.auth_failures += 1;
            // RFC 9001 §6.6: past the AEAD's integrity limit the connection MUST close with
            // AEAD_LIMIT_REACHED.
            let limit = self
                .space(space_id)
                .keys
                .as_ref()
                .map_or(u64::MAX, |k| k.remote.packet.integrity_limit());
            if self.auth_failures >= limit {
                self.fail(
                    now,
                    TransportError::aead_limit_reached("too many forged packets"),
                );
                return;
            }
            if space_id == PacketSpace::Data {
                self.check_stateless_reset(now, reset_tail);
            }
            return;
        };
        // RFC 9000 §17.2, §17.3.1: reserved bits must be zero once protection is removed.
        if !packet.reserved_bits_zero() {
            self.fail(
                now,
                TransportError::protocol_violation("reserved header bits are not zero"),
            );
            return;
        }
        let pn = packet.number;
        // RFC 9000 §12.3: duplicates are discarded.
        if self.space(space_id).ack.is_duplicate(pn) {
            return;
        }
        let dcid = *packet.header.dst_cid();
        if let ProtectedHeader::Initial { src_cid, .. } = packet.header {
            if self.side == Side::Client && !self.received_from_server {
                // RFC 9000 §7.2: the client switches to the server's chosen connection ID.
                self.remote_cids.replace_initial(src_cid);
            }
        }
        if self.side == Side::Client {
            self.received_from_server = true;
        }
        let space = self.space_mut(space_id);
        let largest = space.largest_received.map_or(true, |l| pn > l);
        space.largest_received = Some(space.largest_received.map_or(pn, |l| l.max(pn)));
        let payload = packet.into_payload(plain_len);
        let packet_type = match space_id {
            PacketSpace::Initial => PacketType::Initial,
            PacketSpace::Handshake => PacketType::Handshake,
            PacketSpace::Data => PacketType::OneRtt,
        };
        let mut ack_eliciting = false;
        let mut non_probing = false;
        for frame in FrameIter::new(payload, packet_type) {
            let result = match frame {
                Ok(frame) => {
                    ack_eliciting |= frame.is_ack_eliciting();
                    // RFC 9000 §9.1: the probing frames.
                    non_probing |= !matches!(
                        frame,
                        Frame::PathChallenge(_)
                            | Frame::PathResponse(_)
                            | Frame::NewConnectionId(_)
                            | Frame::Padding(_)
                    );
                    self.handle_frame(now, space_id, &dcid, frame)
                }
                Err(e) => Err(e),
            };
            if let Err(e) = result {
                self.fail(now, e);
                return;
            }
            if matches!(self.state, State::Draining { .. } | State::Drained) {
                return;
            }
        }
        if space_id == PacketSpace::Data {
            self.maybe_follow_peer(now, non_probing, largest);
        }
        // RFC 9000 §13.4.1: ECN counts grow only for processed packets; a CE mark makes the
        // acknowledgment immediate (RFC 9000 §13.2.1), which AckState handles.
        self.space_mut(space_id)
            .ack
            .on_packet_received(now, pn, ack_eliciting, ecn);
        // RFC 9000 §10.1: the idle timer restarts when a packet is processed.
        if let Some(t) = self.idle_timeout {
            self.idle_deadline = Some(now + t.max(3 * self.recovery.pto(PacketSpace::Data)));
        }
        self.sent_eliciting_since_receive = false;
        if self.side == Side::Server && space_id == PacketSpace::Handshake {
            // RFC 9000 §8.1: a Handshake packet validates the client's address; RFC 9001
            // §4.9.1: the server discards Initial keys when it first processes one.
            if !self.address_validated {
                self.address_validated = true;
                self.recovery.set_amplification_blocked(now, false);
            }
            self.discard_space(now, PacketSpace::Initial);
        }
    }

    /// Opens the payload in place; handles 1-RTT key phases (RFC 9001 §6).
    fn decrypt(&mut self, space_id: PacketSpace, packet: &mut Packet) -> Option<usize> {
        let (number, header_len, key_phase) =
            (packet.number, packet.header_len(), packet.key_phase);
        let data = packet.data_mut();
        let (header, payload) = data.split_at_mut(header_len);
        let keys = self.spaces[space_id.index()].keys.as_ref()?;
        if space_id != PacketSpace::Data || key_phase == self.key_phase {
            let opened = keys
                .remote
                .packet
                .decrypt_in_place(number, header, payload)
                .ok()?
                .len();
            if space_id == PacketSpace::Data {
                self.phase_confirmed = true;
            }
            return Some(opened);
        }
        // A different key phase: either a reordered packet of the previous phase or the peer
        // started a key update (RFC 9001 §6.2, §6.5).
        if let Some(prev) = &self.prev_remote_key {
            let mut copy = payload.to_vec();
            if let Ok(p) = prev.decrypt_in_place(number, header, &mut copy) {
                let len = p.len();
                payload[..len].copy_from_slice(&copy[..len]);
                return Some(len);
            }
        }
        let next = self.next_keys.as_ref()?;
        let len = next
            .remote
            .decrypt_in_place(number, header, payload)
            .ok()?
            .len();
        self.rotate_keys();
        // The packet that revealed the peer's update is itself of the new phase.
        self.phase_confirmed = true;
        Some(len)
    }

    /// Switches to the next 1-RTT key phase in both directions (RFC 9001 §6.2: an endpoint
    /// that detects a peer's key update updates its own send keys too). Header protection
    /// keys do not change (RFC 9001 §6.1).
    pub(super) fn rotate_keys(&mut self) {
        let Some(next) = self.next_keys.take() else {
            return;
        };
        let Some(keys) = self.spaces[PacketSpace::Data.index()].keys.as_mut() else {
            return;
        };
        let old_remote = std::mem::replace(&mut keys.remote.packet, next.remote);
        keys.local.packet = next.local;
        self.prev_remote_key = Some(old_remote);
        self.next_keys = self.next_secrets.as_mut().map(|s| s.next_packet_keys());
        self.key_phase = !self.key_phase;
        self.packets_in_phase = 0;
        // A peer-initiated update is confirmed by the packet that revealed it; our own waits
        // for the peer's first packet in the new phase.
        self.phase_confirmed = false;
        self.stats.key_updates += 1;
    }

    fn check_stateless_reset(&mut self, now: Instant, reset_tail: Option<&[u8; 16]>) {
        // RFC 9000 §10.3.1: a datagram ending in a reset token of one of the peer's IDs.
        let Some(token) = reset_tail else { return };
        if self.remote_cids.is_stateless_reset(token) {
            self.enter_draining(now, ConnectionError::Reset);
            // RFC 9000 §10.3.1: no more packets are sent after a stateless reset.
            self.state = State::Drained;
            self.endpoint_events
                .push_back(super::EndpointEvent::Drained);
        }
    }

    /// Whether any packet from the peer has been authenticated and processed (the endpoint
    /// keeps a new server connection only if its first datagram had one).
    pub(crate) fn processed_any_packet(&self) -> bool {
        self.spaces.iter().any(|s| s.largest_received.is_some())
    }

    fn handle_frame(
        &mut self,
        now: Instant,
        space: PacketSpace,
        dcid: &crate::ConnectionId,
        frame: Frame,
    ) -> Result<(), TransportError> {
        match frame {
            Frame::Padding(_) | Frame::Ping => {}
            Frame::Ack(ack) => self.handle_ack(now, space, &ack)?,
            Frame::Crypto(c) => {
                let limit = self.config.max_crypto_buffer;
                self.space_mut(space)
                    .crypto_recv
                    .insert(c.offset, c.data, limit)?;
                while let Some(data) = self.space_mut(space).crypto_recv.read() {
                    self.tls.read_handshake(&data)?;
                }
                // RFC 9001 §8.2: the server's parameters come in EncryptedExtensions, in the
                // Handshake space. Before that, a client resuming a TLS session gets from rustls
                // the parameters remembered with the ticket, which belong to the previous
                // connection (its connection IDs would fail the RFC 9000 §7.3 checks).
                if self.side == Side::Server || space == PacketSpace::Handshake {
                    self.process_peer_params(now)?;
                }
                self.drive_tls(now);
            }
            Frame::NewToken(_) => {
                // RFC 9000 §19.7: a server receiving NEW_TOKEN is a PROTOCOL_VIOLATION.
                if self.side == Side::Server {
                    return Err(
                        TransportError::protocol_violation("NEW_TOKEN sent by a client")
                            .with_frame(0x07),
                    );
                }
                // Tokens for future connections are not stored yet.
            }
            Frame::Stream(s) => {
                let ty = s.header().frame_type(true).0;
                self.streams
                    .on_stream_frame(StreamId::from_varint(s.id), s.offset, s.data, s.fin)
                    .map_err(|e| e.with_frame(ty))?;
            }
            Frame::ResetStream(r) => self.streams.on_reset_stream(
                StreamId::from_varint(r.id),
                r.error_code,
                r.final_size.into_inner(),
            )?,
            Frame::StopSending(s) => self
                .streams
                .on_stop_sending(StreamId::from_varint(s.id), s.error_code)?,
            Frame::MaxData(m) => self.streams.on_max_data(m.into_inner()),
            Frame::MaxStreamData(m) => self
                .streams
                .on_max_stream_data(StreamId::from_varint(m.id), m.max.into_inner())?,
            Frame::MaxStreams(m) => self.streams.on_max_streams(dir(m.dir), m.count)?,
            Frame::DataBlocked(limit) => self.streams.on_data_blocked(limit.into_inner()),
            Frame::StreamDataBlocked(b) => self
                .streams
                .on_stream_data_blocked(StreamId::from_varint(b.id), b.limit.into_inner())?,
            Frame::StreamsBlocked(b) => self.streams.on_streams_blocked(dir(b.dir), b.limit)?,
            Frame::NewConnectionId(n) => {
                // RFC 9000 §19.15: an endpoint that uses zero-length IDs (the peer's view of
                // us: we gave it a zero-length ID) cannot be given new ones.
                if self.remote_cids.current().cid.is_empty() {
                    return Err(TransportError::protocol_violation(
                        "NEW_CONNECTION_ID to an endpoint using zero-length connection IDs",
                    )
                    .with_frame(0x18));
                }
                self.remote_cids
                    .on_new_connection_id(
                        n.sequence.into_inner(),
                        n.retire_prior_to.into_inner(),
                        n.id,
                        n.reset_token,
                    )
                    .map_err(|e| e.with_frame(0x18))?;
                self.endpoint_events
                    .push_back(super::EndpointEvent::ResetToken(n.reset_token));
            }
            Frame::RetireConnectionId(seq) => {
                if let Some(cid) = self
                    .local_cids
                    .on_retire(seq.into_inner(), dcid)
                    .map_err(|e| e.with_frame(0x19))?
                {
                    self.endpoint_events
                        .push_back(super::EndpointEvent::RetireCid(cid));
                    self.issue_cids();
                }
            }
            // RFC 9000 §8.2.2: answer with PATH_RESPONSE echoing the data.
            Frame::PathChallenge(data) => self.on_path_challenge(data),
            Frame::PathResponse(data) => self.on_path_response(now, data),
            Frame::ConnectionClose(c) => {
                let error = TransportError {
                    code: c.error_code,
                    frame_type: (c.frame_type.0 != 0).then_some(c.frame_type.0),
                    reason: String::from_utf8_lossy(&c.reason).into_owned().into(),
                };
                self.enter_draining(now, ConnectionError::PeerTransport(error));
            }
            Frame::ApplicationClose(c) => {
                let error = ConnectionError::ApplicationClosed {
                    local: false,
                    code: c.error_code,
                    reason: String::from_utf8_lossy(&c.reason).into_owned(),
                };
                self.enter_draining(now, error);
            }
            Frame::HandshakeDone => {
                // RFC 9000 §19.20: a server receiving HANDSHAKE_DONE is a PROTOCOL_VIOLATION.
                if self.side == Side::Server {
                    return Err(
                        TransportError::protocol_violation("HANDSHAKE_DONE from a client")
                            .with_frame(0x1e),
                    );
                }
                // RFC 9001 §4.1.2: HANDSHAKE_DONE confirms the handshake at the client.
                self.on_handshake_confirmed(now);
            }
            Frame::Datagram(d) => {
                // RFC 9221 §3: DATAGRAM frames we did not ask for are a PROTOCOL_VIOLATION, as
                // are larger ones than we allow.
                let limit = self.config.max_datagram_frame_size;
                if limit == 0 || d.data.len() as u64 > limit {
                    return Err(
                        TransportError::protocol_violation("unexpected DATAGRAM frame")
                            .with_frame(0x30),
                    );
                }
                if self.datagrams_in.len() >= 64 {
                    self.datagrams_in.pop_front(); // unreliable: drop the oldest
                }
                self.datagrams_in.push_back(d.data);
            }
        }
        Ok(())
    }

    fn handle_ack(
        &mut self,
        now: Instant,
        space: PacketSpace,
        ack: &frame::Ack,
    ) -> Result<(), TransportError> {
        let exponent = self
            .peer_params
            .map_or(3, |p| p.ack_delay_exponent.into_inner());
        // RFC 9000 §19.3: the delay is scaled by 2^ack_delay_exponent, in microseconds; only
        // application-data ACKs carry a meaningful delay (RFC 9002 §5.3).
        let delay = if space == PacketSpace::Data {
            Duration::from_micros(ack.delay().saturating_mul(1u64 << exponent.min(20)))
        } else {
            Duration::ZERO
        };
        let mut outcome = std::mem::take(&mut self.ack_outcome);
        // RFC 9000 §13.4.2.1: reordered frames (not raising the largest acknowledged) must not
        // fail validation.
        let largest_increased = self
            .recovery
            .largest_acked(space)
            .map_or(true, |l| ack.largest() > l);
        let counts = ack.ecn();
        let ecn = &mut self.ecn;
        let result = self
            .recovery
            .on_ack_received_with(
                now,
                space,
                ack.iter(),
                delay,
                |acked| {
                    let marked = acked.iter().filter(|p| p.token.ect0).count() as u64;
                    match ecn.on_ack(space, counts, marked, largest_increased) {
                        // RFC 9002 §7.1: an increase of a validated ECN-CE count is a
                        // congestion event; recovery compares it with the last one.
                        super::ecn::Verdict::Valid { ce } => Some(ce),
                        super::ecn::Verdict::Ignored | super::ecn::Verdict::Failed => None,
                    }
                },
                &mut outcome,
            )
            .map_err(|e| e.with_frame(ack.frame_type().0));
        if result.is_ok() {
            for packet in outcome.acked.drain(..) {
                self.on_packet_acked(space, packet.token);
            }
            for packet in outcome.lost.drain(..) {
                self.on_packet_lost(space, packet.token);
            }
        }
        self.ack_outcome = outcome;
        result.map(|_| ())
    }

    pub(super) fn on_packet_acked(&mut self, space: PacketSpace, sent: SentFrames) {
        if let Some(largest) = sent.largest_acked {
            self.space_mut(space).ack.on_ack_frame_acked(largest);
        }
        for frame in sent.frames {
            match frame {
                SentFrame::Stream {
                    id,
                    offset,
                    len,
                    fin,
                } => self.streams.on_stream_acked(id, offset, len as usize, fin),
                SentFrame::Control(c) => self.streams.on_control_acked(&c),
                SentFrame::Crypto { .. }
                | SentFrame::HandshakeDone
                | SentFrame::NewConnectionId(_)
                | SentFrame::RetireConnectionId(_) => {}
            }
        }
    }

    pub(super) fn on_packet_lost(&mut self, space: PacketSpace, sent: SentFrames) {
        if sent.ect0 {
            self.ecn.on_marked_gone(true);
        }
        for frame in sent.frames {
            match frame {
                SentFrame::Crypto { offset, len } => self
                    .space_mut(space)
                    .crypto_send
                    .on_lost(offset..offset + u64::from(len)),
                SentFrame::Stream {
                    id,
                    offset,
                    len,
                    fin,
                } => self.streams.on_stream_lost(id, offset, len as usize, fin),
                SentFrame::Control(c) => self.streams.on_control_lost(&c),
                SentFrame::HandshakeDone => self.handshake_done_pending = true,
                SentFrame::NewConnectionId(seq) => {
                    if let Some(cid) = self.local_cids.get(seq) {
                        self.new_cids_pending.push_back((seq, cid));
                    }
                }
                SentFrame::RetireConnectionId(seq) => self.remote_cids.retirement_lost(seq),
            }
        }
    }
}

fn dir(d: frame::Dir) -> Dir {
    match d {
        frame::Dir::Bi => Dir::Bi,
        frame::Dir::Uni => Dir::Uni,
    }
}

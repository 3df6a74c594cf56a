//! The send path: builds one UDP datagram at a time, coalescing Initial, Handshake and 1-RTT
//! packets (RFC 9000 §12.2), and protects each packet in place in the caller's buffer.

use std::net::SocketAddr;
use std::time::Instant;

use bytes::Bytes;

use super::{CloseFrame, Connection, SentFrame, SentFrames, State};
use crate::crypto::Side;
use crate::frame::{
    self, AckEncoder, ApplicationClose, ConnectionClose, CryptoHeader, DatagramHeader, FrameType,
    NewConnectionId, StreamHeader,
};
use crate::packet::{Header, LongType, PacketNumber};
use crate::recovery::{EcnCodepoint, PacketSpace};
use crate::stream::StreamControl;
use crate::transport_error::TransportErrorCode;
use crate::VarInt;

/// RFC 9000 §14.1: datagrams carrying Initial packets are padded to at least this size.
const MIN_INITIAL_DATAGRAM: usize = 1200;
/// Below this much room a packet is not worth starting.
pub(super) const MIN_PACKET_ROOM: usize = 48;

/// A datagram built by [`Connection::poll_transmit`]; its bytes are in the caller's buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transmit {
    /// Where to send it.
    pub destination: SocketAddr,
    /// Its length.
    pub size: usize,
    /// The ECN codepoint to set in its IP header (RFC 9000 §13.4): ECT(0) while the path's ECN
    /// is being tested or validated, Not-ECT otherwise. A socket that cannot set it sends
    /// Not-ECT, which validation then notices.
    pub ecn: EcnCodepoint,
}

impl Connection {
    /// Builds the next datagram into `buf` (cleared first), or returns `None` if nothing
    /// needs sending now.
    pub fn poll_transmit(&mut self, now: Instant, buf: &mut Vec<u8>) -> Option<Transmit> {
        buf.clear();
        match self.state {
            State::Draining { .. } | State::Drained => return None,
            State::Closing { .. } if !self.close_send_pending => return None,
            _ => {}
        }
        if let Some(destination) = self.build_off_path_datagram(now, buf) {
            // Another path's own limits applied (paths.rs); the current path's anti-amplification
            // count is not charged.
            self.stats.datagrams_sent += 1;
            self.stats.bytes_sent += buf.len() as u64;
            self.last_sent = Some(now);
            return Some(Transmit {
                destination,
                size: buf.len(),
                ecn: EcnCodepoint::NotEct,
            });
        }
        let mut limit = self.max_datagram_size();
        if !self.address_validated {
            // RFC 9000 §8.1: before validating the client's address, a server sends at most
            // three times the bytes it received.
            let allowance = (3 * self.anti_amplification_received)
                .saturating_sub(self.anti_amplification_sent) as usize;
            if allowance < MIN_PACKET_ROOM {
                self.recovery.set_amplification_blocked(now, true);
                return None;
            }
            limit = limit.min(allowance);
        }
        if matches!(self.state, State::Closing { .. }) {
            self.close_send_pending = false;
            // Nothing sent while closing is ever acknowledged: no point marking it.
            self.datagram_ecn = EcnCodepoint::NotEct;
            self.build_close_datagram(now, buf, limit);
        } else {
            let held_back = self.build_datagram(now, buf, limit);
            // RFC 9002 §7.8: when the window has room and the pacer does not hold us back, yet
            // there is nothing to send (no data, or no flow-control credit), the window is
            // underutilized and "SHOULD NOT be increased"; sending anything ends that.
            let app_limited = buf.is_empty() && !held_back && self.handshake_confirmed;
            self.recovery.set_app_limited(app_limited);
        }
        let ecn = std::mem::take(&mut self.datagram_ecn);
        if buf.is_empty() {
            return None;
        }
        if ecn == EcnCodepoint::Ect0 {
            self.stats.datagrams_sent_ect0 += 1;
        }
        self.anti_amplification_sent += buf.len() as u64;
        self.stats.datagrams_sent += 1;
        self.stats.bytes_sent += buf.len() as u64;
        self.last_sent = Some(now);
        Some(Transmit {
            destination: self.remote,
            size: buf.len(),
            ecn,
        })
    }

    pub(super) fn max_datagram_size(&self) -> usize {
        // Until the handshake is confirmed stay at the 1200 bytes every path carries
        // (RFC 9000 §14); then use the configured size within the peer's limit.
        if !self.handshake_confirmed {
            return MIN_INITIAL_DATAGRAM;
        }
        let peer = self
            .peer_params
            .map_or(65527, |p| p.max_udp_payload_size.into_inner());
        usize::from(self.config.max_datagram_size)
            .min(peer as usize)
            .max(MIN_INITIAL_DATAGRAM)
    }

    /// Builds the next datagram into `buf` (left empty if nothing goes). Returns whether the
    /// congestion window or the pacer was closed to ack-eliciting packets.
    fn build_datagram(&mut self, now: Instant, buf: &mut Vec<u8>, limit: usize) -> bool {
        let probing = PacketSpace::ALL
            .iter()
            .any(|&s| self.recovery.probes_pending(s) > 0);
        let mut cc_open = self.recovery.can_send(limit as u64) || probing;
        self.pacing_deadline = None;
        if cc_open && !probing {
            // RFC 9002 §7.7: pace ack-eliciting packets; ACK-only packets still go out.
            let rtt = self.recovery.rtt().smoothed();
            let window = self.recovery.congestion_window();
            let mds = self.max_datagram_size() as u64;
            if let Some(at) = self.pacer.delay(now, limit as u64, rtt, window, mds) {
                self.pacing_deadline = Some(at);
                cc_open = false;
            }
        }
        // At most three spaces: kept inline, no allocation per datagram.
        let wants: smallvec::SmallVec<[PacketSpace; 3]> = PacketSpace::ALL
            .into_iter()
            .filter(|&s| self.space_wants_packet(now, s, cc_open))
            .collect();
        // RFC 9000 §13.4.2: early packets carry ECT(0) to test the path; see ecn.rs for why a
        // datagram with an Initial packet never does.
        self.datagram_ecn = if wants.contains(&PacketSpace::Initial) {
            EcnCodepoint::NotEct
        } else {
            let pto = self.recovery.pto(PacketSpace::Data);
            self.ecn.codepoint(now, pto)
        };
        // RFC 9000 §8.2.1, §8.2.2: a datagram with PATH_CHALLENGE or PATH_RESPONSE is expanded
        // to 1200 bytes, unless the anti-amplification limit (in `limit`) allows less. 1-RTT is
        // always the last packet of a datagram, so its padding does it.
        let path_frames = wants.contains(&PacketSpace::Data)
            && self.handshake_complete
            && ((cc_open && !self.path_responses.is_empty()) || self.challenge_pending());
        let mut contains_initial = false;
        let mut last_space = None;
        for (i, &space) in wants.iter().enumerate() {
            if limit.saturating_sub(buf.len()) < MIN_PACKET_ROOM {
                break;
            }
            if space == PacketSpace::Initial {
                contains_initial = true;
            }
            let is_last = i + 1 == wants.len();
            // RFC 9000 §14.1: a client pads every datagram with an Initial packet, a server
            // those with an ack-eliciting Initial; the last packet carries the padding.
            let pad_to = (is_last
                && ((contains_initial && self.must_pad_initial_datagram())
                    || (path_frames && space == PacketSpace::Data)))
                .then_some(MIN_INITIAL_DATAGRAM.min(limit));
            if self.build_packet(now, space, buf, limit, pad_to, cc_open) {
                last_space = Some(space);
            }
        }
        // If a predicted packet came out empty, the datagram may still need padding: add a
        // PADDING-only packet in the last space used.
        if contains_initial && self.must_pad_initial_datagram() && buf.len() < MIN_INITIAL_DATAGRAM
        {
            if let Some(space) = last_space {
                let target = MIN_INITIAL_DATAGRAM.min(limit);
                if target > buf.len() + MIN_PACKET_ROOM {
                    self.build_padding_packet(now, space, buf, target);
                }
            }
        }
        !cc_open
    }

    fn must_pad_initial_datagram(&self) -> bool {
        // Servers pad only ack-eliciting Initials; ours always carry CRYPTO or PING when
        // eliciting, and padding ACK-only ones as well costs little and keeps it simple.
        true
    }

    /// Whether `space` has something to send now.
    fn space_wants_packet(&self, now: Instant, id: PacketSpace, cc_open: bool) -> bool {
        let space = self.space(id);
        if space.discarded || space.keys.is_none() {
            return false;
        }
        if space.ack.should_send_ack(now) {
            return true;
        }
        if id == PacketSpace::Data && self.handshake_complete && self.challenge_pending() {
            // A path challenge goes out even when the window is full, like a probe: after a
            // move the window restarted while the old path's packets still count in flight,
            // and validation must not wait for them (it has its own retransmission timer).
            return true;
        }
        if !cc_open {
            return false;
        }
        if space.crypto_send.has_pending()
            || space.ping_pending
            || self.recovery.probes_pending(id) > 0
        {
            return true;
        }
        id == PacketSpace::Data
            && (self.handshake_done_pending
                || !self.path_responses.is_empty()
                || self.challenge_pending()
                || !self.new_cids_pending.is_empty()
                || self.remote_cids.has_pending_retirements()
                || !self.datagrams_out.is_empty()
                || self.has_injected()
                || (self.handshake_complete && self.streams.wants_transmit()))
    }

    fn header(&self, space: PacketSpace, pn: u64) -> Header {
        let number = PacketNumber::encode(pn, self.recovery.largest_acked(space));
        let dst_cid = self.remote_cids.current().cid;
        match space {
            PacketSpace::Initial => Header::Initial {
                version: self.version,
                dst_cid,
                src_cid: self.initial_src_cid,
                token: if self.side == Side::Client {
                    self.retry_token.clone()
                } else {
                    Bytes::new()
                },
                number,
            },
            PacketSpace::Handshake => Header::Long {
                ty: LongType::Handshake,
                version: self.version,
                dst_cid,
                src_cid: self.initial_src_cid,
                number,
            },
            PacketSpace::Data => Header::Short {
                spin: false,
                key_phase: self.key_phase,
                dst_cid,
                number,
            },
        }
    }

    /// Writes one packet of `space` at the end of `buf`, within `limit` bytes of datagram.
    /// Returns whether a packet was written.
    fn build_packet(
        &mut self,
        now: Instant,
        id: PacketSpace,
        buf: &mut Vec<u8>,
        limit: usize,
        pad_to: Option<usize>,
        cc_open: bool,
    ) -> bool {
        let start = buf.len();
        let pn = self.space(id).next_pn;
        let partial = self.header(id, pn).encode(buf);
        let tag_len = self.tag_len(id);
        let Some(end) = limit.checked_sub(tag_len).filter(|&e| e > buf.len() + 1) else {
            buf.truncate(start);
            return false;
        };
        let mut sent = SentFrames::default();
        let mut ack_eliciting = false;

        if id == PacketSpace::Data && self.handshake_complete && self.challenge_pending() {
            // A PATH_CHALLENGE owed on a new path goes first, whatever the window (it has its
            // own timer, paths.rs): a large ACK must not crowd it out of a datagram that the
            // anti-amplification limit keeps small, so the first packet to a new address
            // always carries it.
            let before = buf.len();
            let full_size = pad_to.is_some_and(|t| t >= MIN_INITIAL_DATAGRAM);
            self.write_current_challenge(now, buf, end, full_size);
            ack_eliciting = buf.len() > before;
        }
        // ACK next: it is small and lets the peer free state (RFC 9000 §13.2.1).
        self.write_ack(now, id, buf, end, &mut sent);

        if cc_open {
            if id != PacketSpace::Data
                && self.recovery.probes_pending(id) > 0
                && !self.space(id).ping_pending
                && !self.space(id).crypto_send.has_pending()
            {
                // The second probe of a PTO (RFC 9002 §6.2.4) carries the handshake data again
                // rather than a bare PING: either datagram alone then moves the handshake on
                // when the other is lost, and a server that sees only the second must still
                // find a CRYPTO frame in the client's first Initial (RFC 9000 §17.2.2).
                self.space_mut(id).crypto_send.resend_all();
            }
            ack_eliciting |= self.write_eliciting_frames(now, id, buf, end, &mut sent);
            let probe = self.space(id).ping_pending || self.recovery.probes_pending(id) > 0;
            if probe && !ack_eliciting && buf.len() < end {
                // RFC 9002 §6.2.4: a probe must be ack-eliciting; PING when nothing else.
                buf.push(0x01);
                ack_eliciting = true;
            }
            if ack_eliciting {
                self.space_mut(id).ping_pending = false;
            }
        }
        if buf.len() == start + partial.header_len {
            buf.truncate(start);
            return false;
        }
        self.finish_packet(
            now,
            id,
            pn,
            partial,
            start,
            buf,
            pad_to,
            ack_eliciting,
            sent,
        );
        true
    }

    fn tag_len(&self, id: PacketSpace) -> usize {
        self.space(id)
            .keys
            .as_ref()
            .map_or(16, |k| k.local.packet.tag_len())
    }

    fn write_ack(
        &mut self,
        now: Instant,
        id: PacketSpace,
        buf: &mut Vec<u8>,
        end: usize,
        sent: &mut SentFrames,
    ) {
        let space = self.space(id);
        if !space.ack.has_new_packets() {
            return;
        }
        let delay = if id == PacketSpace::Data {
            // RFC 9000 §19.3: ACK Delay in microseconds, scaled down by our exponent.
            (space.ack.ack_delay(now).as_micros() as u64) >> self.config.ack_delay_exponent
        } else {
            0
        };
        // RFC 9000 §13.4.1: once any marked packet arrived in this space, every ACK carries the
        // counts (frame type 0x03).
        let ecn = space.ack.ecn_counts().map(|c| frame::EcnCounts {
            ect0: c.ect0,
            ect1: c.ect1,
            ce: c.ce,
        });
        let Some(encoder) = AckEncoder::ascending(space.ack.ack_ranges(), delay, ecn)
            .and_then(|e| e.fit(end.saturating_sub(buf.len())))
        else {
            return;
        };
        sent.largest_acked = space.ack.ack_ranges().last().map(|r| r.end - 1);
        encoder.encode(buf);
        self.space_mut(id).ack.on_ack_sent();
    }

    /// Everything except ACK and PADDING, in priority order. Returns whether anything was
    /// written.
    fn write_eliciting_frames(
        &mut self,
        now: Instant,
        id: PacketSpace,
        buf: &mut Vec<u8>,
        end: usize,
        sent: &mut SentFrames,
    ) -> bool {
        let before = buf.len();
        if id == PacketSpace::Data {
            if self.handshake_done_pending && end - buf.len() >= 1 {
                buf.push(0x1e);
                self.handshake_done_pending = false;
                sent.frames.push(SentFrame::HandshakeDone);
            }
            let mut responded = false;
            while end - buf.len() >= 10 {
                let Some(data) = self.path_responses.pop_front() else {
                    break;
                };
                frame::Frame::PathResponse(data).encode(buf);
                self.paths_response_sent();
                responded = true;
            }
            if responded {
                // RFC 9000 §9.3.3: a PATH_CHALLENGE on the active path SHOULD be answered with
                // a non-probing packet too, which moves a peer that followed a forged copy of
                // our packets back to this path. PING is the smallest non-probing frame.
                buf.push(0x01);
            }
        }
        // CRYPTO data of this level.
        loop {
            let room = end.saturating_sub(buf.len());
            let space = self.space_mut(id);
            let Some(offset) = space.crypto_send.peek_offset() else {
                break;
            };
            let Some(max) = CryptoHeader::max_data_len(offset, room).filter(|&m| m > 0) else {
                break;
            };
            let Some((offset, data)) = space.crypto_send.next(max) else {
                break;
            };
            CryptoHeader {
                offset,
                len: data.len(),
            }
            .encode(buf);
            buf.extend_from_slice(data);
            let len = data.len() as u32;
            sent.frames.push(SentFrame::Crypto { offset, len });
        }
        if id == PacketSpace::Data && self.handshake_complete {
            self.write_data_frames(now, buf, end, sent);
        }
        buf.len() > before
    }

    fn write_data_frames(
        &mut self,
        now: Instant,
        buf: &mut Vec<u8>,
        end: usize,
        sent: &mut SentFrames,
    ) {
        #[cfg(test)]
        for f in std::mem::take(&mut self.injected) {
            f.encode(buf);
        }
        let rtt = self.recovery.rtt().smoothed();
        while let Some(ctrl) = self
            .streams
            .poll_control(now, rtt, end.saturating_sub(buf.len()))
        {
            encode_control(&ctrl, buf);
            sent.frames.push(SentFrame::Control(ctrl));
        }
        while let Some(&(seq, cid)) = self.new_cids_pending.front() {
            let frame = NewConnectionId {
                sequence: VarInt::from_u64_unchecked(seq),
                retire_prior_to: VarInt::ZERO,
                id: cid,
                reset_token: crate::connection::cids::reset_token_for(&self.reset_key, &cid),
            };
            if frame.encoded_len() > end.saturating_sub(buf.len()) {
                break;
            }
            frame.encode(buf);
            self.new_cids_pending.pop_front();
            sent.frames.push(SentFrame::NewConnectionId(seq));
        }
        while end.saturating_sub(buf.len()) >= 9 {
            let Some(seq) = self.remote_cids.pop_retirement() else {
                break;
            };
            frame::Frame::RetireConnectionId(VarInt::from_u64_unchecked(seq)).encode(buf);
            sent.frames.push(SentFrame::RetireConnectionId(seq));
        }
        while let Some(d) = self.datagrams_out.front() {
            let header = DatagramHeader { len: d.len() };
            if header.encoded_len(true) + d.len() > end.saturating_sub(buf.len()) {
                break;
            }
            header.encode(true, buf);
            buf.extend_from_slice(d);
            self.datagrams_out.pop_front();
        }
        while let Some(chunk) = self
            .streams
            .poll_stream_frame(end.saturating_sub(buf.len()))
        {
            let header = StreamHeader {
                id: chunk.id.as_varint(),
                offset: chunk.offset,
                len: chunk.data.len(),
                fin: chunk.fin,
            };
            header.encode(true, buf);
            buf.extend_from_slice(&chunk.data);
            sent.frames.push(SentFrame::Stream {
                id: chunk.id,
                offset: chunk.offset,
                len: chunk.data.len() as u32,
                fin: chunk.fin,
            });
        }
    }

    fn build_padding_packet(
        &mut self,
        now: Instant,
        id: PacketSpace,
        buf: &mut Vec<u8>,
        target: usize,
    ) {
        let start = buf.len();
        let pn = self.space(id).next_pn;
        let partial = self.header(id, pn).encode(buf);
        buf.push(0); // one PADDING frame; finish_packet pads the rest
        self.finish_packet(
            now,
            id,
            pn,
            partial,
            start,
            buf,
            Some(target),
            false,
            SentFrames::default(),
        );
    }

    /// Pads, seals and masks the packet that starts at `start`, and records it.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn finish_packet(
        &mut self,
        now: Instant,
        id: PacketSpace,
        pn: u64,
        partial: crate::packet::PartialEncode,
        start: usize,
        buf: &mut Vec<u8>,
        pad_to: Option<usize>,
        ack_eliciting: bool,
        mut sent: SentFrames,
    ) {
        if self.datagram_ecn == EcnCodepoint::Ect0 {
            sent.ect0 = true;
            self.ecn.on_marked_sent(now, id);
        }
        let tag_len = self.tag_len(id);
        let (pn_offset, pn_len) = partial.pn.expect("protected packets have packet numbers");
        // RFC 9001 §5.4.2: the packet number plus payload must be at least 4 bytes so the
        // header-protection sample (16 bytes, 4 after the packet number) exists.
        let min_end = start + pn_offset + 4;
        let mut payload_end = buf.len().max(min_end);
        if let Some(target) = pad_to {
            payload_end = payload_end.max(target.saturating_sub(tag_len));
        }
        let has_padding = payload_end > buf.len();
        buf.resize(payload_end, 0); // PADDING frames are zero bytes (RFC 9000 §19.1)
        buf.resize(payload_end + tag_len, 0);
        let packet_len = buf.len() - start;
        partial.set_length(buf, packet_len);

        let keys = self.spaces[id.index()]
            .keys
            .as_ref()
            .expect("a space we send in has keys");
        let packet = &mut buf[start..];
        let header_len = partial.header_len;
        let (header, rest) = packet.split_at_mut(header_len);
        let payload_len = rest.len() - tag_len;
        let tag = keys
            .local
            .packet
            .encrypt_in_place(pn, header, &mut rest[..payload_len])
            .expect("a datagram-sized payload always seals");
        rest[payload_len..].copy_from_slice(tag.as_ref());
        // RFC 9001 §5.4.1: header protection is applied after packet protection.
        let mut sample = [0u8; 16];
        sample.copy_from_slice(&packet[pn_offset + 4..pn_offset + 20]);
        let (first, after) = packet.split_at_mut(pn_offset);
        keys.local
            .header
            .encrypt_in_place(&sample, &mut first[0], &mut after[..pn_len])
            .expect("a 16-byte sample and a 1-4 byte packet number always mask");

        self.space_mut(id).next_pn += 1;
        if id == PacketSpace::Data {
            self.packets_in_phase += 1;
            self.maybe_initiate_key_update();
        }
        // A packet on another path than the current one (paths.rs) is left out of the
        // current path's bytes in flight and loss detection: its fate says nothing about this
        // path's congestion, and validation has its own timer.
        let in_flight =
            !self.sending_off_path && (ack_eliciting || has_padding || !sent.frames.is_empty());
        let ack_eliciting = ack_eliciting && !self.sending_off_path;
        if in_flight {
            self.pacer.on_sent(packet_len as u64);
        }
        self.recovery
            .on_packet_sent(now, id, pn, packet_len, ack_eliciting, in_flight, sent);
        if ack_eliciting {
            // RFC 9000 §10.1: sending the first ack-eliciting packet after receiving one
            // restarts the idle timer.
            if !self.sent_eliciting_since_receive {
                if let Some(t) = self.idle_timeout {
                    self.idle_deadline =
                        Some(now + t.max(3 * self.recovery.pto(PacketSpace::Data)));
                }
            }
            self.sent_eliciting_since_receive = true;
        }
        if self.side == Side::Client && id == PacketSpace::Handshake {
            // RFC 9001 §4.9.1: a client discards Initial keys when it first sends a
            // Handshake packet.
            self.discard_space(now, PacketSpace::Initial);
        }
    }

    /// Builds CONNECTION_CLOSE packets in every space that still has keys (RFC 9000 §10.2.3:
    /// the peer may not have the later keys yet).
    fn build_close_datagram(&mut self, now: Instant, buf: &mut Vec<u8>, limit: usize) {
        let Some(close) = self.close.clone() else {
            return;
        };
        let spaces: Vec<PacketSpace> = PacketSpace::ALL
            .into_iter()
            .filter(|&s| !self.space(s).discarded && self.space(s).keys.is_some())
            .collect();
        let mut contains_initial = false;
        for (i, &id) in spaces.iter().enumerate() {
            if limit.saturating_sub(buf.len()) < MIN_PACKET_ROOM {
                break;
            }
            contains_initial |= id == PacketSpace::Initial;
            let start = buf.len();
            let pn = self.space(id).next_pn;
            let partial = self.header(id, pn).encode(buf);
            let room = limit.saturating_sub(buf.len() + self.tag_len(id));
            match &close {
                CloseFrame::Transport(e) => {
                    let mut frame = ConnectionClose::from(e);
                    frame.reason.truncate(room.saturating_sub(24));
                    frame.encode(buf);
                }
                CloseFrame::Application { code, reason } if id == PacketSpace::Data => {
                    let mut reason = reason.clone();
                    reason.truncate(room.saturating_sub(24));
                    ApplicationClose {
                        error_code: *code,
                        reason,
                    }
                    .encode(buf);
                }
                CloseFrame::Application { .. } => {
                    // RFC 9000 §10.2.3: before 1-RTT, an application close is sent as a
                    // transport CONNECTION_CLOSE with APPLICATION_ERROR and no reason.
                    ConnectionClose {
                        error_code: TransportErrorCode::APPLICATION_ERROR,
                        frame_type: FrameType::PADDING,
                        reason: Bytes::new(),
                    }
                    .encode(buf);
                }
            }
            let pad_to = (i + 1 == spaces.len() && contains_initial && self.side == Side::Client)
                .then_some(MIN_INITIAL_DATAGRAM.min(limit));
            self.finish_packet(
                now,
                id,
                pn,
                partial,
                start,
                buf,
                pad_to,
                false,
                SentFrames::default(),
            );
        }
    }
}

impl Connection {
    /// RFC 9001 §6.6: a key update MUST start before the confidentiality limit; we start at
    /// 90% of it, once the peer has answered in the current phase (RFC 9001 §6.1).
    fn maybe_initiate_key_update(&mut self) {
        let Some(keys) = self.space(PacketSpace::Data).keys.as_ref() else {
            return;
        };
        let limit = self.key_update_threshold(keys.local.packet.confidentiality_limit());
        if self.packets_in_phase >= limit && self.phase_confirmed && self.next_keys.is_some() {
            self.rotate_keys();
        }
    }

    #[cfg(not(test))]
    fn key_update_threshold(&self, confidentiality_limit: u64) -> u64 {
        confidentiality_limit / 10 * 9
    }

    #[cfg(test)]
    fn key_update_threshold(&self, confidentiality_limit: u64) -> u64 {
        self.test_key_update_after
            .unwrap_or(confidentiality_limit / 10 * 9)
    }

    #[cfg(test)]
    fn has_injected(&self) -> bool {
        !self.injected.is_empty()
    }

    #[cfg(not(test))]
    fn has_injected(&self) -> bool {
        false
    }
}

fn encode_control(ctrl: &StreamControl, buf: &mut Vec<u8>) {
    use crate::frame::{
        MaxStreamData, MaxStreams, ResetStream, StopSending, StreamDataBlocked, StreamsBlocked,
    };
    let fdir = |d: crate::stream::Dir| match d {
        crate::stream::Dir::Bi => frame::Dir::Bi,
        crate::stream::Dir::Uni => frame::Dir::Uni,
    };
    let v = VarInt::from_u64_unchecked;
    match *ctrl {
        StreamControl::ResetStream {
            id,
            error_code,
            final_size,
        } => ResetStream {
            id: id.as_varint(),
            error_code,
            final_size: v(final_size),
        }
        .encode(buf),
        StreamControl::StopSending { id, error_code } => StopSending {
            id: id.as_varint(),
            error_code,
        }
        .encode(buf),
        StreamControl::MaxData(max) => frame::Frame::MaxData(v(max)).encode(buf),
        StreamControl::MaxStreamData { id, max } => MaxStreamData {
            id: id.as_varint(),
            max: v(max),
        }
        .encode(buf),
        StreamControl::MaxStreams { dir, count } => MaxStreams {
            dir: fdir(dir),
            count,
        }
        .encode(buf),
        StreamControl::DataBlocked(limit) => frame::Frame::DataBlocked(v(limit)).encode(buf),
        StreamControl::StreamDataBlocked { id, limit } => StreamDataBlocked {
            id: id.as_varint(),
            limit: v(limit),
        }
        .encode(buf),
        StreamControl::StreamsBlocked { dir, limit } => StreamsBlocked {
            dir: fdir(dir),
            limit,
        }
        .encode(buf),
    }
}

//! What we send: our control stream (SETTINGS, GOAWAY, PRIORITY_UPDATE), QPACK encoder and
//! decoder streams, GREASE, and the sending side of request streams. Bytes the transport
//! cannot take yet are queued per stream (as `Bytes`, without copying) and flushed on
//! `on_stream_writable`.

use super::request::{RecvState, RequestStream, SendState};
use super::{Connection, Role};
use crate::error::{Code, H3Error, SendError};
use crate::frame::{self, Frame};
use crate::message;
use crate::priority::Priority;
use crate::settings::{self, Settings};
use crate::transport::{Transport, WriteError};
use crate::{varint, StreamId};
use bytes::{Buf, Bytes};
use http::{HeaderMap, Request, Response};
use std::collections::VecDeque;

/// Stream type of a control stream (RFC 9114 §6.2.1).
pub(crate) const STREAM_CONTROL: u64 = 0x00;
/// Stream type of a push stream (RFC 9114 §6.2.2).
pub(crate) const STREAM_PUSH: u64 = 0x01;
/// Stream type of a QPACK encoder stream (RFC 9204 §4.2).
pub(crate) const STREAM_QPACK_ENCODER: u64 = 0x02;
/// Stream type of a QPACK decoder stream (RFC 9204 §4.2).
pub(crate) const STREAM_QPACK_DECODER: u64 = 0x03;

/// One of our critical unidirectional streams: its ID once opened, and bytes produced before
/// that.
#[derive(Debug, Default)]
pub(super) struct LocalUni {
    pub id: Option<StreamId>,
    pub pending: Vec<u8>,
}

/// Bytes queued for a stream the transport has not taken yet.
#[derive(Debug, Default)]
pub(super) struct SendBuf {
    chunks: VecDeque<Bytes>,
    fin: bool,
}

impl Connection {
    /// Opens whichever of our control, encoder and decoder streams (and the GREASE stream)
    /// are not open yet, as the transport allows.
    pub(super) fn open_local_streams(&mut self, t: &mut dyn Transport) {
        if self.control.id.is_none() {
            let Some(id) = t.open_uni() else { return };
            let mut out = Vec::new();
            varint::encode(STREAM_CONTROL, &mut out);
            // RFC 9114 §6.2.1: SETTINGS MUST be the first frame on the control stream.
            Frame::Settings(self.local_settings()).encode(&mut out);
            if self.config.grease {
                // RFC 9114 §7.2.8: reserved frame types MAY be sent on any stream.
                Frame::Unknown {
                    ty: settings::grease_value(self.grease_seed % 1000),
                    payload: Bytes::from_static(b"h3"),
                }
                .encode(&mut out);
            }
            out.append(&mut self.control.pending);
            self.control.id = Some(id);
            Self::prioritize_critical(t, id);
            self.write_critical(t, id, out);
        }
        for (ty, which) in [(STREAM_QPACK_ENCODER, 0), (STREAM_QPACK_DECODER, 1)] {
            let uni = if which == 0 {
                &mut self.encoder_stream
            } else {
                &mut self.decoder_stream
            };
            if uni.id.is_some() {
                continue;
            }
            let Some(id) = t.open_uni() else { return };
            let mut out = Vec::new();
            varint::encode(ty, &mut out);
            out.append(&mut uni.pending);
            uni.id = Some(id);
            Self::prioritize_critical(t, id);
            self.write_critical(t, id, out);
        }
        if self.config.grease && !self.grease_stream_done {
            self.grease_stream_done = true;
            // RFC 9114 §6.2.3: a reserved stream type, some payload, then FIN.
            if let Some(id) = t.open_uni() {
                let mut out = Vec::new();
                varint::encode(
                    settings::grease_value(self.grease_seed >> 20 & 0xff),
                    &mut out,
                );
                out.extend_from_slice(b"grease");
                let _ = self.write_stream(t, id, Bytes::from(out), true);
            }
        }
    }

    /// Our SETTINGS: QPACK dynamic table on, field section limit, options, GREASE.
    pub(super) fn local_settings(&self) -> Settings {
        let c = &self.config;
        let mut s = Settings {
            qpack_max_table_capacity: Some(c.qpack_max_table_capacity),
            max_field_section_size: Some(c.max_field_section_size),
            qpack_blocked_streams: Some(c.qpack_blocked_streams),
            enable_connect_protocol: c.enable_connect_protocol.then_some(true),
            h3_datagram: c.h3_datagram.then_some(true),
            unknown: Vec::new(),
        };
        if c.grease {
            // RFC 9114 §7.2.4.1: endpoints SHOULD include at least one reserved setting.
            s.add_grease(self.grease_seed);
        }
        s
    }

    /// Writes to a critical stream; a failure is H3_CLOSED_CRITICAL_STREAM (RFC 9114 §6.2.1,
    /// RFC 9204 §4.2), reported on the next call.
    fn write_critical(&mut self, t: &mut dyn Transport, id: StreamId, data: Vec<u8>) {
        if data.is_empty() {
            return;
        }
        if self.write_stream(t, id, Bytes::from(data), false).is_err() {
            self.fail(
                t,
                H3Error::new(Code::H3_CLOSED_CRITICAL_STREAM, "critical stream stopped"),
            );
        }
    }

    /// Appends to our control stream (or to what waits for it to open).
    pub(super) fn write_control(&mut self, t: &mut dyn Transport, frame: &Frame) {
        let mut out = Vec::with_capacity(frame.encoded_len());
        frame.encode(&mut out);
        match self.control.id {
            Some(id) => self.write_critical(t, id, out),
            None => self.control.pending.extend(out),
        }
    }

    fn write_encoder_stream(&mut self, t: &mut dyn Transport, bytes: Vec<u8>) {
        match self.encoder_stream.id {
            Some(id) => self.write_critical(t, id, bytes),
            None => self.encoder_stream.pending.extend(bytes),
        }
    }

    /// Sends what the QPACK decoder produced (acknowledgments, cancellations, insert count
    /// increments; RFC 9204 §4.4).
    pub(super) fn flush_decoder_stream(&mut self, t: &mut dyn Transport) {
        let bytes = self.decoder.take_decoder_stream_bytes();
        if bytes.is_empty() {
            return;
        }
        match self.decoder_stream.id {
            Some(id) => self.write_critical(t, id, bytes),
            None => self.decoder_stream.pending.extend(bytes),
        }
    }

    /// Queues `data` (and FIN) on `id` and writes as much as the transport takes.
    pub(super) fn write_stream(
        &mut self,
        t: &mut dyn Transport,
        id: StreamId,
        data: Bytes,
        fin: bool,
    ) -> Result<(), WriteError> {
        let buf = self.outgoing.entry(id).or_default();
        if !data.is_empty() {
            buf.chunks.push_back(data);
        }
        buf.fin |= fin;
        self.flush_buf(t, id)
    }

    fn flush_buf(&mut self, t: &mut dyn Transport, id: StreamId) -> Result<(), WriteError> {
        let Some(buf) = self.outgoing.get_mut(&id) else {
            return Ok(());
        };
        while let Some(front) = buf.chunks.front_mut() {
            match t.write(id, front.clone()) {
                Ok(n) if n >= front.len() => {
                    buf.chunks.pop_front();
                }
                Ok(0) => return Ok(()),
                Ok(n) => {
                    // Only a write the transport refuses outright (0) arms its writability
                    // notification; after a partial one, try the rest at once.
                    front.advance(n);
                }
                Err(e) => {
                    self.outgoing.remove(&id);
                    return Err(e);
                }
            }
        }
        if buf.fin {
            t.finish(id);
        }
        self.outgoing.remove(&id);
        Ok(())
    }

    fn has_queued(&self, id: StreamId) -> bool {
        self.outgoing.get(&id).is_some_and(|b| !b.chunks.is_empty())
    }

    /// Writes what is queued for `id` (from `on_stream_writable`).
    pub(super) fn flush_stream(
        &mut self,
        t: &mut dyn Transport,
        id: StreamId,
    ) -> Result<(), H3Error> {
        let critical = [
            self.control.id,
            self.encoder_stream.id,
            self.decoder_stream.id,
        ];
        match self.flush_buf(t, id) {
            Err(_) if critical.contains(&Some(id)) => Err(H3Error::new(
                Code::H3_CLOSED_CRITICAL_STREAM,
                "critical stream stopped",
            )),
            Err(WriteError::Stopped(code)) => {
                self.on_send_stopped(id, code);
                Ok(())
            }
            _ => {
                self.maybe_remove(id);
                Ok(())
            }
        }
    }

    /// The peer stopped one of our streams (STOP_SENDING).
    pub(super) fn on_peer_stop_sending(
        &mut self,
        _t: &mut dyn Transport,
        id: StreamId,
        code: Code,
    ) -> Result<(), H3Error> {
        // RFC 9114 §6.2.1, RFC 9204 §4.2: the receiver MUST NOT ask to close a critical
        // stream; closing one is H3_CLOSED_CRITICAL_STREAM.
        let critical = [
            self.control.id,
            self.encoder_stream.id,
            self.decoder_stream.id,
        ];
        if critical.contains(&Some(id)) {
            return Err(H3Error::new(
                Code::H3_CLOSED_CRITICAL_STREAM,
                "peer stopped a critical stream",
            ));
        }
        self.outgoing.remove(&id);
        self.on_send_stopped(id, code);
        Ok(())
    }

    /// A request stream's send side was stopped by the peer.
    fn on_send_stopped(&mut self, id: StreamId, code: Code) {
        self.outgoing.remove(&id);
        let Some(r) = self.requests.get_mut(&id) else {
            return;
        };
        if r.send == SendState::Done {
            return;
        }
        r.send = SendState::Done;
        self.events
            .push_back(super::Event::StreamError(crate::error::StreamError {
                stream: id,
                kind: crate::error::StreamErrorKind::StoppedByPeer,
                code,
            }));
        self.maybe_remove(id);
    }

    pub(super) fn check_send(&self) -> Result<(), SendError> {
        if self.closed.is_some() {
            Err(SendError::ConnectionClosed)
        } else {
            Ok(())
        }
    }

    /// Encodes a field section and writes it as a HEADERS frame on `id`, its encoder
    /// instructions first. Checks the peer's SETTINGS_MAX_FIELD_SECTION_SIZE (RFC 9114
    /// §4.2.2).
    fn send_fields(
        &mut self,
        t: &mut dyn Transport,
        id: StreamId,
        fields: &[qpack::HeaderField],
        fin: bool,
    ) -> Result<(), SendError> {
        let size = message::section_size(fields);
        let limit = self
            .peer_settings
            .as_ref()
            .map_or(u64::MAX, Settings::max_field_section_size);
        if size > limit {
            return Err(SendError::HeadersTooLarge { size, limit });
        }
        let mut instructions = Vec::new();
        let block = self.encoder.encode(id.0, fields, &mut instructions);
        self.write_encoder_stream(t, instructions);
        let frame = Frame::Headers(Bytes::from(block));
        let r = self.write_stream(t, id, frame.to_bytes(), fin);
        self.send_result(id, r)
    }

    fn send_result(&mut self, id: StreamId, r: Result<(), WriteError>) -> Result<(), SendError> {
        match r {
            Ok(()) => Ok(()),
            Err(WriteError::Stopped(code)) => {
                self.on_send_stopped(id, code);
                Err(SendError::Stopped(code))
            }
            Err(WriteError::Closed) => {
                if let Some(r) = self.requests.get_mut(&id) {
                    r.send = SendState::Done;
                }
                self.maybe_remove(id);
                Err(SendError::UnknownStream)
            }
        }
    }

    /// Client: opens a request stream and sends the request's header section; FIN too when
    /// `end_stream` (no body). The body follows with [`Connection::send_data`], then
    /// [`Connection::send_trailers`] or [`Connection::finish`].
    pub fn send_request(
        &mut self,
        t: &mut dyn Transport,
        request: &Request<()>,
        end_stream: bool,
    ) -> Result<StreamId, SendError> {
        self.check_send()?;
        if self.role != Role::Client {
            return Err(SendError::InvalidState("only clients send requests"));
        }
        // RFC 9114 §5.2: no new requests after receiving GOAWAY.
        if self.goaway_received.is_some() {
            return Err(SendError::GoingAway);
        }
        let connect_protocol = self
            .peer_settings
            .as_ref()
            .is_some_and(Settings::enable_connect_protocol);
        let fields = message::request_fields(request, connect_protocol)?;
        let size = message::section_size(&fields);
        if let Some(limit) = self
            .peer_settings
            .as_ref()
            .map(Settings::max_field_section_size)
        {
            if size > limit {
                return Err(SendError::HeadersTooLarge { size, limit });
            }
        }
        self.open_local_streams(t);
        let id = t.open_bidi().ok_or(SendError::StreamLimit)?;
        let mut stream = RequestStream::new(self.config.frame_limits);
        stream.method = Some(request.method().clone());
        stream.send_limit = declared_length(request.headers());
        // RFC 9218 §5: the request's own header sets the response's priority; we send the
        // request body at the same priority.
        if let Some(p) = Priority::from_headers(request.headers()) {
            stream.priority = p;
        }
        stream.send = if end_stream {
            SendState::Done
        } else {
            SendState::Body
        };
        self.requests.insert(id, stream);
        self.push_priority(t, id);
        self.send_fields(t, id, &fields, end_stream)?;
        if end_stream {
            self.check_sent_length(id)?;
        }
        Ok(id)
    }

    /// Server: sends a response on request stream `id`: any number of interim (1xx)
    /// responses, then one final response (FIN too when `end_stream`).
    pub fn send_response(
        &mut self,
        t: &mut dyn Transport,
        id: StreamId,
        response: &Response<()>,
        end_stream: bool,
    ) -> Result<(), SendError> {
        self.check_send()?;
        if self.role != Role::Server {
            return Err(SendError::InvalidState("only servers send responses"));
        }
        let r = self.requests.get(&id).ok_or(SendError::UnknownStream)?;
        if !matches!(r.send, SendState::Start | SendState::Interim) {
            return Err(SendError::InvalidState("final response already sent"));
        }
        let interim = response.status().is_informational();
        if interim && end_stream {
            return Err(SendError::InvalidState(
                "an interim response cannot end the stream",
            ));
        }
        let fields = message::response_fields(response)?;
        let no_content = message::response_has_no_content(r.method.as_ref(), response.status());
        self.open_local_streams(t);
        // RFC 9218 §8: the server's view of the response's priority, before its bytes are
        // queued.
        self.on_response_priority(t, id, response.headers());
        self.send_fields(t, id, &fields, end_stream)?;
        if let Some(r) = self.requests.get_mut(&id) {
            r.send = match (interim, end_stream) {
                (true, _) => SendState::Interim,
                (false, false) => SendState::Body,
                (false, true) => SendState::Done,
            };
            if !interim {
                r.send_limit = if no_content {
                    Some(0)
                } else {
                    declared_length(response.headers())
                };
            }
        }
        if end_stream {
            self.check_sent_length(id)?;
            self.maybe_remove(id);
        }
        Ok(())
    }

    /// Sends body bytes on `id` as one DATA frame. Returns how many bytes of `data` were
    /// taken: all of it, or 0 when the stream still has queued bytes the transport has not
    /// taken (wait for writability, then retry).
    pub fn send_data(
        &mut self,
        t: &mut dyn Transport,
        id: StreamId,
        data: Bytes,
    ) -> Result<usize, SendError> {
        self.check_send()?;
        let r = self.requests.get(&id).ok_or(SendError::UnknownStream)?;
        if r.send != SendState::Body {
            return Err(SendError::InvalidState("DATA outside a message body"));
        }
        // Never send a body that contradicts our Content-Length (RFC 9114 §4.1.2).
        if r.send_limit
            .is_some_and(|l| r.sent_len + data.len() as u64 > l)
        {
            return Err(SendError::InvalidMessage("body longer than content-length"));
        }
        if data.is_empty() {
            return Ok(0);
        }
        let w = self.flush_buf(t, id);
        self.send_result(id, w)?;
        if self.has_queued(id) {
            return Ok(0);
        }
        let mut header = Vec::with_capacity(16);
        frame::encode_header(frame::DATA, data.len() as u64, &mut header);
        let header = Bytes::from(header);
        let n = match t.write(id, header.clone()) {
            Ok(n) => n,
            Err(e) => return self.send_result(id, Err(e)).map(|_| 0),
        };
        if n == 0 {
            return Ok(0);
        }
        let len = data.len();
        if let Some(r) = self.requests.get_mut(&id) {
            r.sent_len += len as u64;
        }
        let buf = self.outgoing.entry(id).or_default();
        if n < header.len() {
            buf.chunks.push_back(header.slice(n..));
        }
        buf.chunks.push_back(data);
        let w = self.flush_buf(t, id);
        self.send_result(id, w)?;
        Ok(len)
    }

    /// Sends a trailer section and ends the stream.
    pub fn send_trailers(
        &mut self,
        t: &mut dyn Transport,
        id: StreamId,
        trailers: &HeaderMap,
    ) -> Result<(), SendError> {
        self.check_send()?;
        let r = self.requests.get(&id).ok_or(SendError::UnknownStream)?;
        if r.send != SendState::Body {
            return Err(SendError::InvalidState("trailers outside a message"));
        }
        self.check_sent_length(id)?;
        let fields = message::trailer_fields(trailers, self.role == Role::Client)?;
        self.send_fields(t, id, &fields, true)?;
        if let Some(r) = self.requests.get_mut(&id) {
            r.send = SendState::Done;
        }
        self.maybe_remove(id);
        Ok(())
    }

    /// Ends the message on `id` (FIN after what was sent).
    pub fn finish(&mut self, t: &mut dyn Transport, id: StreamId) -> Result<(), SendError> {
        self.check_send()?;
        let r = self.requests.get(&id).ok_or(SendError::UnknownStream)?;
        if r.send != SendState::Body {
            return Err(SendError::InvalidState("no message body to finish"));
        }
        self.check_sent_length(id)?;
        if let Some(r) = self.requests.get_mut(&id) {
            r.send = SendState::Done;
        }
        let w = self.write_stream(t, id, Bytes::new(), true);
        self.send_result(id, w)?;
        self.maybe_remove(id);
        Ok(())
    }

    fn check_sent_length(&self, id: StreamId) -> Result<(), SendError> {
        match self.requests.get(&id) {
            Some(r) if r.send_limit.is_some_and(|l| l != r.sent_len) => Err(
                SendError::InvalidMessage("body shorter than content-length"),
            ),
            _ => Ok(()),
        }
    }

    /// Abandons a request stream in both directions (RFC 9114 §4.1.1): resets our side and
    /// stops reading the peer's, with `code` (clients SHOULD use H3_REQUEST_CANCELLED).
    pub fn reset_stream(
        &mut self,
        t: &mut dyn Transport,
        id: StreamId,
        code: Code,
    ) -> Result<(), SendError> {
        self.check_send()?;
        let r = self.requests.get_mut(&id).ok_or(SendError::UnknownStream)?;
        if r.send != SendState::Done {
            t.reset(id, code);
            r.send = SendState::Done;
        }
        if r.recv != RecvState::Done {
            t.stop_sending(id, code);
            r.recv = RecvState::Done;
            // RFC 9204 §2.2.2.2: abandoning a stream's sections needs a Stream Cancellation.
            self.decoder.cancel_stream(id.0);
        }
        self.outgoing.remove(&id);
        self.requests.remove(&id);
        self.flush_decoder_stream(t);
        Ok(())
    }

    /// Stops reading the peer's side of `id` (STOP_SENDING with `code`; H3_NO_ERROR when a
    /// server has its answer and does not need the rest of the request, RFC 9114 §4.1).
    pub fn stop_reading(
        &mut self,
        t: &mut dyn Transport,
        id: StreamId,
        code: Code,
    ) -> Result<(), SendError> {
        self.check_send()?;
        let r = self.requests.get_mut(&id).ok_or(SendError::UnknownStream)?;
        if r.recv != RecvState::Done {
            t.stop_sending(id, code);
            r.recv = RecvState::Done;
            self.decoder.cancel_stream(id.0);
            self.flush_decoder_stream(t);
        }
        self.maybe_remove(id);
        Ok(())
    }

    /// Starts a graceful shutdown (RFC 9114 §5.2) by sending GOAWAY. A server sends the
    /// next request stream ID it has not seen, and rejects later requests with
    /// H3_REQUEST_REJECTED; a client sends push ID 0 (we never allow pushes). Identifiers
    /// only decrease: a second call never sends a larger one.
    pub fn send_goaway(&mut self, t: &mut dyn Transport) -> Result<u64, SendError> {
        self.check_send()?;
        let id = match self.role {
            Role::Server => self.max_request_seen.map_or(0, |s| s.0 + 4),
            Role::Client => 0,
        };
        // RFC 9114 §5.2: each GOAWAY identifier MUST NOT be greater than a previous one.
        let id = self.goaway_sent.map_or(id, |prev| prev.min(id));
        self.goaway_sent = Some(id);
        self.open_local_streams(t);
        self.write_control(t, &Frame::Goaway(id));
        Ok(id)
    }

    /// Drops a request stream once both directions are done.
    pub(super) fn maybe_remove(&mut self, id: StreamId) {
        if let Some(r) = self.requests.get(&id) {
            if r.send == SendState::Done && r.recv == RecvState::Done && !self.has_queued(id) {
                self.requests.remove(&id);
            }
        }
    }
}

/// The Content-Length a message declares, if valid.
fn declared_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
}
